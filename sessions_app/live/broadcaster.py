"""Sending what the domain recorded: committed events rendered once per audience, off the request
threads, and sent to their groups in order.

After commit, events.record() hands a run of events to `publish_all` (connected at startup,
AppConfig.ready): under the ASGI server it goes to the loop's Broadcaster, which renders one HTML
fragment per audience (not per recipient) in a worker thread and sends it to that audience's group;
answers committed while it renders go out together. Elsewhere (management commands, the test
client) the events are rendered and sent in the committing thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable

import asgiref
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from .. import events, versions
from ..events import bundle_group, revocation_group
from ..models import Event
from . import fanout

logger = logging.getLogger(__name__)


def _bundle_of(group: str) -> str | None:
    """The bundle group that carries a group's fragments: the meeting's, for the groups of events.py that
    start with it; None for a user's own group."""
    kind, _dot, rest = group.partition(".")
    meeting_id = rest.partition(".")[0]
    return bundle_group(int(meeting_id)) if kind == "meeting" and meeting_id.isdigit() else None


def bundled(messages: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """(group, message) to send, in order: consecutive messages for one meeting's groups as one
    "live.bundle" message to its bundle group (the hubs deliver each fragment to its group's sockets)."""
    out: list[tuple[str, dict]] = []
    for group, message in messages:
        target = _bundle_of(group)
        if target is None:
            out.append((group, message))
        elif out and out[-1][0] == target:
            out[-1][1]["fragments"].append(message)
        else:
            out.append((target, {"type": "live.bundle", "fragments": [message]}))
    return out


def disconnect_user(user_id: int) -> None:
    """Close every open socket of this user (after commit: a revoked participant loses live access)."""
    close_group(revocation_group(user_id))


def close_group(group: str) -> None:
    """Close every open socket of a revocation group (after commit), as disconnect_user does for a user's:
    the hubs of the processes with a socket in it close theirs (fanout.LocalHub._revoke)."""
    layer = get_channel_layer()
    transaction.on_commit(lambda: async_to_sync(layer.group_send)(group, {"type": "auth.revoked", "group": group}))


def publish_all(batch: list[Event]) -> None:
    """Send committed events to their groups, in order.

    Under the ASGI server (a view or consumer running in a worker thread of the server's event loop),
    the events go to that loop's Broadcaster and the request returns at once (inside
    `rendered_in_this_thread`, they are rendered here first); otherwise (management commands, the
    test client) they are rendered and sent here.
    """
    loop = _server_loop()
    if loop is not None:
        try:
            if getattr(_this_thread, "renders", False):
                _render_here(batch, loop)
            else:
                loop.call_soon_threadsafe(Broadcaster.of(loop).add_all, batch)
            return
        except RuntimeError:  # the loop closed meanwhile
            pass
    broadcast(batch)


_this_thread = threading.local()


@contextlib.contextmanager
def rendered_in_this_thread():
    """Inside, in a worker thread of the server's loop: events committed here are rendered in this
    thread as soon as they are committed, and the loop's Broadcaster sends them in their place.

    For the answer and vote batches (group_commit.py): a batch's leading request renders what it stored before
    the next batch is taken, instead of the Broadcaster's thread rendering it while the next batch is stored. The
    two threads shared one interpreter lock, so each ran at half speed, and an answer waited for the
    batch in progress, its own batch, the render in progress and its own render.
    """
    _this_thread.renders = True
    try:
        yield
    finally:
        _this_thread.renders = False


class Rendering:
    """Events being rendered by the thread that committed them: their place in a Broadcaster's queue,
    taken when they were committed, so that the events committed meanwhile are not sent before them."""

    def __init__(self, batch: list[Event]):
        self.batch = batch
        self.messages: asyncio.Future | None = None  # made on the loop, when the place is taken


def _render_here(batch: list[Event], loop: asyncio.AbstractEventLoop) -> None:
    broadcaster, rendering = Broadcaster.of(loop), Rendering(batch)
    loop.call_soon_threadsafe(broadcaster.add_rendering, rendering)
    messages = None  # the Broadcaster renders them instead
    try:  # the lookup of languages is taken after the commit, as the Broadcaster's is
        messages = messages_for(batch, fanout.listeners(get_channel_layer(), loop))
    except Exception:
        logger.exception("Could not render live events #%s-#%s", batch[0].seq, batch[-1].seq)
    finally:  # settled whatever happens here, or the Broadcaster would wait for it forever
        loop.call_soon_threadsafe(_settle, rendering, messages)


def _settle(rendering: Rendering, messages: list[tuple[str, dict]] | None) -> None:
    if not rendering.messages.done():
        rendering.messages.set_result(messages)


def broadcast(batch: list[Event]) -> None:
    """Render a run of events and send their messages now, in order (synchronous callers)."""
    layer = get_channel_layer()
    for group, message in bundled(messages_for(batch)):
        async_to_sync(layer.group_send)(group, message)


# renderers.render_batch, installed at startup (AppConfig.ready): the renderers use this module (votes.py's
# refresh_later), so it does not import them back.
_render_batch: Callable[..., list[tuple[str, dict[str, str], int]]] | None = None


def set_renderer(render_batch: Callable[..., list[tuple[str, dict[str, str], int]]]) -> None:
    """Install the function that turns a run of events into (group, html by language, seq) triples."""
    global _render_batch
    _render_batch = render_batch


def messages_for(batch: list[Event], listeners: fanout.Listeners | None = None) -> list[tuple[str, dict]]:
    """(group, channel-layer message) for a run of events, in order.

    Each message carries {"html": {language: fragment}} (each socket forwards its user's language) and
    the sequence number of the last event it covers. Consecutive answer submissions are merged into
    one message per group (live/renderers.py render_batch). With `listeners` (fanout.listeners), a group is
    rendered only in its sockets' languages (not at all without a socket, when that is known). A
    render bug loses the live message, never the stored submission: clients resync from the database
    on reconnect.
    """
    if _render_batch is None:
        raise RuntimeError("No live renderer registered: sessions_app's AppConfig.ready installs it.")
    return [
        (group, {"type": "live.fragment", "group": group, "seq": seq, "html": html})
        for group, html, seq in _render_batch(batch, listeners)
    ]


def _render_in_worker(batch: list[Event], listeners: fanout.Listeners | None) -> list[tuple[str, dict]]:
    """messages_for in a worker thread of the loop, which closes its database connection after."""
    try:
        return messages_for(batch, listeners)
    finally:
        events.end_worker_task()


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running server's event loop when called from one of its worker threads, else None (public
    for work scheduled later, such as opinion analyses, that must publish through that loop)."""
    return _server_loop()


# asgiref's SyncToAsync records, in each worker thread it runs a sync view or consumer call in, the
# event loop that called it (`threadlocal.main_event_loop`, undocumented): how a sync caller finds the
# server's loop and its Broadcaster. Read only on the asgiref versions it was tested with (pinned in
# pyproject.toml; tests/test_stack_versions.py); elsewhere events are rendered and sent in the
# committing thread (broadcast), correct but on the request's time.
SERVER_LOOP_ASGIREF = ((3, 13), (3, 13))  # first and last (major, minor) tested


def server_loop_supported(version: str) -> bool:
    """Whether _server_loop may read this asgiref version's record of the calling loop."""
    return versions.in_tested_range(version, SERVER_LOOP_ASGIREF)


