"""The themes panel of each question, included by one line in the chair's console."""

from django import template

from ..models import AnswerSynthesis
from ..synthesis import queries

register = template.Library()


@register.inclusion_tag("sessions_app/partials/synthesis_console.html", takes_context=True)
def synthesis_console(context, session, meeting):
    questions = list(session.questions.all())
    stored = {s.question_id: s for s in AnswerSynthesis.objects.filter(question__in=questions)}
    return {"session": session, "meeting": meeting, "csrf_token": context.get("csrf_token"),
            "panels": [queries.theme_panel(q, meeting, stored.get(q.pk) or AnswerSynthesis(question=q)) for q in questions]}
