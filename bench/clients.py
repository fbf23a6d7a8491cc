"""Simulated delegates and consoles: WebSocket tabs, a small HTTP client, and what they observe.

Every tab reads every message as a browser would and stamps its arrival; the Hub keeps only what
the probes ask for (which tab got the fan-out marker when, which console showed which answer when).
Times are time.perf_counter() seconds in this one process.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ANSWER_MARK = re.compile(r"bnch(\d+)x")
SEQ_MARK = re.compile(r'data-seq="(\d+)"')
ACK_MARK = re.compile(r'data-vote-ack="([A-Za-z0-9_-]+)"( data-vote-refused)?')  # a change sent over a socket, done with
CONNECT_TIMEOUT = 30  # default handshake limit; the phases pass what is left of their own bound


def answer_mark(k: int) -> str:
    return f"bnch{k}x"


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class Hub:
    """What the probes are waiting for, fed by every tab's reader."""

    def __init__(self, delegates: int, consoles: int):
        self.marker: str | None = None
        self.arrivals = [0.0] * delegates
        self.pending = 0
        self.all_in = asyncio.Event()
        self.fanout_bytes = 0
        # Ingest: answer number -> intended send time, and per console answer number -> first seen.
        self.sent_at: dict[int, float] = {}
        self.seen: list[dict[int, float]] = [{} for _ in range(consoles)]
        self.shown_everywhere: dict[int, float] = {}
        self.confirmed: set[int] = set()  # answers the server said it stored (HTTP 200)
        self.console_bytes: list[int] = []
        self.watch: set[int] = set()
        self.watch_done = asyncio.Event()
        # Answers sent over a delegate's socket: key -> future set by its ack (True stored, False refused).
        self.acks: dict[str, asyncio.Future] = {}

    def arm(self, marker: str, expected: int) -> None:
        self.marker = marker
        self.arrivals = [0.0] * len(self.arrivals)
        self.pending = expected
        self.all_in.clear()

    def on_delegate(self, index: int, message: str, now: float) -> None:
        if self.acks and "data-vote-ack=" in message:
            for key, refused in ACK_MARK.findall(message):
                acked = self.acks.get(key)
                if acked is not None and not acked.done():
                    acked.set_result(not refused)
        marker = self.marker
        if marker is not None and marker in message and not self.arrivals[index]:
            self.arrivals[index] = now
            self.fanout_bytes = len(message)
            self.pending -= 1
            if self.pending == 0:
                self.all_in.set()

    def on_console(self, index: int, message: str, now: float) -> None:
        seen = self.seen[index]
        found = False
        for number in ANSWER_MARK.findall(message):
            k = int(number)
            if k in seen:
                continue
            found = True
            seen[k] = now
            if all(k in other for other in self.seen):
                self.shown_everywhere[k] = now
                self.watch.discard(k)
                if not self.watch:
                    self.watch_done.set()
        if found and len(self.console_bytes) < 200:
            self.console_bytes.append(len(message))

    def forget(self, k: int) -> None:
        """Answer k was refused (or its request failed): no console will show it, stop waiting for it."""
        if k in self.watch:
            self.watch.discard(k)
            if not self.watch:
                self.watch_done.set()

    def expect_answers(self, numbers) -> None:
        self.watch = {k for k in numbers if k not in self.shown_everywhere}
        self.watch_done.clear()
        if not self.watch:
            self.watch_done.set()


