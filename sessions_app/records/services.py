"""The summary record's review: a draft issued to delegations, their corrections and comments,
the secretariat's decisions, and the final record issued as the next version.

Every step writes a RecordAudit row in the same transaction; delegations are told of a draft and of
the final record live on their pages and by e-mail (notices.py), and of a near deadline by
notices.remind_deadlines.
"""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..access import delegation_of, is_secretariat
from ..exports import common
from ..models import Delegation, Meeting, RecordAudit, RecordProposal, RecordVersion, Session
from ..services import ActionRefused
from . import notices

MAX_TEXT = 5000
MAX_REASON = 500


def _audit(version: RecordVersion | None, meeting: Meeting, actor: User | None, action: str, **detail) -> None:
    RecordAudit.objects.create(meeting=meeting, version=version, actor=actor, action=action, detail=detail)


def _require_secretariat(user: User) -> None:
    if not is_secretariat(user):
        raise ActionRefused(_("Only the secretariat can do this."))


def _clean(text: str, *, label: str, limit: int = MAX_TEXT) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ActionRefused(_("%(field)s cannot be empty.") % {"field": label})
    if len(text) > limit:
        raise ActionRefused(_("%(field)s is too long (at most %(limit)s characters).") % {"field": label, "limit": limit})
    return text


def build_passages(meeting: Meeting, *, session: Session | None = None) -> list[dict]:
    """The record's passages as the summary export gathers them, each with the delegation it reports."""
    record = common.gather_summary(meeting, session=session)
    passages: list[dict] = []
    for s in record.sessions:
        passages.append({"key": f"s{s.session.number}", "kind": "heading", "delegation": None,
                         "text": f"Session {s.session.number}: {s.session.title}"})
        for q in s.questions:
            passages.append({"key": f"q{q.question.pk}", "kind": "question", "delegation": None,
                             "text": q.question.text})
            for answer in q.contributions:
                label = common.contribution_label(answer, record.attributed)
                text = common.contribution_text(answer)
                passages.append({"key": f"a{answer.pk}", "kind": "contribution", "delegation": answer.delegation_id,
                                 "text": f"{label}: {text}" if label else text})
        if s.conclusions:
            passages.append({"key": f"c{s.session.number}", "kind": "conclusions", "delegation": None,
                             "text": s.conclusions})
    return passages


def _latest(meeting: Meeting, session: Session | None) -> RecordVersion | None:
    return (RecordVersion.objects.filter(meeting=meeting, session=session).order_by("-number").first())


@transaction.atomic
def issue_draft(user: User, *, meeting: Meeting, session: Session | None = None,
                deadline: datetime | None = None, base_url: str = "") -> RecordVersion:
    """Issue a draft summary record to the delegations, for comments until `deadline`; tell them.

    `base_url` (the site's address, from the request) makes the e-mail's link absolute."""
    _require_secretariat(user)
    if deadline is not None and deadline <= timezone.now():
        raise ActionRefused(_("The deadline for comments must be in the future."))
    Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)
    latest = _latest(meeting, session)
    if latest is not None and latest.status == RecordVersion.Status.DRAFT:
        raise ActionRefused(_("A draft is already under review: issue the final record first."))
    version = RecordVersion.objects.create(
        meeting=meeting, session=session, number=(latest.number + 1) if latest else 1,
        status=RecordVersion.Status.DRAFT, deadline=deadline, passages=build_passages(meeting, session=session),
        issued_by=user)
    _audit(version, meeting, user, "draft_issued", number=version.number,
           deadline=deadline.isoformat() if deadline else None)
    notices.notify(version, notices.DRAFT, base_url=base_url)
    return version


def _open_draft(version: RecordVersion) -> RecordVersion:
    version = RecordVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    if version.status != RecordVersion.Status.DRAFT or _latest(version.meeting, version.session).pk != version.pk:
        raise ActionRefused(_("This draft is closed: the final record has been issued."))
    if version.deadline is not None and version.deadline < timezone.now():
        raise ActionRefused(_("The deadline for comments on this draft has passed."))
    return version


def passage(version: RecordVersion, key: str) -> dict:
    found = next((p for p in version.passages if p["key"] == key), None)
    if found is None:
        raise ActionRefused(_("That passage is not in this draft."))
    return found


