"""A record under review for the demo: so that a new user finds a draft with a correction and a comment."""
from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from .. import services
from ..models import Delegation, Meeting, Participant, Question, RecordVersion
from . import services as review

# New Zealand and Iceland: delegations the browser tests never act as, so their demo answers surprise none.
ANSWERS = {
    "NZ": "We created a unit at the centre of government to follow trust in institutions every year.",
    "IS": "Our Prime Minister's Office publishes a yearly survey of trust in public institutions.",
}


def ensure_demo_review(*, meeting: Meeting, secretariat: User, chair: User) -> RecordVersion | None:
    """Leave a draft record of session 1 open for comments (once; nothing if the meeting has a record).

    It is a session's record so that a meeting-wide draft can still be issued (by a new user, or the
    browser test) beside it."""
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
    draft = review.issue_draft(secretariat, meeting=meeting, session=question.session,
                               deadline=timezone.now() + timedelta(days=14))
    ours = next(p for p in draft.passages if p["delegation"] == delegates["NZ"].participant.delegation_id)
    review.propose_correction(delegates["NZ"], version=draft, key=ours["key"], text=ours["text"].replace(
        "We created a unit", "In 2021 we created a unit"))
    theirs = next(p["key"] for p in draft.passages if p["delegation"] == delegates["IS"].participant.delegation_id)
    review.comment_passage(delegates["NZ"], version=draft, key=theirs,
                           text="Could the record say which survey this is?")
    return draft
