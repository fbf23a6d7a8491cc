"""The chair's edits of a question's themes: rename, merge, make a statement of a round, draft a conclusion.

Each edit names the version of the themes the chair saw: if they were recomputed since (an answer
arrived), it is refused and nothing changes, so a click never lands on another theme than the one read.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import access
from ..models import Answer, AnswerSynthesis, ConclusionRevision, Delegation, OpinionRound, Question, Statement
from ..opinion import services as opinion
from ..services import ActionRefused, clean_text, save_conclusions
from . import compute

NAME_MAX_CHARS = 120
QUOTE_MAX_CHARS = 300


def _current(question: Question, version: int | str) -> tuple[AnswerSynthesis, list[dict]]:
    synthesis = AnswerSynthesis.objects.select_for_update(no_key=True).filter(question=question).first()
    if synthesis is None or str(version) != str(synthesis.version):
        raise ActionRefused(_("The themes changed since you loaded them; look at them again."))
    return synthesis, synthesis.result.get("themes", [])


def _theme(themes: list[dict], index: int | str) -> dict:
    try:
        position = int(index)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position < len(themes):
        raise ActionRefused(_("Choose one of the themes shown."))
    return themes[position]


def _recomputed(question: Question, action: str) -> AnswerSynthesis:
    """Recompute with the stored edits, and remember which edit made this version: the panel says so
    whether the chair's page gets it from the reply or from the live update (whichever comes first)."""
    synthesis = compute.synthesise_question(question.pk)
    synthesis.edits = {**synthesis.edits, "last": {"action": action, "version": synthesis.version}}
    AnswerSynthesis.objects.filter(pk=synthesis.pk).update(edits=synthesis.edits)
    return synthesis


@transaction.atomic
def recompute_themes(*, user: User, question: Question) -> AnswerSynthesis:
    """The chair's "compute now": the themes from the answers as they are."""
    access.require_moderator(user)
    return _recomputed(question, "recompute")


@transaction.atomic
def rename_theme(*, user: User, question: Question, version: int | str, theme: int | str, name: str) -> AnswerSynthesis:
    """Give a theme the chair's name (an empty name brings back its terms); the name follows the theme."""
    access.require_moderator(user)
    synthesis, themes = _current(question, version)
    chosen = _theme(themes, theme)
    name = clean_text(name, limit=NAME_MAX_CHARS, label=_("The theme's name"), required=False)
    edits = {**synthesis.edits, "names": [*synthesis.edits.get("names", []), {"members": chosen["members"], "name": name}]}
    AnswerSynthesis.objects.filter(pk=synthesis.pk).update(edits=edits)
    return _recomputed(question, "rename")


@transaction.atomic
def merge_themes(*, user: User, question: Question, version: int | str, themes: list[int | str]) -> AnswerSynthesis:
    """Make one theme of two or more; later recomputations keep them together (through their central answers)."""
    access.require_moderator(user)
    synthesis, shown = _current(question, version)
    chosen = {id(t): t for t in (_theme(shown, index) for index in themes)}
    if len(chosen) < 2:
        raise ActionRefused(_("Choose at least two themes to merge."))
    anchors = sorted(t["central"] for t in chosen.values())
    edits = {**synthesis.edits, "merges": [*synthesis.edits.get("merges", []), anchors]}
    AnswerSynthesis.objects.filter(pk=synthesis.pk).update(edits=edits)
    return _recomputed(question, "merge")


@transaction.atomic
def theme_to_statement(*, user: User, question: Question, version: int | str, theme: int | str) -> Statement:
    """One click: the theme becomes a statement of the question's round (opened if there is none):
    its name if the chair gave one, else its most central answer."""
    access.require_moderator(user)
    _synthesis, themes = _current(question, version)
    chosen = _theme(themes, theme)
    round = (OpinionRound.objects.filter(question=question).exclude(status=OpinionRound.Status.CLOSED)
             .order_by("-created_at", "-pk").first())
    if round is None:
        title = _("Where the room stands: question %(number)s") % {"number": question.position}
        round = opinion.open_round(user=user, session=question.session, title=title, question=question)
    if chosen.get("name"):
        return opinion.add_statement(user=user, round=round, text=chosen["name"])
    answer = Answer.objects.select_related("question").get(pk=chosen["central"])
    return opinion.add_statement_from_answer(user=user, round=round, answer=answer)


@transaction.atomic
def theme_to_conclusion(*, user: User, question: Question, version: int | str, theme: int | str) -> ConclusionRevision:
    """Add a paragraph on the theme to the session's draft conclusions (a new revision; the chair edits it)."""
    access.require_moderator(user)
    _synthesis, themes = _current(question, version)
    chosen = _theme(themes, theme)
    session = question.session
    latest = ConclusionRevision.objects.filter(session=session).first()
    paragraph = conclusion_paragraph(chosen, question)
    text = f"{latest.text.rstrip()}\n\n{paragraph}" if latest and latest.text.strip() else paragraph
    return save_conclusions(user=user, session=session, text=text)


def conclusion_paragraph(theme: dict, question: Question) -> str:
    """The theme in a sentence or two for the draft conclusions, attributed as the meeting allows."""
    label = theme.get("name") or ", ".join(theme["terms"])
    count = len(set(theme["delegations"]))
    who = ngettext("%(count)s delegation", "%(count)s delegations", count) % {"count": count}
    if not question.session.meeting.is_chatham_house:
        names = sorted(d.name for d in Delegation.objects.filter(pk__in=theme["delegations"]))
        who = f"{who} ({', '.join(names)})"
    quote = " ".join(Answer.objects.get(pk=theme["central"]).text.split())
    if len(quote) > QUOTE_MAX_CHARS:
        quote = quote[: QUOTE_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return _("%(label)s: raised by %(who)s, for example: “%(quote)s”") % {"label": label, "who": who, "quote": quote}
