"""Reads and the one write of the lock-outs page; django-axes counts and locks (settings: AXES_*)."""

import logging

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

logger = logging.getLogger(__name__)


def locked_accounts() -> list[dict]:
    """One row per locked account or address: what the page lists (an account over many addresses adds up)."""
    since = timezone.now() - get_cool_off()
    recent = AccessAttempt.objects.filter(attempt_time__gte=since)
    rows = []
    for field in ("username", "ip_address"):
        for row in recent.values(field).annotate(failures=Sum("failures_since_start")).order_by(field):
            if row["failures"] >= settings.AXES_FAILURE_LIMIT and row[field]:
                rows.append({"kind": field, "value": row[field], "failures": row["failures"]})
    return rows


@transaction.atomic
def lift_lockout(*, kind: str, value: str, by) -> int:
    """Forget the failures of one account or address; returns how many attempt rows went."""
    if kind not in {"username", "ip_address"} or not value:
        raise ValueError(kind)
    deleted, _ = AccessAttempt.objects.filter(**{kind: value}).delete()
    logger.info("sign_in.lockout_lifted", extra={"event": "sign_in.lockout_lifted", "kind": kind, "by_user_id": by.pk})
    return deleted


def lockout_minutes() -> int:
    return int(get_cool_off().total_seconds() // 60)


def note_locked_out() -> None:
    """One log line per refused sign-in; no account name or address (personal data) in it."""
    logger.warning("sign_in.locked_out", extra={"event": "sign_in.locked_out"})
