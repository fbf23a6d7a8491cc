"""The one list of live events: types, who receives them, how they are stored.

The database is the truth, the socket is a hint. `record()` stores an Event row with the meeting's
next sequence number inside the caller's transaction; after commit, `publish()` hands it to the
live package (sessions_app/live/broadcaster.py, connected at startup), which renders one HTML
fragment per audience and sends it to that audience's group. A client that reconnects sends the
last sequence number it saw and gets the missed fragments again (`missed_events`), rendered from
the current state of the database, or a fresh render of its live parts when the gap is too old.

The domain imports this module, never the live package: the few things it asks of the live loop
(close a user's sockets, the server's loop, render in this thread) are the thin functions below.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Protocol

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Event, Meeting, Session
from .rows import insert_rows

# Audiences: every socket joins exactly one of these groups for its meeting.
CONSOLE = "console"  # chairs and secretariat
DELEGATE = "delegate"  # delegates' session pages
SCREEN = "screen"  # the room's projector view
AUDIENCES = (CONSOLE, DELEGATE, SCREEN)

# Event type -> the audiences that receive a fragment for it (documentation and a check for record();
# live/renderers.py decides the exact groups, e.g. one delegation's group for its own answer).
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
OPINION_CHANGED = "opinion.changed"
OPINION_VOTED = "opinion.voted"
OPINION_ANALYSED = "opinion.analysed"
RECORD_NOTICE = "record.notice"
SYNTHESIS_CHANGED = "synthesis.changed"

EVENT_AUDIENCES: dict[str, tuple[str, ...]] = {
    ANSWER_SAVED: (CONSOLE, DELEGATE),  # DELEGATE: only the answering delegation's group
    ANSWER_MODERATED: (CONSOLE, DELEGATE, SCREEN),
    PRACTICE_SAVED: (CONSOLE, DELEGATE),  # DELEGATE: only the practising delegation's group
    PRACTICE_MODERATED: (CONSOLE,),
    QUESTION_STATUS: (CONSOLE, DELEGATE, SCREEN),
    DISCUSSION_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    CONCLUSIONS_SAVED: (CONSOLE,),
    SETTINGS_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    FLOOR_CHANGED: (CONSOLE, DELEGATE, SCREEN),  # DELEGATE: also each listed delegation's own place
    SESSION_TIMING: (CONSOLE,),
    POLL_CHANGED: (CONSOLE, DELEGATE, SCREEN),
    POLL_VOTED: (CONSOLE, DELEGATE, SCREEN),  # DELEGATE: the voter's delegation, and everyone if results are shown
    OPINION_CHANGED: (CONSOLE, DELEGATE, SCREEN),  # a round or its statements changed; DELEGATE: each delegation its panel
    # DELEGATE: the voting delegation's panel only; CONSOLE: the round's votes per statement (throttled:
    # a run's message may carry only its numbers, and the counts follow), the map with OPINION_ANALYSED
    OPINION_VOTED: (CONSOLE, DELEGATE),
    OPINION_ANALYSED: (CONSOLE, SCREEN),  # groups, consensus and the map recomputed
    RECORD_NOTICE: (DELEGATE,),  # a draft record issued, its deadline near, or the final out (records/notices.py)
    SYNTHESIS_CHANGED: (CONSOLE,),  # the themes of a question's answers recomputed or edited by the chair
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


def bundle_group(meeting_id: int) -> str:
    """Every process with a socket in the meeting (its hub, fanout.py): a broadcast's fragments for the
    meeting's groups travel to it as one bundle, not one channel-layer message per group."""
    return f"meeting.{meeting_id}.live"


def revocation_group(user_id: int) -> str:
    """Every socket of one user, told to close when the participant is revoked: its user group."""
    return user_group(user_id)


def missed_events(meeting: Meeting, after: int, groups: set[str], limit: int) -> list[Event]:
    """The events after `after` that may render something for a socket in these groups, in order, at
    most `limit` + 1 of them (more means: render the page afresh).

    Filtered in the database, so that a delegate back after hours of other delegations' answers
    replays its own few events instead of a full render: events of types its audiences never get,
    other delegations' answers and practices, and (unless the meeting publishes answers) moderation.
    """
    found = Event.objects.filter(meeting_id=meeting.pk, seq__gt=after)
    audiences = {audience for audience in AUDIENCES if group_name(meeting.pk, audience) in groups}
    found = found.filter(type__in=[type for type, to in EVENT_AUDIENCES.items() if audiences & set(to)])
    if group_name(meeting.pk, CONSOLE) in groups:
        # A console back after a stream of votes gets each round's counts once (live/resync.py), not
        # hundreds of votes replayed (nor, past REPLAY_LIMIT of them, the whole console afresh).
        found = found.exclude(type=OPINION_VOTED)
    else:
        prefix = delegation_group(meeting.pk, 0)[:-1]
        mine = [int(group[len(prefix):]) for group in groups if group.startswith(prefix)]
        others = Q(payload__has_key="delegation") & ~Q(payload__delegation__in=mine)
        found = found.exclude(Q(type=PRACTICE_SAVED) & others)
        if meeting.answer_visibility != Meeting.AnswerVisibility.PUBLISHED:
            # Delegates see answers as published ones only in meetings that publish them.
            found = found.exclude(Q(type=ANSWER_SAVED) & others)
            if SCREEN not in audiences:
                # Only the moderation of the delegation's own answers (its status line says "hidden").
                found = found.filter(~Q(type=ANSWER_MODERATED) | Q(payload__delegation__in=mine))
    return list(found.order_by("seq")[: limit + 1])


