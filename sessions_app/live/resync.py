"""Catch-up for a reconnecting client (or one that noticed a gap): the events it missed, replayed
from the current state of the database, or a fresh render when the gap is too long."""

from __future__ import annotations

from .. import events
from ..models import Event, Meeting
from .partials import render, seq_marker
from .renderers import render_event


def _tallies_since(meeting: Meeting, after: int) -> list[str]:
    """The counts of each round voted in after `after`, once (missed_events leaves the votes out for consoles)."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries

    # The rounds, not every vote: a console back after thousands of votes reads a few rows.
    voted = (Event.objects.filter(meeting=meeting, seq__gt=after, type=events.OPINION_VOTED)
             .order_by().values_list("payload__round", flat=True).distinct())
    rounds = OpinionRound.objects.filter(pk__in=set(voted), session__meeting=meeting).order_by("pk")
    return [render("opinion_tally", **opinion_queries.tally_view(round, meeting_id=meeting.pk), oob="true") for round in rounds]


def catch_up(*, meeting_id: int, after: int, groups: set[str], full_render) -> tuple[int, list[str]]:
    """Messages that bring a client that saw everything up to `after` level with the database.

    Replays the missed events (rendered from the current state, once per object) or, when the gap is
    longer than events.REPLAY_LIMIT or `after` is unknown, calls full_render() for a fresh render.
    Returns the current sequence number and the HTML messages to send.
    """
    meeting = Meeting.objects.get(pk=meeting_id)
    current = meeting.last_seq
    if after >= current:
        return current, []
    missed = events.missed_events(meeting, after, groups, events.REPLAY_LIMIT)
    if after < 0 or len(missed) > events.REPLAY_LIMIT:
        return current, [seq_marker(current, through=True) + full_render()]
    # Renders show the current state, so one render per (type, object) is enough; the first one keeps
    # its "created" flag so that a card the client never had is appended rather than replaced.
    seen: set[tuple] = set()
    messages = []
    for event in missed:
        payload = event.payload or {}
        key = (event.type, *sorted((name, value) for name, value in payload.items() if name != "created"))
        if key in seen:
            continue
        seen.add(key)
        for _group, html in render_event(event, meeting=meeting, groups=groups):
            messages.append(html)
    if events.group_name(meeting_id, events.CONSOLE) in groups:
        messages += _tallies_since(meeting, after)
    messages.append(seq_marker(current, through=True))
    return current, messages
