"""Telling the delegations about the record's review: a draft issued, its deadline near, the final out.

Each notice is two things, both made inside the transaction of the step it announces:
- a live event (events.RECORD_NOTICE), which the live package renders on the delegates' open pages
  (and replays to a page that was away: the event row is the truth);
- an e-mail to every delegate of the meeting who has an address, once each, in that person's
  language, sent after commit through Django's e-mail backend (the console by default).

Deadline reminders go out from `remind_deadlines`, run by `manage.py remind_record_deadlines` every
hour or so (docs/deploy.md: a systemd timer or cron); each threshold (48 h, 24 h before) is sent at
most once per draft, however often it runs.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .. import events
from ..exports import common
from ..models import Meeting, Participant, RecordAudit, RecordVersion
from ..zones import zone_of

logger = logging.getLogger(__name__)

DRAFT, DEADLINE, FINAL = "draft", "deadline", "final"
NOTICES = (DRAFT, DEADLINE, FINAL)
REMINDER_HOURS = (48, 24)  # before the deadline for comments
REMINDER_ACTION = "deadline_reminder"  # RecordAudit.action: the audit log is also the list of reminders sent


def recipients(meeting: Meeting) -> list[Participant]:
    """The meeting's delegates and heads of delegation with an e-mail address (a participant is one
    person, so each is told once however many roles or addresses overlap)."""
    return list(
        Participant.objects.filter(delegation__in=meeting.delegations.all(), user__is_active=True,
                                   role__in=[Participant.Role.DELEGATE, Participant.Role.HEAD])
        .exclude(user__email="").select_related("user").order_by("user_id"))


def language_of(participant: Participant, meeting: Meeting) -> str:
    """The person's own interface language (chosen with the language switch), else the meeting's."""
    supported = {code for code, _name in settings.LANGUAGES}
    for code in (participant.language, meeting.language, settings.LANGUAGE_CODE):
        if code and code.split("-")[0] in supported:
            return code.split("-")[0]
    return settings.LANGUAGE_CODE


def _subject_and_body(version: RecordVersion, notice: str, url: str) -> tuple[str, str]:
    """The e-mail's text in the active language (the caller activates the recipient's)."""
    title = " ".join(version.meeting.title.split())
    scope = (pgettext("record of", "of session %(number)s") % {"number": version.session.number} if version.session_id
             else pgettext("record of", "of the meeting"))
    values = {"title": title, "number": version.number, "scope": scope, "url": url,
              "deadline": common.local_datetime(version.deadline)}
    if notice == DRAFT:
        subject = _("Draft summary record: %(title)s") % values
        body = (_("A draft summary record %(scope)s (version %(number)s) is open for your delegation's "
                  "corrections and comments until %(deadline)s.") if version.deadline else
                _("A draft summary record %(scope)s (version %(number)s) is open for your delegation's "
                  "corrections and comments.")) % values
    elif notice == DEADLINE:
        subject = _("Deadline near: %(title)s") % values
        body = _("Comments on the draft summary record %(scope)s (version %(number)s) close on %(deadline)s.") % values
    else:
        subject = _("Final summary record: %(title)s") % values
        body = _("The final summary record %(scope)s (version %(number)s) is out.") % values
    return subject[:200], f"{body}\n\n{url}\n"


def message_for(version: RecordVersion, notice: str, participant: Participant, *, base_url: str = "") -> EmailMessage:
    """One person's e-mail about a notice, in their language, with times in the meeting's zone."""
    base = (base_url or settings.FACILITATION.get("SITE_URL", "")).rstrip("/")
    with translation.override(language_of(participant, version.meeting)), timezone.override(zone_of(version.meeting)):
        url = base + reverse("record_review", args=[version.meeting.slug, version.pk])
        subject, body = _subject_and_body(version, notice, url)
    return EmailMessage(subject=subject, body=body, to=[participant.user.email])


def _send(messages: list[EmailMessage]) -> None:
    # After commit, so a failing mail server cannot undo the step; the page notice is already stored.
    try:
        get_connection().send_messages(messages)
    except Exception:
        logger.exception("Could not e-mail %s record notice(s)", len(messages))


def notify(version: RecordVersion, notice: str, *, base_url: str = "") -> None:
    """Announce a step of the review to the delegations: live on their pages, and by e-mail.

    Must run inside the step's transaction: the live event exists iff the step does, and the
    e-mails leave only once it has committed."""
    if notice not in NOTICES:
        raise ValueError(f"Unknown record notice {notice!r}")
    events.record(meeting=version.meeting, type=events.RECORD_NOTICE, payload={"version": version.pk, "notice": notice})
    messages = [message_for(version, notice, participant, base_url=base_url) for participant in recipients(version.meeting)]
    if messages:
        transaction.on_commit(lambda: _send(messages))


def _is_latest(version: RecordVersion) -> bool:
    """A draft stays a draft once its final is issued (the final is the next version): no reminder then."""
    return not RecordVersion.objects.filter(meeting=version.meeting_id, session=version.session_id,
                                            number__gt=version.number).exists()


def _hours_reminded(version: RecordVersion) -> list[int]:
    # Reminders written before the thresholds existed were the 24-hour one.
    return [entry.get("hours", 24) if isinstance(entry, dict) else 24 for entry in
            RecordAudit.objects.filter(version=version, action=REMINDER_ACTION).values_list("detail", flat=True)]


@transaction.atomic
def remind_deadlines(*, hours: tuple[int, ...] = REMINDER_HOURS, now: datetime | None = None) -> list[RecordVersion]:
    """Remind the delegations of each open draft whose deadline is within one of `hours`: once per
    threshold, the nearest one only (a draft first seen 20 h before its deadline gets the 24-hour
    reminder, not both). Safe to run as often as one likes, and by two processes at once: the drafts
    are locked while their reminders are decided."""
    thresholds = sorted({int(h) for h in hours if int(h) > 0})
    if not thresholds:
        return []
    now = now or timezone.now()
    due = list(RecordVersion.objects.select_for_update(of=("self",), no_key=True).select_related("meeting", "session").filter(
        status=RecordVersion.Status.DRAFT, deadline__gt=now,
        deadline__lte=now + timedelta(hours=thresholds[-1])).order_by("deadline", "id"))
    reminded = []
    for version in due:
        remaining = version.deadline - now
        threshold = min(h for h in thresholds if remaining <= timedelta(hours=h))
        if not _is_latest(version) or any(sent <= threshold for sent in _hours_reminded(version)):
            continue
        version.reminded_at = now
        version.save(update_fields=["reminded_at"])
        RecordAudit.objects.create(meeting=version.meeting, version=version, actor=None, action=REMINDER_ACTION,
                                   detail={"deadline": version.deadline.isoformat(), "hours": threshold})
        notify(version, DEADLINE)
        reminded.append(version)
    return reminded
