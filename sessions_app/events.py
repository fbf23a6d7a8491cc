"""The one list of live events: types, who receives them, how they are stored and broadcast.

The database is the truth, the socket is a hint. `record()` stores an Event row with the meeting's
next sequence number inside the caller's transaction; after commit, `broadcast()` renders one HTML
fragment per audience (not per recipient) and sends it to that audience's group. A client that
reconnects sends the last sequence number it saw and gets the missed fragments again, rendered from
the current state of the database, or a fresh render of its live parts when the gap is too old.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation

from .models import Event, Meeting, Session

logger = logging.getLogger(__name__)

# Audiences: every socket joins exactly one of these groups for its meeting.
CONSOLE = "console"  # chairs and secretariat
DELEGATE = "delegate"  # delegates' session pages
SCREEN = "screen"  # the room's projector view
AUDIENCES = (CONSOLE, DELEGATE, SCREEN)

# Event type -> the audiences that receive a fragment for it (documentation and a check for record();
# live.render_event decides the exact groups, e.g. one delegation's group for its own answer).
ANSWER_SAVED = "answer.saved"
ANSWER_MODERATED = "answer.moderated"
PRACTICE_SAVED = "practice.saved"
PRACTICE_MODERATED = "practice.moderated"
QUESTION_STATUS = "question.status"
DISCUSSION_CHANGED = "discussion.changed"
CONCLUSIONS_SAVED = "conclusions.saved"
SETTINGS_CHANGED = "settings.changed"
FLOOR_CHANGED = "floor.changed"
SESSION_TIMING = "session.timing"
POLL_CHANGED = "poll.changed"
POLL_VOTED = "poll.voted"

EVENT_AUDIENCES: dict[str, tuple[str, ...]] = {
    ANSWER_SAVED: (CONSOLE, DELEGATE),  # DELEGATE: only the answering delegation's group
    ANSWER_MODERATED: (CONSOLE, DELEGATE, SCREEN),
    PRACTICE_SAVED: (CONSOLE,),
    PRACTICE_MODERATED: (CONSOLE,),
    QUESTION_STATUS: (CONSOLE, DELEGATE, SCREEN),
    DISCUSSION_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    CONCLUSIONS_SAVED: (CONSOLE,),
    SETTINGS_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    FLOOR_CHANGED: (CONSOLE, DELEGATE, SCREEN),  # DELEGATE: also each listed delegation's own place
    SESSION_TIMING: (CONSOLE,),
    POLL_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    POLL_VOTED: (CONSOLE, DELEGATE, SCREEN),  # DELEGATE: the voter's delegation, and everyone if results are shown
}

# Beyond this many missed events a reconnecting client gets a fresh render instead of a replay.
REPLAY_LIMIT = 200


def group_name(meeting_id: int, audience: str) -> str:
    return f"meeting.{meeting_id}.{audience}"


def delegation_group(meeting_id: int, delegation_id: int) -> str:
    """The delegates of one delegation, who share and co-edit their delegation's contributions."""
    return f"meeting.{meeting_id}.delegation.{delegation_id}"


def user_group(user_id: int) -> str:
    """Every page of one user, for what concerns them alone (their own vote in a per-person poll)."""
    return f"user.{user_id}"


def revocation_group(user_id: int) -> str:
    """Every socket of one user, each on its own channel, so that revoking a participant closes them all."""
    return f"user.{user_id}.sockets"


def disconnect_user(user_id: int) -> None:
    """Close every open socket of this user (after commit: a revoked participant loses live access)."""
    layer = get_channel_layer()
    transaction.on_commit(lambda: async_to_sync(layer.group_send)(revocation_group(user_id), {"type": "auth.revoked"}))


def record(*, meeting: Meeting, type: str, session: Session | None = None, payload: dict | None = None) -> Event:
    """Store a live event with the meeting's next sequence number; broadcast it once committed.

    Must run inside the transaction that makes the change, so the event exists iff the change does.
    """
    if type not in EVENT_AUDIENCES:
        raise ValueError(f"Unknown live event type {type!r}")
    # The row lock serialises numbering per meeting (SQLite's IMMEDIATE transactions already do).
    seq = Meeting.objects.select_for_update().values_list("last_seq", flat=True).get(pk=meeting.pk) + 1
    Meeting.objects.filter(pk=meeting.pk).update(last_seq=seq)
    meeting.last_seq = seq
    event = Event.objects.create(meeting=meeting, seq=seq, type=type, session=session, payload=payload or {})
    transaction.on_commit(lambda: broadcast(event))
    return event


def broadcast(event: Event) -> None:
    """Render the event once per receiving group and interface language, and send it to each group.

    A message carries {"html": {language: fragment}}; each socket forwards its user's language.
    """
    from .live import render_event  # live renders templates; imported here to keep this module light

    by_group: dict[str, dict[str, str]] = {}
    try:
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                for group, html in render_event(event):
                    by_group.setdefault(group, {})[language] = html
    except Exception:  # a render bug must not undo a stored submission; clients resync on reconnect
        logger.exception("Could not render live event %s #%s", event.type, event.seq)
        return
    layer = get_channel_layer()
    for group, html in by_group.items():
        async_to_sync(layer.group_send)(group, {"type": "live.fragment", "group": group, "seq": event.seq, "html": html})
