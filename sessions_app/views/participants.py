"""Participants: the secretariat's list, import and sign-in links; a participant's sign-in and the room code."""

from __future__ import annotations

import logging
import uuid

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_countries import countries

from .. import participants as service
from .. import queries
from ..access import require_secretariat, role_of
from ..models import Meeting, Participant
from ..services import ActionRefused

signin_logger = logging.getLogger("sessions_app.signin")

# Where the parsed file waits between upload and confirmation (see participants_import).
IMPORT_SESSION_KEY = "participant_import"


# --- Forms ------------------------------------------------------------------------------------------


class ParticipantForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=service.NAME_MAX)
    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=service.EMAIL_MAX)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Participant.Role.choices)
    delegation = forms.ChoiceField(
        label=gettext_lazy("Delegation"),
        required=False,
        help_text=gettext_lazy("Choose another country to move the participant to that delegation."),
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form so that country names follow the page's language.
        self.fields["delegation"].choices = [("", _("— none —")), *countries]
        self.fields["language"].choices = [("", _("The browser's language")), *settings.LANGUAGES]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Participants file (CSV or Excel .xlsx)"),
        help_text=gettext_lazy(
            "One participant per row; the first row names the columns: name, e-mail, delegation (ISO code or "
            "country name in English or French), role (delegate, head of delegation, observer, chair, "
            "secretariat) and, optionally, language (en or fr). At most 1 MB and 2,000 rows."
        ),
    )


class LinkRequestForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Your e-mail address"), max_length=254)


class JoinForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Room code"), max_length=24)
    name = forms.CharField(
        label=gettext_lazy("Your name (optional)"),
        max_length=service.NAME_MAX,
        required=False,
        help_text=gettext_lazy("Shown to the secretariat only."),
    )


# --- Helpers ----------------------------------------------------------------------------------------


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


def _secretariat_meeting(request, slug: str) -> Meeting:
    require_secretariat(request.user)
    return queries.get_meeting(slug)


def _participant_or_404(meeting: Meeting, pk: int) -> Participant:
    participant = service.get_meeting_participant(meeting, pk)
    if participant is None:
        raise Http404
    return participant


def _landing(slug: str | None):
    """After signing in: the meeting the link was made for, else the home page (never another site)."""
    if slug and Meeting.objects.filter(slug=slug).exists():
        return redirect("meeting", slug=slug)
    return redirect("home")


def _log_in(request, user):
    login(request, user, backend=settings.SIGN_IN_BACKEND)


def _qr_data_uri(url: str) -> str:
    # Generated here, never by an outside service: the link is a credential.
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


# --- The secretariat's pages ------------------------------------------------------------------------


@login_required
def participants_list(request, slug):
    meeting = _secretariat_meeting(request, slug)
    groups = service.participants_by_delegation(meeting)
    context = {
        "meeting": meeting,
        "nav_active": "setup",
        "groups": groups,
        "total": sum(len(group.participants) for group in groups),
    }
    return render(request, "sessions_app/participants_list.html", context)


