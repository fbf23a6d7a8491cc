"""The garbage a burst of socket handshakes leaves, collected once the burst is over.

facilitation/asgi.py keeps the collector's passes rare (thresholds 50,000 / 20 / 10: with Python's
defaults the young collections took ~6 % of an answer's CPU), so garbage in a reference cycle waits
for a pass over its generation: about a million allocations for the second. A WebSocket's handshake
leaves such garbage that is not ours to break: Uvicorn's HTTP protocol object, in a cycle once the
connection is upgraded, with what it holds. The delegates of a meeting connect together and then
stay, and 100 handshakes per process allocate far fewer objects than that pass waits for: at N = 200
on two processes the garbage stayed for the whole meeting: 42.4-43.0 kB per idle socket (the user's
own cycle already broken, middleware.SocketAuthMiddleware.replace_user) against issue 22's 40 kB; with this collection
37.0-39.0 kB (docs/performance.md, 2026-12-08).

So once handshakes stop for COLLECT_AFTER_S, the young generations are collected (`gc.collect(1)`):
one collection for a room of delegates connecting together, and one at the end of a reconnect storm
rather than a pause of the event loop every second through it (at N = 5,000 on two processes the
storm's server CPU was the same either way: 22.2 and 22.3 s). Measured at N = 200: 4-34 ms of the
event loop each, 1,700-3,700 objects freed.
"""

from __future__ import annotations

import asyncio
import gc
import time

COLLECT_AFTER_S = 1.0  # quiet after the last handshake before the collection

_due_on: asyncio.AbstractEventLoop | None = None  # the loop a collection is scheduled on, if any
_last_handshake = 0.0  # time.monotonic() of the last handshake


def collect_soon() -> None:
    """After a handshake: the young generations collected once handshakes have stopped for
    COLLECT_AFTER_S (a collection already scheduled on this event loop waits for that)."""
    global _due_on, _last_handshake
    _last_handshake = time.monotonic()
    loop = asyncio.get_running_loop()
    if _due_on is not loop:
        _due_on = loop
        loop.call_later(COLLECT_AFTER_S, _collect, loop)


def _collect(loop: asyncio.AbstractEventLoop) -> None:
    global _due_on
    quiet_for = time.monotonic() - _last_handshake
    if quiet_for < COLLECT_AFTER_S:  # handshakes went on: wait for them to stop
        loop.call_later(COLLECT_AFTER_S - quiet_for, _collect, loop)
        return
    _due_on = None
    gc.collect(1)
