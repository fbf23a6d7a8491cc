"""Helpers for WebSocket tests: real ASGI application, real session cookies, real channel layer."""

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from facilitation.asgi import application

ORIGIN = b"http://127.0.0.1:8000"
_opened: list[WebsocketCommunicator] = []  # this test's sockets, closed by close_sockets() before its event loop ends


@database_sync_to_async
def session_cookie(user) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.SIGN_IN_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


async def live_events_sent() -> None:
    """Wait until this event loop's broadcaster has sent every live event committed so far."""
    import asyncio

    from sessions_app.live.broadcaster import Broadcaster

    broadcaster = Broadcaster.of(asyncio.get_running_loop())
    while broadcaster.pending or (broadcaster.task is not None and not broadcaster.task.done()):
        await asyncio.sleep(0.005)


async def open_socket(path: str, user=None, origin: bytes = ORIGIN) -> tuple[WebsocketCommunicator, bool, int | None]:
    """A socket opened after every live event committed so far has gone out (as a page loaded later)."""
    await live_events_sent()
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        headers.append((b"cookie", (await session_cookie(user)).encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    _opened.append(communicator)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def connected_socket(path: str, user) -> WebsocketCommunicator:
    """A socket opened and accepted; the test fails here if the server refused it."""
    socket, connected, code = await open_socket(path, user)
    assert connected, f"refused with close code {code}"
    return socket


async def close_sockets() -> None:
    """Disconnect the sockets a test left open (refused ones included: their consumers still read the
    channel layer). Left to the end of the test's event loop, their cancellation can hang a
    channels-redis read, and with it the test run."""
    import asyncio

    loop = asyncio.get_running_loop()
    while _opened:
        communicator = _opened.pop()
        if communicator.future.done() or communicator.future.get_loop() is not loop:  # another test's, already gone
            continue
        try:
            await communicator.disconnect(timeout=2)
        except Exception:  # noqa: BLE001 - a consumer that fails to stop is cancelled; the next test goes on
            communicator.future.cancel()


def console_path(meeting, number: int = 1) -> str:
    return f"/ws/meetings/{meeting.slug}/sessions/{number}/console/"


def delegate_path(meeting, number: int = 1) -> str:
    return f"/ws/meetings/{meeting.slug}/sessions/{number}/delegate/"


def screen_path(meeting) -> str:
    return f"/ws/meetings/{meeting.slug}/screen/"


async def receive_until(communicator: WebsocketCommunicator, text: str, timeout: float = 2) -> str:
    """The first message containing `text` (messages before it are skipped; live events are sent in
    the background, so one committed just before a socket opened may or may not reach it)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await communicator.receive_from(timeout=max(left, 0.01))
        if text in message:
            return message


async def close_code(communicator: WebsocketCommunicator, timeout: float = 3) -> int:
    """The code the server closes this socket with (what it sent before is skipped)."""
    while (output := await communicator.receive_output(timeout=timeout))["type"] != "websocket.close":
        pass
    return output["code"]


async def reply_to(socket, key: str, timeout: float = 5) -> str:
    """What a socket receives up to the ack of its change frame `key` (a vote or an answer)."""
    return await receive_until(socket, f'data-vote-ack="{key}"', timeout=timeout)
