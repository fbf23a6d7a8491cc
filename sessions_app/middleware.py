import contextlib
import threading

from asgiref.sync import SyncToAsync
from channels.auth import AuthMiddleware
from channels.auth import get_user as channels_get_user
from channels.sessions import InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _

from . import access
from .access import participant_of
from .events import end_worker_task
from .models import Meeting
from .navigation import remember_place


class UserLanguageMiddleware:
    """Use the language a signed-in user chose last time; otherwise LocaleMiddleware's (the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        participant = participant_of(request.user)
        if participant and participant.language:
            translation.activate(participant.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class BoundedThreadsMiddleware:
    """At most FACILITATION["REQUEST_THREADS"] requests run Django code at once in this process.

    Under ASGI each request has a thread of its own. In a burst (200 delegations submitting at once)
    two hundred threads share one interpreter lock: the request holding the database's write lock
    gets a two-hundredth of the CPU, and everyone waits for it. Past the bound, requests wait here,
    holding no lock, and run in turn. Streamed responses (exports) are sent after this returns.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.slots = threading.BoundedSemaphore(settings.FACILITATION["REQUEST_THREADS"])

    def __call__(self, request):
        request.thread_slots = self.slots  # for slot_released
        with self.slots:
            return self.get_response(request)


@contextlib.contextmanager
def slot_released(request):
    """Inside, the request gives its BoundedThreadsMiddleware slot to another while it only waits
    (group_commit: for another request's batch), and takes one again before it goes on."""
    slots = getattr(request, "thread_slots", None)
    if slots is None:
        yield
        return
    slots.release()
    try:
        yield
    finally:
        slots.acquire()


class SocketSessionMiddleware(SessionMiddleware):
    """Channels' SessionMiddleware for WebSockets: the session in the scope (AuthMiddleware reads the
    user from it), without its wrapper around every message sent.

    The wrapper saves a modified session when an HTTP response starts, which a socket never sends;
    yet it read the session's state on each message (3.6 us): 7 ms of a broadcast to 2,000 sockets.
    Our consumers never change the session (they are transport: changes go over HTTP).
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)  # its scope is a copy of this socket's own
        await wrapper.resolve_session()
        scope = wrapper.scope
        del wrapper  # not kept for the socket's life by this frame
        return await self.inner(scope, receive, send)


class SocketDatabase(SyncToAsync):
    """Channels' database_sync_to_async for the sockets' database work, which keeps the thread's
    connection from one call to the next where the backend allows it (events.end_worker_task:
    SQLite, under a minute old, no error; PostgreSQL's goes back to its pool as before).

    Every socket's database calls run on one thread. Channels' version closes the connection after
    each, and SQLite's next call opened a new one, which reads the schema again and starts with an
    empty page cache: in a reconnect storm of 2,000 sockets the first query of each call (the
    session, the meeting) was most of the server's CPU.
    """

    def thread_handler(self, loop, *args, **kwargs):
        end_worker_task()  # one left unusable (an error, too old) is closed first
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            end_worker_task()


socket_database = SocketDatabase  # a decorator, as database_sync_to_async


class SocketAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, reading the user (Channels' get_user) through socket_database, in the
    scope SocketSessionMiddleware passes it: that one's own copy, made for this socket. Channels'
    version copies it twice more (its own and BaseMiddleware's), which the socket's coroutines keep
    for its life: 1-2 kB per idle socket."""

    async def __call__(self, scope, receive, send):
        self.populate_scope(scope)
        await self.resolve_scope(scope)
        return await self.inner(scope, receive, send)

    async def resolve_scope(self, scope):
        # As Channels' own resolve_scope (4.3), with get_user's plain function (asgiref's `.func` of
        # its database_sync_to_async) on the socket's database thread; tests/test_stack_versions.py
        # fails when Channels changes either. Without it, Channels' own way.
        plain = getattr(channels_get_user, "func", None)
        if plain is None:
            return await super().resolve_scope(scope)
        scope["user"]._wrapped = await socket_database(plain)(scope)

    @staticmethod
    def replace_user(scope, user) -> None:
        """Put `user` where resolve_scope put the user it read: in Channels' lazy user, which every copy of
        the scope down the middleware shares (a copy's own "user" key would leave the others holding the
        user, its participant and its delegation for the socket's life). As resolve_scope sets it.

        The user it replaces is freed at once: it and its participant, read together
        (access.ParticipantBackend), cache each other, and would wait for a garbage collection."""
        lazy = scope.get("user")
        read = getattr(lazy, "_wrapped", None)
        if read is not None:
            lazy._wrapped = user
            cached = getattr(getattr(read, "_state", None), "fields_cache", {})  # a model's relations, as Django caches them
            participant = cached.pop("participant", None)
            if participant is not None:
                participant._state.fields_cache.pop("user", None)


class MeetingWallMiddleware:
    """Every page under meetings/<slug>/ is refused to a signed-in user who does not take part in it.

    One place for pages, forms, exports and the API alike (access.takes_part), so a view added later
    is walled without remembering to; anonymous requests go on to the view, which asks them to sign in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("slug")
        if slug is None or not request.user.is_authenticated or not view_func.__module__.startswith("sessions_app."):
            return None
        if request.user.is_superuser or access.role_of(request.user) in access.OFFICERS:
            return None
        # One query when the user takes part; a missing meeting is left to the view's 404.
        if not access.takes_part(request.user, slug) and Meeting.objects.filter(slug=slug).exists():
            raise PermissionDenied(_("You do not take part in this meeting."))
        return None


class LastPlaceMiddleware:
    """Remembers the meeting page last open, for the top bar of pages of no meeting (navigation.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        remember_place(request, response)
        return response


# The browser features the app never uses, denied to every page (and to anything injected into one).
# Only features browsers know: an unknown one ("bluetooth") is a console warning on every page in Chromium.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation",
        "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
)


class PermissionsPolicyMiddleware:
    """A Permissions-Policy header on every response (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.process_response(request, self.get_response(request))

    def process_response(self, request, response):
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
