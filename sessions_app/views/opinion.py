"""Opinion rounds: the chair's console forms and the delegations' votes and proposals.

Each view parses the form, calls one function of opinion/services.py and answers htmx with the
panel it changed, or redirects back when JavaScript is off.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from .. import access, queries
from ..live.votes import take_vote_panel
from ..middleware import slot_released
from ..models import Answer, OpinionRound, Statement
from ..opinion import services, vote_batch
from ..services import ActionRefused
from ..templatetags.opinion import delegate_round


def _console_url(round: OpinionRound) -> str:
    session = round.session
    return reverse("console", args=[session.meeting.slug, session.number]) + f"#opinion-console-{session.pk}"


def _session_url(round: OpinionRound) -> str:
    session = round.session
    return reverse("session", args=[session.meeting.slug, session.number]) + f"#opinion-vote-{round.pk}"


def _refused(request, refusal: ActionRefused, back: str) -> HttpResponse:
    if request.htmx:
        return render(request, "sessions_app/partials/live_notice.html", {"message": refusal.message}, status=422)
    messages.error(request, refusal.message)
    return redirect(back)


def _round(slug: str, round_id: int) -> OpinionRound:
    return get_object_or_404(OpinionRound.objects.select_related("session__meeting", "question"), pk=round_id, session__meeting__slug=slug)


@login_required
@require_POST
def open_round(request, slug, number):
    access.require_moderator(request.user)
    session = queries.get_session(slug, number)
    question = session.questions.filter(pk=request.POST.get("question") or None).first() if request.POST.get("question") else None
    back = reverse("console", args=[slug, number]) + f"#opinion-console-{session.pk}"
    try:
        services.open_round(user=request.user, session=session, title=request.POST.get("title", ""), question=question,
                            order=request.POST.get("order", OpinionRound.Order.PRIORITY),
                            proposals_allowed=request.POST.get("proposals") == "1")
    except ActionRefused as refusal:
        return _refused(request, refusal, back)
    return redirect(back)


ROUND_ACTIONS = {
    "open": lambda user, r: services.set_round_status(user=user, round=r, status="open"),
    "paused": lambda user, r: services.set_round_status(user=user, round=r, status="paused"),
    "closed": lambda user, r: services.set_round_status(user=user, round=r, status="closed"),
    "screen-on": lambda user, r: services.set_round_options(user=user, round=r, on_screen=True),
    "screen-off": lambda user, r: services.set_round_options(user=user, round=r, on_screen=False),
    "proposals-on": lambda user, r: services.set_round_options(user=user, round=r, proposals_allowed=True),
    "proposals-off": lambda user, r: services.set_round_options(user=user, round=r, proposals_allowed=False),
}


@login_required
@require_POST
def round_action(request, slug, round_id):
    access.require_moderator(request.user)
    round = _round(slug, round_id)
    action = ROUND_ACTIONS.get(request.POST.get("action", ""))
    try:
        if action is None:
            raise ActionRefused(_unknown())
        action(request.user, round)
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(round))
    return redirect(_console_url(round))


def _unknown() -> str:
    from django.utils.translation import gettext as _

    return _("Choose an action.")


@login_required
@require_POST
def add_statement(request, slug, round_id):
    access.require_moderator(request.user)
    round = _round(slug, round_id)
    try:
        if request.POST.get("answer"):
            answer = get_object_or_404(Answer.objects.select_related("question"), pk=request.POST["answer"],
                                       question__session__meeting__slug=slug)
            services.add_statement_from_answer(user=request.user, round=round, answer=answer)
        else:
            services.add_statement(user=request.user, round=round, text=request.POST.get("text", ""))
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(round))
    return redirect(_console_url(round))


@login_required
@require_POST
def moderate_statement(request, slug, statement_id):
    access.require_moderator(request.user)
    statement = get_object_or_404(Statement.objects.select_related("round__session__meeting"), pk=statement_id,
                                  round__session__meeting__slug=slug)
    try:
        services.moderate_statement(user=request.user, statement=statement, approve=request.POST.get("action") == "approve")
    except ActionRefused as refusal:
        return _refused(request, refusal, _console_url(statement.round))
    return redirect(_console_url(statement.round))


@login_required
@require_POST
def propose_statement(request, slug, round_id):
    round = _round(slug, round_id)
    try:
        services.propose_statement(user=request.user, round=round, text=request.POST.get("text", ""))
    except ActionRefused as refusal:
        return _refused(request, refusal, _session_url(round))
    if request.htmx:
        return _vote_panel(request, round, proposed=_proposed())
    messages.success(request, _proposed())
    return redirect(_session_url(round))


def _vote_panel(request, round: OpinionRound, **extra) -> HttpResponse:
    """The delegation's panel for the round, rendered with the request (so its forms carry a CSRF token)."""
    context = {"meeting": round.session.meeting, **delegate_round(round, access.delegation_of(request.user)), **extra}
    return render(request, "sessions_app/partials/opinion_vote.html", context)


def _proposed() -> str:
    from django.utils.translation import gettext as _

    return _("Thank you: the chair reviews your statement before delegations vote on it.")


@login_required
@require_POST
def cast_vote(request, slug, statement_id):
    """A delegation's vote: stored with the others arriving now (vote_batch), one transaction per
    batch, whose leading request renders the batch's live updates; the htmx reply is the voter's
    panel as that live update rendered it (take_vote_panel), or a render of its own."""
    statement = get_object_or_404(Statement.objects.select_related("round__session__meeting"), pk=statement_id,
                                  round__session__meeting__slug=slug)
    round = statement.round
    # `key`: the page's key of a vote it first sent over its socket (app.js), applied once.
    submission = services.VoteSubmission(user=request.user, statement_id=statement.pk, choice=request.POST.get("choice", ""),
                                         key=request.POST.get("key") or None)
    result = vote_batch.store_vote(submission, waiting=lambda: slot_released(request))
    if isinstance(result, ActionRefused):
        return _refused(request, result, _session_url(round))
    if not request.htmx:
        return redirect(_session_url(round))
    shared = result.event_seq and take_vote_panel(round.session.meeting_id, result.event_seq, get_language())
    return HttpResponse(shared) if shared else _vote_panel(request, round)


@login_required
def polis_export(request, slug, round_id):
    """The round in Pol.is's export files, for the chair and the secretariat."""
    from django.utils.text import slugify

    from ..exports.polis import polis_zip

    access.require_moderator(request.user)
    round = _round(slug, round_id)
    response = HttpResponse(polis_zip(round), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{slugify(round.title) or "round"}-polis.zip"'
    return response
