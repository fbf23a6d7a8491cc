"""Personal sign-in links: issued, mailed, redeemed once; and the throttling of failed sign-ins.

The raw token exists only in the link (mail or printed QR code); the database keeps its sha256, so a
leaked database grants no sign-in."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from ..models import Meeting, Participant, SignInToken
from ..services import ActionRefused

Role = Participant.Role
logger = logging.getLogger("sessions_app.signin")

# Brute force: this many refused tokens or room codes from one address lock it out for the window.
FAILURE_LIMIT = 10
FAILURE_WINDOW_SECONDS = 600
# Requests for a new link send mail, so they are limited whatever their outcome.
LINK_REQUEST_LIMIT = 5

# --- Sign-in links ----------------------------------------------------------------------------------


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def sign_in_path(raw_token: str, *, meeting: Meeting | None = None) -> str:
    """The path of a sign-in link; the meeting only says where to land afterwards."""
    path = reverse("signin", args=[raw_token])
    return f"{path}?{urlencode({'meeting': meeting.slug})}" if meeting else path


def _check_can_have_link(participant: Participant) -> None:
    user = participant.user
    if not user.is_active:
        raise ActionRefused(_("This participant is deactivated; reactivate them first."))
    if user.is_staff or user.is_superuser:
        # A link must never open the administration: those accounts keep their password.
        raise ActionRefused(_("Administrators sign in with their password, not with a link."))


@dataclass(frozen=True)
class IssuedLink:
    participant: Participant
    token: str  # the raw token: shown or sent once, never stored
    expires_at: datetime


@transaction.atomic
def issue_sign_in_links(*, participants: list[Participant]) -> list[IssuedLink]:
    """New single-use links, one per participant; earlier unused links stay valid until they expire.

    (A participant may use the printed badge on a phone and the e-mail on a laptop.)
    """
    for participant in participants:
        _check_can_have_link(participant)
    expires_at = timezone.now() + timedelta(days=settings.FACILITATION["SIGN_IN_LINK_DAYS"])
    issued = [
        IssuedLink(participant=participant, token=secrets.token_urlsafe(32), expires_at=expires_at)
        for participant in participants
    ]
    SignInToken.objects.bulk_create(
        SignInToken(participant=link.participant, token_hash=hash_token(link.token), expires_at=expires_at)
        for link in issued
    )
    return issued


def linkable_participants(participants) -> list[Participant]:
    """The participants a link can be made for: active, not administrators, and not the observers who
    joined with the room code (no e-mail; an observer registered by the secretariat does get one)."""
    return [
        p
        for p in participants
        if p.user.is_active
        and not p.user.is_staff
        and not p.user.is_superuser
        and (p.role != Role.OBSERVER or p.user.email)
    ]


def _link_message(link: IssuedLink, *, meeting: Meeting | None, base_url: str) -> EmailMessage:
    participant = link.participant
    with translation.override(participant.language or settings.LANGUAGE_CODE):
        url = base_url.rstrip("/") + sign_in_path(link.token, meeting=meeting)
        title = " ".join((meeting.title if meeting else _("the meeting")).split())
        subject = _("Your sign-in link for %(meeting)s") % {"meeting": title}
        body = _(
            "Dear %(name)s,\n\n"
            "Open this personal link to join %(meeting)s:\n\n%(url)s\n\n"
            "It works once, until %(expires)s; after that you stay signed in on that device. "
            "Do not share it: it signs in as you.\n\n"
            "If it no longer works, ask for a new one at %(request_url)s\n"
        ) % {
            "name": participant.user.get_full_name() or participant.user.email,
            "meeting": title,
            "url": url,
            "expires": formats.date_format(timezone.localtime(link.expires_at), "DATETIME_FORMAT"),
            "request_url": base_url.rstrip("/") + reverse("signin_request"),
        }
    return EmailMessage(subject=subject[:200], body=body, to=[participant.user.email])


def send_sign_in_links(*, participants: list[Participant], meeting: Meeting | None, base_url: str) -> int:
    """E-mail a fresh link to each participant with an address; returns how many were sent.

    Not atomic on purpose: the links are stored (atomically) before any mail leaves, so a mail
    failure can leave an unused link behind but never a sent link that does not exist.
    """
    with_address = [p for p in participants if p.user.email]
    links = issue_sign_in_links(participants=with_address)
    connection = get_connection()
    return connection.send_messages([_link_message(link, meeting=meeting, base_url=base_url) for link in links]) or 0


def send_sign_in_link(*, participant: Participant, meeting: Meeting | None, base_url: str) -> None:
    """E-mail one participant a fresh personal link."""
    if not participant.user.email:
        raise ActionRefused(_("This participant has no e-mail address."))
    send_sign_in_links(participants=[participant], meeting=meeting, base_url=base_url)


def request_sign_in_link(*, email: str, meeting: Meeting | None, base_url: str) -> None:
    """Send a new link if the address is an active participant's; silent otherwise (no enumeration)."""
    email = email.strip().lower()
    candidates = list(
        Participant.objects.select_related("user").filter(user__email__iexact=email, user__is_active=True)
    )
    participants = linkable_participants(candidates)
    if len(participants) == 1:
        send_sign_in_links(participants=participants, meeting=meeting, base_url=base_url)


class SignInRefused(Exception):
    """A sign-in link that opens nothing; `reason` says why, `token` is the row if there is one."""

    UNKNOWN, USED, EXPIRED, REVOKED, INACTIVE = "unknown", "used", "expired", "revoked", "inactive"

    def __init__(self, reason: str, token: SignInToken | None = None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


def check_sign_in_token(raw_token: str) -> SignInToken:
    """The token row if this link can still sign in; raises SignInRefused otherwise. Reads only."""
    token = None
    if 20 <= len(raw_token) <= 100:
        token = (
            SignInToken.objects.select_related("participant__user", "participant__delegation")
            .filter(token_hash=hash_token(raw_token))
            .first()
        )
    if token is None:
        raise SignInRefused(SignInRefused.UNKNOWN)
    if token.revoked_at is not None:
        raise SignInRefused(SignInRefused.REVOKED, token)
    if token.used_at is not None:
        raise SignInRefused(SignInRefused.USED, token)
    if token.expires_at <= timezone.now():
        raise SignInRefused(SignInRefused.EXPIRED, token)
    if not token.participant.user.is_active:
        raise SignInRefused(SignInRefused.INACTIVE, token)
    return token


@transaction.atomic
def redeem_sign_in_token(*, raw_token: str) -> User:
    """Use up a sign-in link and return whom it signs in; raises SignInRefused if it cannot."""
    token = check_sign_in_token(raw_token)
    # A conditional update, so two requests racing with the same link cannot both win.
    claimed = SignInToken.objects.filter(pk=token.pk, used_at__isnull=True, revoked_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not claimed:
        raise SignInRefused(SignInRefused.USED, token)
    return token.participant.user


def _client_key(bucket: str, address: str) -> str:
    return f"facilitation:failures:{bucket}:{address or 'unknown'}"


def is_throttled(*, bucket: str, address: str, limit: int = FAILURE_LIMIT) -> bool:
    """Whether this client address has used up its attempts for the current window."""
    return cache.get(_client_key(bucket, address), 0) >= limit


def note_failure(*, bucket: str, address: str) -> None:
    """Count one refused attempt from this address (the window starts at the first one)."""
    key = _client_key(bucket, address)
    if not cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, FAILURE_WINDOW_SECONDS)
