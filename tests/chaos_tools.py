"""What make chaos (tests/test_chaos.py) runs the stack with: its own redis-server, a TCP proxy in
front of the workers (the load balancer a deploy has: a worker killed, its clients move to the
other), and simulated delegates that send answers and votes over HTTP, or over their session page's
socket as the page does (falling back to HTTP), or hold sockets open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter

import httpx


class OwnRedis:
    """A redis-server without persistence (a restart forgets every group), on its own port."""

    def __init__(self, port: int):
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class Proxy:
    """A TCP forwarder: each connection goes to the first of `backends` (ports) that accepts it.

    `cut()` closes every connection through it and refuses new ones until `restore()`: the client's
    network gone (a phone in a lift, a laptop's Wi-Fi), as its page sees it."""

    def __init__(self, backends: tuple[int, ...]):
        self.backends, self.refusing, self.pairs, self.lock = backends, False, set(), threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        if not self.refusing:
            for port in self.backends:
                try:
                    upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
                    upstream.settimeout(None)
                    break
                except OSError:
                    continue
        if upstream is None:
            client.close()
            return
        pair = (client, upstream)
        with self.lock:
            self.pairs.add(pair)
        threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()
        self._pump(client, upstream, pair)

    def _pump(self, source: socket.socket, target: socket.socket, pair) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair) -> None:
        with self.lock:
            self.pairs.discard(pair)
        for end in pair:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def cut(self) -> None:
        self.refusing = True
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._close(pair)

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


class Delegate:
    """A delegation's delegate posting answers and votes over HTTP, as the forms do without a socket
    (a key per answer: a retry after a dropped connection is stored once). `acknowledged` counts what
    the server acknowledged, by how it was sent (here "http" only)."""

    def __init__(self, base_url: str, code: str, slug: str, password: str):
        self.code, self.slug = code, slug
        self.client = httpx.Client(base_url=base_url, timeout=15)
        self.client.post("/accounts/login/", data={"username": f"delegate-{code}", "password": password,
                                                   "csrfmiddlewaretoken": csrf_of(self.client.get("/accounts/login/").text)})
        page = self.client.get(f"/meetings/{slug}/sessions/1/").text
        self.questions = re.findall(r'id="question-(\d+)"', page)
        self.token = csrf_of(page)
        self.complete = int(re.search(r'id="live-seq" data-seq="(\d+)"', page).group(1))
        self.acknowledged: Counter = Counter()  # ("answer" | "vote", how it was sent) -> acknowledged

    def answer(self, qid: str, text: str, attempts: int = 3) -> bool:
        """True once the server acknowledged the answer; retried (same key) when the connection fails."""
        return self._counted("answer", "http", self.post_answer(qid, text, uuid.uuid4().hex, attempts))

    def vote(self, round_id: int, statement_id: int, choice: str) -> bool:
        """True once the server acknowledged the vote (its htmx reply, 200; a refusal is 422)."""
        return self._counted("vote", "http", self.post_vote(statement_id, choice, None))

    def _counted(self, what: str, how: str, ok: bool) -> bool:
        if ok:
            self.acknowledged[what, how] += 1
        return ok

    def post_answer(self, qid: str, text: str, key: str, attempts: int = 3) -> bool:
        return self._post(f"/meetings/{self.slug}/questions/{qid}/answer/", {"kind": "answer", "text": text, "key": key}, attempts)

    def post_vote(self, statement_id: int, choice: str, key: str | None, attempts: int = 3) -> bool:
        # As htmx posts the vote form (the page's fallback adds the key, which the view does not need).
        values = {"choice": choice, **({"key": key} if key else {})}
        return self._post(f"/meetings/{self.slug}/opinion/statements/{statement_id}/vote/", values, attempts, htmx=True)

    def _post(self, path: str, values: dict, attempts: int, htmx: bool = False) -> bool:
        headers = {"HX-Request": "true"} if htmx else {}
        for attempt in range(attempts):
            try:
                response = self.client.post(path, data={**values, "csrfmiddlewaretoken": self.token}, headers=headers)
            except httpx.HTTPError:
                time.sleep(0.5 * (attempt + 1))
                continue
            return response.status_code in (200, 302)
        return False

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())

    def close(self) -> None:
        self.client.close()


ACK = re.compile(r'data-vote-ack="([A-Za-z0-9_-]+)"( data-vote-refused)?')
THROUGH = re.compile(r'id="live-seq" data-seq="(\d+)"[^>]*data-through')