class Tab:
    """One browser tab's live connection: a delegate page or a chair's console."""

    def __init__(self, hub: Hub, index: int, url: str, *, console: bool, headers: dict | None = None, origin: str | None = None,
                 on_open: Callable[[Tab], Awaitable[None]] | None = None):  # fmt: skip
        self.hub, self.index, self.url, self.console = hub, index, url, console
        self.headers, self.origin, self.on_open = headers or {}, origin, on_open
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task | None = None
        self.seq = 0
        self.messages = 0
        self.failures: Counter = Counter()  # why handshakes failed: "InvalidStatus 500", "TimeoutError", ...

    async def open(self, timeout: float = CONNECT_TIMEOUT) -> None:
        # Browsers send no pings and offer permessage-deflate; so does this client. Nor do they give up
        # on a slow handshake after a few seconds: the caller's bound is the only limit.
        self.ws = await connect(
            self.url, additional_headers=self.headers, origin=self.origin, open_timeout=max(timeout, 1),
            ping_interval=None, close_timeout=1, max_size=2**22,
        )  # fmt: skip
        self.reader = asyncio.create_task(self._read(self.ws))
        if self.on_open is not None:
            try:
                await self.on_open(self)
            except BaseException:
                await self.finish()  # a half-open tab must not linger beside its retry
                raise

    async def _read(self, ws: ClientConnection) -> None:
        hub, index, console = self.hub, self.index, self.console
        try:
            async for message in ws:
                now = time.perf_counter()
                if isinstance(message, bytes):
                    message = message.decode()
                self.messages += 1
                seq = SEQ_MARK.search(message)
                if seq:
                    self.seq = max(self.seq, int(seq.group(1)))
                if console:
                    hub.on_console(index, message, now)
                else:
                    hub.on_delegate(index, message, now)
        except ConnectionClosed:
            pass

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    def cut(self) -> None:
        """Drop the connection without a closing handshake, as a lost network would."""
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()

    async def reopen(self, deadline: float) -> tuple[float | None, int]:
        """Reconnect as htmx's ws extension does: full-jitter backoff, 0..1 s, 0..2 s, ... 0..64 s.

        Returns (time of the successful open or None, failed attempts)."""
        retry = 0
        while True:
            delay = random.random() * 2 ** min(retry, 6)
            if time.perf_counter() + delay > deadline:
                return None, retry
            await asyncio.sleep(delay)
            try:
                await self.open(deadline - time.perf_counter())
                return time.perf_counter(), retry
            except Exception as error:  # noqa: BLE001  a refused or failed handshake is one more retry
                self.failures[describe(error)] += 1
                retry += 1

    async def finish(self) -> None:
        self.cut()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


def describe(error: Exception) -> str:
    """A failed handshake in a few words: the exception's type, and the HTTP status if there was one."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return f"{type(error).__name__} {status}" if status else type(error).__name__


async def resync(tab: Tab) -> None:
    """What app.js sends on every (re)connection: the last sequence number the page saw."""
    await tab.send(json.dumps({"type": "resync", "after": tab.seq}))


async def open_all(tabs: list[Tab], *, concurrency: int = 100, deadline_s: float = 120) -> tuple[float, int, int]:
    """Open every tab, `concurrency` handshakes at a time; a failed handshake retries as a browser would.

    Returns (seconds until all were open, tabs never opened, failed handshakes)."""
    started = time.perf_counter()
    deadline = started + deadline_s
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(tab: Tab) -> bool:
        nonlocal failures
        async with gate:
            try:
                await tab.open(deadline - time.perf_counter())
                return True
            except Exception as error:  # noqa: BLE001
                tab.failures[describe(error)] += 1
                failures += 1
        opened, retries = await tab.reopen(deadline)
        failures += retries
        return opened is not None

    results = await asyncio.gather(*(one(tab) for tab in tabs))
    return time.perf_counter() - started, results.count(False), failures


class Http:
    """Minimal HTTP/1.1 keep-alive client: a few dozen microseconds per request of client CPU (httpx
    spends about a millisecond), which matters when the client shares two cores with the servers."""

    def __init__(self, limit: int = 256):
        self.limit = limit
        self.idle: dict[int, list] = {}
        self.gates: dict[int, asyncio.Semaphore] = {}

    async def request(self, port: int, method: str, path: str, *, cookie: str = "", form: dict | None = None,
                      headers: dict | None = None, timeout: float = 60, on_sent=None) -> tuple[int, bytes]:  # fmt: skip
        """(status, body); on_sent() is called once the request is written to the server."""
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        gate = self.gates.setdefault(port, asyncio.Semaphore(self.limit))
        idle = self.idle.setdefault(port, [])
        async with gate:
            # Uvicorn closes keep-alive connections idle for 5 s: never reuse one idle for 4.
            while idle and time.monotonic() - idle[0][2] > 4:
                idle.pop(0)[1].close()
            reused = bool(idle)
            reader, writer, _at = idle.pop() if reused else (*await asyncio.open_connection("127.0.0.1", port), 0)
            try:
                writer.write(raw)
                if on_sent is not None:
                    on_sent()
                status, keep, data = await asyncio.wait_for(_read_response(reader), timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if not reused:
                    raise
                # The server closed the idle connection just then; a resend is safe because every
                # submission carries its idempotency key.
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(raw)
                    status, keep, data = await asyncio.wait_for(_read_response(reader), timeout)
                except BaseException:
                    writer.close()
                    raise
            except BaseException:
                writer.close()
                raise
            if keep:
                idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, data

    async def close(self) -> None:
        for connections in self.idle.values():
            for _reader, writer, _at in connections:
                writer.close()
        self.idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    if "content-length" in headers:
        data = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        pieces = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            pieces.append(await reader.readexactly(size + 2))
        data = b"".join(piece[:-2] for piece in pieces)
    else:
        data, keep = await reader.read(), False
    return status, keep, data
