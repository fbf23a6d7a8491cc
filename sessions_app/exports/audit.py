"""The one write an export makes: a line in the meeting's export log."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from ..models import ExportLog, Meeting


@transaction.atomic
def log_export(*, meeting: Meeting, user: User | AnonymousUser | None, kind: str, fmt: str) -> ExportLog:
    """Record who took which export of a meeting; the command line logs with no user."""
    account = user if user is not None and user.is_authenticated else None
    return ExportLog.objects.create(meeting=meeting, user=account, kind=kind, format=fmt)
