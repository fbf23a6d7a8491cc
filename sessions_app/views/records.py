"""Records for the secretariat and chairs: the records page, printable previews and every download."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from .. import queries
from ..access import require_moderator
from ..exports import FORMATS, audit, common
from ..models import ExportLog, Meeting, Session, Visibility
from ..zones import activate_meeting_zone

RECENT_EXPORTS = 10
KIND_LABELS = {
    "summary": gettext_lazy("Summary record"),
    "compendium": gettext_lazy("Compendium of country practices"),
    "answers": gettext_lazy("Answers (data)"),
    "practices": gettext_lazy("Practices (data)"),
    "polls": gettext_lazy("Polls (data)"),
    "votes": gettext_lazy("Votes (data)"),
    "interventions": gettext_lazy("Interventions (data)"),
    "record": gettext_lazy("Complete record (JSON)"),
}


def _scope(request, meeting: Meeting) -> Session | None:
    """The session named by ?session=N, None for the whole meeting; 404 for a session that is not there."""
    number = request.GET.get("session", "")
    if not number:
        return None
    if not number.isdigit():
        raise Http404
    return get_object_or_404(Session, meeting=meeting, number=int(number))


def _meeting_for_records(request, slug: str) -> Meeting:
    # The role is checked before the meeting is looked up, so a delegate learns nothing from a 404.
    require_moderator(request.user)
    meeting = queries.get_meeting(slug)
    activate_meeting_zone(meeting)  # the records' times in the meeting's zone
    return meeting


@never_cache
@login_required
def records(request, slug):
    meeting = _meeting_for_records(request, slug)
    sessions = meeting.sessions.annotate(
        answer_count=Count("questions__answers", filter=~Q(questions__answers__visibility=Visibility.HIDDEN), distinct=True),
        practice_count=Count("practices", filter=~Q(practices__visibility=Visibility.HIDDEN), distinct=True),
    ).order_by("number")
    recent_exports = list(
        ExportLog.objects.filter(meeting=meeting).select_related("user").order_by("-created_at", "-id")[:RECENT_EXPORTS]
    )
    for entry in recent_exports:
        entry.kind_label = KIND_LABELS.get(entry.kind, entry.kind)
    context = {"meeting": meeting, "sessions": list(sessions), "recent_exports": recent_exports, "nav_active": "records"}
    return render(request, "sessions_app/records_secretariat.html", context)


@never_cache
@login_required
def records_summary(request, slug):
    meeting = _meeting_for_records(request, slug)
    session = _scope(request, meeting)
    record = common.attach_figures(common.gather_summary(meeting, session=session))
    audit.log_export(meeting=meeting, user=request.user, kind="summary", fmt="html")
    context = {"meeting": meeting, "record": record, "scope_session": session, "nav_active": "records"}
    return render(request, "sessions_app/records_summary.html", context)


@never_cache
@login_required
def records_compendium(request, slug):
    meeting = _meeting_for_records(request, slug)
    session = _scope(request, meeting)
    compendium = common.gather_compendium(meeting, session=session)
    audit.log_export(meeting=meeting, user=request.user, kind="compendium", fmt="html")
    context = {"meeting": meeting, "compendium": compendium, "scope_session": session, "nav_active": "records"}
    return render(request, "sessions_app/records_compendium.html", context)


@never_cache
@login_required
def records_download(request, slug, fmt):
    meeting = _meeting_for_records(request, slug)
    export = FORMATS.get(fmt)
    if export is None:
        raise Http404
    session = _scope(request, meeting)
    if session is not None and not export.per_session:
        raise Http404
    audit.log_export(meeting=meeting, user=request.user, kind=export.kind, fmt=export.extension)
    content = export.build(meeting, session=session)
    if export.streamed:
        response = StreamingHttpResponse(
            _async_pieces(content) if isinstance(request, ASGIRequest) else content, content_type=export.content_type
        )
    else:
        response = HttpResponse(content, content_type=export.content_type)
    response["Content-Disposition"] = content_disposition_header(True, export.filename(meeting, session))
    return response


async def _async_pieces(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Hand a synchronous stream to the ASGI server piece by piece.

    Django serves a synchronous iterator under ASGI by reading it whole into a list first, which
    would hold the entire CSV in memory; pulling each piece in the request's thread keeps it flat.
    """
    next_piece = sync_to_async(next, thread_sensitive=True)
    while (piece := await next_piece(pieces, None)) is not None:
        yield piece