@transaction.atomic
def propose_correction(user: User, *, version: RecordVersion, key: str, text: str) -> RecordProposal:
    """A delegation proposes new wording for a passage that reports its own contribution."""
    delegation = _require_delegation(user, version.meeting)
    version = _open_draft(version)
    target = passage(version, key)
    if target["delegation"] != delegation.pk:
        raise ActionRefused(_("Your delegation can correct only the passages that report its own contributions; "
                              "comment on the others."))
    text = _clean(text, label=_("The corrected text"))
    proposal = RecordProposal.objects.create(version=version, delegation=delegation, author=user, key=key,
                                             kind=RecordProposal.Kind.CORRECTION, text=text)
    _audit(version, version.meeting, user, "correction_proposed", proposal=proposal.pk, key=key)
    return proposal


@transaction.atomic
def comment_passage(user: User, *, version: RecordVersion, key: str, text: str) -> RecordProposal:
    """A delegation comments on any passage of the draft."""
    delegation = _require_delegation(user, version.meeting)
    version = _open_draft(version)
    passage(version, key)
    text = _clean(text, label=_("The comment"))
    proposal = RecordProposal.objects.create(version=version, delegation=delegation, author=user, key=key,
                                             kind=RecordProposal.Kind.COMMENT, text=text)
    _audit(version, version.meeting, user, "comment_made", proposal=proposal.pk, key=key)
    return proposal


def _require_delegation(user: User, meeting: Meeting) -> Delegation:
    delegation = delegation_of(user)
    if delegation is None or not meeting.delegations.filter(pk=delegation.pk).exists():
        raise ActionRefused(_("Only a delegation can propose corrections or comment."))
    return delegation


@transaction.atomic
def decide_proposal(user: User, *, proposal: RecordProposal, decision: str, text: str = "",
                    reason: str = "") -> RecordProposal:
    """The secretariat accepts a proposal, accepts it with edits (`text`), or declines it (`reason`)."""
    _require_secretariat(user)
    proposal = RecordProposal.objects.select_for_update(of=("self",), no_key=True).select_related("version").get(pk=proposal.pk)
    if proposal.version.status != RecordVersion.Status.DRAFT:
        raise ActionRefused(_("This draft is closed: the final record has been issued."))
    if decision == RecordProposal.Status.ACCEPTED:
        proposal.final_text, proposal.reason = (proposal.text if proposal.kind == RecordProposal.Kind.CORRECTION else ""), ""
    elif decision == RecordProposal.Status.EDITED:
        proposal.final_text, proposal.reason = _clean(text, label=_("The edited text")), ""
    elif decision == RecordProposal.Status.DECLINED:
        proposal.final_text, proposal.reason = "", _clean(reason, label=_("The reason"), limit=MAX_REASON)
    else:
        raise ActionRefused(_("Choose accept, accept with edits, or decline."))
    proposal.status, proposal.decided_by, proposal.decided_at = decision, user, timezone.now()
    proposal.save()
    _audit(proposal.version, proposal.version.meeting, user, f"proposal_{decision}", proposal=proposal.pk,
           reason=proposal.reason)
    return proposal


@transaction.atomic
def issue_final(user: User, *, version: RecordVersion, base_url: str = "") -> RecordVersion:
    """Issue the final record: the draft with its accepted corrections, as the next version; tell the delegations."""
    _require_secretariat(user)
    version = RecordVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    if version.status != RecordVersion.Status.DRAFT or _latest(version.meeting, version.session).pk != version.pk:
        raise ActionRefused(_("Only the latest draft can be issued as final."))
    pending = version.proposals.filter(status=RecordProposal.Status.PENDING).count()
    if pending:
        raise ActionRefused(ngettext("%(count)s proposal still awaits a decision.", "%(count)s proposals still await a decision.",
                                     pending) % {"count": pending})
    new_text = {p.key: p.final_text for p in version.proposals.filter(
        status__in=[RecordProposal.Status.ACCEPTED, RecordProposal.Status.EDITED]).exclude(final_text="")}
    passages, changes = [], []
    for p in version.passages:
        after = new_text.get(p["key"], p["text"])
        if after != p["text"]:
            changes.append({"key": p["key"], "before": p["text"], "after": after})
        passages.append({**p, "text": after})
    final = RecordVersion.objects.create(
        meeting=version.meeting, session=version.session, number=version.number + 1,
        status=RecordVersion.Status.FINAL, passages=passages, changes=changes, issued_by=user)
    _audit(final, version.meeting, user, "final_issued", number=final.number, draft=version.number,
           changes=len(changes))
    notices.notify(final, notices.FINAL, base_url=base_url)
    return final

