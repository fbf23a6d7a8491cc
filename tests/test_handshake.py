"""What opening a socket costs the database, and what its first resync still guarantees when the
process answers it without a query of its own (quiet_check: a reconnect storm's thousands of pages)."""

import asyncio
import gc
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from facilitation.asgi import application
from sessions_app import services
from sessions_app.live import garbage, quiet_check
from sessions_app.middleware import socket_database
from sessions_app.models import Meeting

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from . import live_helpers
from .live_helpers import ORIGIN, connected_socket, delegate_path, live_events_sent, open_socket, receive_until, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]


@database_sync_to_async
def setup_meeting(delegates: int):
    france = DelegationFactory(country="FR")
    question = QuestionFactory()
    question.session.number = 1
    question.session.save()
    question.session.meeting.delegations.add(france)
    return {"question": question, "meeting": question.session.meeting, "delegates": [make_delegate(france) for _ in range(delegates)],
            "chair": make_chair()}  # fmt: skip


@database_sync_to_async
def last_seq(meeting) -> int:
    return Meeting.objects.get(pk=meeting.pk).last_seq


class SocketQueries:
    """The queries made on the sockets' database thread (middleware.socket_database) in between."""

    def __init__(self):
        self.context = CaptureQueriesContext(connection)  # resolved on the thread that enters it

    async def __aenter__(self):
        await socket_database(self.context.__enter__)()
        return self

    async def __aexit__(self, *exc):
        await socket_database(self.context.__exit__)(None, None, None)
        self.sql = await socket_database(lambda: [query["sql"] for query in self.context.captured_queries])()


async def test_ten_delegates_opening_and_resyncing_cost_four_queries_each_and_one_read_of_the_meeting():
    world = await setup_meeting(10)
    quiet_check.forget()
    after = await last_seq(world["meeting"])
    sockets = []
    for user in world["delegates"]:
        cookie = (await session_cookie(user)).encode()
        sockets.append(WebsocketCommunicator(application, delegate_path(world["meeting"]),
                                             headers=[(b"origin", ORIGIN), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]))  # fmt: skip
    try:
        async with SocketQueries() as queries:
            for socket in sockets:
                assert (await socket.connect()) == (True, None)
            for socket in sockets:  # as every page does once its socket is open: it missed nothing
                await socket.send_to(text_data=json.dumps({"type": "resync", "after": after}))
            for socket in sockets:
                assert await socket.receive_nothing(timeout=0.1)
                await socket.disconnect()  # once its resync is handled
    finally:
        for socket in sockets:
            if not socket.future.done():
                await socket.disconnect()
    # Each socket: its session, its user (with participant and delegation), the meeting's and the
    # session's ids, whether the delegation takes part. Their ten resyncs: one read of the number.
    assert len(queries.sql) == 10 * 4 + 1, "\n".join(queries.sql)
    assert sum('"last_seq"' in sql and "sessions_app_meeting" in sql for sql in queries.sql) == 1


async def test_a_resync_on_opening_replays_an_event_committed_after_the_process_last_read_the_number(monkeypatch):
    world = await setup_meeting(2)
    quiet_check.forget()
    monkeypatch.setattr(quiet_check, "MAX_AGE_S", 60)  # however slow the machine, the number read below stays fresh
    before = await last_seq(world["meeting"])
    first, connected, _ = await open_socket(delegate_path(world["meeting"]), world["delegates"][0])
    assert connected
    await first.send_to(text_data=json.dumps({"type": "resync", "after": before}))
    assert await first.receive_nothing(timeout=0.2)  # the process now knows the number: `before`
    await first.disconnect()

    # Closed while the second page's socket is not open yet: its live message reaches no one of it.
    await database_sync_to_async(services.set_question_status)(user=world["chair"], question=world["question"], status="closed")
    await live_events_sent()
    second, connected, _ = await open_socket(delegate_path(world["meeting"]), world["delegates"][1])
    assert connected
    await second.send_to(text_data=json.dumps({"type": "resync", "after": before}))

    html = await receive_until(second, "qstatus")
    assert f'data-seq="{before + 1}"' in html or f'data-seq="{before + 1}"' in await receive_until(second, "live-seq")
    await second.disconnect()


