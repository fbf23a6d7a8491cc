"""Reads for the record's review pages."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..models import Delegation, Meeting, RecordAudit, RecordProposal, RecordVersion

# RecordAudit.action codes as the audit log shows them (the codes stay in the database, untranslated).
AUDIT_LABELS = {
    "draft_issued": _("Draft issued"),
    "correction_proposed": _("Correction proposed"),
    "comment_made": _("Comment sent"),
    "proposal_accepted": _("Proposal accepted"),
    "proposal_edited": _("Proposal accepted with edits"),
    "proposal_declined": _("Proposal declined"),
    "final_issued": _("Final record issued"),
    "deadline_reminder": _("Deadline reminder sent"),
}


def versions(meeting: Meeting) -> list[RecordVersion]:
    return list(RecordVersion.objects.filter(meeting=meeting).select_related("session").order_by("-issued_at", "-id"))


def open_draft(meeting: Meeting, session=None) -> RecordVersion | None:
    """The draft open for comments on the meeting's record (or on one session's), if any."""
    latest = RecordVersion.objects.filter(meeting=meeting, session=session).order_by("-number").first()
    return latest if latest is not None and latest.status == RecordVersion.Status.DRAFT else None


def review_passages(version: RecordVersion, *, delegation: Delegation | None, secretariat: bool) -> list[dict]:
    """Each passage with the proposals its reader may see: the secretariat sees all, a delegation its own.

    `mine` marks the passages that report the reader's delegation: under Chatham House the text names
    nobody, so this mark is how a delegation (and only it) finds its own contributions.
    """
    proposals = RecordProposal.objects.filter(version=version).select_related("delegation").order_by("created_at", "id")
    if not secretariat:
        proposals = proposals.filter(delegation=delegation) if delegation else proposals.none()
    by_key: dict[str, list[RecordProposal]] = {}
    for proposal in proposals:
        by_key.setdefault(proposal.key, []).append(proposal)
    mine = delegation.pk if delegation else None
    return [{**p, "mine": mine is not None and p["delegation"] == mine, "proposals": by_key.get(p["key"], [])}
            for p in version.passages]


def audit_log(version: RecordVersion) -> list[RecordAudit]:
    """The meeting's review steps, oldest first, each with `label`: its action in the reader's language."""
    entries = list(RecordAudit.objects.filter(meeting=version.meeting).select_related("actor").order_by("created_at", "id"))
    for entry in entries:
        entry.label = AUDIT_LABELS.get(entry.action, entry.action)  # an unknown code is shown as it is
    return entries


def latest_version(meeting: Meeting) -> RecordVersion | None:
    """The meeting's latest record version (one query), for the notice on its pages."""
    return RecordVersion.objects.filter(meeting=meeting).select_related("session").order_by("-issued_at", "-id").first()
