"""Delegates' contributions: answers to discussion questions and country practices (HTTP POST + CSRF)."""

import re
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import answer_batch, fragments, queries, services
from ..access import delegation_of
from ..middleware import slot_released
from ..models import Practice, Question
from .briefing import session_page_context


def _with_one_retry(call):
    """Two copies of one submission racing each other: the loser's unique key fails, and its retry
    finds the winner's row and answers as the first did. A transaction the database broke (a
    PostgreSQL deadlock with another process's writes, SQLite busy past its timeout) rolled back
    whole: it runs once more, rather than the delegate getting an error."""
    try:
        return call()
    except (IntegrityError, OperationalError):
        return call()


@login_required
@require_POST
def submit_answer(request, slug, question_id):
    """A delegation's answer to a question: stored with the others arriving now (answer_batch), in one
    transaction per batch; the htmx reply once it is committed. The batch checks the question (that
    it exists in this meeting and is open) for all its answers at once; the question is read here
    only for a refusal's reply."""
    delegation = delegation_of(request.user)
    if delegation is None:
        raise PermissionDenied
    submission = services.AnswerSubmission(
        user=request.user, question_id=question_id, kind=request.POST.get("kind", "answer"),
        text=request.POST.get("text", ""), key=request.POST.get("key", ""), meeting_slug=slug,
    )  # fmt: skip
    result = answer_batch.store_answer(submission, waiting=lambda: slot_released(request))
    if isinstance(result, services.QuestionNotFound):
        raise Http404(result.message)
    error = result.message if isinstance(result, services.ActionRefused) else None
    if error is None and request.htmx:
        return answer_saved_response(result)
    question = get_object_or_404(Question.objects.select_related("session__meeting"), pk=question_id, session__meeting__slug=slug)
    if error is None:
        return redirect(_session_url(question))
    if not request.htmx:
        return _render_page_with_error(request, question, error)
    context = queries.answer_card_context(question, delegation, error=error, submitted_text=request.POST.get("text", ""))
    return render(request, "sessions_app/partials/question_delegate.html", context, status=422)


def answer_saved_response(answer) -> HttpResponse:
    """The htmx reply to a saved answer, in the active language.

    Only what changed is sent, out of band: the status line ("Saved by … at …", announced to screen
    readers), the form's next submission key, and its button ("Update the answer"). The form stays as
    the delegate left it (text, cursor, focus), and the reply costs a fraction of the whole card.
    """
    html = fragments.answer_saved_reply(answer, form_key=uuid.uuid4().hex)
    return HttpResponse(html, headers={"HX-Reswap": "none"})


def _session_url(question) -> str:
    return reverse("session", args=[question.session.meeting.slug, question.session.number]) + f"#question-{question.pk}"


def _render_page_with_error(request, question, error):
    context = session_page_context(request, question.session)
    for card in context["questions"]:
        if card.pk == question.pk:
            card.error, card.submitted_text = error, request.POST.get("text", "")
    context["page_error"] = error
    return render(request, "sessions_app/session_delegate.html", context, status=422)


def _practice_form(request, slug, number, practice=None):
    session = queries.get_session(slug, number)
    delegation = delegation_of(request.user)
    if delegation is None or (practice is not None and practice.delegation_id != delegation.pk):
        raise PermissionDenied
    questions = list(session.questions.all())
    paragraphs = [block for block in session.blocks.filter(language="") if block.kind == "paragraph" and block.number]
    values = {
        "title": practice.title if practice else "",
        "description": practice.description if practice else "",
        "link": practice.link if practice else "",
        "question": str(practice.question_id or "") if practice else request.GET.get("question", ""),
        "paragraph": str(practice.paragraph_id or "") if practice else "",
        "themes": ", ".join(theme.name for theme in practice.themes.all()) if practice else "",
    }
    error = None
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        question = next((q for q in questions if str(q.pk) == values["question"]), None)
        paragraph = next((b for b in paragraphs if str(b.pk) == values["paragraph"]), None)
        try:
            _with_one_retry(
                lambda: services.save_practice(
                    user=request.user, session=session, title=values["title"], description=values["description"],
                    link=values["link"], question=question, paragraph=paragraph,
                    themes=re.split(r"[,;\n]", values["themes"]), key=request.POST.get("key", ""), practice=practice,
                )
            )
        except services.ActionRefused as refusal:
            error = refusal.message
        else:
            return redirect(_practices_url(session))
    context = {
        "meeting": session.meeting, "session": session, "delegation": delegation, "practice": practice,
        "questions": questions, "paragraphs": paragraphs, "values": values, "error": error,
        "form_key": uuid.uuid4().hex, "max_chars": settings.FACILITATION["PRACTICE_MAX_CHARS"],
    }
    return render(request, "sessions_app/practice_form_delegate.html", context, status=422 if error else 200)


def _practices_url(session) -> str:
    return reverse("session", args=[session.meeting.slug, session.number]) + "#practices-mine"


@login_required
def new_practice(request, slug, number):
    return _practice_form(request, slug, number)


@login_required
def edit_practice(request, slug, practice_id):
    practice = get_object_or_404(Practice.objects.select_related("session__meeting"), pk=practice_id, session__meeting__slug=slug)
    return _practice_form(request, slug, practice.session.number, practice=practice)

