"""Answers at the pace of a room: the htmx answer form's POST, taken in batches off Django's request path.

When every delegation presses "submit" within a minute, one Django request per answer costs this
machine about 50 ms of CPU (middleware, a session and a user query, the service's queries, the
reply): a process stores 20-50 answers a second. Here the same POST (`submit_answer`'s URL, sent by
htmx) is read by a small ASGI layer in front of Django. Posts that arrive together go to one worker
thread as a batch, which does, for the whole batch, what Django does for each:

- what Django's middleware does before the view (host, HTTPS redirect, CSRF, language), on a real
  `ASGIRequest` with Django's own middleware classes;
- the signed-in user: one query for the batch's sessions and one for their users, with Django's
  checks (expiry, active user, authentication backend, the session's password hash);
- `services.submit_answers`: the batch's answers in one transaction (a query per table);
- each reply: what the view replies to a saved answer (views.answers.answer_saved_response), with
  the response middleware's headers.

Anything off that happy path goes to Django unchanged, as if this layer did not exist: no session or
a stale one, CSRF or host failures, a refused answer (closed question, empty text, wrong role: the
view renders the error), a page POST without htmx, a body too big, any exception. Nothing is stored
before a post is accepted, so Django's retry of a refused or failed one is the first write of it; an
answer stored before its reply failed is found again by its submission key. A middleware this module
does not know of disables the layer (every post goes to Django), so that it can never skip one.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session as StoredSession
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.db import IntegrityError, OperationalError
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare
from django_htmx.middleware import HtmxDetails

from . import access, events, services
from .models import Answer, Question

logger = logging.getLogger(__name__)

ANSWER_PATH = re.compile(r"^/meetings/(?P<slug>[-a-zA-Z0-9_]+)/questions/(?P<question>[0-9]+)/answer/$")
MAX_BATCH = 200  # posts handled in one transaction at most; the rest wait for the next

# Every middleware of settings.MIDDLEWARE must be one of these for the layer to run: what each does
# for an answer post is done here (see _before_view and _after_view).
KNOWN_MIDDLEWARE = {
    "sessions_app.middleware.BoundedThreadsMiddleware",  # the batch is its own bound: one worker
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",  # read in _sign_in, never modified here
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # _sign_in
    "django.contrib.messages.middleware.MessageMiddleware",  # the card adds no message
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "sessions_app.middleware.UserLanguageMiddleware",  # _language
    # The wall's rule for a delegate's answer is services.submit_answers' (the delegation takes part).
    "sessions_app.middleware.MeetingWallMiddleware",
    "sessions_app.middleware.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # acts only on a sign-in that failed; an answer post signs no one in
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"


def enabled() -> bool:
    """Whether this layer may answer posts itself: only with the middleware and sessions it knows."""
    return (set(settings.MIDDLEWARE) <= KNOWN_MIDDLEWARE and settings.SESSION_ENGINE == SESSION_ENGINE
            and not settings.SESSION_SAVE_EVERY_REQUEST)  # fmt: skip


class AnswerFastPath:
    """ASGI: the htmx answer post to the batch, everything else (and every post it declines) to `app`."""

    def __init__(self, app):
        self.app = app
        self.enabled = enabled()
        if not self.enabled:
            logger.warning("Answer batching is off: unknown middleware or session engine; answers go through Django one by one")

    async def __call__(self, scope, receive, send):
        if not (self.enabled and scope["type"] == "http" and scope["method"] == "POST" and _wanted(scope)):
            return await self.app(scope, receive, send)
        body, complete = await _read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        reply = await AnswerBatcher.of(asyncio.get_running_loop()).submit(scope, body) if complete else None
        if reply is None:
            return await self.app(scope, _replay(body, complete, receive), send)
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        await send({"type": "http.response.body", "body": reply.body})


def _wanted(scope) -> bool:
    if not ANSWER_PATH.match(scope["path"]) or scope.get("root_path"):
        return False
    headers = dict(scope["headers"])
    return headers.get(b"hx-request") == b"true" and headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded")


async def _read_body(receive, limit: int) -> tuple[bytes, bool]:
    """The request body, and whether it is all there (False: over `limit`, or the client left)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body"):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive):
    """A receive() that gives Django the body already read, then whatever is left of the request."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class AnswerBatcher:
    """One per event loop: posts that arrive while a batch is being stored form the next batch.

    An idle batcher starts at once, so a lone answer waits for nothing; under load a batch holds the
    posts of the time one batch takes, at most MAX_BATCH.
    """

    _by_loop: dict[int, AnswerBatcher] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pending: list[tuple[dict, bytes, asyncio.Future]] = []
        self.task: asyncio.Task | None = None
        self.stats = Counter()  # batches, answered (by the batch), declined (left to Django)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> AnswerBatcher:
        batcher = cls._by_loop.get(id(loop))
        if batcher is None or batcher.loop is not loop:
            batcher = cls._by_loop[id(loop)] = cls(loop)
        return batcher

    async def submit(self, scope: dict, body: bytes) -> Reply | None:
        """The reply to one post, or None: let Django handle it."""
        future = self.loop.create_future()
        self.pending.append((scope, body, future))
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        handle = sync_to_async(handle_batch, thread_sensitive=False)
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            try:
                replies = await handle([(scope, body) for scope, body, _future in batch])
            except Exception:  # Django answers each of them instead
                logger.exception("Could not handle a batch of %s answers", len(batch))
                replies = [None] * len(batch)
            self.stats["batches"] += 1
            self.stats["answered"] += sum(reply is not None for reply in replies)
            self.stats["declined"] += sum(reply is None for reply in replies)
            for (_scope, _body, future), reply in zip(batch, replies):
                if not future.done():
                    future.set_result(reply)


# --- in the worker thread ----------------------------------------------------------------------------


@dataclass
class Post:
    request: ASGIRequest
    question_id: int
    slug: str
    user: object = None
    in_meeting: bool = False  # the question exists, in the meeting of the URL
    answer: Answer | services.ActionRefused | None = None  # what submit_answers made of it
    language: str = settings.LANGUAGE_CODE
    after: list = field(default_factory=list)  # middleware whose process_response applies, in settings order


def handle_batch(items: list[tuple[dict, bytes]]) -> list[Reply | None]:
    """Replies for a batch of answer posts, None for each post Django should handle instead."""
    try:
        posts = [_before_view(scope, body) for scope, body in items]  # each post on its own: one bad post declines itself
        _sign_in([post for post in posts if post is not None])
        posts = [post if post is not None and post.user is not None else None for post in posts]
        _load_questions([post for post in posts if post is not None])
        posts = [post if post is not None and post.in_meeting else None for post in posts]
        accepted = [post for post in posts if post is not None]
        with events.rendered_in_this_thread():  # the consoles' cards, before the replies
            results = _submit(accepted)
        for post, result in zip(accepted, results):
            post.answer = result
        return [_reply(post) if post is not None and isinstance(post.answer, Answer) else None for post in posts]
    finally:
        translation.deactivate()  # LocaleMiddleware activated each post's language in this thread
        events.end_worker_task()  # a worker thread of the loop: no request cycle ends it


def _before_view(scope: dict, body: bytes) -> Post | None:
    """Django's request middleware, on a real request; None where one of them would answer instead
    (or raised: Django then answers as it does, e.g. 400 for a malformed body)."""
    from .views.answers import submit_answer  # views import this app's modules; import late

    match = ANSWER_PATH.match(scope["path"])
    request = ASGIRequest(scope, io.BytesIO(body))
    post = Post(request=request, question_id=int(match["question"]), slug=match["slug"])
    try:
        request.get_host()  # CommonMiddleware's check: a host outside ALLOWED_HOSTS gets Django's 400
        middleware = _middleware()
        if any(hasattr(each, "process_request") and each.process_request(request) is not None for each in middleware):
            return None
        if any(hasattr(each, "process_view") and each.process_view(request, submit_answer, (), {}) is not None for each in middleware):
            return None  # CSRF
        request.POST  # noqa: B018  (parsed here, so that a malformed body is Django's to answer)
    except Exception:
        return None
    post.after = middleware
    request.htmx = HtmxDetails(request)
    return post


_MIDDLEWARE: list | None = None


def _middleware() -> list:
    """Instances of the middleware whose request, view and response hooks apply, in settings order
    (the others are done by hand, see KNOWN_MIDDLEWARE)."""
    global _MIDDLEWARE
    if _MIDDLEWARE is None:
        from csp.middleware import CSPMiddleware

        from .middleware import PermissionsPolicyMiddleware

        hooks = {
            "django.middleware.security.SecurityMiddleware": SecurityMiddleware,
            "django.middleware.locale.LocaleMiddleware": LocaleMiddleware,
            "django.middleware.common.CommonMiddleware": CommonMiddleware,
            "django.middleware.csrf.CsrfViewMiddleware": CsrfViewMiddleware,
            "django.middleware.clickjacking.XFrameOptionsMiddleware": XFrameOptionsMiddleware,
            "csp.middleware.CSPMiddleware": CSPMiddleware,
            "sessions_app.middleware.PermissionsPolicyMiddleware": PermissionsPolicyMiddleware,
        }
        _MIDDLEWARE = [hooks[path](_no_response) for path in settings.MIDDLEWARE if path in hooks]
    return _MIDDLEWARE


def _no_response(request):  # middleware need a get_response; ours never calls it
    raise AssertionError("not called")


def _sign_in(posts: list[Post]) -> None:
    """AuthenticationMiddleware for a batch: a post keeps user=None unless its session holds a valid login."""
    keys = {post.request.COOKIES.get(settings.SESSION_COOKIE_NAME) for post in posts} - {None}
    if not keys:
        return
    rows = StoredSession.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list("session_key", "session_data")
    secrets = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    sessions = {key: _decoded(data, secrets) for key, data in rows}
    user_model = get_user_model()
    wanted = {}
    for key, data in sessions.items():
        try:
            wanted[key] = user_model._meta.pk.to_python(data.get(SESSION_KEY))
        except Exception:
            continue
    users = user_model.objects.select_related("participant__delegation").in_bulk(set(wanted.values()) - {None})
    for post in posts:
        key = post.request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        data, user = sessions.get(key), users.get(wanted.get(key))
        if data is None or user is None or data.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
            continue
        backend = load_backend(data[BACKEND_SESSION_KEY])
        if not isinstance(backend, ModelBackend) or not backend.user_can_authenticate(user):
            continue
        if not constant_time_compare(data.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()):
            continue  # a password changed since: Django's fallback keys, or its logout
        if "participant" not in user._state.fields_cache:  # select_related records a missing row too
            continue
        user.backend = data[BACKEND_SESSION_KEY]
        post.user = post.request.user = user
        post.language = _language(post)


@functools.lru_cache(maxsize=4096)
def _decoded(data: str, secrets: tuple[str, ...]) -> dict:
    """SessionStore.decode (a signature check and a JSON parse) once per session data and keys, not
    once per post: a delegate's session data stays the same from one answer to the next. Read only."""
    return SessionStore().decode(data)


