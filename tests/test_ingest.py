"""Answer posts taken in batches in front of Django (sessions_app/ingest.py), through the real ASGI
application: what a delegate's page gets back, what is stored, and every post it must leave to Django."""

import asyncio
import secrets
from urllib.parse import urlencode

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from facilitation.asgi import application
from sessions_app import ingest
from sessions_app.models import Answer, AnswerRevision, Event, Question, Submission

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from .live_helpers import console_path, open_socket, receive_until, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]

CSRF = secrets.token_hex(16)  # an unmasked secret: the cookie and the header carry the same
HOST = b"127.0.0.1:8000"


@database_sync_to_async
def setup_meeting(delegations: int = 2):
    codes = ["FR", "DE", "JP", "IT", "ES", "CA", "MX", "KR", "NO", "SE", "FI", "DK", "PL", "PT", "NL", "BE", "AT", "CH", "IE", "NZ"]
    question = QuestionFactory()
    question.session.number = 1
    question.session.save()
    countries = [DelegationFactory(country=code) for code in codes[:delegations]]
    question.session.meeting.delegations.add(*countries)
    return {"question": question, "meeting": question.session.meeting, "delegates": [make_delegate(d) for d in countries], "chair": make_chair()}


def answer_path(world, question=None) -> str:
    return f"/meetings/{world['meeting'].slug}/questions/{(question or world['question']).pk}/answer/"


async def post(path: str, form: dict, *, user=None, htmx: bool = True, csrf: str | None = CSRF, cookie: str | None = None):
    """What the question card's htmx form sends; the response as a dict (status, headers, body)."""
    cookies = [f"csrftoken={CSRF}"]
    if user is not None:
        cookies.append(await session_cookie(user))
    if cookie is not None:
        cookies.append(cookie)
    headers = [(b"host", HOST), (b"origin", b"http://" + HOST), (b"content-type", b"application/x-www-form-urlencoded"),
               (b"cookie", "; ".join(cookies).encode())]  # fmt: skip
    if htmx:
        headers.append((b"hx-request", b"true"))
    if csrf is not None:
        headers.append((b"x-csrftoken", csrf.encode()))
    communicator = HttpCommunicator(application, "POST", path, body=urlencode(form).encode(), headers=headers)
    return await communicator.get_response(timeout=10)


def header(response, name: bytes) -> list[bytes]:
    return [value for key, value in response["headers"] if key.lower() == name]


def batcher():
    return ingest.AnswerBatcher.of(asyncio.get_running_loop())


async def test_the_project_settings_let_the_batch_answer_posts():
    assert ingest.enabled()


async def test_answer_post_is_stored_and_answered_as_django_would():
    world = await setup_meeting()
    before = batcher().stats["answered"]
    response = await post(answer_path(world), {"kind": "answer", "text": "<b>Our</b> centre co-ordinates", "key": "k1"}, user=world["delegates"][0])
    body = response["body"].decode()
    assert response["status"] == 200
    assert f'id="answer-status-q{world["question"].pk}"' in body and "Your answer was saved." in body
    assert "Update the answer" in body and "<b>" not in body
    assert header(response, b"hx-reswap") == [b"none"]
    assert header(response, b"content-type") == [b"text/html; charset=utf-8"]
    assert header(response, b"x-frame-options") == [b"DENY"] and header(response, b"content-security-policy")
    assert header(response, b"content-language") == [b"en"]
    assert batcher().stats["answered"] == before + 1  # by the batch, not by Django
    stored = await database_sync_to_async(lambda: list(Answer.objects.values_list("text", "updated_by")))()
    assert stored == [("<b>Our</b> centre co-ordinates", world["delegates"][0].pk)]


async def test_the_reply_is_in_the_delegates_language():
    world = await setup_meeting()
    delegate = world["delegates"][0]
    await database_sync_to_async(lambda: type(delegate.participant).objects.filter(user=delegate).update(language="fr"))()
    response = await post(answer_path(world), {"kind": "answer", "text": "Notre centre", "key": "k1"}, user=delegate)
    assert response["status"] == 200 and "Mettre à jour la réponse" in response["body"].decode()
    assert header(response, b"content-language") == [b"fr"]


async def test_a_room_answering_at_once_is_stored_in_batches_with_nothing_lost():
    world = await setup_meeting(delegations=20)
    console, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected
    before = batcher().stats.copy()
    forms = [{"kind": "answer", "text": f"Practice of delegation {i}", "key": f"room-{i}"} for i in range(20)]
    responses = await asyncio.gather(*[post(answer_path(world), form, user=user) for form, user in zip(forms, world["delegates"])])
    assert [r["status"] for r in responses] == [200] * 20
    # each reply to its own sender: "Saved by <their name>"
    names = [user.get_full_name() or user.get_username() for user in world["delegates"]]
    assert [f"Saved by {name} at" in r["body"].decode() for name, r in zip(names, responses)] == [True] * 20
    assert batcher().stats["answered"] - before["answered"] == 20
    assert batcher().stats["batches"] - before["batches"] < 20  # posts that arrived together went together
    counts = await database_sync_to_async(lambda: (Answer.objects.count(), AnswerRevision.objects.count(), Submission.objects.count()))()
    assert counts == (20, 20, 20)
    seqs = await database_sync_to_async(lambda: list(Event.objects.order_by("seq").values_list("seq", flat=True)))()
    assert seqs == list(range(1, 21))
    html = await receive_until(console, "20 of 20 delegations answered", timeout=5)
    assert "Practice of delegation" in html