_READS_SERVER_LOOP = server_loop_supported(asgiref.__version__)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop whose worker thread we run in (asgiref's SyncToAsync records it), if it still runs."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if not _READS_SERVER_LOOP:
        return None
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


class _Refresh:
    """Messages that are not events' (a refresh of what events showed, such as a round's counts after
    a throttled run of votes), rendered by `render(listeners)` in their place in a Broadcaster's queue."""

    def __init__(self, render: Callable[[fanout.Listeners | None], list[tuple[str, dict[str, str], int]]]):
        self.render = render


def refresh_later(delay: float, render: Callable[[fanout.Listeners | None], list[tuple[str, dict[str, str], int]]]) -> bool:
    """From a worker thread of the server's loop: `delay` seconds from now, queue `render` on the loop's
    Broadcaster, which sends its (group, html by language, seq) messages after the events committed
    before. False without a server loop: the caller then renders now."""
    loop = _server_loop()
    if loop is None:
        return False
    try:
        loop.call_soon_threadsafe(lambda: loop.call_later(delay, Broadcaster.of(loop).add_refresh, _Refresh(render)))
    except RuntimeError:  # the loop closed meanwhile
        return False
    return True


def _refresh_in_worker(refresh: _Refresh, listeners: fanout.Listeners | None) -> list[tuple[str, dict]]:
    try:
        return [(group, {"type": "live.fragment", "group": group, "seq": seq, "html": html})
                for group, html, seq in refresh.render(listeners)]
    except Exception:
        logger.exception("Could not render a live refresh")
        return []
    finally:
        events.end_worker_task()


class Broadcaster:
    """One per event loop: renders committed events off the request threads and sends them in order.

    While one batch renders, the events committed meanwhile wait and then render together: a burst of
    answers reaches the consoles as a few messages carrying many cards, each question's tally once,
    instead of one render and one message per answer. An idle broadcaster starts at once, so a lone
    event waits for nothing.
    """

    _by_loop: dict[int, "Broadcaster"] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pending: list[Event | Rendering] = []
        self.task: asyncio.Task | None = None
        self.sending = 0  # events taken from the queue and not yet sent (or given up)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> "Broadcaster":
        broadcaster = cls._by_loop.get(id(loop))
        if broadcaster is None or broadcaster.loop is not loop:
            broadcaster = cls._by_loop[id(loop)] = cls(loop)
        return broadcaster

    def add(self, event: Event) -> None:
        """On the loop: queue an event; start sending if idle."""
        self.add_all([event])

    def add_all(self, batch: list[Event]) -> None:
        """On the loop: queue events; start sending if idle."""
        self.pending.extend(batch)
        self._start()

    def add_rendering(self, rendering: Rendering) -> None:
        """On the loop: queue events that another thread renders (see rendered_in_this_thread)."""
        rendering.messages = self.loop.create_future()
        self.pending.append(rendering)
        self._start()

    def add_refresh(self, refresh: _Refresh) -> None:
        """On the loop: queue a refresh (see refresh_later)."""
        self.pending.append(refresh)
        self._start()

    def _start(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())

    async def _run(self) -> None:
        render = sync_to_async(_render_in_worker, thread_sensitive=False)
        render_refresh = sync_to_async(_refresh_in_worker, thread_sensitive=False)
        while self.pending:
            queued, self.pending = self.pending, []
            self.sending = _count(queued)
            try:
                layer = get_channel_layer()
                messages: list[tuple[str, dict]] = []
                for run in _in_order(queued):
                    if isinstance(run, _Refresh):
                        messages.extend(await render_refresh(run, fanout.listeners(layer, self.loop)))
                        continue
                    rendered = await run.messages if isinstance(run, Rendering) else None
                    if rendered is None:
                        batch = run.batch if isinstance(run, Rendering) else run
                        # Taken once the events are committed: a socket that joins later replays them on its resync.
                        rendered = await render(batch, fanout.listeners(layer, self.loop))
                    messages.extend(rendered)
                for group, message in bundled(messages):
                    await layer.group_send(group, message)
                fanout.outage.back()
            except Exception as error:  # the next batch must still go out
                # Redis down: the pages' resync replays these from the database (one warning per outage).
                if not fanout.outage.failed(error, f"sending live events #{_seq(queued[0], 0)}-#{_seq(queued[-1], -1)}"):
                    logger.exception("Could not send live events #%s-#%s", _seq(queued[0], 0), _seq(queued[-1], -1))
            finally:
                self.sending = 0

    def unsent(self) -> int:
        """Events committed and not yet sent: queued, or being rendered and sent."""
        return self.sending + _count(self.pending)

    async def sent(self) -> None:
        """Until every event committed so far has been sent (or given up)."""
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)  # a cancelled wait leaves the sending alone


