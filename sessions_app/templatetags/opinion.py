"""Opinion rounds' panels, included by one line in the shared console, delegate and screen pages."""

import threading

from django import template
from django.template.loader import get_template
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
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


# Parts of a vote's panel as rendered without a CSRF token (the live updates' and socket replies'
# panels: their forms take the token from the page's hx-headers), kept by what they show: a stream of
# votes renders a panel per voting delegation, and its review rows (every statement it voted on), the
# statement it sees next (with progress and buttons) and the proposal form are each the same for many
# delegations and votes (docs/performance.md). Statement texts do not change once approved.
RENDERS_KEPT = 8192
_renders: dict[tuple, str] = {}
_renders_lock = threading.Lock()


def _kept(template_name: str, key: tuple, context, values: dict) -> str:
    """`template_name` rendered with `values` (and the context's CSRF token); without a token,
    rendered once per `key` and language."""
    csrf_token = context.get("csrf_token")
    if csrf_token:  # a page or a request's own render: its token in every form
        return mark_safe(get_template(f"sessions_app/partials/{template_name}.html").render({**values, "csrf_token": csrf_token}))
    key = (template_name, *key, translation.get_language())
    found = _renders.get(key)
    if found is None:  # the template is looked up only then: most calls of a stream of votes find their render
        found = get_template(f"sessions_app/partials/{template_name}.html").render(values)
        with _renders_lock:
            if len(_renders) >= RENDERS_KEPT:
                _renders.clear()
            _renders[key] = found
    return mark_safe(found)


@register.simple_tag(takes_context=True)
def opinion_review_rows(context, rows, round, meeting):
    """The rows of a delegation's review list (partials/opinion_review_row.html); a paused round shows no buttons."""
    return mark_safe("".join(
        _kept("opinion_review_row", (round.pk, round.status, row["statement"].pk, row["statement"].text, row["choice"],
                                     meeting.slug, meeting.language), context, {"round": round, "meeting": meeting, "row": row}).strip()
        for row in rows))


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


@register.simple_tag
def opinion_map_points(points):
    """The map's points and their labels (partials/opinion_map.html), escaped as the template would: a
    round of 193 delegations is 193 circles, about two thirds of the analysis panel's render through
    the template language, rendered with every analysis."""
    groups: dict[str, str] = {}  # "Group A" in the active language, translated once per group

    def title(point) -> str:
        group = groups.get(point["group"])
        if group is None:
            group = groups[point["group"]] = _("Group %(label)s") % {"label": point["group"]}
        return f"{point['name']} · {group}" if point["name"] else group

    return format_html_join("", '<circle cx="{}" cy="{}" r="7" fill="{}" stroke="#000"><title>{}</title></circle>\n      '
                            '<text x="{}" y="{}" dy="4" text-anchor="middle" font-size="9" fill="#fff" aria-hidden="true">{}</text>',
                            ((p["x"], p["y"], p["colour"], title(p), p["x"], p["y"], p["group"]) for p in points))
