"""Running the room: the speakers' list, the session clock and live polls.

Each view parses the form, calls one function of floor.py or polls.py and answers htmx with the
fragments the live event will also push (so the person acting sees the change at once), or
redirects back when JavaScript is off.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import access, floor, polls, queries
from ..models import Delegation, FloorRequest, Poll, Question
from ..services import ActionRefused


def _refused(request, refusal: ActionRefused, back: str) -> HttpResponse:
    if request.htmx:
        return render(request, "sessions_app/partials/live_notice.html", {"message": refusal.message}, status=422)
    messages.error(request, refusal.message)
    return redirect(back)


def _floor_response(request, session, back: str) -> HttpResponse:
    """What the acting person's page shows of the list now: their console panel, or their own place."""
    if not request.htmx:
        return redirect(back)
    meeting = session.meeting
    state = floor.floor_state(session, with_not_spoken=access.is_moderator(request.user))
    context = {"state": state, "session": session, "meeting": meeting, "oob": "true"}
    if access.is_moderator(request.user):
        html = render_to_string("sessions_app/partials/floor_console.html", context, request=request)
    else:
        html = render_to_string("sessions_app/partials/floor_status.html", context, request=request) + render_to_string(
            "sessions_app/partials/floor_mine.html", {**context, "delegation": access.delegation_of(request.user)}, request=request
        )
    return HttpResponse(html)


def _console_url(session) -> str:
    return reverse("console", args=[session.meeting.slug, session.number])


def _session_url(session) -> str:
    return reverse("session", args=[session.meeting.slug, session.number]) + "#room"


def _floor_request(slug: str, request_id: int) -> FloorRequest:
    return get_object_or_404(FloorRequest.objects.select_related("session__meeting"), pk=request_id, session__meeting__slug=slug)


def _optional_question(session, value: str) -> Question | None:
    if not value:
        return None
    return Question.objects.filter(pk=value if value.isdigit() else 0, session=session).first()


# --- The speakers' list --------------------------------------------------------------------------


@login_required
@require_POST
def request_floor(request, slug, number):
    session = queries.get_session(slug, number)
    try:
        floor.request_floor(user=request.user, session=session, question=_optional_question(session, request.POST.get("question", "")))
    except ActionRefused as refusal:
        return _refused(request, refusal, _session_url(session))
    return _floor_response(request, session, _session_url(session))


@login_required
@require_POST
def withdraw_floor(request, slug, request_id):
    floor_request = _floor_request(slug, request_id)
    session = floor_request.session
    try:
        floor.withdraw_floor_request(user=request.user, floor_request=floor_request)
    except ActionRefused as refusal:
        return _refused(request, refusal, _session_url(session))
    return _floor_response(request, session, _session_url(session))


@login_required
@require_POST
def give_floor(request, slug, request_id):
    access.require_moderator(request.user)
    floor_request = _floor_request(slug, request_id)
    try:
        floor.give_floor(user=request.user, floor_request=floor_request, seconds=request.POST.get("seconds"))
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(floor_request.session))
    return _floor_response(request, floor_request.session, _console_url(floor_request.session))


@login_required
@require_POST
def end_floor(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    try:
        floor.end_floor(user=request.user, session=session)
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(session))
    return _floor_response(request, session, _console_url(session))


@login_required
@require_POST
def move_floor(request, slug, request_id):
    access.require_moderator(request.user)
    floor_request = _floor_request(slug, request_id)
    try:
        floor.move_floor_request(user=request.user, floor_request=floor_request, direction=request.POST.get("direction", ""))
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(floor_request.session))
    return _floor_response(request, floor_request.session, _console_url(floor_request.session))


@login_required
@require_POST
def add_speaker(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    value = request.POST.get("delegation", "")
    delegation = Delegation.objects.filter(pk=value if value.isdigit() else 0).first()
    try:
        if delegation is None:
            raise ActionRefused(_("Choose a delegation."))
        floor.add_speaker(user=request.user, session=session, delegation=delegation,
                          question=_optional_question(session, request.POST.get("question", "")))
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(session))
    return _floor_response(request, session, _console_url(session))


