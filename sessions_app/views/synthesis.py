"""The themes of a question's answers on the chair's console: recompute, rename, merge, and turn a
theme into a statement of a round or a paragraph of the draft conclusions.

The view parses the form, calls one function of synthesis/services.py (or compute.py) and answers
htmx with the question's themes panel, or redirects back to the console when JavaScript is off.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import access
from ..models import Question
from ..services import ActionRefused
from ..synthesis import queries, services


# Recompute, rename and merge: the panel itself says what was done (see services._recomputed), as
# the live update of the panel may reach this page before the reply; the others say it in the
# panel's status region.
def _recompute(request, question):
    services.recompute_themes(user=request.user, question=question)
    return _("The themes were computed again from the answers.")


def _rename(request, question):
    services.rename_theme(user=request.user, question=question, version=request.POST.get("version", ""),
                          theme=request.POST.get("theme", ""), name=request.POST.get("name", ""))
    return _("The theme was renamed.")


def _merge(request, question):
    services.merge_themes(user=request.user, question=question, version=request.POST.get("version", ""),
                          themes=request.POST.getlist("themes"))
    return _("The themes were merged.")


def _statement(request, question):
    statement = services.theme_to_statement(user=request.user, question=question, version=request.POST.get("version", ""),
                                            theme=request.POST.get("theme", ""))
    return _("The theme is now a statement of the round “%(title)s”.") % {"title": statement.round.title}


def _conclusion(request, question):
    services.theme_to_conclusion(user=request.user, question=question, version=request.POST.get("version", ""),
                                 theme=request.POST.get("theme", ""))
    return _("The theme was added to the draft conclusions.")


ACTIONS = {"recompute": _recompute, "rename": _rename, "merge": _merge, "statement": _statement, "conclusion": _conclusion}
SAID_IN_THE_PANEL = {_recompute, _rename, _merge}


@login_required
@require_POST
def synthesis_action(request, slug, question_id):
    access.require_moderator(request.user)
    question = get_object_or_404(Question.objects.select_related("session__meeting"), pk=question_id, session__meeting__slug=slug)
    meeting = question.session.meeting
    back = reverse("console", args=[slug, question.session.number]) + f"#synthesis-question-{question.pk}"
    action = ACTIONS.get(request.POST.get("action", ""))
    try:
        if action is None:
            raise ActionRefused(_("Choose an action."))
        message = action(request, question)
    except ActionRefused as refusal:
        if request.htmx:
            return render(request, "sessions_app/partials/live_notice.html", {"message": refusal.message}, status=422)
        messages.error(request, refusal.message)
        return redirect(back)
    if not request.htmx:
        messages.success(request, message)
        return redirect(back)
    panel = queries.theme_panel(question, meeting)
    context = {**panel, "message": "" if action in SAID_IN_THE_PANEL else message}
    return render(request, "sessions_app/partials/synthesis_question.html", context)
