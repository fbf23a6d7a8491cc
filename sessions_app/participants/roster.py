"""Writes to a meeting's roster: the import (its preview, then all or nothing), and adding, editing,
deactivating and reactivating one participant."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from .. import events
from ..models import Delegation, Meeting, Participant, SignInToken, name_key
from ..services import ActionRefused
from .files import EMAIL_MAX, NAME_MAX, ParsedRow, check_rows

Role = Participant.Role
logger = logging.getLogger("sessions_app.signin")

# --- Preview and import -----------------------------------------------------------------------------


class Outcome:
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class RowOutcome:
    row: ParsedRow
    status: str
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    user: User | None = None

    @property
    def delegation_name(self) -> str:
        return str(countries.name(self.row.delegation)) if self.row.delegation else ""

    @property
    def role_label(self) -> str:
        return str(Role(self.row.role).label) if self.row.role else ""


@dataclass
class ImportPreview:
    outcomes: list[RowOutcome]
    new_delegations: list[str]  # codes of delegations the import adds to the meeting
    digest: str

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {
            status: self.count(status) for status in (Outcome.NEW, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.ERROR)
        }

    @property
    def has_errors(self) -> bool:
        return self.count(Outcome.ERROR) > 0

    @property
    def has_changes(self) -> bool:
        return bool(self.new_delegations) or any(o.status in {Outcome.NEW, Outcome.UPDATED} for o in self.outcomes)

    @property
    def new_delegation_names(self) -> list[str]:
        return sorted((str(countries.name(code)) for code in self.new_delegations), key=name_key)


def _display(field_name: str, value: str | None) -> str:
    if not value:
        return "—"
    if field_name == "role":
        return str(Role(value).label)
    if field_name == "delegation":
        return str(countries.name(value))
    if field_name == "language":
        return str(dict(settings.LANGUAGES).get(value, value))
    return value


def _diff(user: User, row: ParsedRow) -> list[Change]:
    participant = _participant_or_none(user)
    old = {
        "name": user.get_full_name(),
        "email": user.email,
        "role": participant.role if participant else "",
        "delegation": participant.delegation.code if participant and participant.delegation_id else "",
        "language": participant.language if participant else "",
    }
    new = {
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "delegation": row.delegation,
        "language": row.language,
    }
    if row.language is None:
        del new["language"]
    return [
        Change(field=name, old=_display(name, old[name]), new=_display(name, value))
        for name, value in new.items()
        if (old[name] or "") != (value or "")
    ]


def _participant_or_none(user: User) -> Participant | None:
    try:
        return user.participant
    except Participant.DoesNotExist:
        return None


def preview_import(*, meeting: Meeting, raw_rows: list[dict]) -> ImportPreview:
    """Each row's outcome against the database as it is now; reads only (three queries)."""
    rows = check_rows(raw_rows)
    emails = {row.email for row in rows if row.email}
    users_by_email: dict[str, list[User]] = defaultdict(list)
    for user in (
        User.objects.annotate(email_key=Lower("email"))
        .filter(email_key__in=emails)
        .select_related("participant__delegation")
    ):
        users_by_email[user.email_key].append(user)
    owner_of_username = dict(
        User.objects.annotate(username_key=Lower("username"))
        .filter(username_key__in=emails)
        .values_list("username_key", "pk")
    )
    meeting_codes = set(meeting.delegations.values_list("country", flat=True))

    outcomes = []
    for row in rows:
        outcome = RowOutcome(row=row, status=Outcome.UNCHANGED, errors=list(row.errors))
        matches = users_by_email.get(row.email, [])
        if len(matches) > 1:
            outcome.errors.append(
                _("%(count)s accounts already use this e-mail address; merge them in the administration first.")
                % {"count": len(matches)}
            )
        elif matches:
            outcome.user = matches[0]
            outcome.changes = _diff(matches[0], row)
            if not matches[0].is_active:
                outcome.notes.append(_("Deactivated: the import does not reactivate; do it on the participants page."))
        elif row.email and owner_of_username.get(row.email):
            outcome.errors.append(_("Another account already has this e-mail address as its user name."))
        if outcome.errors:
            outcome.status = Outcome.ERROR
        elif outcome.user is None:
            outcome.status = Outcome.NEW
        elif outcome.changes:
            outcome.status = Outcome.UPDATED
        outcomes.append(outcome)

    new_delegations = sorted(
        {o.row.delegation for o in outcomes if o.row.delegation and o.status != Outcome.ERROR} - meeting_codes
    )
    # What the confirmation must match: a change made elsewhere between preview and confirm is caught.
    fingerprint = [[o.row.line, o.row.email, o.status, [c.field for c in o.changes]] for o in outcomes]
    digest = hashlib.sha256(json.dumps([fingerprint, new_delegations]).encode()).hexdigest()
    return ImportPreview(outcomes=outcomes, new_delegations=new_delegations, digest=digest)