async def send_pending(timeout: float) -> tuple[int, bool]:
    """At a graceful stop, on the server's loop: wait (at most `timeout` seconds) until its
    Broadcaster has sent the events committed by the requests the server finished; without it, the
    loop's end cancelled them, and only the pages' resync made up for it. Returns how many events
    were waiting and whether they all went out."""
    loop = asyncio.get_running_loop()
    broadcaster = Broadcaster._by_loop.get(id(loop))
    if broadcaster is None or broadcaster.loop is not loop:
        return 0, True
    waiting = broadcaster.unsent()
    try:
        await asyncio.wait_for(broadcaster.sent(), timeout)
    except TimeoutError:
        return waiting, False
    return waiting, True


def _count(queued: list) -> int:
    """Events among queued items (a refresh is none)."""
    return sum(len(item.batch) if isinstance(item, Rendering) else 0 if isinstance(item, _Refresh) else 1 for item in queued)


def _in_order(queued: list) -> list:
    """The queue as runs to render together (consecutive events), renderings and refreshes, in order."""
    runs: list = []
    for item in queued:
        if isinstance(item, (Rendering, _Refresh)):
            runs.append(item)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _seq(item, index: int) -> int:
    if isinstance(item, _Refresh):
        return 0
    return item.batch[index].seq if isinstance(item, Rendering) else item.seq
