"""The garbage a burst of socket handshakes leaves, collected once the burst is over.

facilitation/asgi.py keeps the collector's passes rare (thresholds 50,000 / 20 / 10: with Python's
defaults the young collections took ~6 % of an answer's CPU), so garbage in a reference cycle waits
for a pass over its generation: about a million allocations for the second. A WebSocket's handshake
leaves such garbage that is not ours to break: Uvicorn's HTTP protocol object, in a cycle once the
connection is upgraded, with what it holds. The delegates of a meeting connect together and then
stay, and 100 handshakes per process allocate far fewer objects than that pass waits for: at N = 200
on two processes the garbage stayed for the whole meeting: 42.4-43.0 kB per idle socket (the user's
own cycle already broken, consumers._release) against issue 22's 40 kB; with this collection
37.0-39.0 kB (docs/performance.md, 2026-12-08).

So a socket accepted when no collection is due schedules one of the young generations
(`gc.collect(1)`) COLLECT_AFTER_S later: one for a room of delegates connecting together, at most one
every COLLECT_AFTER_S through a reconnect storm. Measured at N = 200: 4-34 ms of the event loop each,
1,700-3,700 objects freed.
"""

from __future__ import annotations

import asyncio
import gc

COLLECT_AFTER_S = 1.0

_due_on: asyncio.AbstractEventLoop | None = None  # the loop a collection is scheduled on, if any


def collect_soon() -> None:
    """After a handshake: the young generations collected COLLECT_AFTER_S from now, unless that is
    already scheduled on this event loop."""
    global _due_on
    loop = asyncio.get_running_loop()
    if _due_on is loop:
        return
    _due_on = loop
    loop.call_later(COLLECT_AFTER_S, _collect)


def _collect() -> None:
    global _due_on
    _due_on = None
    gc.collect(1)
