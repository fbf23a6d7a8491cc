"""Writes of the meeting settings page: settings changes with their audit log, and kiosk screen links."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, events, services
from ..models import ExportLog, Meeting, ScreenLink, SettingChange
from . import fields

# The two settings update_meeting_settings owns; the others are set here.
CORE = ("attribution", "answer_visibility")


@transaction.atomic
def change_meeting_settings(*, user: User, meeting: Meeting, values: dict[str, str]) -> list[SettingChange]:
    """Apply the settings page's values; log each change, refuse the whole form if one value is not offered."""
    access.require_secretariat(user)
    offered = {setting.name: setting for setting in fields.all_settings()}
    cleaned = {}
    for name, setting in offered.items():
        value = values.get(name, getattr(meeting, name))
        if setting.choice(value) is None:
            raise services.ActionRefused(_("Choose one of the offered settings."))
        cleaned[name] = value
    meeting = Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)
    changed = {name: value for name, value in cleaned.items() if getattr(meeting, name) != value}
    if not changed:
        return []
    exports = ExportLog.objects.filter(meeting=meeting).count()
    log = [
        SettingChange(
            meeting=meeting, user=user, field=name, old_value=getattr(meeting, name), new_value=value,
            exports_before=exports if offered[name].affects_records else 0,
        )
        for name, value in changed.items()
    ]
    others = [name for name in changed if name not in CORE]
    for name in others:
        setattr(meeting, name, changed[name])
    if others:
        meeting.save(update_fields=[*others, "updated_at"])
    # The core pair goes through its own service, which records the live event screens re-render on.
    update_meeting_settings(
        user=user, meeting=meeting, attribution=cleaned["attribution"], answer_visibility=cleaned["answer_visibility"]
    )
    return SettingChange.objects.bulk_create(log)


@transaction.atomic
def update_meeting_settings(*, user: User, meeting: Meeting, attribution: str, answer_visibility: str) -> Meeting:
    """Change who sees answers and whether they are attributed; screens re-render accordingly."""
    access.require_secretariat(user)
    if attribution not in Meeting.Attribution.values or answer_visibility not in Meeting.AnswerVisibility.values:
        raise services.ActionRefused(_("Choose one of the offered settings."))
    meeting = Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)
    meeting.attribution, meeting.answer_visibility = attribution, answer_visibility
    meeting.save(update_fields=["attribution", "answer_visibility", "updated_at"])
    events.record(meeting=meeting, type=events.SETTINGS_CHANGED, payload={})
    return meeting


def hash_screen_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_screen_link(*, user: User, meeting: Meeting, label: str = "") -> tuple[ScreenLink, str]:
    """A new kiosk link for the room screen; returns the row and the token, which is not stored."""
    access.require_secretariat(user)
    label = " ".join(label.split())
    if len(label) > 100:
        raise services.ActionRefused(_("The label is too long (100 characters at most)."))
    token = secrets.token_urlsafe(24)
    link = ScreenLink.objects.create(meeting=meeting, label=label, token_hash=hash_screen_token(token), created_by=user)
    return link, token


@transaction.atomic
def revoke_screen_link(*, user: User, link: ScreenLink) -> ScreenLink:
    """Stop a kiosk link working; a projector showing it loses its live connection at once."""
    access.require_secretariat(user)
    link = ScreenLink.objects.select_for_update(no_key=True).get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        events.close_group(kiosk_group(link.pk))
    return link


def kiosk_group(link_id: int) -> str:
    """Every socket opened through one kiosk link, so that revoking it closes them."""
    return f"screenlink.{link_id}.sockets"


def screen_link_for_token(token: str) -> ScreenLink | None:
    """The live (not revoked) kiosk link a token opens, with its meeting; None for any other token."""
    if not token or len(token) > 100:
        return None
    return (
        ScreenLink.objects.select_related("meeting__current_question__session", "meeting__current_session")
        .filter(token_hash=hash_screen_token(token), revoked_at__isnull=True)
        .first()
    )
