"""Answer posts through Django's own request path, stored in batches below the view
(sessions_app/answer_batch.py), through the real ASGI application: what a delegate's page gets back,
what is stored, and what is refused."""

import asyncio
import secrets
from urllib.parse import urlencode

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.asgi import get_asgi_application
from django.db import connection
from django.http import HttpResponse
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from facilitation.asgi import application
from sessions_app import access, answer_batch, services
from sessions_app.middleware import MeetingWallMiddleware, UserLanguageMiddleware
from sessions_app.views import answers as views_answers
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


async def post(path: str, form: dict, *, user=None, htmx: bool = True, csrf: str | None = CSRF, cookie: str | None = None, app=application):
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
    communicator = HttpCommunicator(app, "POST", path, body=urlencode(form).encode(), headers=headers)
    response = await communicator.get_response(timeout=10)
    # Until Django has closed the response (request_finished: the request's database connection back
    # to PostgreSQL's pool), not merely sent it: else each post's connection leaks from the pool.
    await communicator.wait(timeout=10)
    return response


def header(response, name: bytes) -> list[bytes]:
    return [value for key, value in response["headers"] if key.lower() == name]


def batcher():
    return answer_batch.batcher()


async def test_every_middleware_and_the_views_decorators_apply_to_an_answer_post():
    """No layer in front of Django: a middleware added to the settings acts on answer posts too."""
    world = await setup_meeting()
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "tests.test_answer_batch.RefuseEverything"]):
        response = await post(answer_path(world), {"kind": "answer", "text": "Our view", "key": "k1"}, user=world["delegates"][0],
                              app=get_asgi_application())  # fmt: skip
    assert response["status"] == 418
    assert await database_sync_to_async(Answer.objects.count)() == 0


class RefuseEverything:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        return HttpResponse("no", status=418)


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
    assert batcher().stats["answered"] == before + 1  # by a batch
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
async def test_what_the_view_refuses_reaches_no_batch(case, status):
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
    assert batcher().stats["answered"] == before["answered"] + (case == "not htmx")  # the page's form: stored as well
    if case == "closed question":
        assert "This question is closed" in response["body"].decode()


async def test_many_answers_take_the_same_queries_as_one():
    world = await setup_meeting(delegations=20)
    question = world["question"]

    @database_sync_to_async
    def queries_for(users, prefix):
        submissions = [
            services.AnswerSubmission(user=_signed_in(user), question_id=question.pk, kind="answer", text=f"Answer {prefix}-{i}", key=f"{prefix}-{i}")
            for i, user in enumerate(users)
        ]  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            results = batcher().store(submissions)
        assert [type(result) for result in results] == [Answer] * len(users)
        return len(captured)

    one = await queries_for(world["delegates"][:1], "one")
    many = await queries_for(world["delegates"][1:], "many")
    assert one == many


def _signed_in(user):
    """The user as AuthenticationMiddleware gives it to the view (with its participant and delegation)."""
    return type(user).objects.select_related("participant__delegation").get(pk=user.pk)


async def test_a_password_hash_in_the_session_is_required():
    """A session written before the user's password changed no longer signs them in."""
    world = await setup_meeting()
    delegate = world["delegates"][0]
    cookie = await session_cookie(delegate)
    await database_sync_to_async(lambda: type(delegate).objects.filter(pk=delegate.pk).update(password=make_password("other-pass-2")))()
    response = await post(answer_path(world), {"kind": "answer", "text": "Stale", "key": "stale"}, cookie=cookie)
    assert response["status"] == 302 and header(response, b"location")[0].startswith(b"/accounts/login/")
    assert await database_sync_to_async(Answer.objects.count)() == 0


async def test_a_malformed_post_fails_alone():
    world = await setup_meeting()
    good, bad = world["delegates"]
    too_many_fields = {"kind": "answer", "text": "x", "key": "bad", **{f"f{i}": "1" for i in range(1001)}}
    replies = await asyncio.gather(
        post(answer_path(world), {"kind": "answer", "text": "Answer good", "key": "good"}, user=good),
        post(answer_path(world), too_many_fields, user=bad),
    )
    assert [reply["status"] for reply in replies] == [200, 400]  # Django's answer to the bad one
    assert await database_sync_to_async(lambda: list(Answer.objects.values_list("text", flat=True)))() == ["Answer good"]


async def test_edits_sent_one_after_another_apply_in_order():
    world = await setup_meeting()
    delegate = world["delegates"][0]
    for i in range(3):
        response = await post(answer_path(world), {"kind": "answer", "text": f"Edit {i}", "key": f"edit-{i}"}, user=delegate)
        assert response["status"] == 200
    texts = await database_sync_to_async(lambda: (list(Answer.objects.values_list("text", flat=True)),
                                                  list(AnswerRevision.objects.order_by("pk").values_list("text", flat=True))))()  # fmt: skip
    assert texts == (["Edit 2"], ["Edit 0", "Edit 1", "Edit 2"])



async def test_a_session_signed_in_before_the_participant_backend_still_answers():
    """Sessions keep the backend that signed them in: one of Django's ModelBackend still works."""
    world = await setup_meeting()
    delegate = world["delegates"][0]

    @database_sync_to_async
    def old_session():
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore()
        store.update({SESSION_KEY: str(delegate.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                      HASH_SESSION_KEY: delegate.get_session_auth_hash()})  # fmt: skip
        store.save()
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    response = await post(answer_path(world), {"kind": "answer", "text": "Signed in last week", "key": "old"}, cookie=await old_session())
    assert response["status"] == 200
    assert await database_sync_to_async(lambda: list(Answer.objects.values_list("text", flat=True)))() == ["Signed in last week"]


async def test_a_signed_in_post_reads_the_user_and_participant_in_one_query_before_the_batch():
    """Before its batch an answer post costs three queries: its session, its user (with participant
    and delegation: access.ParticipantBackend) and the meeting wall; the question is the batch's."""
    world = await setup_meeting()
    delegate, cookie = world["delegates"][0], await session_cookie(world["delegates"][0])

    @database_sync_to_async
    def queries_before_the_batch():
        request = RequestFactory().post(answer_path(world), {"text": "x"}, HTTP_COOKIE=cookie)
        with CaptureQueriesContext(connection) as captured:
            SessionMiddleware(lambda r: None).process_request(request)
            AuthenticationMiddleware(lambda r: None).process_request(request)
            UserLanguageMiddleware(lambda r: HttpResponse())(request)
            MeetingWallMiddleware(lambda r: None).process_view(request, views_answers.submit_answer, (), {"slug": world["meeting"].slug})
            delegation = access.delegation_of(request.user)
        return delegation.pk, [query["sql"].split(" FROM ")[1].split()[0] for query in captured.captured_queries]

    delegation, tables = await queries_before_the_batch()
    assert delegation == delegate.participant.delegation_id
    assert tables == ['"django_session"', '"auth_user"', '"sessions_app_meeting"']
