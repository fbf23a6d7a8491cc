"""Local fan-out: one channel-layer subscription per process and group, shared by its sockets.

With one channel per socket, a broadcast to 1,000 delegates is 1,000 channel-layer messages (and
1,000 Redis publishes in scale-out), each decoded and dispatched by its own consumer. Here each
process subscribes once per group through a hub channel; a broadcast is one message per process,
whose fragment is encoded once per language and written to every local socket of the group. The
fragments of one broadcast for a meeting's groups (the consoles, the delegates, each delegation that
answered) travel together, as one bundle to the meeting's bundle group (live/broadcaster.py bundled).

Consumers, authentication and routing stay Channels'. A hub belongs to one event loop and one
channel layer (each test has its own of both); it stops when its last socket leaves.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

from channels.layers import InMemoryChannelLayer
from django.conf import settings
from wsproto.frame_protocol import FrameProtocol

from .. import versions

try:  # the errors of a Redis that is down or restarting (channels-redis is optional: in-memory layer)
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # pragma: no cover
    RedisConnectionError = RedisTimeoutError = OSError

try:  # the server `make run` and the benchmark use (see direct_socket)
    from uvicorn import __version__ as uvicorn_version
    from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
except ImportError:  # pragma: no cover (another ASGI server)
    WSProtocol, uvicorn_version = None, ""

logger = logging.getLogger(__name__)

_hubs: dict[tuple[int, int], "LocalHub"] = {}

# Scale-out (channels-redis): each process records in Redis the interface languages of its sockets,
# per group, so that a broadcast from any process renders only those (see listeners()).
LANGUAGES_TTL_S = 24 * 3600  # a group's languages are forgotten a day after a socket last joined it
LANGUAGES_REFRESH_S = 60.0  # how often a process tells Redis again that it still has such sockets
LANGUAGES_LOOKUP_S = 2.0  # a render waits this long for Redis's answer, then renders every language
RESUBSCRIBE_FIRST_DELAY_S = 0.25  # after the layer fails, first retry of the subscriptions; doubled up to:
RESUBSCRIBE_MAX_DELAY_S = 2.0
# Told to every local socket when the layer fails and when it is back (app.js shows the state, and
# resyncs on the second: what was sent during the outage is replayed from the database).
LIVE_PAUSED = '<span id="live-state" data-live-state="paused" hidden hx-swap-oob="true"></span>'
LIVE_RESUMED = '<span id="live-state" data-live-state="resumed" hidden hx-swap-oob="true"></span>'
BACKLOG_LIMIT_BYTES = 1 << 20  # what is held for a client that reads too slowly, before it is cut or closed
CLOSE_TRY_AGAIN = 1013  # as consumers.CLOSE_TRY_AGAIN: the page reconnects with back-off and resyncs

# groups -> their sockets' languages; None: not known, render every language
Listeners = Callable[[set[str]], Mapping[str, frozenset[str]] | None]


STOP_BOUND_S = 2.0  # how long a cancelled channel read may take to end (Uvicorn's graceful stop allows 10 s)
CANCEL_AGAIN_S = 0.05  # a cancelled read still running is cancelled again this often


async def until_cancelled(awaitable):
    """Await a channel layer's read so that cancelling the caller ends it, within STOP_BOUND_S.

    A cancellation can be lost inside the read: on Python 3.11, `asyncio.wait_for` (redis-py's
    send of each command, under channels-redis's receive) returns the result of an inner step that
    finished as the cancellation arrived, and drops it. The receive then went on blocking in Redis
    (and holding channels-redis's receive lock for the others), a consumer never ended, and a
    graceful stop waited for it until Uvicorn's bound. So the read runs as a task of its own: the
    caller's cancellation reaches it here (asyncio.wait loses none), and the read is cancelled again
    until it has ended, or left to the loop's own end past STOP_BOUND_S; the caller is then cancelled
    as it asked. The read's result or error is returned or raised as is.
    """
    read = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({read})
    except asyncio.CancelledError:
        await end_task(read)
        raise
    return read.result()


async def end_task(task: asyncio.Future, bound_s: float = STOP_BOUND_S) -> bool:
    """Cancel `task` until it has ended (True), for at most `bound_s` seconds (False: still running)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            logger.warning("A cancelled channel read did not end within %.1f s", bound_s)
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(CANCEL_AGAIN_S, remaining))
    if not task.cancelled():
        task.exception()  # retrieved: an error of the ended read is not logged as "never retrieved"
    return True


class HubPaused(ConnectionError):
    """A socket may not join a hub that is paused (its layer down): refused as the layer would refuse it."""


OUTAGE_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, RedisConnectionError, RedisTimeoutError)


