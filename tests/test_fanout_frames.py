"""The hub's writes to its sockets: with LIVE_DIRECT_WRITES (the default), on the Uvicorn versions it
was tested with, the short cut (fanout.direct_socket): a frame encoded once, written to Uvicorn's own
protocol for every socket that can take it, and left to the ordinary send when it cannot; elsewhere,
or with LIVE_DIRECT_WRITES=0, each socket's ASGI send, from a sender of its own so that a slow reader
holds no one else (LocalHub._send_soon)."""

import asyncio
import os
import socket
import subprocess
import sys

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from uvicorn.server import ServerState
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

import uvicorn

from sessions_app.live import fanout

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)


@pytest.fixture(autouse=True)
def direct_writes(settings):
    settings.FACILITATION = {**settings.FACILITATION, "LIVE_DIRECT_WRITES": True}


def client_after_handshake() -> WSConnection:
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="127.0.0.1", target="/ws/")))
    list(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    return client


@pytest.mark.parametrize("text", ["Saved.", "Délégation ★ " * 20, "x" * 70_000])  # each length encoding: 7, 16 and 64 bits
def test_a_frame_encoded_once_reads_back_whole_as_the_text_sent(text):
    client = client_after_handshake()
    client.receive_data(fanout.text_frame(text))
    [message] = list(client.events())
    assert isinstance(message, TextMessage) and message.message_finished and message.data == text


class OneSocket:
    """A real Uvicorn wsproto protocol on one end of a socket pair, a wsproto client on the other."""

    def __init__(self, *, deflate: bool):
        self.deflate, self.sends = deflate, asyncio.Queue()
        self.client = WSConnection(ConnectionType.CLIENT)

    async def app(self, scope, receive, send):
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await self.sends.put(send)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    async def open(self):
        config = Config(app=self.app, interface="asgi3", ws="wsproto", ws_per_message_deflate=self.deflate, lifespan="off", log_level="warning")
        config.load()
        server_end, self.client_end = socket.socketpair()
        self.client_end.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: WSProtocol(config, ServerState(), {}), server_end)
        await loop.sock_sendall(self.client_end, self.client.send(Request(host="127.0.0.1", target="/ws/")))
        send = await asyncio.wait_for(self.sends.get(), 5)
        assert any(isinstance(event, AcceptConnection) for event in await self.events())
        return send

    async def events(self) -> list:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.client_end, 1 << 20), 5)
        self.client.receive_data(data)
        return list(self.client.events())

    async def texts(self) -> list[str]:
        return [event.data for event in await self.events() if isinstance(event, TextMessage)]

    def close(self):
        self.client_end.close()


async def test_uvicorns_socket_takes_the_frame_as_is_and_declines_it_before_the_handshake_or_once_closed():
    one = OneSocket(deflate=False)
    socket_ = fanout.direct_socket(await one.open())
    assert isinstance(socket_.protocol, WSProtocol)

    assert socket_.write(fanout.text_frame("First ★"))
    assert await one.texts() == ["First ★"]
    socket_.protocol.handshake_complete = False  # as it is between the hub's join and the accept
    assert not socket_.write(fanout.text_frame("Too early"))
    socket_.protocol.handshake_complete = True

    await asyncio.get_running_loop().sock_sendall(one.client_end, one.client.send(CloseConnection(code=1000)))
    for _ in range(50):
        if socket_.protocol.close_sent or socket_.protocol.disconnected:
            break
        await asyncio.sleep(0.02)
    assert not socket_.write(fanout.text_frame("After the close"))  # the ordinary send raises: the hub drops it
    one.close()


async def test_a_client_that_reads_slowly_gets_its_frames_later_in_order_without_holding_up_the_writer():
    one = OneSocket(deflate=False)
    socket_ = fanout.direct_socket(await one.open())
    socket_.protocol.pause_writing()  # what asyncio calls when the client reads too slowly: Uvicorn's send would wait
    assert socket_.write(fanout.text_frame("Second")) and socket_.write(fanout.text_frame("Third"))  # at once
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.get_running_loop().sock_recv(one.client_end, 1024), 0.2)
    socket_.protocol.resume_writing()
    assert socket_.write(fanout.text_frame("Fourth"))  # after the held ones, not before
    received = []
    while len(received) < 3:
        received += await one.texts()
    assert received == ["Second", "Third", "Fourth"]
    assert socket_.backlog is None  # drained: the next frame goes straight out
    one.close()


async def test_a_client_too_far_behind_is_cut_so_that_its_page_reconnects_and_resyncs(monkeypatch):
    monkeypatch.setattr(fanout, "BACKLOG_LIMIT_BYTES", 10_000)
    one = OneSocket(deflate=False)
    socket_ = fanout.direct_socket(await one.open())
    socket_.protocol.pause_writing()
    for _ in range(3):
        assert socket_.write(fanout.text_frame("x" * 4_000))
    assert socket_.protocol.transport.is_closing()
    assert await asyncio.wait_for(asyncio.get_running_loop().sock_recv(one.client_end, 1 << 16), 5) == b""  # closed, nothing half-sent
    assert not socket_.write(fanout.text_frame("After the cut"))
    one.close()


