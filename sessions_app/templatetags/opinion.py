"""Opinion rounds' panels, included by one line in the shared console, delegate and screen pages."""

from django import template

from .. import access
from ..models import Meeting, OpinionRound, Statement
from ..opinion import queries

register = template.Library()


@register.inclusion_tag("sessions_app/partials/opinion_console.html", takes_context=True)
def opinion_console(context, session, meeting):
    rounds = list(OpinionRound.objects.filter(session=session).select_related("question"))
    return {"session": session, "meeting": meeting, "csrf_token": context.get("csrf_token"),
            "rounds": [console_round(r, meeting) for r in rounds],
            "questions": list(session.questions.all())}


def console_round(round: OpinionRound, meeting: Meeting) -> dict:
    view = queries.round_view(round, meeting)
    view["pending"] = [s for s in round.statements.all() if s.status == Statement.Status.PENDING]
    view["answers"] = list(round.question.answers.filter(text__gt="").select_related("delegation")) if round.question_id else []
    return view


@register.inclusion_tag("sessions_app/partials/opinion_delegate.html", takes_context=True)
def opinion_delegate(context, session, meeting):
    delegation = access.delegation_of(context["request"].user)
    return {"csrf_token": context.get("csrf_token"), **delegate_context(session, meeting, delegation)}


def delegate_context(session, meeting, delegation) -> dict:
    """A delegation's panel: each round not closed, with the statement it sees next."""
    rounds = OpinionRound.objects.filter(session=session).exclude(status=OpinionRound.Status.CLOSED) if delegation else []
    return {"session": session, "meeting": meeting, "delegation": delegation,
            "rounds": [delegate_round(r, delegation) for r in rounds]}


def delegate_round(round: OpinionRound, delegation) -> dict:
    return {"round": round, "next": queries.next_statement(round, delegation)}


@register.inclusion_tag("sessions_app/partials/opinion_screen.html")
def opinion_screen(meeting):
    round = queries.screen_round(meeting)
    return {"meeting": meeting, **(queries.round_view(round, meeting) if round else {"round": None})}
