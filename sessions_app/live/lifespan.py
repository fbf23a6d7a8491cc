"""The server's start and graceful stop (ASGI lifespan; Uvicorn runs with `--lifespan on`).

On SIGTERM (a deploy, `systemctl restart`) Uvicorn stops accepting connections, closes the sockets
with 1012 (the pages reconnect to the other worker and resync), waits for the requests in progress,
and only then sends `lifespan.shutdown`. The live messages of the answers those last requests stored
may still be in the Broadcaster's queue; here they are sent before the process exits, so that the
consoles on the other worker get them live instead of at their next quiet check.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .. import compute_pool
from ..opinion import analysis
from . import broadcaster, fanout

logger = logging.getLogger(__name__)

SHUTDOWN_SEND_S = 10.0  # at most this long for the pending live messages (systemd waits 90 s)


async def application(scope, receive, send) -> None:
    """The lifespan protocol: at start, load the opinion analysis' libraries where analyses run (the
    compute process: sessions_app/compute_pool.py) before the server takes connections; at a graceful
    stop, send what is pending."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # A Redis outage also fails the layer's own background tasks: one warning, not a traceback each.
            asyncio.get_running_loop().set_exception_handler(fanout.quiet_layer_tasks)
            # In the compute process (started now, not at the first analysis), or here without one.
            await asyncio.to_thread(compute_pool.run, analysis.load_libraries)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            started = time.monotonic()
            waiting, done = await broadcaster.send_pending(SHUTDOWN_SEND_S)
            if waiting:
                logger.info("Graceful stop: %s pending live events %s in %.0f ms", waiting,
                            "sent" if done else "not all sent (the pages' resync replays them)", 1000 * (time.monotonic() - started))
            await send({"type": "lifespan.shutdown.complete"})
            return