async def test_a_socket_with_compression_on_gets_its_own_frames():
    one = OneSocket(deflate=True)  # a browser would negotiate compression: frames differ per socket
    send = await one.open()
    assert fanout.direct_socket(send) is None
    one.close()


def test_another_servers_send_gets_no_short_cut():
    async def send(message):  # e.g. the tests' communicator, Daphne
        pass

    assert fanout.direct_socket(send) is None


@pytest.mark.parametrize(("version", "supported"), [("0.55.0", True), ("0.55.7", True), ("0.56.0", False), ("0.54.1", False),
                                                   ("0.35.0", False), ("1.0.0", False), ("0.55", True), ("dev", False), ("", False)])  # fmt: skip
def test_the_short_cut_is_refused_on_a_uvicorn_it_was_not_tested_with(version, supported):
    assert fanout.direct_writes_supported(version) is supported


async def test_the_installed_uvicorn_is_one_the_short_cut_was_tested_with_and_has_the_state_it_reads():
    """Fails when an upgrade leaves the tested range (pyproject.toml pins it): test the new version,
    then widen DIRECT_UVICORN_VERSIONS and the pin together."""
    assert fanout.direct_writes_supported(uvicorn.__version__)
    protocol = WSProtocol(Config(app=None, ws="wsproto"), ServerState(), {})
    assert [name for name in fanout.PROTOCOL_STATE if not hasattr(protocol, name)] == []


async def test_an_untested_uvicorn_or_the_setting_off_gets_the_ordinary_send(monkeypatch, settings):
    one = OneSocket(deflate=False)
    send = await one.open()
    assert fanout.direct_socket(send) is not None
    monkeypatch.setattr(fanout, "uvicorn_version", "0.56.0")
    assert fanout.direct_socket(send) is None
    monkeypatch.setattr(fanout, "uvicorn_version", uvicorn.__version__)
    settings.FACILITATION = {**settings.FACILITATION, "LIVE_DIRECT_WRITES": False}
    assert fanout.direct_socket(send) is None
    one.close()


def test_direct_writes_are_on_by_default_and_off_with_0():
    """The bench showed them needed for the fan-out's target (docs/performance.md, "Socket writes")."""
    read = "from facilitation import settings; print(settings.FACILITATION['LIVE_DIRECT_WRITES'])"
    env = {name: value for name, value in os.environ.items() if name != "LIVE_DIRECT_WRITES"}
    default = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, check=True)
    off = subprocess.run([sys.executable, "-c", read], env={**env, "LIVE_DIRECT_WRITES": "0"}, capture_output=True, text=True, check=True)
    assert (default.stdout.strip(), off.stdout.strip()) == ("True", "False")


class Client:
    """A socket as the hub sees it, whose client reads when the test lets it (`reading` set)."""

    language, accepted, direct = "en", True, None

    def __init__(self, reading: bool = True):
        self.reading, self.received, self.closed = asyncio.Event(), [], None
        if reading:
            self.reading.set()

    def text_of(self, html):
        return html[self.language]

    async def send(self, text_data=None):
        await self.reading.wait()  # as Uvicorn's send waits for a transport over its high-water mark
        self.received.append(text_data)

    async def close(self, code=None):
        self.closed = code


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_public_send_holds_no_socket_behind_one_that_reads_slowly():
    from channels.layers import InMemoryChannelLayer

    hub = fanout.LocalHub(InMemoryChannelLayer(), key=(0, 0))
    slow, fast = Client(reading=False), Client()
    hub.members["g"] = {slow: None, fast: None}  # slow first: an awaited send would hold fast behind it
    for text in ("one", "two", "three"):
        await hub._deliver({"type": "live.fragment", "group": "g", "html": {"en": text}})
    await settle()
    assert fast.received == ["one", "two", "three"] and slow.received == []
    slow.reading.set()
    await settle()
    assert slow.received == ["one", "two", "three"]  # in order, once it reads
    assert hub.outboxes == {}  # nothing waits: no sender left behind


async def test_a_socket_too_far_behind_on_the_public_send_is_closed_so_that_its_page_resyncs(monkeypatch):
    from channels.layers import InMemoryChannelLayer

    monkeypatch.setattr(fanout, "BACKLOG_LIMIT_BYTES", 10_000)
    hub = fanout.LocalHub(InMemoryChannelLayer(), key=(0, 0))
    asleep = Client(reading=False)
    hub.members["g"] = {asleep: None}
    for _ in range(4):
        await hub._deliver({"type": "live.fragment", "group": "g", "html": {"en": "x" * 4_000}})
        await settle()  # its sender takes the first into its send, which waits for the client
    await hub._deliver({"type": "live.fragment", "group": "g", "html": {"en": "after the cut"}})
    asleep.reading.set()
    await settle()
    assert asleep.received == ["x" * 4_000]  # the one its send had taken before the cut; the rest dropped
    assert asleep.closed == 1013  # try again: the page reconnects and its resync replays what it missed
