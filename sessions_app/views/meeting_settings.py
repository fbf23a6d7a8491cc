"""The meeting settings page (secretariat edits, chair reads), its audit log, and the kiosk screen links."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import queries
from ..access import is_secretariat, require_moderator, require_secretariat
from ..live.screen import screen_context
from ..meeting_settings import fields
from ..zones import activate_meeting_zone
from ..meeting_settings import services as settings_service
from ..models import ExportLog, ScreenLink, SettingChange
from ..services import ActionRefused
from .console import screen_join

AUDIT_SHOWN = 20


def _label_of(name: str, value: str):
    setting = next((s for s in fields.all_settings() if s.name == name), None)
    choice = setting.choice(value) if setting else None
    return (setting.label if setting else name), (choice.label if choice else value)


def _page(request, meeting, *, status=200, new_link=None, error=None):
    sections = [
        {
            "section": section,
            "settings": [{"setting": s, "current": getattr(meeting, s.name)} for s in section.settings],
        }
        for section in fields.SECTIONS
    ]
    audit = list(SettingChange.objects.filter(meeting=meeting).select_related("user")[:AUDIT_SHOWN])
    for entry in audit:
        entry.field_label, entry.new_label = _label_of(entry.field, entry.new_value)
        entry.old_label = _label_of(entry.field, entry.old_value)[1]
    context = {
        "meeting": meeting,
        "nav_active": "settings",
        "sections": sections,
        "can_edit": is_secretariat(request.user),
        "exports_count": ExportLog.objects.filter(meeting=meeting).count(),
        "audit": audit,
        "screen_links": list(ScreenLink.objects.filter(meeting=meeting, revoked_at__isnull=True).select_related("created_by"))
        if is_secretariat(request.user)
        else [],
        "new_link": new_link,
        "error": error,
    }
    return render(request, "sessions_app/meeting_settings_secretariat.html", context, status=status)


@never_cache
@login_required
def meeting_settings(request, slug):
    require_moderator(request.user)  # the chair reads what applies; only the secretariat changes it
    meeting = queries.get_meeting(slug)
    if request.method != "POST":
        return _page(request, meeting)
    require_secretariat(request.user)
    values = {s.name: request.POST.get(s.name, "") for s in fields.all_settings()}
    try:
        changes = settings_service.change_meeting_settings(user=request.user, meeting=meeting, values=values)
    except ActionRefused as refusal:
        return _page(request, meeting, status=400, error=refusal.message)
    if not changes:
        messages.info(request, _("Nothing was changed."))
    else:
        messages.success(request, _("The settings were saved."))
        if any(change.exports_before for change in changes):
            messages.warning(
                request,
                _("Records were already exported from this meeting: those copies still follow the old setting. Export them again."),
            )
    return redirect("meeting_settings", slug=meeting.slug)


@never_cache
@login_required
@require_POST
def create_screen_link(request, slug):
    require_secretariat(request.user)
    meeting = queries.get_meeting(slug)
    try:
        _link, token = settings_service.create_screen_link(user=request.user, meeting=meeting, label=request.POST.get("label", ""))
    except ActionRefused as refusal:
        return _page(request, meeting, status=400, error=refusal.message)
    # Shown once, on this response: only the token's hash is stored.
    return _page(request, meeting, new_link=request.build_absolute_uri(reverse("kiosk_screen", args=[token])))


@never_cache
@login_required
@require_POST
def revoke_screen_link(request, slug, link_id):
    require_secretariat(request.user)
    meeting = queries.get_meeting(slug)
    link = get_object_or_404(ScreenLink, meeting=meeting, pk=link_id)
    settings_service.revoke_screen_link(user=request.user, link=link)
    messages.success(request, _("The screen link was revoked; a screen showing it stops at once."))
    return redirect("meeting_settings", slug=meeting.slug)


@never_cache
def kiosk_screen(request, token):
    """The room screen for a projector's browser: the link is the key, nobody is signed in."""
    link = settings_service.screen_link_for_token(token)
    if link is None:
        raise Http404
    meeting = link.meeting
    activate_meeting_zone(meeting)
    context = {
        **screen_context(meeting),
        **screen_join(request, meeting),
        "screen_ws_url": f"/ws/screen-link/{token}/",
        "kiosk": True,
    }
    response = render(request, "sessions_app/screen.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"  # keep the token out of other sites' logs
    return response
