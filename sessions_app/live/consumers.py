"""WebSocket transport: check who connects, join their groups, forward rendered fragments.

Sockets push to clients, and take two changes of a delegation (SOCKET_ACTIONS): a vote in an opinion
round, sent as {"type": "vote", "key": <the page's key for it>, "round": <id>, "statement": <id>,
"choice": "agree" | "disagree" | "pass"}, and an answer to a question, sent as {"type": "answer",
"key": <the answer form's key>, "question": <id>, "kind": "answer" | "none" | "writing", "text": ...}.
Each is stored by the same batcher as its HTTP form's (opinion/vote_batch.py, answer_batch.py: group
commit; a key sent twice, over the socket or then over HTTP, stores once) and answered with what the
form's reply swaps in and an ack naming the key (or a refusal naming it: nothing changed). A page
that gets no ack posts the same change over HTTP (static/js/app.js). Every other change goes over
HTTP POST (CSRF, idempotency key). The other messages a client sends are {"type": "resync", "after":
<last sequence number seen>} and the quiet check {"type": "check", "after": ...}, a resync only if the
meeting has a later event (quiet_check.py).

The socket's origin is checked at the handshake (AllowedHostsOriginValidator, routing.py) and its
user read from the session there, so a vote or answer frame needs no CSRF token: another site's page cannot
open this socket with the delegate's cookie.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from .. import access, answer_batch, events, queries
from ..middleware import SocketAuthMiddleware, socket_database
from ..meeting_settings import services as meeting_settings_services
from ..models import Delegation, Meeting, ScreenLink, Session
from .. import services
from ..services import ActionRefused
from . import fanout, garbage, quiet_check, replies, resync, screen

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_MALFORMED = 4400
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013  # the live service is unavailable for now: the page reconnects, with back-off
RECHECK_AFTER_S = 5  # a resync later than this after connecting re-checks the user's role
# Votes over sockets wait for their batch (group commit) on threads of their own, not on the one
# thread of the sockets' other database calls: each waits for a batch the others' votes are in.
VOTE_THREADS = 64
_vote_threads: ThreadPoolExecutor | None = None
# The changes a socket takes (see the module's docstring): a frame's type and the method that stores it.
SOCKET_ACTIONS = {"vote": "_vote", "answer": "_answer"}
NO_CHANNEL = "none: live sockets have no channel of their own"  # a layer alias CHANNEL_LAYERS never names


class MeetingConsumer(AsyncWebsocketConsumer):
    """One socket of a delegate page, a console or the room screen of one meeting."""

    # No channel of its own: Channels gives a consumer whose alias names no configured layer none
    # (get_channel_layer returns None), so no channel, no queue for it in the layer and no task reading
    # it, per socket. Everything a socket gets, its revocation too, comes through the process's hub
    # (fanout.py), which holds one channel for all of them and rejoins its groups after an outage.
    channel_layer_alias = NO_CHANNEL

    # Set once the socket is accepted: the hub writes nothing to it before (the server would refuse
    # it, and the hub drop the socket); what it skips, the resync the page sends on opening replays.
    accepted = False
    direct = None  # the server's end of the socket, where the hub may write frames to it (fanout.direct_socket)
    accepted_at = float("inf")  # when it was accepted (time.monotonic()); before, no read of the meeting's number is recent enough

    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        allowed = await self._authorize(user, kwargs["slug"], kwargs.get("number"), kwargs["audience"])
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.join_live()

    async def join_live(self):
        """Join the socket's live groups and accept it (once connect has authorized it)."""
        # Live fragments and revocations come through the process's hub (one subscription per group, fanout.py).
        self.hub = fanout.hub_for(get_channel_layer())
        try:
            for group in self.live_groups:
                await self.hub.join(group, self)
            if self.revocation_group not in self.live_groups:  # a kiosk link's; a user's is its user group
                await self.hub.join(self.revocation_group, self, announce=False)
        except Exception as error:  # the channel layer is down (Redis restarting): refused cleanly, the page retries
            if not fanout.outage.failed(error, "a socket joining its groups"):
                logger.warning("Live socket refused: its groups could not be joined", exc_info=True)
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.accept()
        self.accepted, self.direct = True, fanout.direct_socket(self.base_send)
        if self.hub.paused:  # the layer failed since the join: told as the hub told the others (its resync follows the resume)
            await self.send(text_data=fanout.LIVE_PAUSED)
        if self.user.is_authenticated:
            self.user = SocketUser(self.user.pk)
            SocketAuthMiddleware.replace_user(self.scope, self.user)
        self.accepted_at = time.monotonic()  # from now on the hub writes to it (see _catch_up)
        garbage.collect_soon()  # what the handshakes of a burst leave in reference cycles

    # Channels closes old database connections before every message a consumer handles (a hop to the
    # database thread each: connect, resync, disconnect, revocation), which also closed the SQLite
    # connection socket_database keeps. Every database call of this consumer goes through
    # socket_database, which closes a connection that is broken, too old or not SQLite's itself.
    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        await self.disconnect(message["code"])  # this consumer joins its groups through the hub, not self.groups
        raise StopConsumer()

    async def disconnect(self, code):
        hub = getattr(self, "hub", None)
        if hub is None:  # refused before it joined anything
            return
        try:
            for group in dict.fromkeys([*self.live_groups, self.revocation_group]):
                await hub.leave(group, self)
        except Exception as error:  # the channel layer is down; its memberships expire there on their own
            if not fanout.outage.failed(error, "a socket leaving its groups"):
                logger.warning("Live socket could not leave its groups", exc_info=True)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or text_data is None:
            await self.close(code=CLOSE_MALFORMED)
            return
        if len(text_data.encode()) > settings.FACILITATION["WS_MAX_FRAME_BYTES"]:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            message = json.loads(text_data)
            kind = message["type"]
        except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: "[" nested thousands deep
            await self.close(code=CLOSE_MALFORMED)
            return
        if kind in ("resync", "check"):
            after = message.get("after")
            if not isinstance(after, int) or isinstance(after, bool):
                await self.close(code=CLOSE_MALFORMED)
                return
            # A quiet page's check: nothing to send (nor a role to re-check) unless it is behind.
            if kind == "check" and not await quiet_check.behind(self.meeting_id, after):
                return
            # Re-check the role: it may have been revoked since the socket opened (not needed for the
            # resync every page sends as soon as its socket opens, which was just authorized).
            if time.monotonic() - self.authorized_at > RECHECK_AFTER_S and not await self._still_allowed():
                await self.close(code=CLOSE_FORBIDDEN)
                return
            # One message: a live message delivered meanwhile lands before or after the whole reply,
            # never between its parts and its closing marker (app.js drops it after, as stale).
            messages = await self._catch_up(after)
            if messages:
                await self.send(text_data="".join(messages))
            return
        if kind in SOCKET_ACTIONS:
            await getattr(self, SOCKET_ACTIONS[kind])(message)
            return
        # Other changes go over HTTP; anything else asked over the socket is refused, and nothing changes.
        await self.send(text_data=await self._refusal())

    async def _vote(self, message) -> None:
        """A delegation's vote over its socket (see the module's docstring): checked strictly, stored
        through the vote batcher, answered with the panel and the ack."""
        key, round_id, statement_id, choice = (message.get(name) for name in ("key", "round", "statement", "choice"))
        well_formed = isinstance(choice, str) and len(choice) <= 20 and all(_is_id(n) for n in (round_id, statement_id))
        await self._change(key, well_formed, self._store_vote, round_id, statement_id, choice)

    async def _answer(self, message) -> None:
        """A delegation's answer over its socket: checked as the vote is, stored through the answer
        batcher with the HTTP form's key (sent twice, or then over HTTP: stored once), answered with
        the form's saved status (or the refusal) and the ack."""
        key, question_id, kind, text = (message.get(name) for name in ("key", "question", "kind", "text"))
        kind = "answer" if kind is None else kind
        well_formed = isinstance(kind, str) and len(kind) <= 20 and isinstance(text, str) and _is_id(question_id)
        await self._change(key, well_formed, self._store_answer, question_id, kind, text)

    async def _change(self, key, well_formed: bool, store, *arguments) -> None:
        """A change frame: a malformed one closes the socket (4400); else `store` runs on the socket
        changes' threads and its reply (the fragment and the ack naming `key`) is sent. The batch that
        stores the change reads its author afresh: a revoked role closes the socket (4403, `store`
        returns None) at its first change, with no re-check of the socket's own."""
        if not (well_formed and isinstance(key, str) and services.CHANGE_KEY.fullmatch(key)):
            await self.close(code=CLOSE_MALFORMED)
            return
        reply = await vote_thread(store)(key, *arguments)
        if reply is None:  # the user may no longer do this
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=reply)

    def _store_answer(self, key: str, question_id: int, kind: str, text: str) -> str:
        try:
            with translation.override(self.language):
                if self.audience != events.DELEGATE or self.delegation_id is None:
                    return replies.vote_refused(key, _("Only a delegation's delegates can do this."))
                submission = services.AnswerSubmission(user=self.user, question_id=question_id, kind=kind, text=text, key=key,
                                                       meeting_slug=self.scope["url_route"]["kwargs"].get("slug"))
                result = answer_batch.store_answer(submission)
                if isinstance(result, services.NotADelegate):
                    return None  # no longer a delegate: the socket closes (4403)
                if isinstance(result, ActionRefused):
                    return replies.answer_refused(key, question_id=question_id, meeting_id=self.meeting_id,
                                               delegation=Delegation.objects.filter(pk=self.delegation_id).first(),
                                               message=result.message, text=text)
                return replies.answer_reply(key, result)
        finally:
            events.end_worker_task()

    def _store_vote(self, key: str, round_id: int, statement_id: int, choice: str) -> str | None:
        try:
            with translation.override(self.language):
                return self._stored_vote(key, round_id, statement_id, choice)
        finally:
            events.end_worker_task()

    def _stored_vote(self, key: str, round_id: int, statement_id: int, choice: str) -> str | None:
        from ..opinion import services as opinion_services
        from ..opinion import vote_batch

        if self.audience != events.DELEGATE or self.delegation_id is None:
            return replies.vote_refused(key, _("Only a delegation's delegates can do this."))
        # Another meeting's statement, another round's, or none: refused by the batch, which reads the statements anyway.
        result = vote_batch.store_vote(opinion_services.VoteSubmission(
            user=self.user, statement_id=statement_id, choice=choice, meeting_id=self.meeting_id, round_id=round_id, key=key))
        if isinstance(result, opinion_services.NotAVoter):
            return None
        if isinstance(result, ActionRefused):
            return replies.vote_refused(key, result.message)
        return replies.vote_reply(key, result.statement.round, result)

    async def auth_revoked(self, event):
        await self.close(code=CLOSE_FORBIDDEN)

    def text_of(self, html: dict[str, str]) -> str:
        """This socket's language of a rendered fragment."""
        # A socket that joined after the fragment was rendered for its group's languages gets another
        # language this once; its resync after joining replays the event in its own.
        return html.get(self.language) or html.get(settings.LANGUAGE_CODE) or next(iter(html.values()))

    async def live_fragment(self, event):
        await self.send(text_data=self.text_of(event["html"]))

    # --- database helpers -----------------------------------------------------------------------

    @socket_database
    def _authorize(self, user, slug: str, number: int | None, audience: str) -> bool:
        # The role first: it reads the user's participant, loaded with the user (no query).
        if audience not in events.AUDIENCES or access.role_of(user) is None:
            return False
        if audience == events.CONSOLE and not access.is_moderator(user):
            return False
        # A projector opens the screen through a kiosk link (ScreenLinkConsumer); delegates may not.
        if audience == events.SCREEN and not access.can_view_screen(user):
            return False
        # The meeting's and the session's ids in one query of two columns (the models' orderings join
        # the meeting: not needed here). An unknown meeting or session is refused alike.
        if number is None:
            meeting_id, session_id = next(iter(Meeting.objects.filter(slug=slug).order_by().values_list("pk", flat=True)[:1]), None), None
        else:
            found = Session.objects.filter(meeting__slug=slug, number=number).order_by().values_list("meeting_id", "pk")[:1]
            meeting_id, session_id = next(iter(found), (None, None))
        if meeting_id is None or not access.takes_part(user, meeting_id):
            return False
        self.meeting_id, self.session_id, self.audience, self.user = meeting_id, session_id, audience, user
        self.authorized_at = time.monotonic()
        # The meeting's bundle group carries its broadcasts (broadcaster.bundled); the others, what is sent to one group.
        self.live_groups = [events.bundle_group(meeting_id), events.group_name(meeting_id, audience), events.user_group(user.pk)]
        self.revocation_group = events.revocation_group(user.pk)
        delegation = access.delegation_of(user)
        self.delegation_id = delegation.pk if delegation else None
        self.language = self._language(user)
        if audience == events.DELEGATE and delegation is not None:
            self.live_groups.append(events.delegation_group(meeting_id, delegation.pk))
        return True

    def _language(self, user) -> str:
        """The user's remembered language, else the language cookie, else the browser's preference."""
        participant = access.participant_of(user)
        supported = dict(settings.LANGUAGES)
        if participant and participant.language in supported:
            return participant.language
        cookies = self.scope.get("cookies", {})
        if cookies.get(settings.LANGUAGE_COOKIE_NAME) in supported:
            return cookies[settings.LANGUAGE_COOKIE_NAME]
        headers = dict(self.scope.get("headers", []))
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        for code, _quality in parse_accept_lang_header(accept):
            try:
                return get_supported_language_variant(code)
            except LookupError:
                continue
        return settings.LANGUAGE_CODE

    @socket_database
    def _still_allowed(self) -> bool:
        user = get_user_model().objects.select_related("participant").filter(pk=self.user.pk, is_active=True).first()
        if user is None or access.role_of(user) is None or not access.takes_part(user, self.meeting_id):
            return False
        if self.audience == events.SCREEN:
            return access.can_view_screen(user)
        return self.audience != events.CONSOLE or access.is_moderator(user)

    async def _catch_up(self, after: int) -> list[str]:
        """What brings this page level with the database: nothing, without a query of its own, for a
        page that missed nothing (the resync every page sends on opening, most of a reconnect storm),
        as the process last read the meeting's number after this socket was accepted (quiet_check):
        what was committed before then reached its groups before the hub wrote to the socket."""
        if not await quiet_check.behind(self.meeting_id, after, since=self.accepted_at):
            return []
        return await self._catch_up_from_database(after)

    @socket_database
    def _catch_up_from_database(self, after: int) -> list[str]:
        with translation.override(self.language):
            _seq, messages = resync.catch_up(
                meeting_id=self.meeting_id, after=after, groups=set(self.live_groups), full_render=self._full_render
            )
        return messages

    def _full_render(self) -> str:
        """The live parts of this socket's page, as a fresh page load would render them."""
        meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=self.meeting_id)
        if self.audience == events.SCREEN:
            return screen.screen_html(meeting)
        session = Session.objects.select_related("meeting").get(pk=self.session_id)
        banner = render_to_string("sessions_app/partials/now_discussing.html", {"meeting": meeting, "oob": "true"})
        if self.audience == events.CONSOLE:
            context = {"meeting": meeting, "session": session, **queries.console_context(session), **queries.console_room_context(session)}
            return banner + render_to_string("sessions_app/partials/session_clock.html", {**context, "oob": "true"}) + render_to_string(
                "sessions_app/partials/console_live.html", {**context, "oob": True}
            )
        user = get_user_model().objects.select_related("participant__delegation").get(pk=self.user.pk)
        delegation = access.delegation_of(user)
        context = {"meeting": meeting, "session": session, **queries.room_context(session, user=user, delegation=delegation)}
        return banner + render_to_string("sessions_app/partials/room_delegate.html", {**context, "delegation": delegation, "oob": "true"}) + render_to_string(
            "sessions_app/partials/questions.html",
            {"meeting": meeting, "session": session, "oob": True, **queries.delegate_context(session, delegation)},
        )

    @socket_database
    def _refusal(self) -> str:
        with translation.override(self.language):
            return render_to_string("sessions_app/partials/live_notice.html", {"message": _("That action is not available over the live connection.")})