async def test_a_double_click_stores_once():
    world = await setup_meeting()
    form = {"kind": "answer", "text": "Once only", "key": "twice"}
    first, second = await asyncio.gather(*[post(answer_path(world), form, user=world["delegates"][0]) for _ in range(2)])
    assert (first["status"], second["status"]) == (200, 200)
    counts = await database_sync_to_async(lambda: (Answer.objects.count(), AnswerRevision.objects.count(), Event.objects.count()))()
    assert counts == (1, 1, 1)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("signed out", 302),  # to the login page
        ("stale session", 302),
        ("no CSRF token", 403),
        ("not htmx", 302),  # the page's own form: back to the session page
        ("closed question", 422),
        ("empty text", 422),
        ("chair", 403),
        ("other meeting's URL", 404),
    ],
)
async def test_what_the_batch_declines_django_answers_as_always(case, status):
    world = await setup_meeting()
    delegate, path = world["delegates"][0], answer_path(world)
    form, kwargs = {"kind": "answer", "text": "Our view", "key": f"k-{case}"}, {"user": delegate}
    if case == "signed out":
        kwargs = {}
    elif case == "stale session":
        kwargs = {"cookie": (await session_cookie(delegate))}
        await database_sync_to_async(lambda: (delegate.set_password("changed-pass-1"), delegate.save()))()
    elif case == "no CSRF token":
        kwargs["csrf"] = None
    elif case == "not htmx":
        kwargs["htmx"] = False
    elif case == "closed question":
        await database_sync_to_async(lambda: Question.objects.filter(pk=world["question"].pk).update(status=Question.Status.CLOSED))()
    elif case == "empty text":
        form["text"] = "   "
    elif case == "chair":
        kwargs["user"] = world["chair"]
    elif case == "other meeting's URL":
        path = path.replace(world["meeting"].slug, "another-meeting")
    before = batcher().stats.copy()
    response = await post(path, form, **kwargs)
    assert response["status"] == status
    stored = await database_sync_to_async(lambda: list(Answer.objects.values_list("text", flat=True)))()
    assert stored == (["Our view"] if case == "not htmx" else [])
    assert batcher().stats["answered"] == before["answered"]
    if case == "closed question":
        assert "This question is closed" in response["body"].decode()


async def test_many_answers_take_the_same_queries_as_one():
    world = await setup_meeting(delegations=20)
    question = world["question"]

    @database_sync_to_async
    def queries_for(users, prefix):
        items = [(_scope(answer_path(world, question), cookie), _body(f"{prefix}-{i}")) for i, cookie in enumerate(users)]
        with CaptureQueriesContext(connection) as captured:
            replies = ingest.handle_batch(items)
        assert all(reply is not None and reply.status == 200 for reply in replies)
        return len(captured)

    cookies = [await session_cookie(user) for user in world["delegates"]]
    one = await queries_for(cookies[:1], "one")
    many = await queries_for(cookies[1:], "many")
    assert one == many


def _scope(path: str, cookie: str) -> dict:
    return {
        "type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
        "headers": [(b"host", HOST), (b"origin", b"http://" + HOST), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"hx-request", b"true"), (b"x-csrftoken", CSRF.encode()), (b"cookie", f"csrftoken={CSRF}; {cookie}".encode())],
    }  # fmt: skip


def _body(key: str) -> bytes:
    return urlencode({"kind": "answer", "text": f"Answer {key}", "key": key}).encode()


async def test_a_password_hash_in_the_session_is_required():
    """A session written before the user's password changed no longer signs them in here."""
    world = await setup_meeting()
    delegate = world["delegates"][0]
    cookie = await session_cookie(delegate)
    await database_sync_to_async(lambda: type(delegate).objects.filter(pk=delegate.pk).update(password=make_password("other-pass-2")))()
    replies = await database_sync_to_async(ingest.handle_batch)([(_scope(answer_path(world), cookie), _body("stale"))])
    assert replies == [None]
    assert await database_sync_to_async(Answer.objects.count)() == 0


async def test_a_malformed_post_declines_itself_only():
    world = await setup_meeting()
    good, bad = [await session_cookie(user) for user in world["delegates"]]
    too_many_fields = urlencode({"kind": "answer", "text": "x", "key": "bad", **{f"f{i}": "1" for i in range(1001)}}).encode()
    replies = await database_sync_to_async(ingest.handle_batch)(
        [(_scope(answer_path(world), good), _body("good")), (_scope(answer_path(world), bad), too_many_fields)]
    )
    assert replies[0] is not None and replies[0].status == 200 and replies[1] is None
    response = await post(answer_path(world), {"kind": "answer", "text": "x", "key": "bad", **{f"f{i}": "1" for i in range(1001)}}, user=world["delegates"][1])
    assert response["status"] == 400  # Django's answer to it
    assert await database_sync_to_async(lambda: list(Answer.objects.values_list("text", flat=True)))() == ["Answer good"]
