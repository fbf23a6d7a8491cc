"""Opinion rounds' panels, included by one line in the shared console, delegate and screen pages."""

import threading

from django import template
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import mark_safe

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


# Rows of delegations' review lists as rendered without a CSRF token (the live updates' and socket
# replies' panels: their forms take the token from the page's hx-headers), by what a row shows. A
# vote's panel repeats every row its delegation voted on: rendered once per row state, not per vote
# (docs/performance.md). Statement texts do not change once approved; a paused round shows no buttons.
REVIEW_ROWS_KEPT = 4096
_review_rows: dict[tuple, str] = {}
_review_rows_lock = threading.Lock()


@register.simple_tag(takes_context=True)
def opinion_review_rows(context, rows, round, meeting):
    """The rows of a delegation's review list (partials/opinion_review_row.html)."""
    row_template = get_template("sessions_app/partials/opinion_review_row.html")
    csrf_token = context.get("csrf_token")
    base = {"round": round, "meeting": meeting, "csrf_token": csrf_token}
    if csrf_token:  # a page or a request's own render: its token in every form
        return mark_safe("".join(row_template.render({**base, "row": row}).strip() for row in rows))
    language, html = translation.get_language(), []
    for row in rows:
        statement = row["statement"]
        key = (round.pk, round.status, statement.pk, statement.text, row["choice"], meeting.slug, meeting.language, language)
        found = _review_rows.get(key)
        if found is None:
            found = row_template.render({**base, "row": row}).strip()
            with _review_rows_lock:
                if len(_review_rows) >= REVIEW_ROWS_KEPT:
                    _review_rows.clear()
                _review_rows[key] = found
        html.append(found)
    return mark_safe("".join(html))


# The rest of a vote's panel, kept the same way: the statement a delegation sees next (with its
# progress and buttons) and the proposal form are the same for every delegation at the same point of a
# round, and a stream of votes renders a panel per voting delegation (docs/performance.md, "Votes").
PANEL_PARTS_KEPT = 4096
_panel_parts: dict[tuple, str] = {}
_panel_parts_lock = threading.Lock()


def _kept(template_name: str, key: tuple, context, values: dict) -> str:
    """`template_name` rendered with `values` (and the context's CSRF token); without a token (live
    updates, socket replies), rendered once per `key` and language."""
    template = get_template(f"sessions_app/partials/{template_name}.html")
    csrf_token = context.get("csrf_token")
    if csrf_token:
        return mark_safe(template.render({**values, "csrf_token": csrf_token}))
    key = (template_name, *key, translation.get_language())
    found = _panel_parts.get(key)
    if found is None:
        found = template.render(values)
        with _panel_parts_lock:
            if len(_panel_parts) >= PANEL_PARTS_KEPT:
                _panel_parts.clear()
            _panel_parts[key] = found
    return mark_safe(found)


@register.simple_tag(takes_context=True)
def opinion_vote_next(context, round, next, meeting):
    """The statement a delegation votes on next, its progress and the buttons (or why there is none)."""
    statement = next.statement
    key = (round.pk, round.status, meeting.slug, meeting.language, next.done, next.total,
           statement.pk if statement else None, statement.text if statement else None)
    return _kept("opinion_vote_next", key, context, {"round": round, "next": next, "meeting": meeting})


@register.simple_tag(takes_context=True)
def opinion_vote_propose(context, round, meeting):
    """The form with which a delegation proposes a statement, where the chair takes proposals."""
    key = (round.pk, round.status, round.proposals_allowed, meeting.slug)
    return _kept("opinion_vote_propose", key, context, {"round": round, "meeting": meeting})
