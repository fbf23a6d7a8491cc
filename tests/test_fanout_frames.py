"""The hub's short cut to a socket (fanout.direct_socket): a frame encoded once, written to Uvicorn's
own protocol for every socket that can take it, and left to the ordinary send when it cannot."""

import asyncio
import socket

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from uvicorn.server import ServerState
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from sessions_app import fanout


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
