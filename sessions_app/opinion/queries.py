"""Reads of opinion rounds for the pages: the delegate's next statement, the console's analysis and map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count

from ..models import Delegation, Meeting, OpinionRound, Statement, StatementVote
from . import analysis

MAP_SIZE = 320  # the SVG's width and height in user units
MAP_MARGIN = 24
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]  # distinct in grey too (Tableau 10)


CHOICE_NAMES = {-1: "agree", 0: "pass", 1: "disagree"}


@dataclass
class NextStatement:
    statement: Statement | None
    done: int
    total: int
    voted: list[dict] = field(default_factory=list)  # {"statement", "choice"} in the round's order: to review and change


def approved(round: OpinionRound) -> list[Statement]:
    return list(round.statements.filter(status=Statement.Status.APPROVED).order_by("position", "pk"))


def next_statement(round: OpinionRound, delegation: Delegation) -> NextStatement:
    """The statement this delegation sees next (priority rule or chair's order), and its progress."""
    return next_statements(round, [delegation.pk])[delegation.pk]


def next_statements(round: OpinionRound, delegation_ids: list[int], *, approved_statements: list[Statement] | None = None,
                    read_tallies: Callable[[], dict[int, dict[str, int]]] | None = None) -> dict[int, NextStatement]:
    """next_statement for several delegations at once (a batch of votes): the round's statements, the
    delegations' votes and the round's tallies read once for all of them, and the order in which the
    statements are offered (the same for every delegation) decided once. A caller that reads the round's
    approved statements or tallies anyway (live/votes.py) passes them, or the function that reads them."""
    statements = [(s.pk, s) for s in (approved(round) if approved_statements is None else approved_statements)]
    voted: dict[int, dict[int, int]] = {pk: {} for pk in delegation_ids}
    rows = StatementVote.objects.filter(statement__round=round, delegation_id__in=delegation_ids)
    for delegation_id, statement_id, choice in rows.values_list("delegation_id", "statement_id", "choice"):
        voted[delegation_id][statement_id] = choice
    offered = None  # the statements in the order they are offered, for the first delegation with some left
    result = {}
    for delegation_id, theirs in voted.items():
        review = [{"statement": s, "choice": CHOICE_NAMES[theirs[pk]]} for pk, s in statements if pk in theirs]
        statement = None
        if len(review) < len(statements):
            if offered is None:
                offered = statements
                if round.order == OpinionRound.Order.PRIORITY:
                    tallies = tallies_of(round) if read_tallies is None else read_tallies()
                    offered = sorted(statements, key=lambda pair: (
                        -analysis.priority(tallies.get(pair[0], {"agree": 0, "disagree": 0, "pass": 0})), pair[1].position, pair[0]))
            statement = next(s for pk, s in offered if pk not in theirs)
        result[delegation_id] = NextStatement(statement=statement, done=len(review), total=len(statements), voted=review)
    return result


def tallies_of(round: OpinionRound) -> dict[int, dict[str, int]]:
    """Agree / disagree / pass counts per statement, counted by the database: one row per (statement,
    choice), not one per vote (a delegate's next statement is chosen with them after every vote)."""
    names = CHOICE_NAMES
    tallies: dict[int, dict[str, int]] = {}
    rows = (StatementVote.objects.filter(statement__round=round).order_by().values_list("statement_id", "choice")
            .annotate(n=Count("pk")))
    for statement_id, choice, n in rows:
        tallies.setdefault(statement_id, {"agree": 0, "disagree": 0, "pass": 0})[names[choice]] += n
    return tallies


def tally_bars(statements, tallies: dict[int, dict[str, int]]) -> list[dict]:
    """The "Votes per statement" rows of the approved statements among `statements`, in their order."""
    bars = []
    for statement in statements:
        if statement.status != Statement.Status.APPROVED:
            continue
        tally = tallies.get(statement.pk, {"agree": 0, "disagree": 0, "pass": 0})
        total = sum(tally.values())
        bars.append({"statement": statement, **tally, "total": total,
                     **{f"{k}_pct": int(100 * v / total + 0.5) if total else 0 for k, v in tally.items()}})
    return bars


def tally_view(round: OpinionRound, *, meeting_id: int, as_of: int | None = None, statements: list[Statement] | None = None,
               tallies: dict[int, dict[str, int]] | None = None) -> dict:
    """What the console's live tally of a round shows: its votes per statement now (three queries), and
    how many delegations voted; `as_of`, the meeting's event number read before the votes. A caller that
    has them passes `as_of` (a number up to which every vote is committed, so counted), the round's statements (at
    least its approved ones, in their order) and its tallies."""
    as_of = Meeting.objects.values_list("last_seq", flat=True).get(pk=meeting_id) if as_of is None else as_of
    tallies = tallies_of(round) if tallies is None else tallies
    bars = tally_bars(round.statements.all() if statements is None else statements, tallies)
    return {"round": round, "bars": bars, "votes": sum(bar["total"] for bar in bars), "as_of": as_of}


def round_view(round: OpinionRound, meeting: Meeting) -> dict:
    """The stored analysis joined with statement texts and (unless Chatham House) delegation names."""
    data = round.analysis or {}
    statements = {s.pk: s for s in round.statements.all()}
    named = not meeting.is_chatham_house
    delegations = {d.pk: d for d in Delegation.objects.filter(pk__in=[p["delegation"] for p in data.get("points", [])])} if named else {}
    # The votes per statement as stored now, not as the analysis counted them: a panel of an analysis
    # slower than the votes must not put back older counts than the live tally's (tally_view).
    bars = tally_bars(statements.values(), tallies_of(round))

    def text_of(rows):
        # "percent": the share of the group (or of the room) that agrees, or disagrees, as counted; an analysis
        # stored before "share" was kept shows its smoothed share, (n + 1) / (votes + 2).
        return [{**row, "statement": statements[row["statement"]],
                 **({"percent": int(100 * row.get("share", row["p"]) + 0.5)} if "p" in row else {})}
                for row in rows if row["statement"] in statements]

    groups = [{"label": g["label"], "size": len(g["members"]), "colour": COLOURS[i % len(COLOURS)],
               "members": [delegations[m] for m in g["members"] if m in delegations] if named else [],
               "representative": text_of(g["representative"])} for i, g in enumerate(data.get("groups", []))]
    return {"round": round, "analysis": data, "bars": bars, "votes": sum(bar["total"] for bar in bars), "groups": groups, "named": named,
            "consensus": text_of(data.get("consensus", [])), "group_consensus": text_of(data.get("group_consensus", [])),
            "divisive": text_of(data.get("divisive", [])), "points": map_points(data.get("points", []), delegations, named),
            "map_size": MAP_SIZE, "pending": statements and [s for s in statements.values() if s.status == Statement.Status.PENDING]}


def map_points(points: list[dict], delegations: dict, named: bool) -> list[dict]:
    """Positions scaled into the SVG's box (y grows downwards in SVG)."""
    if not points:
        return []
    xs, ys = [p["x"] for p in points], [p["y"] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = (MAP_SIZE - 2 * MAP_MARGIN) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [{"x": round(MAP_SIZE / 2 + (p["x"] - cx) * scale, 1), "y": round(MAP_SIZE / 2 - (p["y"] - cy) * scale, 1),
             "group": chr(ord("A") + p["group"]), "colour": COLOURS[p["group"] % len(COLOURS)],
             "name": delegations[p["delegation"]].name if named and p["delegation"] in delegations else ""} for p in points]


def rounds_of_session(session) -> list[OpinionRound]:
    return list(OpinionRound.objects.filter(session=session).prefetch_related("statements"))


def screen_round(meeting: Meeting) -> OpinionRound | None:
    """The round the chair put on the room screen, if any."""
    return OpinionRound.objects.filter(session__meeting=meeting, on_screen=True).order_by("-created_at").first()
