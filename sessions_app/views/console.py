"""The chair's and secretariat's console: live answers, moderation, question flow, conclusions."""

import segno
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import queries, services
from ..access import can_view_screen, require_moderator
from ..live.screen import screen_context
from ..models import Answer, Meeting, Practice, Question


def _back_to_console(session) -> HttpResponse:
    return redirect(reverse("console", args=[session.meeting.slug, session.number]))


@login_required
def console(request, slug, number):
    """The console; `?open=<question id>` shows that question's answers open, and an htmx request
    with it gets only those answer cards (the console loads them when the chair opens a question)."""
    require_moderator(request.user)
    session = queries.get_session(slug, number)
    open_ids = {int(value) for value in request.GET.getlist("open") if value.isdigit()}
    if request.htmx and "open" in request.GET:
        if len(open_ids) != 1:
            raise Http404("Which question's answers?")
        # The meeting's event number before the answers are read: the page keeps a card that arrived
        # live during the load only if its message is newer than this (static/js/app.js).
        seq = session.meeting.last_seq
        question, answers = queries.console_answers(session, open_ids.pop())
        context = {"meeting": session.meeting, "question": question, "answers": answers, "seq": seq}
        return render(request, "sessions_app/partials/console_answers.html", context)
    meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=session.meeting_id)
    session.meeting = meeting
    context = {
        "meeting": meeting,
        "session": session,
        "sessions": list(meeting.sessions.all()),
        "nav_active": "console",
        **queries.console_context(session, open_ids=open_ids),
        **queries.console_room_context(session),
    }
    return render(request, "sessions_app/session_console.html", context)


def _refused(request, refusal: services.ActionRefused) -> HttpResponse:
    if request.htmx:
        return render(request, "sessions_app/partials/live_notice.html", {"message": refusal.message}, status=422)
    from django.contrib import messages

    messages.error(request, refusal.message)
    return None


def _more_moderation(request, item, target: str) -> HttpResponse:
    """GET on a moderation URL: the forms to hide (with a reason) or mark as duplicate, which a card
    loads when the chair opens them."""
    context = {"item": item, "target": target, "url": request.path}
    if target == "answer":  # the answers it may duplicate: picked by name, not typed as a code
        context["others"] = queries.other_answers(item)
    return render(request, "sessions_app/partials/moderation_more.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def moderate_answer(request, slug, answer_id):
    require_moderator(request.user)
    answer = get_object_or_404(Answer.objects.select_related("question__session__meeting"), pk=answer_id, question__session__meeting__slug=slug)
    if request.method == "GET":
        return _more_moderation(request, answer, "answer")
    duplicate_of = None
    if request.POST.get("action") == "duplicate":
        code = request.POST.get("duplicate_of", "").strip().upper()
        duplicate_of = Answer.objects.filter(question=answer.question, delegation__country=code).first()
    try:
        services.moderate_answer(
            user=request.user, answer=answer, action=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""), duplicate_of=duplicate_of,
        )
    except services.ActionRefused as refusal:
        response = _refused(request, refusal)
        if response:
            return response
    if request.htmx:
        meeting = answer.question.session.meeting
        return render(request, "sessions_app/partials/answer_card.html", {"answer": queries.answer_for_console(answer.pk), "meeting": meeting})
    return _back_to_console(answer.question.session)


@login_required
@require_http_methods(["GET", "POST"])
def moderate_practice(request, slug, practice_id):
    require_moderator(request.user)
    practice = get_object_or_404(Practice.objects.select_related("session__meeting"), pk=practice_id, session__meeting__slug=slug)
    if request.method == "GET":
        return _more_moderation(request, practice, "practice")
    try:
        services.moderate_practice(user=request.user, practice=practice, action=request.POST.get("action", ""), reason=request.POST.get("reason", ""))
    except services.ActionRefused as refusal:
        response = _refused(request, refusal)
        if response:
            return response
    if request.htmx:
        context = {"practice": queries.practice_for_console(practice.pk), "meeting": practice.session.meeting, "console": True}
        return render(request, "sessions_app/partials/practice_card.html", context)
    return _back_to_console(practice.session)


@login_required
@require_POST
def question_status(request, slug, question_id):
    require_moderator(request.user)
    question = get_object_or_404(Question.objects.select_related("session__meeting"), pk=question_id, session__meeting__slug=slug)
    try:
        question = services.set_question_status(user=request.user, question=question, status=request.POST.get("status", ""))
    except services.ActionRefused as refusal:
        response = _refused(request, refusal)
        if response:
            return response
    if request.htmx:
        return render(request, "sessions_app/partials/question_controls.html", {"question": question, "meeting": question.session.meeting})
    return _back_to_console(question.session)


@login_required
@require_POST
def set_discussion(request, slug):
    require_moderator(request.user)
    meeting = get_object_or_404(Meeting, slug=slug)
    question_id = request.POST.get("question") or None
    question = get_object_or_404(Question, pk=question_id, session__meeting=meeting) if question_id else None
    try:
        meeting = services.set_discussion(user=request.user, meeting=meeting, question=question)
    except services.ActionRefused as refusal:
        response = _refused(request, refusal)
        if response:
            return response
    if request.htmx:
        meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=meeting.pk)
        return render(request, "sessions_app/partials/now_discussing.html", {"meeting": meeting, "oob": "true"})
    session = question.session if question else meeting.sessions.first()
    return _back_to_console(session) if session else redirect("meeting", slug=slug)


@login_required
@require_POST
def save_conclusions(request, slug, number):
    require_moderator(request.user)
    session = queries.get_session(slug, number)
    try:
        revision = services.save_conclusions(user=request.user, session=session, text=request.POST.get("text", ""))
    except services.ActionRefused as refusal:
        response = _refused(request, refusal)
        if response:
            return response
        return _back_to_console(session)
    if request.htmx:
        return render(request, "sessions_app/partials/conclusions_status.html", {"revision": revision, "session": session})
    return _back_to_console(session)


def screen_join(request, meeting) -> dict:
    """The room code's address and QR code for a screen of this meeting."""
    try:
        join_url = request.build_absolute_uri(reverse("join"))
    except NoReverseMatch:  # room-code joining not installed
        join_url = ""
    return {
        "join_url": join_url,
        "join_qr": segno.make(f"{join_url}?code={meeting.join_code}", error="m").svg_data_uri(scale=4, border=2)
        if meeting.join_code and join_url
        else None,
    }


@login_required
def screen(request, slug):
    """The room's projector view: large type, no delegate names, attribution per the meeting's setting."""
    # Not delegates; a projector uses a kiosk screen link (meeting settings), signed in as nobody.
    if not can_view_screen(request.user):
        raise PermissionDenied
    meeting = get_object_or_404(Meeting.objects.select_related("current_question__session", "current_session"), slug=slug)
    context = {**screen_context(meeting), **screen_join(request, meeting)}
    return render(request, "sessions_app/screen.html", context)