def _language(post: Post) -> str:
    """UserLanguageMiddleware's choice: the participant's language, else LocaleMiddleware's."""
    participant = access.participant_of(post.user)
    if participant and participant.language:
        with translation.override(participant.language):
            return translation.get_language()
    return translation.get_language_from_request(post.request)


def _load_questions(posts: list[Post]) -> None:
    """The view's get_object_or_404: a question of the meeting in the URL, else Django's 404. (Only the
    meeting's slug is read: services.submit_answers reads the question again inside its transaction.)"""
    slugs = dict(Question.objects.filter(pk__in={post.question_id for post in posts}).values_list("pk", "session__meeting__slug"))
    for post in posts:
        if slugs.get(post.question_id) == post.slug and access.delegation_of(post.user) is not None:
            post.in_meeting = True


def _submit(posts: list[Post]) -> list:
    if not posts:
        return []
    submissions = [
        services.AnswerSubmission(
            user=post.user, question_id=post.question_id, kind=post.request.POST.get("kind", "answer"),
            text=post.request.POST.get("text", ""), key=post.request.POST.get("key", ""),
        )
        for post in posts
    ]  # fmt: skip
    try:
        return services.submit_answers(submissions)
    except (IntegrityError, OperationalError):
        # Another process stored one of these answers or keys meanwhile (read them now), or
        # PostgreSQL chose this transaction to break a deadlock: the transaction is to be run again.
        return services.submit_answers(submissions)


def _reply(post: Post) -> Reply | None:
    """The view's htmx reply to a stored answer, with the headers its response middleware add."""
    from .views.answers import answer_saved_response  # views import this app's modules; import late

    request = post.request
    try:
        with translation.override(post.language):
            request.LANGUAGE_CODE = post.language
            response = answer_saved_response(post.answer)
            patch_vary_headers(response, ("Cookie",))  # SessionMiddleware's, as the session was read
            for middleware in reversed(post.after):
                response = middleware.process_response(request, response)
    except Exception:  # stored already: Django's retry finds it by its key and replies
        logger.exception("Could not render the reply to answer %s", post.answer.pk)
        return None
    headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()]
    headers += [(b"Set-Cookie", cookie.output(header="").encode("ascii").strip()) for cookie in response.cookies.values()]
    return Reply(status=response.status_code, headers=headers, body=response.content)