class SocketDelegate(Delegate):
    """A delegate whose session page holds its socket open (through `ws_url`: its delegate proxy) and
    sends answers and votes over it as static/js/app.js does: a frame with a key, pending until the ack
    naming the key; no ack within ACK_S, and the same change is posted over HTTP with the same key; the
    socket closing before the ack, the same, and the page reconnects (with back-off, resyncing from its
    last complete event number). A change made while the socket is down goes over HTTP, as the form
    posts without a socket. Each change waits for its ack or its fallback (the answer's button does)."""

    ACK_S = 3.0  # app.js's ACK_MS
    MAX_RECONNECT_S = 5.0  # app.js's back-off: full jitter up to 5 s

    def __init__(self, base_url: str, code: str, slug: str, password: str, ws_url: str):
        super().__init__(base_url, code, slug, password)
        self.ws_url, self.origin = ws_url, base_url
        self.sock, self.retry_at, self.delay, self.opens = None, 0.0, 0.5, 0
        self.connect()

    def connect(self) -> bool:
        """The socket open (opened now if it is down and its back-off has passed)."""
        from websockets.sync.client import connect

        if self.sock is not None:
            return True
        if time.monotonic() < self.retry_at:
            return False
        try:
            # websockets' sync connect() is a context manager (used bare, it warns): entered here, left in dropped().
            self.sock = contextlib.ExitStack().enter_context(connect(
                self.ws_url, additional_headers={"Cookie": self.cookie_header()}, origin=self.origin,
                open_timeout=5, close_timeout=1, compression=None, max_size=None))
            self.sock.send(json.dumps({"type": "resync", "after": self.complete}))  # as app.js on every open
            self.opens, self.delay = self.opens + 1, 0.5
            return True
        except Exception:  # refused meanwhile (the worker gone, the network cut): HTTP until the back-off passed
            self.dropped()
            return False

    def _close_socket(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except Exception:  # already gone: nothing to close
                pass
        self.sock = None

    def dropped(self) -> None:
        self._close_socket()
        self.retry_at = time.monotonic() + random.uniform(0, self.delay)
        self.delay = min(self.delay * 2, self.MAX_RECONNECT_S)

    def answer(self, qid: str, text: str, attempts: int = 3) -> bool:
        key = uuid.uuid4().hex  # the form's key
        frame = {"type": "answer", "key": key, "question": int(qid), "kind": "answer", "text": text}
        return self.change("answer", frame, lambda: self.post_answer(qid, text, key, attempts))

    def vote(self, round_id: int, statement_id: int, choice: str) -> bool:
        key = "v-" + uuid.uuid4().hex[:24]  # the page's voteKey()
        frame = {"type": "vote", "key": key, "round": round_id, "statement": statement_id, "choice": choice}
        return self.change("vote", frame, lambda: self.post_vote(statement_id, choice, key))

    def change(self, what: str, frame: dict, post) -> bool:
        """Send `frame` over the socket and wait for its ack; else `post` it (the same key) over HTTP."""
        how = "http-no-socket"
        if self.connect():
            try:
                self.sock.send(json.dumps(frame))
                deadline = time.monotonic() + self.ACK_S
                while True:
                    message = self.sock.recv(timeout=max(deadline - time.monotonic(), 0.001))
                    for seq in THROUGH.findall(message):
                        self.complete = max(self.complete, int(seq))
                    for key, refused in ACK.findall(message):
                        if key == frame["key"]:
                            return self._counted(what, "socket", not refused)
            except TimeoutError:
                how = "http-after-no-ack"
            except Exception:  # closed (1006 a cut, 1012 a restart, 1013 an outage) before the ack
                how = "http-after-close"
                self.dropped()
        return self._counted(what, how, post())

    def close(self) -> None:
        self._close_socket()
        super().close()


async def open_sockets(urls_and_cookies: list[tuple[str, str, int]], after: int, *, batch: int) -> tuple[list, dict]:
    """Open delegate sockets ((url, cookie header, origin port)), `batch` at a time (all at once:
    batch = len), each sending its resync as app.js does; returns the open ones and the outcomes."""
    from websockets.asyncio.client import connect

    outcomes: dict[str, int] = {}

    async def one(url: str, cookie: str, port: int):
        try:
            sock = await connect(url, additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
                                 open_timeout=60, max_size=None, compression=None)
        except Exception as error:  # an HTTP status other than 101, a refused connection, a timeout
            status = getattr(getattr(error, "response", None), "status_code", None)
            kind = f"http-{status}" if status else type(error).__name__
            outcomes[kind] = outcomes.get(kind, 0) + 1
            return None
        await sock.send('{"type": "resync", "after": %d}' % after)
        outcomes["open"] = outcomes.get("open", 0) + 1
        return sock

    opened = []
    for start in range(0, len(urls_and_cookies), batch):
        opened.extend(await asyncio.gather(*(one(*spec) for spec in urls_and_cookies[start:start + batch])))
    return [sock for sock in opened if sock is not None], outcomes


async def wait_for_fragment(sockets: list, needles: list[str], after_seq: int, timeout: float) -> int:
    """How many sockets received, within `timeout`, a live message for an event after `after_seq`
    that contains their needle (sockets[i] waits for needles[i])."""
    marker = re.compile(r'data-seq="(\d+)"')

    async def one(sock, needle: str) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await sock.recv()
                    seq = marker.search(message)
                    if needle in message and seq and int(seq.group(1)) > after_seq:
                        return True
        except Exception:
            return False

    return sum(await asyncio.gather(*(one(sock, needle) for sock, needle in zip(sockets, needles))))


def signed_in_cookie(base_url: str, username: str, password: str) -> str:
    """The cookie header of a session signed in through the real login form."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        client.post("/accounts/login/", data={"username": username, "password": password,
                                              "csrfmiddlewaretoken": csrf_of(client.get("/accounts/login/").text)})
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


class SimulatedConsole:
    """A console's socket without the page's script: it reconnects when its worker closes it (1012 on
    a graceful stop, a lost connection) and resyncs from its last complete event number, as app.js
    does, but never on a gap nor on a quiet stream. What it shows is each answer card's last text
    received; what reached it live tells whether the server sent what it should have."""

    CARD = re.compile(r'<article class="[^"]*answer-card[^"]*" id="answer-(\d+)".*?</article>', re.S)
    SEQS = re.compile(r'<span id="live-seq" data-seq="(\d+)"(?: data-seqs="([\d,-]+)")?( data-through)?')

    def __init__(self, url: str, cookie: str, origin_port: int, after: int, needle: re.Pattern):
        self.url, self.cookie, self.origin, self.needle = url, cookie, f"http://127.0.0.1:{origin_port}", needle
        self.complete, self.seen = after, set()
        self.shown: dict[str, str] = {}  # card id -> the last text it received
        self.received: set[str] = set()  # every text it ever received
        self.opens, self.sock, self.stopping, self.replied = 0, None, False, None

    def take(self, message: str) -> None:
        for card in self.CARD.finditer(message):
            found = self.needle.search(card.group(0))
            if found:
                self.shown[card.group(1)] = found.group(0)
                self.received.add(found.group(0))
        for seq, seqs, through in self.SEQS.findall(message):
            if through:
                self.complete = max(self.complete, int(seq))
                if self.replied is not None and not self.replied.done():
                    self.replied.set_result(int(seq))
            for part in filter(None, seqs.split(",")):
                first, last = part.split("-")
                self.seen.update(range(int(first), int(last) + 1))
        while self.complete + 1 in self.seen:
            self.complete += 1

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        delay = 0.2
        while not self.stopping:
            try:
                async with connect(self.url, additional_headers={"Cookie": self.cookie, "Origin": self.origin},
                                   open_timeout=10, max_size=None, compression=None) as sock:
                    self.sock, self.opens, delay = sock, self.opens + 1, 0.2
                    await sock.send('{"type": "resync", "after": %d}' % self.complete)
                    async for message in sock:
                        self.take(message)
            except Exception:  # closed by its worker, refused meanwhile: back off and reconnect
                pass
            self.sock = None
            if not self.stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def resync_from(self, after: int, timeout: float = 15) -> bool:
        """Ask for everything after `after` and wait for the reply's closing marker."""
        deadline = time.monotonic() + timeout
        while self.sock is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.sock is None:
            return False
        self.replied = asyncio.get_running_loop().create_future()
        await self.sock.send('{"type": "resync", "after": %d}' % after)
        try:
            await asyncio.wait_for(self.replied, max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            return False
        return True


class SimulatedConsoles:
    """Simulated consoles on an event loop of their own, in a thread (Playwright's sync API keeps one
    running in the test's)."""

    def __init__(self, consoles: list[SimulatedConsole]):
        self.consoles = consoles
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tasks = [asyncio.run_coroutine_threadsafe(console.run(), self.loop) for console in consoles]

    def call(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def wait_open(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(console.sock is not None for console in self.consoles):
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        async def stop():
            for console in self.consoles:
                console.stopping = True
                if console.sock is not None:
                    await console.sock.close()

        self.call(stop())
        for task in self.tasks:
            try:
                task.result(10)
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
