"""The pages' quiet check: has the meeting an event this page has not seen?

A console whose stream has been quiet for 3 s asks (`{"type": "check", "after": n}`), because the
last messages of a burst may be the ones the channel layer dropped. Answered with a full resync,
38 consoles cost about 25 queries a second (the role's re-check, then the meeting) for nothing
almost every time. Here each process keeps the meeting's last event number, read from the database
at most every MAX_AGE_S whatever the number of its sockets (one read at a time, shared by the checks
waiting for it); only a page that is behind goes on to the resync.

The number is read from the database, not taken from the messages the process received: the
messages the layer dropped are exactly the ones this check is for.

The resync every page sends as soon as its socket opens asks the same question first (a page that
missed nothing, most of a reconnect storm, gets nothing), with one more condition: the read must
have begun after the socket was accepted (`since`), for an event committed before that moment may
have gone to its groups while the socket was not yet there to get it. Sockets accepted while a read
waits for the sockets' database thread share it; 5,000 reconnecting pages no longer cost 5,000
reads of the meeting.
"""

from __future__ import annotations

import asyncio
import time

from ..middleware import socket_database
from ..models import Meeting

# A check sees events committed up to this long before it (the console's 3 s quiet check then
# notices a dropped last message within 3.5 s); 38 consoles of one meeting on one process cost at
# most 2 reads a second instead of 25 queries.
MAX_AGE_S = 0.5

_known: dict[int, tuple[int, float]] = {}  # meeting id -> (its last event number, when the read began)
_reading: dict[tuple[int, int], tuple[asyncio.Task, list]] = {}  # (event loop, meeting id) -> the read under way, [when it began]


async def last_seq(meeting_id: int, *, since: float | None = None) -> int:
    """The meeting's last event number as stored at most MAX_AGE_S ago (0 for a meeting gone), and
    read no earlier than `since` (a time.monotonic()) when given."""
    known = _known.get(meeting_id)
    if known is not None and time.monotonic() - known[1] < MAX_AGE_S and (since is None or known[1] >= since):
        return known[0]
    loop = asyncio.get_running_loop()
    key = (id(loop), meeting_id)
    reading = _reading.get(key)
    # A read still waiting for the database thread (began unknown) begins after `since`: shared too.
    if reading is None or reading[0].get_loop() is not loop or (since is not None and reading[1] and reading[1][0] < since):
        began: list[float] = []  # set by the read itself, on the database thread, just before its query
        reading = _reading[key] = (loop.create_task(_read(meeting_id, began)), began)
        reading[0].add_done_callback(lambda done, key=key: _reading.pop(key, None) if _reading.get(key, (None,))[0] is done else None)
    return await asyncio.shield(reading[0])  # a check cancelled (its socket closed) leaves the read to the others


async def behind(meeting_id: int, after: int, *, since: float | None = None) -> bool:
    """Whether a page that has every event up to `after` misses one (then it resyncs); with `since`,
    as the database said no earlier than then (see last_seq)."""
    return await last_seq(meeting_id, since=since) > after


async def _read(meeting_id: int, began: list[float]) -> int:
    seq = await _stored_last_seq(meeting_id, began)
    previous = _known.get(meeting_id)
    if previous is None or previous[1] <= began[0]:
        _known[meeting_id] = (seq, began[0])
    return seq


@socket_database
def _stored_last_seq(meeting_id: int, began: list[float]) -> int:
    began.append(time.monotonic())  # the value is as old as the moment the query is sent
    found = Meeting.objects.filter(pk=meeting_id).order_by().values_list("last_seq", flat=True)[:1]
    return next(iter(found), 0)


def forget() -> None:
    """Drop the cached numbers (tests whose databases start again from 0)."""
    _known.clear()