class LayerOutage:
    """What this process says when its channel layer's server (Redis) goes away and comes back.

    An outage is an expected fault: every socket, render and broadcast of the process meets it, and
    a traceback for each (hundreds a second) said nothing the first line did not. So: one warning
    when the first call fails, one when a call succeeds again, with how long it lasted. Errors of
    any other kind are not outages; their callers log them with their traceback.
    """

    def __init__(self):
        self.since: float | None = None
        self.failures = 0
        self.lock = threading.Lock()  # render threads report too (the languages lookup)

    def failed(self, error: BaseException, doing: str) -> bool:
        """True (and said once per outage) if `error` is the layer's server being unreachable."""
        if not isinstance(error, OUTAGE_ERRORS):
            return False
        with self.lock:
            self.failures += 1
            first, self.since = self.since is None, self.since or time.monotonic()
        if first:
            logger.warning("Channel layer unavailable (%s while %s: %s); live updates paused, pages resync once it is back",
                           type(error).__name__, doing, error)
        return True

    def back(self) -> None:
        """A call to the layer succeeded: end the outage, if there was one."""
        if self.since is None:
            return
        with self.lock:
            since, failures, self.since, self.failures = self.since, self.failures, None, 0
        if since is not None:
            logger.warning("Channel layer back after %.1f s (%s calls failed meanwhile); live updates resumed",
                           time.monotonic() - since, failures)


outage = LayerOutage()  # one per process: the layer's server is the same for all its loops


