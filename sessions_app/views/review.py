"""The summary record's review: the secretariat issues drafts and decides; delegations correct and comment."""
from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from .. import queries
from ..access import delegation_of, is_secretariat
from ..models import Meeting, RecordProposal, RecordVersion, Session
from ..records import docx as record_docx
from ..records import queries as review_queries
from ..records import services as review
from ..services import ActionRefused


def _meeting_for_review(request, slug: str) -> tuple[Meeting, bool]:
    secretariat = is_secretariat(request.user)
    delegation = delegation_of(request.user)
    if not secretariat and delegation is None:
        raise PermissionDenied
    meeting = queries.get_meeting(slug)
    if not secretariat and not meeting.delegations.filter(pk=delegation.pk).exists():
        raise PermissionDenied
    return meeting, secretariat


def _parse_deadline(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ActionRefused(_("Give the deadline as a date and time.")) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@never_cache
@login_required
def review_list(request, slug):
    meeting, secretariat = _meeting_for_review(request, slug)
    error = ""
    if request.method == "POST":
        if not secretariat:
            raise PermissionDenied
        number = request.POST.get("session", "")
        session = get_object_or_404(Session, meeting=meeting, number=int(number)) if number.isdigit() else None
        try:
            version = review.issue_draft(request.user, meeting=meeting, session=session,
                                         deadline=_parse_deadline(request.POST.get("deadline", "")),
                                         base_url=request.build_absolute_uri("/"))
        except ActionRefused as refused:
            error = refused.message
        else:
            messages.success(request, _("Draft version %(number)s issued to the delegations.") % {"number": version.number})
            return redirect("record_review", slug=meeting.slug, pk=version.pk)
    context = {"meeting": meeting, "nav_active": "review", "versions": review_queries.versions(meeting),
               "secretariat": secretariat, "error": error, "sessions": list(meeting.sessions.order_by("number"))}
    return render(request, "sessions_app/record_review_list.html", context, status=400 if error else 200)


def _act(request, version: RecordVersion, secretariat: bool) -> str:
    """Run the one action the form names; the message to show."""
    action = request.POST.get("action", "")
    key, text = request.POST.get("key", ""), request.POST.get("text", "")
    if action == "correct":
        review.propose_correction(request.user, version=version, key=key, text=text)
        return _("Your correction was sent to the secretariat.")
    if action == "comment":
        review.comment_passage(request.user, version=version, key=key, text=text)
        return _("Your comment was sent to the secretariat.")
    if action == "decide":
        proposal = get_object_or_404(RecordProposal, pk=request.POST.get("proposal") or 0, version=version)
        review.decide_proposal(request.user, proposal=proposal, decision=request.POST.get("decision", ""),
                               text=text, reason=request.POST.get("reason", ""))
        return _("Decision recorded.")
    if action == "final":
        final = review.issue_final(request.user, version=version, base_url=request.build_absolute_uri("/"))
        return _("Final record issued as version %(number)s.") % {"number": final.number}
    raise ActionRefused(_("Unknown action."))


@never_cache
@login_required
def review_detail(request, slug, pk):
    meeting, secretariat = _meeting_for_review(request, slug)
    version = get_object_or_404(RecordVersion, pk=pk, meeting=meeting)
    error = ""
    if request.method == "POST":
        try:
            done = _act(request, version, secretariat)
        except ActionRefused as refused:
            error = refused.message
        else:
            messages.success(request, done)
            latest = RecordVersion.objects.filter(meeting=meeting, session=version.session).order_by("-number").first()
            return redirect("record_review", slug=meeting.slug, pk=latest.pk)
    delegation = delegation_of(request.user)
    passages = review_queries.review_passages(version, delegation=delegation, secretariat=secretariat)
    context = {
        "meeting": meeting, "nav_active": "review", "version": version, "passages": passages,
        "secretariat": secretariat, "delegation": delegation, "error": error,
        "is_open": version.status == RecordVersion.Status.DRAFT
        and review_queries.open_draft(meeting, version.session) == version,
        "audit": review_queries.audit_log(version) if secretariat else [],
        "decisions": RecordProposal.Status,
    }
    return render(request, "sessions_app/record_review_detail.html", context, status=400 if error else 200)


@login_required
def review_docx(request, slug, pk):
    meeting, _secretariat = _meeting_for_review(request, slug)
    version = get_object_or_404(RecordVersion, pk=pk, meeting=meeting)
    response = HttpResponse(record_docx.build(version),
                            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{meeting.slug}-record-v{version.number}.docx")
    return response