@transaction.atomic
def import_participants(*, meeting: Meeting, raw_rows: list[dict], expected_digest: str | None = None) -> ImportPreview:
    """Save a previewed participants file: every row or none, refused if a row has an error or the preview is stale."""
    preview = preview_import(meeting=meeting, raw_rows=raw_rows)
    if preview.has_errors:
        raise ActionRefused(_("The file has rows with errors; nothing was saved. Fix them and upload the file again."))
    if expected_digest is not None and expected_digest != preview.digest:
        raise ActionRefused(_("The participants changed since this preview; check the new preview and confirm again."))
    delegations = {
        code: _delegation_for(meeting, code)
        for code in {o.row.delegation for o in preview.outcomes if o.row.delegation}
    }
    for outcome in preview.outcomes:
        row = outcome.row
        fields = {
            "name": row.name,
            "email": row.email,
            "role": row.role,
            "delegation": delegations.get(row.delegation),
            "language": row.language,
        }
        if outcome.status == Outcome.NEW:
            _create_participant(**fields)
        elif outcome.status == Outcome.UPDATED:
            _change_participant(outcome.user, **fields)
    return preview


def _delegation_for(meeting: Meeting, code: str) -> Delegation:
    """The delegation for this country, created if missing and made part of the meeting."""
    delegation, _created = Delegation.objects.get_or_create(country=code)
    if not meeting.delegations.filter(pk=delegation.pk).exists():
        meeting.delegations.add(delegation)
    return delegation


def _create_participant(
    *, name: str, email: str, role: str, delegation: Delegation | None, language: str | None
) -> Participant:
    # The whole name goes in first_name: names do not split reliably into given and family names
    # across 40 countries, and get_full_name() then gives back exactly what the secretariat wrote.
    user = User(username=email, email=email, first_name=name, last_name="")
    user.set_unusable_password()  # participants sign in by link; there is no password to leak or forget
    user.save()
    return Participant.objects.create(user=user, role=role, delegation=delegation, language=language or "")


def _change_participant(
    user: User, *, name: str, email: str, role: str, delegation: Delegation | None, language: str | None
) -> Participant:
    """Apply new values; a participant whose role or delegation changed has their sockets closed,
    so their pages reconnect to the right live groups (another delegation's, or none)."""
    if user.username.lower() == (user.email or "").lower() and user.username != email:
        user.username = email  # the username follows the e-mail it was derived from
    user.first_name, user.last_name, user.email = name, "", email
    user.save(update_fields=["username", "first_name", "last_name", "email"])
    participant = _participant_or_none(user) or Participant(user=user)
    moved = participant.pk is not None and (
        participant.role != role or participant.delegation_id != getattr(delegation, "pk", None)
    )
    participant.role, participant.delegation = role, delegation
    if language is not None:
        participant.language = language
    participant.save()
    user.participant = participant
    if moved:
        events.disconnect_user(user.pk)
    return participant


# --- Adding, editing, deactivating ------------------------------------------------------------------