@login_required
@require_POST
def close_floor(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    floor.set_floor_closed(user=request.user, session=session, closed=request.POST.get("closed") == "1")
    session.refresh_from_db(fields=["floor_closed"])
    return _floor_response(request, session, _console_url(session))


# --- The session's clock -------------------------------------------------------------------------


@login_required
@require_POST
def start_session(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    floor.start_session(user=request.user, session=session)
    return redirect(_console_url(session))


@login_required
@require_POST
def end_session(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    try:
        floor.end_session(user=request.user, session=session)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    return redirect(_console_url(session))


@login_required
@require_POST
def session_schedule(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    try:
        start = _parse_local_datetime(request.POST.get("start", ""))
        duration = request.POST.get("duration", "").strip()
        if duration and not duration.isdigit():
            raise ActionRefused(_("Give the duration in whole minutes."))
        floor.set_session_schedule(user=request.user, session=session, start=start, duration_minutes=int(duration) if duration else None)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("The schedule was saved."))
    return redirect(_console_url(session))


def _parse_local_datetime(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ActionRefused(_("Give the start as a date and time.")) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


# --- Polls ---------------------------------------------------------------------------------------


@login_required
@require_POST
def create_poll(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    try:
        polls.create_poll(
            user=request.user, session=session, prompt=request.POST.get("prompt", ""), kind=request.POST.get("kind", ""),
            scope=request.POST.get("scope", Poll.Scope.DELEGATION), options=request.POST.getlist("option"),
            benchmarks=request.POST.getlist("benchmark"), benchmark_label=request.POST.get("benchmark_label", ""),
            benchmark_scale=request.POST.get("benchmark_scale", ""),
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("The poll is prepared: launch it when the room is ready."))
    return redirect(_console_url(session) + f"#polls-console-{session.pk}")


POLL_ACTIONS = {
    "open": lambda user, poll: polls.open_poll(user=user, poll=poll),
    "close": lambda user, poll: polls.close_poll(user=user, poll=poll),
    "show-results": lambda user, poll: polls.set_poll_results_visible(user=user, poll=poll, visible=True),
    "hide-results": lambda user, poll: polls.set_poll_results_visible(user=user, poll=poll, visible=False),
    "delete": lambda user, poll: polls.delete_poll(user=user, poll=poll),
}


@login_required
@require_POST
def poll_action(request, slug, poll_id):
    access.require_moderator(request.user)
    poll = get_object_or_404(Poll.objects.select_related("session__meeting"), pk=poll_id, session__meeting__slug=slug)
    session = poll.session
    action = POLL_ACTIONS.get(request.POST.get("action", ""))
    try:
        if action is None:
            raise ActionRefused(_("Choose an action for the poll."))
        action(request.user, poll)
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(session))
    if not request.htmx:
        return redirect(_console_url(session) + f"#polls-console-{session.pk}")
    return HttpResponse(render_to_string(
        "sessions_app/partials/polls_console.html",
        {"session": session, "meeting": session.meeting, **polls.console_polls(session), "oob": "true"}, request=request,
    ))


def _ranking(request, poll: Poll) -> list[str]:
    """Option ids in the order of the places given (rank-<option id> = 1, 2, ...)."""
    places = {}
    for option in poll.options.all():
        value = request.POST.get(f"rank-{option.pk}", "")
        if not value.isdigit():
            raise ActionRefused(_("Rank every option, each once."))
        places[option.pk] = int(value)
    if sorted(places.values()) != list(range(1, len(places) + 1)):
        raise ActionRefused(_("Give each option a different place, from 1 to %(count)s.") % {"count": len(places)})
    return [str(pk) for pk, _place in sorted(places.items(), key=lambda item: item[1])]


@login_required
@require_POST
def cast_vote(request, slug, poll_id):
    poll = get_object_or_404(Poll.objects.select_related("session__meeting"), pk=poll_id, session__meeting__slug=slug)
    delegation = access.delegation_of(request.user)
    context = {"poll": poll, "meeting": poll.session.meeting, "delegation": delegation}
    try:
        options = _ranking(request, poll) if poll.kind == Poll.Kind.RANKING else request.POST.getlist("option")
        polls.cast_vote(
            user=request.user, poll=poll, key=request.POST.get("key", ""), options=options,
            scale=request.POST.get("scale"), text=request.POST.get("text", ""),
        )
    except ActionRefused as refusal:
        if not request.htmx:
            messages.error(request, refusal.message)
            return redirect(_session_url(poll.session))
        poll.refresh_from_db()
        already = poll.pk in polls.voted_polls(poll.session, user=request.user, delegation=delegation)
        context.update(voted=already, error=refusal.message)
        return render(request, "sessions_app/partials/poll_vote.html", context, status=422)
    if not request.htmx:
        messages.success(request, _("Your vote was recorded."))
        return redirect(_session_url(poll.session))
    return render(request, "sessions_app/partials/poll_vote.html", {**context, "voted": True})