class SocketUser:
    """A socket's user once the socket is open: its id. A socket stays open for hours and what it does
    reads the rest afresh (a change's batch its author, the role's re-check and a full render the user):
    it does not keep a user, its participant and its delegation (three model instances) meanwhile."""

    __slots__ = ("pk",)
    is_authenticated = True
    is_anonymous = False

    def __init__(self, pk: int):
        self.pk = pk


def _is_id(value) -> bool:
    """A frame's id: an int, not a bool (JSON's true is Python's 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def vote_thread(function):
    """`function` as a coroutine run on one of the socket votes' threads (VOTE_THREADS)."""
    global _vote_threads
    if _vote_threads is None:
        _vote_threads = ThreadPoolExecutor(max_workers=VOTE_THREADS, thread_name_prefix="socket-vote")
    return SyncToAsync(function, thread_sensitive=False, executor=_vote_threads)


class ScreenLinkConsumer(MeetingConsumer):
    """The room screen's socket opened through a kiosk link: the token in the URL is the key, no user."""

    async def connect(self):
        if not await self._authorize_link(self.scope["url_route"]["kwargs"]["token"]):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.join_live()

    @socket_database
    def _authorize_link(self, token: str) -> bool:
        link = meeting_settings_services.screen_link_for_token(token)
        if link is None:
            return False
        self.link_id, self.meeting_id, self.session_id, self.audience = link.pk, link.meeting_id, None, events.SCREEN
        self.user = AnonymousUser()
        self.authorized_at = time.monotonic()
        self.live_groups = [events.bundle_group(link.meeting_id), events.group_name(link.meeting_id, events.SCREEN)]
        # Revoking the link closes this socket, as revoking a participant closes theirs.
        self.revocation_group = meeting_settings_services.kiosk_group(link.pk)
        self.delegation_id = None
        self.language = self._language(self.user)
        return True

    @socket_database
    def _still_allowed(self) -> bool:
        return ScreenLink.objects.filter(pk=self.link_id, revoked_at__isnull=True).exists()
