"""The room screen's live parts: what it shows, rendered for a live event or a fresh page."""

from __future__ import annotations

import functools
from collections.abc import Callable

from .. import floor, polls
from ..models import Meeting, Visibility
from .partials import render


def opinion_screen_html(meeting: Meeting) -> str:
    """The opinion round the chair put on the room screen (maybe another one, or none now)."""
    from ..opinion import queries as opinion_queries

    shown = opinion_queries.screen_round(meeting)
    view = opinion_queries.round_view(shown, meeting) if shown else {"round": None}
    return render("opinion_screen", meeting=meeting, **view, oob="true")


def screen_context(meeting: Meeting) -> dict:
    """What the room screen shows: the question under discussion with its key points, who has the
    floor in the current session, and the latest launched poll (its results once the chair shows them)."""
    question = meeting.current_question
    starred = []
    if question is not None:
        starred = list(
            question.answers.filter(starred=True).exclude(visibility=Visibility.HIDDEN).select_related("delegation").order_by("updated_at")
        )
    session = meeting.current_session or (question.session if question else None)
    poll = polls.screen_poll(meeting)
    return {
        "meeting": meeting,
        "question": question,
        "starred": starred,
        "floor_state": floor.floor_state(session) if session else None,
        "screen_poll": poll,
        "screen_results": polls.poll_results(poll) if poll is not None and poll.results_visible else None,
    }


def screen_fragment(meeting: Meeting) -> Callable[[], str]:
    """The room screen's live parts, as a lazy fragment: queried once at the first call, rendered in
    the language active at each call (a broadcast renders every language)."""
    context = functools.cache(lambda: screen_context(
        Meeting.objects.select_related("current_question__session", "current_session").get(pk=meeting.pk)))
    return lambda: "".join(render(name, **context(), oob="true") for name in ("screen_main", "screen_floor", "screen_poll"))


def screen_html(meeting: Meeting) -> str:
    return screen_fragment(meeting)()
