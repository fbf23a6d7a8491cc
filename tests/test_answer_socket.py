"""Answers over the delegate's socket: stored through the answer batcher with the form's key, answered
with what the HTTP form's reply swaps in and an ack naming the key; the same key sent twice, or over
the socket and then over HTTP, is stored once; refused clearly (the card with its error, nothing
stored) for a closed question, another meeting's question, a console's socket or an over-long text;
a malformed frame closes the socket."""

import json

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from sessions_app.live import consumers
from sessions_app.models import Answer, Event, Question

from . import live_helpers
from .live_helpers import close_code, connected_socket, console_path, delegate_path, open_socket, receive_until
from .test_answer_batch import answer_path, post, setup_meeting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]
KEY = "0123456789abcdef0123456789abcdef-q1"


def frame(question, text="Our <b>practice</b>", key=KEY, **extra):
    return json.dumps({"type": "answer", "key": key, "question": question.pk, "kind": "answer", "text": text, **extra})


async def delegate_socket(world, index=0):
    return await connected_socket(delegate_path(world["meeting"]), world["delegates"][index])


async def reply_to(socket, key=KEY, timeout=5) -> str:
    return await live_helpers.reply_to(socket, key, timeout)


@database_sync_to_async
def stored_answers(question):
    return sorted(Answer.objects.filter(question=question).values_list("delegation__country", "text"))


async def test_an_answer_over_the_socket_is_stored_acked_and_reaches_the_console():
    world = await setup_meeting()
    console = await connected_socket(console_path(world["meeting"]), world["chair"])
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"]))
        reply = await reply_to(socket)
        assert "data-vote-refused" not in reply
        assert f'id="answer-submit-{world["question"].pk}"' in reply and "Update the answer" in reply
        assert await stored_answers(world["question"]) == [("FR", "Our <b>practice</b>")]
        shown = await receive_until(console, "Our &lt;b&gt;practice&lt;/b&gt;", timeout=5)
        assert "<b>practice" not in shown
    finally:
        await socket.disconnect()
        await console.disconnect()


async def test_the_same_answer_sent_twice_is_stored_once_and_acked_twice():
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"]))
        await reply_to(socket)
        await socket.send_to(text_data=frame(world["question"]))
        assert "data-vote-refused" not in await reply_to(socket)
        assert await stored_answers(world["question"]) == [("FR", "Our <b>practice</b>")]
        assert await database_sync_to_async(Event.objects.filter(type="answer.saved").count)() == 1
    finally:
        await socket.disconnect()


async def test_an_answer_sent_over_the_socket_then_posted_with_its_key_is_stored_once():
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"]))
        await reply_to(socket)
        response = await post(answer_path(world), {"kind": "answer", "text": "Our <b>practice</b>", "key": KEY}, user=world["delegates"][0])
        assert response["status"] == 200
        assert await stored_answers(world["question"]) == [("FR", "Our <b>practice</b>")]
        assert await database_sync_to_async(Event.objects.filter(type="answer.saved").count)() == 1
    finally:
        await socket.disconnect()


async def test_an_answer_to_a_closed_question_is_refused_with_the_cards_error_and_changes_nothing():
    world = await setup_meeting()
    await database_sync_to_async(Question.objects.filter(pk=world["question"].pk).update)(status=Question.Status.CLOSED)
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"]))
        reply = await reply_to(socket)
        assert "data-vote-refused" in reply
        assert f'id="question-{world["question"].pk}"' in reply and 'class="form-error"' in reply
        assert "This question is closed: answers can no longer be submitted or changed." in reply
        assert "Our &lt;b&gt;practice&lt;/b&gt;" in reply and "<b>practice" not in reply  # the text sent, escaped
        assert await stored_answers(world["question"]) == []
    finally:
        await socket.disconnect()


async def test_an_answer_to_another_meetings_question_is_refused():
    world, other = await setup_meeting(), await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(other["question"]))
        reply = await reply_to(socket)
        assert "data-vote-refused" in reply and f'id="question-{other["question"].pk}"' not in reply
        assert await stored_answers(other["question"]) == []
    finally:
        await socket.disconnect()


async def test_a_console_cannot_answer_over_its_socket():
    world = await setup_meeting()
    socket, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected
    try:
        await socket.send_to(text_data=frame(world["question"]))
        assert "Only a delegation&#x27;s delegates can do this." in await reply_to(socket)
        assert await stored_answers(world["question"]) == []
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("revoke", ["deactivated", "made a chair"])
async def test_a_delegate_whose_role_was_revoked_since_connecting_is_closed_and_nothing_stored(revoke):
    """No push of the revocation (an update the sign-in code never saw, or a push the layer lost), and
    long before any re-check of the socket's own: the answer's batch reads its author afresh and refuses."""
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        def apply():
            user = world["delegates"][0]
            if revoke == "deactivated":
                type(user).objects.filter(pk=user.pk).update(is_active=False)
            else:
                type(user.participant).objects.filter(pk=user.participant.pk).update(role="chair", delegation=None)
        await database_sync_to_async(apply)()
        await socket.send_to(text_data=frame(world["question"]))
        assert await close_code(socket) == consumers.CLOSE_FORBIDDEN
        assert await stored_answers(world["question"]) == []
    finally:
        await socket.disconnect()


async def test_a_retry_of_a_stored_answer_by_a_delegate_since_deactivated_is_refused_too():
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"]))
        await reply_to(socket)
        user = world["delegates"][0]
        await database_sync_to_async(lambda: type(user).objects.filter(pk=user.pk).update(is_active=False))()
        await socket.send_to(text_data=frame(world["question"], text="A later edit"))
        assert await close_code(socket) == consumers.CLOSE_FORBIDDEN
        assert await stored_answers(world["question"]) == [("FR", "Our <b>practice</b>")]
    finally:
        await socket.disconnect()


async def test_an_over_long_answer_is_refused_and_changes_nothing():
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world["question"], text="x" * (settings.FACILITATION["ANSWER_MAX_CHARS"] + 1)))
        reply = await reply_to(socket)
        assert "data-vote-refused" in reply and 'class="form-error"' in reply
        assert await stored_answers(world["question"]) == []
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("bad", [
    {"type": "answer", "question": 1, "text": "x"},  # no key
    {"type": "answer", "key": "short", "question": 1, "text": "x"},
    {"type": "answer", "key": KEY, "question": "1", "text": "x"},
    {"type": "answer", "key": KEY, "question": True, "text": "x"},
    {"type": "answer", "key": KEY, "question": 1, "text": ["x"]},
    {"type": "answer", "key": KEY, "question": 1, "text": "x", "kind": 3},
    {"type": "answer", "key": '"><script>', "question": 1, "text": "x"},
])
async def test_a_malformed_answer_frame_closes_the_socket_and_stores_nothing(bad):
    world = await setup_meeting()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=json.dumps(bad))
        assert await close_code(socket) == consumers.CLOSE_MALFORMED
        assert await stored_answers(world["question"]) == []
    finally:
        await socket.disconnect()
