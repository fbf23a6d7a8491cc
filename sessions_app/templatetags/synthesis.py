"""The themes panel of each question, included by one line in the chair's console."""

from django import template

from ..synthesis import queries

register = template.Library()


@register.inclusion_tag("sessions_app/partials/synthesis_console.html", takes_context=True)
def synthesis_console(context, session, meeting):
    return {"session": session, "meeting": meeting, "csrf_token": context.get("csrf_token"),
            "panels": queries.theme_panels(list(session.questions.all()), meeting)}
