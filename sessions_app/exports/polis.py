"""An opinion round in Pol.is's own export files (comments.csv, votes.csv, participant-votes.csv,
summary.csv), zipped, so that existing Pol.is analysis tools read our rounds.

Participants are numbered 0, 1, … in the order of their first vote: Pol.is files carry no names, so
the export names no delegation whatever the attribution setting. Votes use Pol.is's export coding
(agree 1, disagree -1, pass 0), the opposite sign of its internal matrix.
"""

from __future__ import annotations

import csv
import io
import zipfile

from ..models import OpinionRound, Statement, StatementVote
from .common import clean_text, neutralise_formula


def _csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _text(value: str) -> str:
    return neutralise_formula(clean_text(value))


def polis_zip(round: OpinionRound) -> bytes:
    """The four Pol.is files of one round, in one zip."""
    statements = list(round.statements.filter(status=Statement.Status.APPROVED).order_by("position", "pk"))
    index = {s.pk: i for i, s in enumerate(statements)}
    votes = list(StatementVote.objects.filter(statement__in=statements).order_by("updated_at", "pk")
                 .values_list("statement_id", "delegation_id", "choice", "updated_at"))
    participants: dict[int, int] = {}
    for _statement, delegation, _choice, _at in votes:
        participants.setdefault(delegation, len(participants))
    groups = {}
    for number, group in enumerate((round.analysis or {}).get("groups", [])):
        for member in group["members"]:
            groups[member] = number

    tally = {s.pk: [0, 0] for s in statements}
    by_participant: dict[int, dict[int, int]] = {}
    vote_rows = [["timestamp", "datetime", "comment-id", "voter-id", "vote"]]
    for statement, delegation, choice, at in votes:
        value = -choice  # ours: agree -1 (Pol.is's matrix); its export files: agree 1
        if value == 1:
            tally[statement][0] += 1
        elif value == -1:
            tally[statement][1] += 1
        by_participant.setdefault(participants[delegation], {})[index[statement]] = value
        vote_rows.append([int(at.timestamp() * 1000), at.isoformat(), index[statement], participants[delegation], value])

    comments = [["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"]]
    for s in statements:
        comments.append([int(s.created_at.timestamp() * 1000), s.created_at.isoformat(), index[s.pk], -1,
                         tally[s.pk][0], tally[s.pk][1], 1, _text(s.text)])

    header = ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree", *range(len(statements))]
    matrix = [header]
    for delegation, number in participants.items():
        row = by_participant.get(number, {})
        values = list(row.values())
        matrix.append([number, groups.get(delegation, ""), 0, len(values), values.count(1), values.count(-1),
                       *[row.get(i, "") for i in range(len(statements))]])

    summary = [["topic", _text(round.title)], ["url", ""], ["voters", len(participants)],
               ["voters-in-conv", (round.analysis or {}).get("counted", 0)], ["commenters", 0],
               ["comments", len(statements)], ["groups", len((round.analysis or {}).get("groups", []))],
               ["conversation-description", _text(round.question.text if round.question_id else round.session.title)]]

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in (("comments.csv", comments), ("votes.csv", vote_rows),
                           ("participant-votes.csv", matrix), ("summary.csv", summary)):
            archive.writestr(name, _csv(rows))
    return buffer.getvalue()