@pytest.fixture
def collector_paused(monkeypatch):
    """The collector's automatic passes off for the test (only explicit ones run), and the passes
    over each generation recorded."""
    passes: list[int] = []

    def record(phase, info):
        if phase == "stop":
            passes.append(info["generation"])

    gc.collect()
    gc.disable()
    gc.callbacks.append(record)
    try:
        yield passes
    finally:
        gc.callbacks.remove(record)
        gc.enable()


def users_alive(pks: set[int], besides: list) -> int:
    """How many User objects of these users exist in the process, the test's own `besides` left out."""
    own = {id(user) for user in besides}
    return sum(isinstance(item, User) and item.pk in pks and id(item) not in own for item in gc.get_objects())


async def test_a_delegates_socket_frees_the_user_its_handshake_read_without_waiting_for_a_collection(collector_paused, monkeypatch):
    monkeypatch.setattr(garbage, "COLLECT_AFTER_S", 3600)  # no collection while the test looks
    world = await setup_meeting(3)
    pks = {user.pk for user in world["delegates"]}
    sockets = [await connected_socket(delegate_path(world["meeting"]), user) for user in world["delegates"]]
    # The handshake read each user with its participant and delegation (access.ParticipantBackend),
    # which cache each other; the socket keeps only the user's id, and nothing of them stays behind.
    assert users_alive(pks, world["delegates"]) == 0
    assert collector_paused == []
    for index, socket in enumerate(sockets):  # and each socket still answers as its user
        key = f"{index:032x}-q{world['question'].pk}"
        await socket.send_to(text_data=json.dumps({"type": "answer", "key": key, "question": world["question"].pk,
                                                   "kind": "answer", "text": f"Answer {index}"}))  # fmt: skip
        reply = await live_helpers.reply_to(socket, key)
        assert "data-vote-refused" not in reply and "Update the answer" in reply


async def test_a_burst_of_handshakes_is_followed_by_one_collection_of_the_young_generations_once_it_stops(collector_paused, monkeypatch):
    monkeypatch.setattr(garbage, "COLLECT_AFTER_S", 0.3)
    world = await setup_meeting(5)
    for user in world["delegates"][:4]:  # 0.45 s of handshakes, never 0.3 s apart
        await connected_socket(delegate_path(world["meeting"]), user)
        await asyncio.sleep(0.15)
    assert collector_paused == []  # none while they go on
    await asyncio.sleep(0.5)
    assert collector_paused == [1]  # one for the four, of the two young generations only
    await connected_socket(delegate_path(world["meeting"]), world["delegates"][4])
    await asyncio.sleep(0.6)
    assert collector_paused == [1, 1]  # a later handshake: one more


async def test_an_open_socket_keeps_two_copies_of_its_scope_past_the_sign_in(collector_paused, monkeypatch):
    # Channels' middleware each copy the scope, and a socket's coroutines keep every copy for its life:
    # the session's (SocketSessionMiddleware), in which the user is read in place (SocketAuthMiddleware,
    # where Channels' AuthMiddleware made two more), and the router's, which the consumer reads.
    monkeypatch.setattr(garbage, "COLLECT_AFTER_S", 3600)
    world = await setup_meeting(1)
    await connected_socket(delegate_path(world["meeting"]), world["delegates"][0])
    copies = [item for item in gc.get_objects() if isinstance(item, dict) and "session" in item and item.get("type") == "websocket"]
    assert len(copies) == 2
    assert all(copy["user"] is copies[0]["user"] for copy in copies)  # one user for both: replace_user reaches each
