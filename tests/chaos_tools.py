"""What make chaos (tests/test_chaos.py) runs the stack with: its own redis-server, a TCP proxy in
front of the workers (the load balancer a deploy has: a worker killed, its clients move to the
other), and simulated delegates that post answers over HTTP or hold sockets open."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import threading
import time
import uuid

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
    """A delegation's delegate posting answers over HTTP, as the answer form does (a key per answer:
    a retry after a dropped connection is stored once)."""

    def __init__(self, base_url: str, code: str, slug: str, password: str):
        self.code, self.slug = code, slug
        self.client = httpx.Client(base_url=base_url, timeout=15)
        self.client.post("/accounts/login/", data={"username": f"delegate-{code}", "password": password,
                                                   "csrfmiddlewaretoken": csrf_of(self.client.get("/accounts/login/").text)})
        page = self.client.get(f"/meetings/{slug}/sessions/1/").text
        self.questions = re.findall(r'id="question-(\d+)"', page)
        self.token = csrf_of(page)

    def answer(self, qid: str, text: str, attempts: int = 3) -> bool:
        """True once the server acknowledged the answer; retried (same key) when the connection fails."""
        key = uuid.uuid4().hex
        for attempt in range(attempts):
            try:
                response = self.client.post(f"/meetings/{self.slug}/questions/{qid}/answer/",
                                            data={"kind": "answer", "text": text, "key": key, "csrfmiddlewaretoken": self.token})
            except httpx.HTTPError:
                time.sleep(0.5 * (attempt + 1))
                continue
            return response.status_code in (200, 302)
        return False

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())

    def close(self) -> None:
        self.client.close()


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
