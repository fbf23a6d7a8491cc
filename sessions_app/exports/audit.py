"""The one write an export makes: a line in the meeting's export log."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from ..models import ExportLog, Meeting
from ..oplog import log_event


@transaction.atomic
def log_export(*, meeting: Meeting, user: User | AnonymousUser | None, kind: str, fmt: str) -> ExportLog:
    """Record who took which export of a meeting; the command line logs with no user."""
    account = user if user is not None and user.is_authenticated else None
    log_event("export", meeting_id=meeting.pk, user_id=getattr(account, "pk", None), kind=kind, format=fmt)
    return ExportLog.objects.create(meeting=meeting, user=account, kind=kind, format=fmt)
