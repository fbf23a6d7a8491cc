"""The opinion rounds of a meeting in its JSON record (exports/record.py): rounds, statements, votes.

Natural keys as in the rest of the record: a delegation by ISO code, a user by username, a question
by [session number, position], an answer by [session number, position, delegation code]. The
analysis (groups, consensus, map) is not written: it is a pure function of the votes, computed again
on restore, so it holds no database id and a restored round shows the same groups.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ...models import Meeting, OpinionRound, Session, Statement, StatementVote
from ...opinion.services import analyse_votes
from .format import parse_time


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _one_of(value, choices) -> object:
    if value not in choices.values:
        raise ValueError(f"unknown value {value!r} for {choices.__name__}")
    return value


def export_rounds(meeting: Meeting, *, question_ref: dict, answer_ref: dict, user: Callable) -> dict[int, list[dict]]:
    """The meeting's rounds by session id, in three queries."""
    rounds = list(OpinionRound.objects.filter(session__meeting=meeting).order_by("session__number", "created_at", "id"))
    statements: dict[int, list[Statement]] = {}
    for statement in Statement.objects.filter(round__session__meeting=meeting).select_related("proposed_by").order_by("round_id", "position", "id"):
        statements.setdefault(statement.round_id, []).append(statement)
    votes: dict[int, list[dict]] = {}
    rows = (StatementVote.objects.filter(statement__round__session__meeting=meeting)
            .order_by("statement_id", "delegation__country")
            .values_list("statement_id", "delegation__country", "choice", "user__username", "updated_at"))
    for statement_id, code, choice, username, updated_at in rows:
        votes.setdefault(statement_id, []).append(
            {"delegation": code, "choice": choice, "user": user(username), "updated_at": _iso(updated_at)})
    by_session: dict[int, list[dict]] = {}
    for round in rounds:
        by_session.setdefault(round.session_id, []).append({
            "title": round.title,
            "question": question_ref.get(round.question_id),
            "status": round.status,
            "order": round.order,
            "proposals_allowed": round.proposals_allowed,
            "on_screen": round.on_screen,
            "created_at": _iso(round.created_at),
            "statements": [
                {
                    "position": s.position,
                    "text": s.text,
                    "status": s.status,
                    "answer": answer_ref.get(s.answer_id),
                    "proposed_by": s.proposed_by.code if s.proposed_by_id else None,
                    "created_at": _iso(s.created_at),
                    "votes": votes.get(s.pk, []),
                }
                for s in statements.get(round.pk, [])
            ],
        })
    return by_session


def restore_rounds(session: Session, entries: list[dict], *, question: Callable, answer: Callable, delegation: Callable,
                   user: Callable) -> None:
    """Create a session's rounds from its record entries, then compute each round's analysis again."""
    from ...opinion.services import fold

    for entry in entries:
        round = OpinionRound.objects.create(
            session=session, question=question(entry["question"]), title=str(entry["title"])[:300],
            status=_one_of(entry["status"], OpinionRound.Status), order=_one_of(entry["order"], OpinionRound.Order),
            proposals_allowed=bool(entry["proposals_allowed"]), on_screen=bool(entry["on_screen"]))
        OpinionRound.objects.filter(pk=round.pk).update(created_at=parse_time(entry["created_at"]))
        for item in entry["statements"]:
            text = item["text"]
            if not isinstance(text, str) or not text.strip() or len(text) > 400:
                raise ValueError(f"statement {item.get('position')} of round {entry['title']!r} is not a text of 1 to 400 characters")
            statement = Statement.objects.create(
                round=round, text=text, folded=fold(text), status=_one_of(item["status"], Statement.Status),
                position=item["position"], answer=answer(item["answer"]),
                proposed_by=delegation(item["proposed_by"]) if item["proposed_by"] else None)
            Statement.objects.filter(pk=statement.pk).update(created_at=parse_time(item["created_at"]))
            created = StatementVote.objects.bulk_create([
                StatementVote(statement=statement, delegation=delegation(vote["delegation"]),
                              choice=_one_of(vote["choice"], StatementVote.Choice), user=user(vote["user"]))
                for vote in item["votes"]
            ])
            for row, vote in zip(created, item["votes"]):  # auto_now overwrote them; bulk_update keeps what is set
                row.updated_at = parse_time(vote["updated_at"])
            StatementVote.objects.bulk_update(created, ["updated_at"])
        OpinionRound.objects.filter(pk=round.pk).update(analysis=analyse_votes(round))
