"""The opinion rounds in the summary record: each round's consensus and its groups' representative
statements, read from the stored analysis (opinion/analysis.py); names only if the meeting attributes."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Delegation, Meeting, OpinionRound, Session, Statement
from ..opinion import analysis


@dataclass
class GroupRecord:
    label: str
    size: int
    members: list[str]  # delegation names; empty under the Chatham House rule
    representative: list[str]  # "agrees: …" lines


@dataclass
class RoundRecord:
    round: OpinionRound
    facts: str
    consensus: list[str]
    groups: list[GroupRecord]


def room_line(row: dict, text: str) -> str:
    if row["direction"] == "agree":
        return _("The room agreed: %(text)s") % {"text": text}
    return _("The room disagreed: %(text)s") % {"text": text}


def group_line(row: dict, text: str) -> str:
    if row["direction"] == "agree":
        return _("agreed: %(text)s") % {"text": text}
    return _("disagreed: %(text)s") % {"text": text}


def gather_rounds(meeting: Meeting, *, session: Session | None, attributed: bool) -> dict[int, list[RoundRecord]]:
    """The rounds of the meeting (or one session) by session id, in three queries."""
    scope = Q(session__meeting=meeting) & (Q(session=session) if session is not None else Q())
    rounds = list(OpinionRound.objects.filter(scope).order_by("session__number", "created_at", "id"))
    texts = dict(Statement.objects.filter(round__in=rounds).values_list("pk", "text")) if rounds else {}
    members = {m for r in rounds for g in (r.analysis or {}).get("groups", []) for m in g["members"]}
    names = {d.pk: d.name for d in Delegation.objects.filter(pk__in=members)} if attributed and members else {}
    result: dict[int, list[RoundRecord]] = {}
    for round in rounds:
        data = round.analysis or {}
        counted = data.get("counted", 0)
        facts = ngettext("%(count)s delegation counted.", "%(count)s delegations counted.", counted) % {"count": counted}
        if not data.get("mapped"):
            facts += " " + (_("No opinion groups: the votes do not split the delegations into groups of two or more.")
                            if data.get("reason") == analysis.NO_GROUPS else _("Too few delegations voted for opinion groups."))
        consensus = [room_line(row, texts[row["statement"]]) for row in data.get("consensus", []) if row["statement"] in texts]
        groups = [
            GroupRecord(
                label=g["label"], size=len(g["members"]),
                members=sorted(names[m] for m in g["members"] if m in names) if attributed else [],
                representative=[group_line(row, texts[row["statement"]]) for row in g["representative"] if row["statement"] in texts],
            )
            for g in data.get("groups", [])
        ]
        result.setdefault(round.session_id, []).append(RoundRecord(round=round, facts=facts, consensus=consensus, groups=groups))
    return result