def quiet_layer_tasks(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The server loop's exception handler (installed at the lifespan's start): a background task of
    the channel layer's own that failed because its server is down (channels-redis fires one off per
    message received, to clean its backup queue; nothing reads its result) is part of the outage,
    which is said once; anything else is logged as asyncio does, with its traceback.

    asyncio reports such a task when it is collected, which may be after its outage has ended (the
    task sits in a reference cycle with its error until a collection): then it is said in a line of
    its own, and no outage is opened again."""
    error = context.get("exception")
    # Redis's own errors only: another task's OSError is no outage of the layer.
    if isinstance(context.get("future"), asyncio.Future) and isinstance(error, (RedisConnectionError, RedisTimeoutError)):
        if outage.since is None:
            logger.info("A channel layer's own background task had failed while its server was unreachable: %s", error)
        else:
            outage.failed(error, "a channel layer's own background task")
        return
    loop.default_exception_handler(context)


class LocalHub:
    def __init__(self, layer, key: tuple[int, int]):
        self.layer, self.key = layer, key
        self.members: dict[str, dict] = {}  # group -> its local sockets, in the order they joined
        self.languages: dict[str, Counter] = {}  # group -> its local sockets' interface languages
        # group -> the languages with a socket, replaced (never changed in place) on each join and
        # leave, so that a render thread may read it while the loop runs (see listeners)
        self.spoken: dict[str, frozenset[str]] = {}
        self.announced: dict[tuple[str, str], float] = {}  # (group, language) -> when Redis was last told
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()
        self.outboxes: dict[object, Outbox] = {}  # socket -> what waits for its send, while something does
        self.closing: set[asyncio.Task] = set()  # sockets being closed on their revocation
        self.paused = False  # the layer failed and the hub has not yet subscribed its groups again

    async def join(self, group: str, consumer, *, announce: bool = True) -> None:
        """Add a socket to a group (the hub subscribes to it with its first); `announce`: record its
        language for the group's renders (not for a group that only gets revocations). While the hub
        is paused (the layer down), refused with HubPaused, as a join the layer refuses is."""
        if self.paused:
            raise HubPaused("live updates are paused: the channel layer is unavailable")
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.task = asyncio.get_running_loop().create_task(self._pump())
            if group not in self.members:
                await self.layer.group_add(group, self.channel)  # first: a failure leaves no half-joined group
                self.members[group] = {}
            if consumer not in self.members[group]:
                self.members[group][consumer] = None
                self.languages.setdefault(group, Counter())[consumer.language] += 1
                self._update_spoken(group)
        if announce:
            await self._announce(group, consumer.language)

    async def _announce(self, group: str, language: str) -> None:
        """With channels-redis, record that this group has a socket in this language, before the
        socket resyncs: a broadcast that reads the languages after this renders it; one that read them
        before was committed before, so the socket's resync replays it (in its language)."""
        if not _shared_languages(self.layer):
            return
        now = time.monotonic()
        if now - self.announced.get((group, language), -LANGUAGES_REFRESH_S) < LANGUAGES_REFRESH_S:
            return
        key = _languages_key(self.layer, group)
        try:
            async with self.layer.connection(self.layer.consistent_hash(group)).pipeline(transaction=False) as pipe:
                await pipe.sadd(key, language).expire(key, LANGUAGES_TTL_S).execute()
        except Exception as error:  # the socket still gets every message, in another language if its own is not rendered
            if not outage.failed(error, "recording a socket's language"):
                logger.warning("Could not record the language %s of group %s", language, group, exc_info=True)
            return
        self.announced[(group, language)] = now

    async def leave(self, group: str, consumer) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None:
                return
            self._forget(group, consumer)
            if members:
                return
            del self.members[group], self.languages[group], self.spoken[group]
            try:
                await self.layer.group_discard(group, self.channel)
            except Exception as error:  # the layer is down; the membership expires there (group_expiry)
                if not outage.failed(error, "leaving a group"):
                    logger.warning("Local fan-out could not leave group %s", group, exc_info=True)
            if not self.members:
                self._stop()

    def _forget(self, group: str, consumer) -> None:
        """Take a socket out of a group's members and language counts (if it is still there)."""
        members = self.members.get(group)  # gone if its last socket left meanwhile
        if members is not None and consumer in members:
            del members[consumer]
            self.languages[group][consumer.language] -= 1
            self._update_spoken(group)

    def _update_spoken(self, group: str) -> None:
        self.spoken[group] = frozenset(language for language, count in self.languages[group].items() if count > 0)

    def _stop(self) -> None:
        _hubs.pop(self.key, None)
        if self.task is not None:
            self.task.cancel()
        self.task, self.channel = None, None

    async def _pump(self) -> None:
        channel = self.channel
        while True:
            try:
                message = await until_cancelled(self.layer.receive(channel))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the layer's server went away (Redis restarted, a network cut)
                if not outage.failed(error, "reading the hub's channel"):
                    logger.warning("Local fan-out could not read its channel; resubscribing", exc_info=True)
                await self._resubscribe(channel)
                continue
            try:
                await self._deliver(message)
            except Exception:  # one bad message or socket must not stop the meeting's live updates
                logger.exception("Local fan-out could not deliver a message to group %s", message.get("group"))

    async def _resubscribe(self, channel: str) -> None:
        """After the layer failed: tell the local sockets live updates are paused, add this process's
        groups again until the layer takes them (a restarted Redis has forgotten every membership),
        then have every socket resync, which replays from the database what the outage cost it."""
        self.paused = True
        await self._tell_sockets(LIVE_PAUSED)
        delay = RESUBSCRIBE_FIRST_DELAY_S
        while True:
            await asyncio.sleep(delay)
            try:
                for group in list(self.members):
                    await self.layer.group_add(group, channel)
            except Exception:
                delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY_S)
                continue
            break
        self.announced.clear()  # the languages recorded in Redis may be gone too
        self.paused = False
        outage.back()
        logger.debug("Local fan-out resubscribed %s groups", len(self.members))
        await self._tell_sockets(LIVE_RESUMED)

    async def _tell_sockets(self, html: str) -> None:
        sockets = {consumer for members in self.members.values() for consumer in members if consumer.accepted}
        for consumer in sockets:
            try:
                await consumer.send(text_data=html)
            except Exception:  # gone meanwhile; its disconnect takes it out of its groups
                pass

    async def _deliver(self, message: dict) -> None:
        """A fragment ("live.fragment") to its group's local sockets; a bundle ("live.bundle", see
        broadcaster.bundled) fragment by fragment, in order. Each language's frame is encoded once and
        written as is to every socket that can take it (direct_socket), never waiting for one that
        reads slowly; the others get the text through their consumer's send."""
        kind = message.get("type")
        if kind == "auth.revoked":
            self._revoke(message.get("group"))
            return
        for fragment in message.get("fragments", ()) if kind == "live.bundle" else (message,) if kind == "live.fragment" else ():
            group, frames = fragment.get("group"), {}
            for consumer in list(self.members.get(group, ())):  # a socket may leave while we write to the others
                if not consumer.accepted:  # joined, not yet accepted: its resync, once open, replays this
                    continue
                try:
                    text = consumer.text_of(fragment["html"])
                    if consumer.direct is not None:
                        frame = frames.get(text)
                        if frame is None:
                            frame = frames[text] = text_frame(text)
                        if consumer.direct.write(frame):
                            continue
                except Exception as error:
                    self._drop(consumer, error)
                    continue
                self._send_soon(consumer, text)

    def _revoke(self, group: str | None) -> None:
        """Close every local socket of a revocation group ("auth.revoked", broadcaster.disconnect_user),
        opened or still opening, each in a task of its own (a slow client holds up no other)."""
        for consumer in list(self.members.get(group, ())):
            task = asyncio.get_running_loop().create_task(consumer.auth_revoked({"type": "auth.revoked"}))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

    def _send_soon(self, consumer, text: str) -> None:
        """Hand a message to the socket's own sender: the consumer's ASGI send, in order, without the
        hub waiting for it (an awaited send held every broadcast, for every socket after it, behind
        a client that reads slowly)."""
        outbox = self.outboxes.get(consumer)
        if outbox is None:
            outbox = self.outboxes[consumer] = Outbox()
            outbox.texts.append(text)
            outbox.size = len(text)
            outbox.task = asyncio.get_running_loop().create_task(self._send_all(consumer, outbox))
            return
        if outbox.closing:
            return
        outbox.texts.append(text)
        outbox.size += len(text)
        if outbox.size > BACKLOG_LIMIT_BYTES:  # a phone asleep with its connection open
            logger.info("Local fan-out closes a socket %s kB behind", outbox.size // 1024)
            outbox.texts.clear()
            outbox.closing = True  # its page reconnects when it wakes, and its resync replays what it missed

    async def _send_all(self, consumer, outbox: Outbox) -> None:
        try:
            while outbox.texts:
                text = outbox.texts.popleft()
                outbox.size = max(0, outbox.size - len(text))
                await consumer.send(text_data=text)
            if outbox.closing:
                await consumer.close(code=CLOSE_TRY_AGAIN)
        except Exception as error:  # e.g. the client went away before its disconnect reached us
            self._drop(consumer, error)
        finally:
            self.outboxes.pop(consumer, None)

    def _drop(self, consumer, error: Exception) -> None:
        """One socket's failure must not cost the others their messages: it leaves its groups here, and
        its disconnect (if it ever comes) finds it gone."""
        for group in [group for group, members in self.members.items() if consumer in members]:
            self._forget(group, consumer)
        logger.info("Local fan-out dropped a socket: %r", error)


class Outbox:
    """The messages waiting for one socket's send (see LocalHub._send_soon); exists while some do."""

    __slots__ = ("texts", "size", "task", "closing")

    def __init__(self):
        self.texts: deque[str] = deque()
        self.size, self.task, self.closing = 0, None, False


# What DirectSocket reads of Uvicorn's WSProtocol: the socket's state, its transport and flow control.
# Private to Uvicorn, so the short cut is taken only on the versions it was tested with (pyproject.toml
# pins that range; tests/test_fanout_frames.py) and only where the setting asks for it.
PROTOCOL_STATE = ("handshake_complete", "response_started", "close_sent", "disconnected", "writable", "transport")
DIRECT_UVICORN_VERSIONS = ((0, 55), (0, 55))  # first and last (major, minor) tested


def direct_writes_supported(version: str) -> bool:
    """Whether DirectSocket may read this Uvicorn version's protocol state: one it was tested with."""
    return versions.in_tested_range(version, DIRECT_UVICORN_VERSIONS)


def direct_socket(send) -> DirectSocket | None:
    """With the setting LIVE_DIRECT_WRITES (on by default), the server's end of a socket that takes a
    frame encoded once for every socket: Uvicorn's wsproto implementation, in a version this was tested
    with, with per-message compression off (`make run`, `deploy/`, the benchmark), where a text frame
    is the same bytes for all. None elsewhere (the setting off, another server, version or
    implementation, compression on, the tests' communicator): the socket's messages go through its
    consumer's ASGI send.

    Writing the frame to the transport skips, per socket, Channels' and Uvicorn's send and wsproto's
    encoding: at 1,000 sockets, most of a broadcast's time on the loop."""
    if not settings.FACILITATION["LIVE_DIRECT_WRITES"] or WSProtocol is None:
        return None
    if not direct_writes_supported(uvicorn_version):  # its private state may differ: the public send
        return None
    protocol = getattr(send, "__self__", None)
    if type(protocol) is not WSProtocol or protocol.config.ws_per_message_deflate:
        return None
    if not all(hasattr(protocol, name) for name in PROTOCOL_STATE):  # another Uvicorn than the one this reads
        return None
    return DirectSocket(protocol)


def text_frame(text: str) -> bytes:
    """A server's WebSocket text frame (unmasked, whole), encoded by wsproto as Uvicorn's send does."""
    return FrameProtocol(client=False, extensions=[]).send_data(text, fin=True)


class DirectSocket:
    """Frames written straight to one socket's transport, in order, without waiting for its client.

    A client that reads too slowly (the transport's buffer over its high-water mark, where Uvicorn's
    send would wait, and the hub with it, and every socket after this one) gets its frames queued
    here and written once it drains. Past BACKLOG_LIMIT_BYTES (a phone asleep with its connection
    open) the connection is cut: the page reconnects when it wakes and its resync replays what it
    missed."""

    __slots__ = ("protocol", "backlog", "backlog_bytes", "drainer")

    def __init__(self, protocol):
        self.protocol = protocol
        self.backlog: list[bytes] | None = None  # frames waiting for a slow client, in order
        self.backlog_bytes = 0
        self.drainer: asyncio.Task | None = None

    def write(self, frame: bytes) -> bool:
        """Write (or queue) a frame; False, with nothing written, where the socket's ordinary send
        must decide: before the handshake, or once closing (the send raises, the hub drops it)."""
        protocol = self.protocol
        if not protocol.handshake_complete or protocol.response_started or self._closing():
            return False
        if self.backlog is None and protocol.writable.is_set():
            protocol.transport.write(frame)
            return True
        if self.backlog is None:
            self.backlog, self.backlog_bytes = [], 0
            self.drainer = asyncio.get_running_loop().create_task(self._drain())
        self.backlog.append(frame)
        self.backlog_bytes += len(frame)
        if self.backlog_bytes > BACKLOG_LIMIT_BYTES:
            logger.info("Local fan-out cut a socket %s kB behind", self.backlog_bytes // 1024)
            self.backlog.clear()
            protocol.transport.abort()  # its disconnect follows, which takes it out of its groups
        return True

    async def _drain(self) -> None:
        protocol = self.protocol
        while self.backlog:
            await protocol.writable.wait()  # set once the buffer drains, or the connection is lost
            if self._closing():
                break
            frames, self.backlog, self.backlog_bytes = self.backlog, [], 0
            protocol.transport.write(b"".join(frames))
        self.backlog, self.drainer = None, None

    def _closing(self) -> bool:
        protocol = self.protocol
        return protocol.close_sent or protocol.disconnected or protocol.transport.is_closing()


def hub_for(layer) -> LocalHub:
    """The hub of the running event loop for this channel layer."""
    key = (id(asyncio.get_running_loop()), id(layer))
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = LocalHub(layer, key)
    return hub


def listeners(layer, loop: asyncio.AbstractEventLoop) -> Listeners | None:
    """On `loop`: a lookup of the interface languages of the sockets of the groups a broadcast goes
    to, so that it renders only those; None where they cannot be known (render every language).

    - In-memory layer (one process holds every socket): the hub's sockets when the lookup is called
      (after the commit; reading only the broadcast's groups: a snapshot of every group, on the
      loop, was a twelfth of the process's CPU at N = 2,000); a group with no socket is absent, and
      gets nothing.
    - channels-redis (several processes): what the processes recorded in Redis, read when the lookup
      is called (in the render's worker thread, once the events are committed), on `loop`, where
      the layer's connections live. A group with no language recorded (none yet, or Redis lost
      them) gets every language: never fewer messages; so does every group when Redis or the loop
      does not answer within LANGUAGES_LOOKUP_S (a loop that is shutting down never would, and the
      render thread waited for it forever).
    """
    if isinstance(layer, InMemoryChannelLayer):
        hub = _hubs.get((id(loop), id(layer)))
        spoken = {} if hub is None else hub.spoken
        return lambda groups: {group: languages for group in groups if (languages := spoken.get(group))}
    if _shared_languages(layer):
        return lambda groups: _wait_for_recorded_languages(layer, groups, loop)
    return None


def _wait_for_recorded_languages(layer, groups: set[str], loop: asyncio.AbstractEventLoop) -> Mapping[str, frozenset[str]] | None:
    try:
        future = asyncio.run_coroutine_threadsafe(_recorded_languages(layer, groups), loop)
    except RuntimeError:  # the loop is closed
        return None
    try:
        return future.result(timeout=LANGUAGES_LOOKUP_S)
    except Exception as error:
        future.cancel()
        if not outage.failed(error, "reading the sockets' languages"):
            logger.warning("No languages of %s groups from Redis: rendering every language", len(groups), exc_info=True)
        return None


# The languages in Redis go through channels-redis's own connections and key prefix (connection(),
# consistent_hash(), prefix: undocumented), so only on the versions this was tested with (pinned in
# pyproject.toml; tests/test_stack_versions.py); elsewhere every group gets every language.
LANGUAGES_CHANNELS_REDIS = ((4, 3), (4, 3))  # first and last (major, minor) tested


def shared_languages_supported(version: str) -> bool:
    """Whether the languages lookup may use this channels-redis version's connections and prefix."""
    return versions.in_tested_range(version, LANGUAGES_CHANNELS_REDIS)


def _shared_languages(layer) -> bool:
    if not (hasattr(layer, "connection") and hasattr(layer, "consistent_hash") and hasattr(layer, "prefix")):
        return False
    package = sys.modules.get(type(layer).__module__.partition(".")[0])
    return shared_languages_supported(getattr(package, "__version__", ""))


def _languages_key(layer, group: str) -> str:
    return f"{layer.prefix}:languages:{group}"  # next to the layer's own keys (prefix "asgi")


async def _recorded_languages(layer, groups: set[str]) -> dict[str, frozenset[str]]:
    every = frozenset(code for code, _name in settings.LANGUAGES)
    by_host: dict[int, list[str]] = {}
    for group in groups:
        by_host.setdefault(layer.consistent_hash(group), []).append(group)
    found = {}
    for index, hosted in by_host.items():
        async with layer.connection(index).pipeline(transaction=False) as pipe:
            for group in hosted:
                pipe.smembers(_languages_key(layer, group))
            rows = await pipe.execute()
        for group, members in zip(hosted, rows):
            languages = frozenset(member.decode() if isinstance(member, bytes) else member for member in members) & every
            found[group] = languages or every
    return found