def disconnect_user(user_id: int) -> None:
    """Close every open socket of this user (after commit: a revoked participant loses live access)."""
    if _live is not None:
        _live.disconnect_user(user_id)


def close_group(group: str) -> None:
    """Close every open socket of a revocation group (after commit), as disconnect_user does for a user's."""
    if _live is not None:
        _live.close_group(group)


def record(*, meeting: Meeting, type: str, session: Session | None = None, payload: dict | None = None) -> Event:
    """Store a live event with the meeting's next sequence number; broadcast it once committed.

    Must run inside the transaction that makes the change, so the event exists iff the change does.
    The numbering locks the meeting's row (FOR NO KEY UPDATE) and the event's insert checks its
    session's (FOR KEY SHARE): a service locks its own rows first, with
    `select_for_update(of=("self",), no_key=True)`, and no other row after this (docs/reliability.md).
    """
    if type not in EVENT_AUDIENCES:
        raise ValueError(f"Unknown live event type {type!r}")
    seq = meeting.last_seq = _next_seq(meeting.pk)
    event = Event.objects.create(meeting=meeting, seq=seq, type=type, session=session, payload=payload or {})
    if not _quiet.active:
        transaction.on_commit(lambda: publish(event))
    return event


def record_many(*, meeting_id: int, records: list[tuple[str, Session | None, dict]]) -> list[Event]:
    """record() for a run of (type, session, payload) of one meeting: consecutive sequence numbers,
    one insert, broadcast together once committed. (The events' own keys are not read back: a
    live event is known by its meeting and number.)"""
    for type, _session, _payload in records:
        if type not in EVENT_AUDIENCES:
            raise ValueError(f"Unknown live event type {type!r}")
    first, now = _next_seq(meeting_id, count=len(records)) - len(records) + 1, timezone.now()
    batch = [
        Event(meeting_id=meeting_id, seq=first + offset, type=type, session=session, payload=payload, created_at=now)
        for offset, (type, session, payload) in enumerate(records)
    ]
    columns = ["meeting", "seq", "type", "session", "payload", "created_at"]
    insert_rows(Event, columns, [[event.meeting_id, event.seq, event.type, event.session_id, event.payload, now] for event in batch])
    if not _quiet.active:
        transaction.on_commit(lambda: publish_all(batch))
    return batch


class _Quiet(threading.local):
    active = False


_quiet = _Quiet()


@contextlib.contextmanager
def stored_only():
    """Inside, events are stored (with their sequence numbers) but not broadcast: for commands that
    build a meeting before anyone watches it (load_demo). A page opened later renders from the
    database; one already open finds the new sequence numbers at its next check and resyncs."""
    previous, _quiet.active = _quiet.active, True
    try:
        yield
    finally:
        _quiet.active = previous


def _next_seq(meeting_id: int, *, count: int = 1) -> int:
    """Take the meeting's next `count` sequence numbers; returns the last. The UPDATE locks the row
    until the transaction ends, which serialises numbering per meeting; one statement, not a locking
    read and a write."""
    if not connection.features.can_return_columns_from_insert:  # no UPDATE … RETURNING (SQLite < 3.35)
        seq = Meeting.objects.select_for_update(no_key=True).values_list("last_seq", flat=True).get(pk=meeting_id) + count
        Meeting.objects.filter(pk=meeting_id).update(last_seq=seq)
        return seq
    quote = connection.ops.quote_name
    table, column, pk = quote(Meeting._meta.db_table), quote("last_seq"), quote(Meeting._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {column} + %s WHERE {pk} = %s RETURNING {column}", [count, meeting_id])
        return cursor.fetchone()[0]


def publish(event: Event) -> None:
    """Send a committed event to its groups (see publish_all)."""
    publish_all([event])


def publish_all(batch: list[Event]) -> None:
    """Send committed events to their groups, in order, through the live package (nothing without it)."""
    if _live is not None:
        _live.publish_all(batch)


def rendered_in_this_thread() -> contextlib.AbstractContextManager:
    """Inside, in a worker thread of the server's loop: events committed here are rendered in this
    thread as soon as they are committed (live/broadcaster.py; for the answer and vote batches)."""
    return _live.rendered_in_this_thread() if _live is not None else contextlib.nullcontext()


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running server's event loop when called from one of its worker threads, else None (for
    work scheduled later, such as opinion analyses, that must publish through that loop)."""
    return _live.server_loop() if _live is not None else None


def end_worker_task() -> None:
    """After a task on a worker thread of the server's loop, which no request cycle ends: the thread's
    database connection stays for its next task where the backend allows it (SQLite: see
    facilitation.sqlite), else it is closed (PostgreSQL's goes back to the pool)."""
    reusable = getattr(connection, "reusable_by_next_task", None)
    if reusable is None or not reusable():
        connection.close()


class Live(Protocol):
    """What the live package (sessions_app/live/broadcaster.py) does for the domain: send what it recorded."""

    def publish_all(self, batch: list[Event]) -> None: ...
    def disconnect_user(self, user_id: int) -> None: ...
    def close_group(self, group: str) -> None: ...
    def rendered_in_this_thread(self) -> contextlib.AbstractContextManager: ...
    def server_loop(self) -> asyncio.AbstractEventLoop | None: ...


# The live package sends events; it connects here at startup (AppConfig.ready) so that the domain,
# which records events, never imports it: dependencies run one way (STYLE.md; the import-linter
# contract in pyproject.toml). Not connected (Django's app registry not set up), events are stored only.
_live: Live | None = None


def connect_live(live: Live | None) -> None:
    """Install what sends recorded events: the live package's broadcaster (AppConfig.ready); None: store only."""
    global _live
    _live = live