def _clean_fields(*, name: str, email: str, role: str, delegation_code: str, language: str, user: User | None) -> dict:
    name, email, delegation_code = name.strip(), email.strip().lower(), delegation_code.strip().upper()
    if not name:
        raise ActionRefused(_("Give the participant's name."), field="name")
    if len(name) > NAME_MAX:
        raise ActionRefused(_("The name is longer than %(limit)s characters.") % {"limit": NAME_MAX}, field="name")
    try:
        validate_email(email)
    except ValidationError:
        raise ActionRefused(_("Enter a valid e-mail address."), field="email") from None
    if len(email) > EMAIL_MAX:
        raise ActionRefused(
            _("The e-mail address is longer than %(limit)s characters.") % {"limit": EMAIL_MAX}, field="email"
        )
    others = User.objects.exclude(pk=getattr(user, "pk", None))
    if others.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists():
        raise ActionRefused(_("Another participant already uses this e-mail address."), field="email")
    if role not in Role.values:
        raise ActionRefused(_("Choose one of the roles."), field="role")
    if delegation_code and delegation_code not in countries:
        raise ActionRefused(_("Choose a country from the list."), field="delegation")
    if not delegation_code and role in {Role.DELEGATE, Role.HEAD}:
        raise ActionRefused(_("A delegate or head of delegation needs a delegation."), field="delegation")
    if language and language not in dict(settings.LANGUAGES):
        raise ActionRefused(_("Choose one of the languages."), field="language")
    return {"name": name, "email": email, "role": role, "delegation_code": delegation_code, "language": language}


@transaction.atomic
def add_participant(
    *, meeting: Meeting, name: str, email: str, role: str, delegation_code: str = "", language: str = ""
) -> Participant:
    """Register one participant (an account without password) for the meeting."""
    cleaned = _clean_fields(
        name=name, email=email, role=role, delegation_code=delegation_code, language=language, user=None
    )
    code = cleaned.pop("delegation_code")
    return _create_participant(**cleaned, delegation=_delegation_for(meeting, code) if code else None)


@transaction.atomic
def update_participant(
    *,
    meeting: Meeting,
    participant: Participant,
    name: str,
    email: str,
    role: str,
    delegation_code: str = "",
    language: str = "",
) -> Participant:
    """Change a participant's name, e-mail, role, language or delegation (moving them to another one)."""
    cleaned = _clean_fields(
        name=name, email=email, role=role, delegation_code=delegation_code, language=language, user=participant.user
    )
    code = cleaned.pop("delegation_code")
    return _change_participant(participant.user, **cleaned, delegation=_delegation_for(meeting, code) if code else None)


def _end_sessions(user_id: int) -> int:
    """Delete every server-side session logged in as this user; returns how many.

    Sessions are not indexed by user, so this reads them all: fine for a rare secretariat action
    over a meeting's few hundred sessions, and it works for the db and cached_db engines alike.
    """
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    if not hasattr(store_class, "get_model_class"):
        # Cookie-based sessions cannot be ended from the server; is_active still refuses the user.
        logger.warning("Session engine %s cannot end a user's sessions", settings.SESSION_ENGINE)
        return 0
    model = store_class.get_model_class()
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    for key in keys:
        store_class(session_key=key).delete()
    return len(keys)


def _end_access(user: User) -> None:
    """Withdraw every way in a participant has now: unused links, sessions, then (after commit) sockets."""
    SignInToken.objects.filter(participant__user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _end_sessions(user.pk)
    events.disconnect_user(user.pk)


def _refuse_self(participant: Participant, actor: User | None) -> None:
    if actor is not None and actor.pk == participant.user_id:
        raise ActionRefused(_("You cannot withdraw your own access; ask another member of the secretariat."))


@transaction.atomic
def revoke_sign_in_links(*, participant: Participant, actor: User | None = None) -> None:
    """Withdraw the participant's unused links and sign them out everywhere (pages and live sockets)."""
    _refuse_self(participant, actor)
    _end_access(participant.user)


@transaction.atomic
def deactivate_participant(*, participant: Participant, actor: User | None = None) -> Participant:
    """Bar a participant: no sign-in, no session, no socket, until reactivated. Their answers stay."""
    _refuse_self(participant, actor)
    user = participant.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    _end_access(user)
    return participant


@transaction.atomic
def reactivate_participant(*, participant: Participant) -> Participant:
    """Let a deactivated participant in again; they need a new sign-in link."""
    user = participant.user
    user.is_active = True
    user.save(update_fields=["is_active"])
    return participant