@login_required
def participant_add(request, slug):
    meeting = _secretariat_meeting(request, slug)
    form = ParticipantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            participant = service.add_participant(
                meeting=meeting,
                name=data["name"],
                email=data["email"],
                role=data["role"],
                delegation_code=data["delegation"],
                language=data["language"],
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": participant.user.get_full_name()})
            return redirect("participant_edit", slug=meeting.slug, pk=participant.pk)
    context = {"meeting": meeting, "nav_active": "setup", "form": form, "participant": None}
    return render(request, "sessions_app/participants_form.html", context, status=400 if form.errors else 200)


@login_required
def participant_edit(request, slug, pk):
    meeting = _secretariat_meeting(request, slug)
    participant = _participant_or_404(meeting, pk)
    user = participant.user
    initial = {
        "name": user.get_full_name(),
        "email": user.email,
        "role": participant.role,
        "delegation": participant.delegation.code if participant.delegation_id else "",
        "language": participant.language,
    }
    form = ParticipantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service.update_participant(
                meeting=meeting,
                participant=participant,
                name=data["name"],
                email=data["email"],
                role=data["role"],
                delegation_code=data["delegation"],
                language=data["language"],
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("participant_edit", slug=meeting.slug, pk=participant.pk)
    context = {"meeting": meeting, "nav_active": "setup", "form": form, "participant": participant}
    return render(request, "sessions_app/participants_form.html", context, status=400 if form.errors else 200)


def _participant_action(request, slug, pk, act, success: str):
    meeting = _secretariat_meeting(request, slug)
    participant = _participant_or_404(meeting, pk)
    try:
        act(meeting, participant)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, success % {"name": participant.user.get_full_name() or participant.user.username})
    return redirect("participant_edit", slug=meeting.slug, pk=participant.pk)


@login_required
@require_POST
def participant_send_link(request, slug, pk):
    return _participant_action(
        request,
        slug,
        pk,
        lambda meeting, p: service.send_sign_in_link(participant=p, meeting=meeting, base_url=_base_url(request)),
        _("A new sign-in link was e-mailed to %(name)s."),
    )


@login_required
@require_POST
def participant_revoke_links(request, slug, pk):
    return _participant_action(
        request,
        slug,
        pk,
        lambda meeting, p: service.revoke_sign_in_links(participant=p, actor=request.user),
        _("%(name)s's links were withdrawn and they were signed out everywhere."),
    )


@login_required
@require_POST
def participant_deactivate(request, slug, pk):
    return _participant_action(
        request,
        slug,
        pk,
        lambda meeting, p: service.deactivate_participant(participant=p, actor=request.user),
        _("%(name)s was deactivated and signed out everywhere."),
    )


@login_required
@require_POST
def participant_reactivate(request, slug, pk):
    return _participant_action(
        request,
        slug,
        pk,
        lambda meeting, p: service.reactivate_participant(participant=p),
        _("%(name)s was reactivated; send them a new sign-in link."),
    )


@login_required
@require_POST
def participants_send_links(request, slug):
    """E-mail a link to everyone who has not signed in yet."""
    meeting = _secretariat_meeting(request, slug)
    pending = service.linkable_participants(
        service.meeting_participants(meeting).filter(user__last_login__isnull=True).exclude(user__email="")
    )
    sent = service.send_sign_in_links(participants=pending, meeting=meeting, base_url=_base_url(request))
    messages.success(
        request,
        ngettext(
            "A sign-in link was e-mailed to %(count)s participant.",
            "Sign-in links were e-mailed to %(count)s participants.",
            sent,
        )
        % {"count": sent},
    )
    return redirect("participants", slug=meeting.slug)


@login_required
@require_POST
def participants_sheet(request, slug):
    """A printable sheet of new sign-in links with QR codes: one participant, one delegation or everyone.

    POST because it makes new links (only their hashes are stored, so a sheet cannot be shown twice).
    """
    meeting = _secretariat_meeting(request, slug)
    chosen = service.meeting_participants(meeting)
    try:
        if request.POST.get("participant"):
            chosen = chosen.filter(pk=int(request.POST["participant"]))
        elif request.POST.get("delegation"):
            chosen = chosen.filter(delegation__pk=int(request.POST["delegation"]))
    except ValueError:  # not a number: a tampered form
        raise Http404 from None
    chosen = service.linkable_participants(chosen)
    chosen.sort(key=lambda p: (p.delegation.name if p.delegation_id else "", (p.user.get_full_name() or "").casefold()))
    links = service.issue_sign_in_links(participants=chosen)
    badges = []
    for link in links:
        url = request.build_absolute_uri(service.sign_in_path(link.token, meeting=meeting))
        badges.append(
            {"participant": link.participant, "url": url, "qr": _qr_data_uri(url), "expires_at": link.expires_at}
        )
    context = {"meeting": meeting, "nav_active": "setup", "badges": badges}
    response = render(request, "sessions_app/participants_sheet.html", context)
    response["Cache-Control"] = "no-store"  # the page holds credentials
    return response


# --- Import: upload -> preview -> confirm -----------------------------------------------------------
#
# The parsed rows wait in the user's server-side session (the database session backend), not in a
# hidden field: the file never travels back to the browser, cannot be altered between the steps,
# and the 1 MB / 2,000-row limits bound its size. The preview is recomputed from those rows on
# every view, and the confirmation carries the preview's digest, so a change made in between
# (another import, an edit) is caught and shown instead of being saved blindly.


@login_required
def participants_import(request, slug):
    meeting = _secretariat_meeting(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > service.MAX_FILE_BYTES:
                raise service.ParticipantFileError(
                    _("The file is %(size)s bytes; the limit is 1 MB.") % {"size": upload.size}
                )
            rows = service.read_participant_file(upload.read(), filename=upload.name)
        except service.ParticipantFileError as error:
            form.add_error("file", str(error))
        else:
            request.session[IMPORT_SESSION_KEY] = {
                "meeting": meeting.pk,
                "id": uuid.uuid4().hex,
                "filename": upload.name[:200],
                "rows": rows,
            }
            return redirect("participants_import_preview", slug=meeting.slug)
    context = {"meeting": meeting, "nav_active": "setup", "form": form}
    return render(request, "sessions_app/participants_import.html", context, status=400 if form.errors else 200)


def _pending_import(request, meeting: Meeting) -> dict | None:
    pending = request.session.get(IMPORT_SESSION_KEY)
    return pending if pending and pending.get("meeting") == meeting.pk else None


@login_required
def participants_import_preview(request, slug):
    meeting = _secretariat_meeting(request, slug)
    pending = _pending_import(request, meeting)
    if pending is None:
        messages.error(request, _("Upload a participants file first."))
        return redirect("participants_import", slug=meeting.slug)
    preview = service.preview_import(meeting=meeting, raw_rows=pending["rows"])
    context = {
        "meeting": meeting,
        "nav_active": "setup",
        "preview": preview,
        "pending": pending,
        "counts": preview.counts,
        "form": ImportForm(),
        "error_rows": [outcome for outcome in preview.outcomes if outcome.errors],
    }
    return render(request, "sessions_app/participants_preview.html", context)


@login_required
@require_POST
def participants_import_confirm(request, slug):
    meeting = _secretariat_meeting(request, slug)
    pending = _pending_import(request, meeting)
    if pending is None or request.POST.get("import_id") != pending["id"]:
        messages.error(request, _("This preview was replaced or has expired; check the current one."))
        return redirect("participants_import_preview" if pending else "participants_import", slug=meeting.slug)
    try:
        preview = service.import_participants(
            meeting=meeting, raw_rows=pending["rows"], expected_digest=request.POST.get("digest", "")
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("participants_import_preview", slug=meeting.slug)
    del request.session[IMPORT_SESSION_KEY]
    counts = preview.counts
    messages.success(
        request,
        _("Import saved: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.")
        % {"new": counts["new"], "updated": counts["updated"], "unchanged": counts["unchanged"]},
    )
    return redirect("participants", slug=meeting.slug)


# --- Signing in with a link -------------------------------------------------------------------------


def _throttled(request):
    return render(request, "sessions_app/signin_throttled.html", status=429)


REFUSAL_STATUS = {service.SignInRefused.UNKNOWN: 404}


@never_cache
def signin(request, token):
    """GET shows a button (mail scanners that fetch links must not use them up); POST signs in."""
    address = _client_address(request)
    if service.is_throttled(bucket="signin", address=address):
        return _throttled(request)
    meeting_slug = request.GET.get("meeting", "")
    try:
        if request.method == "POST":
            user = service.redeem_sign_in_token(raw_token=token)
        else:
            link = service.check_sign_in_token(token)
    except service.SignInRefused as refusal:
        owner = refusal.token.participant.user_id if refusal.token else None
        if refusal.reason == refusal.USED and owner == request.user.pk:
            return _landing(meeting_slug)  # the owner clicked the mail again: they are already in
        service.note_failure(bucket="signin", address=address)
        signin_logger.warning(
            "Refused sign-in link (%s) from %s, token hash %s", refusal.reason, address, service.hash_token(token)[:12]
        )
        context = {
            "reason": refusal.reason,
            "form": LinkRequestForm(),
            "meeting_slug": meeting_slug,
            "expired_at": refusal.token.expires_at if refusal.token else None,
        }
        return render(
            request, "sessions_app/signin_invalid.html", context, status=REFUSAL_STATUS.get(refusal.reason, 410)
        )
    if request.method != "POST":
        return render(request, "sessions_app/signin_confirm.html", {"link": link, "participant": link.participant})
    _log_in(request, user)
    response = _landing(meeting_slug)
    language = user.participant.language
    if language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
        )
    return response


@never_cache
def signin_request(request):
    """Ask for a new link; the answer is the same whether or not the address is known."""
    form = LinkRequestForm(request.POST or None)
    meeting_slug = request.POST.get("meeting") or request.GET.get("meeting", "")
    meeting = Meeting.objects.filter(slug=meeting_slug).first() if meeting_slug else None
    if request.method == "POST":
        address = _client_address(request)
        if service.is_throttled(bucket="signin-request", address=address, limit=service.LINK_REQUEST_LIMIT):
            return _throttled(request)
        service.note_failure(bucket="signin-request", address=address)  # every request sends mail, or could
        if form.is_valid():
            service.request_sign_in_link(email=form.cleaned_data["email"], meeting=meeting, base_url=_base_url(request))
            return render(request, "sessions_app/signin_request.html", {"sent": True, "meeting_slug": meeting_slug})
    status = 400 if form.errors else 200
    return render(
        request, "sessions_app/signin_request.html", {"form": form, "meeting_slug": meeting_slug}, status=status
    )


# --- The room code ----------------------------------------------------------------------------------


@never_cache
def join(request):
    """Enter the room code: a signed-in participant goes to the meeting; anyone else becomes an observer."""
    form = JoinForm(request.POST or None, initial={"code": request.GET.get("code", "")[:24]})
    if request.method == "POST":
        address = _client_address(request)
        if service.is_throttled(bucket="join", address=address):
            return _throttled(request)
        if form.is_valid():
            meeting = service.meeting_for_code(form.cleaned_data["code"])
            if meeting is None:
                service.note_failure(bucket="join", address=address)
                form.add_error("code", _("No meeting has this room code. Check it on the room screen."))
            else:
                if role_of(request.user) is None:
                    _log_in(request, service.join_as_observer(meeting=meeting, name=form.cleaned_data["name"]))
                else:
                    service.admit_with_code(user=request.user, meeting=meeting)
                return redirect("meeting", slug=meeting.slug)
    return render(request, "sessions_app/observer_join.html", {"form": form}, status=400 if form.errors else 200)
