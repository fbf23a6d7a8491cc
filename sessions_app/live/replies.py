"""A socket's replies to what its page sent over it (an answer, a vote): the same fragments the HTTP
form's reply swaps in, then the ack that tells the page it is done with (consumers.py)."""

from __future__ import annotations

import uuid

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from .. import queries
from ..models import Question
from .partials import render
from .votes import take_vote_panel


def vote_ack(key: str, *, refused: bool = False) -> str:
    """What tells the page that sent a vote over its socket that the vote with this key is done with:
    stored (or already stored), or refused (then nothing changed, and the page does not send it again)."""
    # hx-swap-oob with no target: app.js's live-targets drops it before htmx swaps (else htmx reports it as an error).
    return f'<span class="vote-ack" data-vote-ack="{escape(key)}"{" data-vote-refused" if refused else ""} hx-swap-oob="true" hidden></span>'


def vote_reply(key: str, round, vote) -> str:
    """A socket's answer to its vote, stored: the delegation's panel (its next statement), then the ack."""
    from ..opinion import queries as opinion_queries

    meeting = round.session.meeting
    html = vote.event_seq and take_vote_panel(meeting.pk, vote.event_seq, translation.get_language(), oob=True)
    if not html:  # nothing changed (the same vote again), or the live update was rendered elsewhere
        html = render("opinion_vote", meeting=meeting, round=round, next=opinion_queries.next_statement(round, vote.delegation), oob="true")
    return html + vote_ack(key)


def answer_reply(key: str, answer) -> str:
    """A socket's answer to an answer it sent, stored: what the HTTP form's reply swaps in (the saved
    status, the form's next key, its button), then the ack."""
    from ..fragments import answer_saved_reply

    return str(answer_saved_reply(answer, form_key=uuid.uuid4().hex)) + vote_ack(key)


def answer_refused(key: str, *, question_id: int, meeting_id: int, delegation, message: str, text: str) -> str:
    """A socket's answer to an answer that was refused: the question's card with the error and the text
    sent, as the HTTP form shows it (a question of another meeting: the notice only), then the ack."""
    question = Question.objects.filter(pk=question_id, session__meeting_id=meeting_id).select_related("session__meeting").first()
    if question is None or delegation is None:
        return vote_refused(key, message)
    context = queries.answer_card_context(question, delegation, error=message, submitted_text=text)
    return render_to_string("sessions_app/partials/question_delegate.html", context) + vote_ack(key, refused=True)


def vote_refused(key: str, message: str) -> str:
    """A socket's answer to a vote that was refused: the reason where the page shows notices, and the ack."""
    return render("live_notice", message=message) + vote_ack(key, refused=True)
