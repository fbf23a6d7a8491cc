"""Erase a meeting's personal data, keeping its anonymised record (docs/backups.md, "Personal data").

The meeting's people are the accounts that take part in it (its delegations' delegates, the observers
and others added to it) and every account its rows point at (authors, moderators, voters, reviewers),
except the operators: superusers, staff and the secretariat, who run every meeting. An account used
only in this meeting is removed with everything that names it (its name, e-mail, sign-in links, sign-in
records, the admin's log lines about it); one that also takes part in another meeting is kept for that
meeting and unlinked from this one. Answers, practices and votes stay, attributed to their delegation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q

from ..models import (
    Answer,
    AnswerRevision,
    ConclusionRevision,
    ExportLog,
    FloorRequest,
    Meeting,
    ModerationAction,
    Participant,
    Practice,
    RecordAudit,
    RecordProposal,
    RecordVersion,
    ScreenLink,
    SettingChange,
    SignInToken,
    StatementVote,
    Vote,
)
from ..oplog import log_event

# Every column of a meeting's rows that points at an account, with the path from that row to its meeting.
# tests/test_personal_data.py fails when a model gains a reference to an account that is not listed here.
ACCOUNT_REFERENCES: list[tuple[type, str, str]] = [
    (Answer, "created_by", "question__session__meeting"),
    (Answer, "updated_by", "question__session__meeting"),
    (AnswerRevision, "author", "answer__question__session__meeting"),
    (Practice, "created_by", "session__meeting"),
    (Practice, "updated_by", "session__meeting"),
    (ModerationAction, "actor", "meeting"),
    (ConclusionRevision, "author", "session__meeting"),
    (FloorRequest, "requested_by", "session__meeting"),
    (Vote, "user", "poll__session__meeting"),
    (StatementVote, "user", "statement__round__session__meeting"),
    (RecordVersion, "issued_by", "meeting"),
    (RecordProposal, "author", "version__meeting"),
    (RecordProposal, "decided_by", "version__meeting"),
    (RecordAudit, "actor", "meeting"),
    (ExportLog, "user", "meeting"),
    (SettingChange, "user", "meeting"),
    (ScreenLink, "created_by", "meeting"),
]
# Rows that belong to an account rather than to a meeting: they go with the account.
ACCOUNT_OWN_ROWS = {("Participant", "user"), ("Submission", "user")}


@dataclass
class ErasurePlan:
    """What an erasure removes, unlinks and keeps: the counts the dry run shows and the audit log keeps."""

    meeting: Meeting
    removed: list[int] = field(default_factory=list)  # account ids used only in this meeting
    unlinked: list[int] = field(default_factory=list)  # account ids that take part in another meeting too
    counts: Counter = field(default_factory=Counter)


def _is_operator(user: User) -> bool:
    participant = getattr(user, "participant", None)
    return user.is_superuser or user.is_staff or (participant is not None and participant.role == Participant.Role.SECRETARIAT)


def _referenced(meeting: Meeting, *, elsewhere: bool) -> set[int]:
    """Ids of the accounts the meeting's rows (or, with `elsewhere`, other meetings' rows) point at."""
    ids: set[int] = set()
    for model, column, path in ACCOUNT_REFERENCES:
        rows = model.objects.exclude(**{f"{column}__isnull": True})
        rows = rows.exclude(**{path: meeting}) if elsewhere else rows.filter(**{path: meeting})
        ids.update(rows.values_list(f"{column}_id", flat=True).distinct())
    return ids


def plan_erasure(meeting: Meeting) -> ErasurePlan:
    """Who the erasure concerns and what it would change; changes nothing (the dry run)."""
    plan = ErasurePlan(meeting)
    delegation_ids = set(meeting.delegations.values_list("pk", flat=True))
    members = Q(participant__role__in=[Participant.Role.DELEGATE, Participant.Role.HEAD], participant__delegation__in=delegation_ids)
    people = set(User.objects.filter(members | Q(participant__meetings=meeting)).values_list("pk", flat=True))
    people |= _referenced(meeting, elsewhere=False)
    accounts = User.objects.filter(pk__in=people).select_related("participant")
    people = {user.pk for user in accounts if not _is_operator(user)}

    other_delegations = set(
        Meeting.delegations.through.objects.exclude(meeting=meeting).values_list("delegation_id", flat=True)
    )
    used_elsewhere = _referenced(meeting, elsewhere=True)
    used_elsewhere |= set(
        Participant.meetings.through.objects.exclude(meeting=meeting).values_list("participant__user_id", flat=True)
    )
    used_elsewhere |= set(
        Participant.objects.filter(
            role__in=[Participant.Role.DELEGATE, Participant.Role.HEAD], delegation__in=other_delegations
        ).values_list("user_id", flat=True)
    )
    plan.removed = sorted(people - used_elsewhere)
    plan.unlinked = sorted(people & used_elsewhere)

    removed = User.objects.filter(pk__in=plan.removed)
    plan.counts["accounts removed"] = len(plan.removed)
    plan.counts["accounts kept for other meetings, unlinked from this one"] = len(plan.unlinked)
    plan.counts["names erased"] = removed.exclude(first_name="", last_name="").count()
    plan.counts["e-mail addresses erased"] = removed.exclude(email="").count()
    plan.counts["sign-in links deleted"] = SignInToken.objects.filter(participant__user__in=plan.removed).count()
    usernames = list(removed.values_list("username", flat=True))
    plan.counts["sign-in records deleted"] = sum(
        model.objects.filter(username__in=usernames).count() for model in (AccessAttempt, AccessLog, AccessFailureLog)
    )
    people_ids = plan.removed + plan.unlinked
    plan.counts["links from the meeting's rows to a person removed"] = sum(
        model.objects.filter(**{path: meeting, f"{column}__in": people_ids}).count()
        for model, column, path in ACCOUNT_REFERENCES
    )
    plan.counts["practice contact points cleared"] = (
        Practice.objects.filter(session__meeting=meeting).exclude(contact="").count()
    )
    # What stays: the anonymised record.
    plan.counts["answers kept"] = Answer.objects.filter(question__session__meeting=meeting).count()
    plan.counts["practices kept"] = Practice.objects.filter(session__meeting=meeting).count()
    plan.counts["votes kept"] = (
        Vote.objects.filter(poll__session__meeting=meeting).count()
        + StatementVote.objects.filter(statement__round__session__meeting=meeting).count()
    )
    return plan


def erase_personal_data(meeting: Meeting) -> ErasurePlan:
    """Remove or unlink the meeting's people as plan_erasure says, in one transaction, and log it without personal data."""
    if connection.vendor == "sqlite":
        # Deleted rows are overwritten with zeros, so names do not linger in the file's free pages
        # (and from there in a backup of the whole file).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    with transaction.atomic():
        plan = plan_erasure(meeting)
        people = plan.removed + plan.unlinked
        for model, column, path in ACCOUNT_REFERENCES:
            model.objects.filter(**{path: meeting, f"{column}__in": people}).update(**{column: None})
        Participant.meetings.through.objects.filter(meeting=meeting, participant__user__in=plan.unlinked).delete()
        Practice.objects.filter(session__meeting=meeting).exclude(contact="").update(contact="", contact_consent=False)

        removed = User.objects.filter(pk__in=plan.removed)
        usernames = list(removed.values_list("username", flat=True))
        for model in (AccessAttempt, AccessLog, AccessFailureLog):
            model.objects.filter(username__in=usernames).delete()
        user_type, participant_type = (ContentType.objects.get_for_model(model) for model in (User, Participant))
        participant_ids = Participant.objects.filter(user__in=plan.removed).values_list("pk", flat=True)
        LogEntry.objects.filter(
            Q(content_type=user_type, object_id__in=[str(pk) for pk in plan.removed])
            | Q(content_type=participant_type, object_id__in=[str(pk) for pk in participant_ids])
        ).delete()  # the admin's log lines about them name them (object_repr)
        removed.delete()  # with their participant rows, sign-in links and submission keys

        RecordAudit.objects.create(meeting=meeting, actor=None, action="personal_data_erased", detail=dict(plan.counts))
    log_event("personal_data.erased", meeting_id=meeting.pk, count=len(plan.removed))
    return plan
