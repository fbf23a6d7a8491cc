"""A record under review for the demo: so that a new user finds a draft with a correction and a comment."""
from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from .. import services
from ..models import Delegation, Meeting, Participant, Question, RecordVersion
from . import services as review

ANSWERS = {
    "FR": "We created a unit at the centre of government to follow trust in institutions every year.",
    "DE": "Our federal chancellery publishes a yearly survey of trust in public institutions.",
}


def ensure_demo_review(*, meeting: Meeting, secretariat: User, chair: User) -> RecordVersion | None:
    """Leave a draft summary record open for comments (once; nothing if the meeting has a record)."""
    if RecordVersion.objects.filter(meeting=meeting).exists():
        return None
    question = Question.objects.filter(session__meeting=meeting).order_by("session__number", "position").first()
    if question is None:
        return None
    delegates = {}
    for code, text in ANSWERS.items():
        delegation = next((d for d in Delegation.objects.all() if d.code == code), None)
        participant = Participant.objects.filter(delegation=delegation, role=Participant.Role.DELEGATE).first()
        if participant is None:
            return None
        delegates[code] = participant.user
    was = question.status
    if was != Question.Status.OPEN:
        services.set_question_status(user=chair, question=question, status=Question.Status.OPEN)
    for code, text in ANSWERS.items():
        services.submit_answer(user=delegates[code], question=question, kind="answer", text=text, key=str(uuid.uuid4()))
    if was != Question.Status.OPEN:
        services.set_question_status(user=chair, question=question, status=was)
    draft = review.issue_draft(secretariat, meeting=meeting, deadline=timezone.now() + timedelta(days=14))
    french = next(p["key"] for p in draft.passages if p["delegation"] == delegates["FR"].participant.delegation_id)
    review.propose_correction(delegates["FR"], version=draft, key=french, text=(
        "France: We created a unit at the centre of government in 2021 to follow trust in institutions every year."))
    german = next(p["key"] for p in draft.passages if p["delegation"] == delegates["DE"].participant.delegation_id)
    review.comment_passage(delegates["FR"], version=draft, key=german,
                           text="Could the record say which survey this is?")
    return draft
