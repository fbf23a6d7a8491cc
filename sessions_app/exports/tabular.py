"""Raw data, one row each: answers, practices, poll results, votes and interventions; CSV (streamed) and XLSX.

Data exports are for the secretariat and always carry delegation codes, whatever the meeting's
attribution; the records page says so. Answers, practices and votes are read with
`.iterator(chunk_size=...)` so that the CSV's memory stays flat however many rows there are; polls
and interventions number a few dozen per session and are read at once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..models import Answer, Meeting, Poll, PollOption, Practice, Session, Vote
from .common import clean_text, gather_polls, neutralise_formula, session_interventions

CHUNK_SIZE = 500
# Rows per yielded CSV piece: large enough to keep the per-chunk overhead low, small enough to stay flat.
ROWS_PER_PIECE = 200
BOM = "\ufeff"
XLSX_CELL_LIMIT = 32767  # characters Excel keeps in one cell


def answer_headers() -> list[str]:
    return [
        _("Answer id"), _("Meeting"), _("Session"), _("Question number"), _("Question"),
        _("Delegation code"), _("Delegation"), _("Kind"), _("Text"), _("Visibility"), _("Starred"),
        _("Hidden reason"), _("Duplicate of (answer id)"), _("Created"), _("Updated"),
    ]  # fmt: skip


def answer_rows(meeting: Meeting, *, session: Session | None = None) -> Iterator[list[object]]:
    """One list per answer, hidden ones included (moderation flags are part of the data)."""
    answers = Answer.objects.filter(question__session__meeting=meeting)
    if session is not None:
        answers = answers.filter(question__session=session)
    values = answers.order_by("question__session__number", "question__position", "delegation__country", "id").values_list(
        "id", "question__session__number", "question__position", "question__text", "delegation__country",
        "kind", "text", "visibility", "starred", "hidden_reason", "duplicate_of_id", "created_at", "updated_at",
    )  # fmt: skip
    names = _CountryNames()
    for (pk, number, position, question, code, kind, text, visibility, starred, reason, duplicate_of, created, updated) in values.iterator(
        chunk_size=CHUNK_SIZE
    ):
        yield [
            pk, meeting.slug, number, position, question, code, names[code], kind, text, visibility, starred,
            reason, duplicate_of, created, updated,
        ]  # fmt: skip


def practice_headers() -> list[str]:
    return [
        _("Practice id"), _("Meeting"), _("Session"), _("Question number"), _("Paragraph number"),
        _("Delegation code"), _("Delegation"), _("Title"), _("Description"), _("Link"), _("Themes"),
        _("Visibility"), _("Starred"), _("Hidden reason"), _("Created"), _("Updated"),
    ]  # fmt: skip


def practice_rows(meeting: Meeting, *, session: Session | None = None) -> Iterator[list[object]]:
    practices = Practice.objects.filter(session__meeting=meeting)
    if session is not None:
        practices = practices.filter(session=session)
    practices = (
        practices.select_related("session", "delegation", "question", "paragraph")
        .prefetch_related("themes")
        .order_by("session__number", "created_at", "id")
    )
    names = _CountryNames()
    for practice in practices.iterator(chunk_size=CHUNK_SIZE):
        code = practice.delegation.code
        yield [
            practice.pk, meeting.slug, practice.session.number,
            practice.question.position if practice.question_id else None,
            practice.paragraph.number if practice.paragraph_id else None,
            code, names[code], practice.title, practice.description, practice.link,
            "; ".join(sorted(theme.name for theme in practice.themes.all())),
            practice.visibility, practice.starred, practice.hidden_reason, practice.created_at, practice.updated_at,
        ]  # fmt: skip


def poll_headers() -> list[str]:
    return [
        _("Poll id"), _("Meeting"), _("Session"), _("Poll"), _("Kind"), _("Status"), _("One vote per"), _("Opened at"),
        _("Closed at"), _("Voters"), _("Delegations that voted"), _("Delegations in the meeting"), _("Option number"),
        _("Option"), _("Votes for the option (ranking: first places)"), _("Percent of voters"), _("Benchmark (%)"),
        _("Benchmark source"), _("Average points"), _("Average (0 to 10)"), _("Median (0 to 10)"),
    ]  # fmt: skip


def poll_rows(meeting: Meeting, *, session: Session | None = None) -> Iterator[list[object]]:
    """One list per option of a choice or ranking poll, one per scale or short-text poll; prepared polls included.

    The figures are the console's (see common.gather_polls); a ranking's option votes are its first places.
    """
    polls_by_session = gather_polls(meeting, session=session, delegation_count=meeting.delegations.count(), launched_only=False)
    for records in polls_by_session.values():
        for record in records:
            poll, results = record.poll, record.results
            row = [
                poll.pk, meeting.slug, poll.session.number, poll.prompt, poll.kind, poll.status, poll.scope, poll.opened_at,
                poll.closed_at, results.voters, record.delegations_voted, record.delegation_count,
            ]  # fmt: skip
            if poll.kind in (Poll.Kind.SCALE, Poll.Kind.TEXT):
                yield row + [None, None, None, None, None, "", None, results.scale_mean, results.scale_median]
                continue
            for option, result in record.by_option:
                yield row + [
                    option.position, option.label, result.count, result.percent, result.benchmark,
                    poll.benchmark_label if result.benchmark is not None else "", result.score, None, None,
                ]  # fmt: skip


def vote_headers() -> list[str]:
    return [
        _("Vote id"), _("Meeting"), _("Session"), _("Poll id"), _("Poll"), _("Kind"), _("Delegation code"),
        _("Delegation"), _("Choices"), _("Ranking (first to last)"), _("Scale value"), _("Text"), _("Time"),
    ]  # fmt: skip


def vote_rows(meeting: Meeting, *, session: Session | None = None) -> Iterator[list[object]]:
    """One list per vote: the options chosen, the ranking as option labels, the scale value or the text."""
    scope = {"poll__session__meeting": meeting} | ({"poll__session": session} if session is not None else {})
    labels = dict(PollOption.objects.filter(**scope).values_list("id", "label"))
    votes = (
        Vote.objects.filter(**scope)
        .select_related("poll__session", "delegation")
        .prefetch_related(Prefetch("options", queryset=PollOption.objects.order_by("position")))
        .order_by("poll__session__number", "poll__created_at", "poll_id", "created_at", "id")
    )
    names = _CountryNames()
    for vote in votes.iterator(chunk_size=CHUNK_SIZE):
        code = vote.delegation.code if vote.delegation_id else ""  # an observer's vote has no delegation
        # A ranking lists option ids, best first; one restored as it was stored may hold anything.
        ranking = vote.ranking if isinstance(vote.ranking, list) else []
        yield [
            vote.pk, meeting.slug, vote.poll.session.number, vote.poll_id, vote.poll.prompt, vote.poll.kind, code,
            names[code] if code else "", "; ".join(option.label for option in vote.options.all()),
            " > ".join(str(labels.get(item, item)) if isinstance(item, int) else str(item) for item in ranking),
            vote.scale_value, vote.text, vote.created_at,
        ]  # fmt: skip


def intervention_headers() -> list[str]:
    return [
        _("Meeting"), _("Session"), _("Order"), _("Delegation code"), _("Delegation"), _("Question number"),
        _("Question"), _("Requested"), _("Start"), _("End"), _("Duration (seconds)"), _("Speaking time given (seconds)"),
        _("Status"),
    ]  # fmt: skip


def intervention_rows(meeting: Meeting, *, session: Session | None = None) -> Iterator[list[object]]:
    """One list per intervention, in the order given in each session (requests withdrawn before it are left out)."""
    names = _CountryNames()
    order: dict[int, int] = {}
    for request in session_interventions(meeting, session=session):
        order[request.session_id] = order.get(request.session_id, 0) + 1
        code = request.delegation.code
        seconds = round((request.ended_at - request.started_at).total_seconds()) if request.ended_at else None
        yield [
            meeting.slug, request.session.number, order[request.session_id], code, names[code],
            request.question.position if request.question_id else None, request.question.text if request.question_id else "",
            request.requested_at, request.started_at, request.ended_at, seconds, request.speaking_seconds, request.status,
        ]  # fmt: skip


class _CountryNames(dict):
    """Country names in the active language, looked up once per code."""

    def __missing__(self, code: str) -> str:
        self[code] = name = str(countries.name(code)) or code
        return name


def _text_cell(value: object) -> object:
    """Datetimes as ISO 8601 in the meeting's time zone; text cleaned and safe from formula injection."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, str):
        return neutralise_formula(clean_text(value))
    return value


# --- CSV -----------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def stream_csv(headers: list[str], rows: Iterable[list[object]]) -> Iterator[bytes]:
    """UTF-8 CSV with a byte order mark (Excel needs it), yielded a few hundred rows at a time."""
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow([neutralise_formula(header) for header in headers])).encode("utf-8")
    piece: list[str] = []
    for row in rows:
        piece.append(writer.writerow([_csv_value(value) for value in row]))
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece).encode("utf-8")
            piece.clear()
    if piece:
        yield "".join(piece).encode("utf-8")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text_cell(value)


def answers_csv(meeting: Meeting, *, session: Session | None = None) -> Iterator[bytes]:
    return stream_csv(answer_headers(), answer_rows(meeting, session=session))


def practices_csv(meeting: Meeting, *, session: Session | None = None) -> Iterator[bytes]:
    return stream_csv(practice_headers(), practice_rows(meeting, session=session))


def polls_csv(meeting: Meeting, *, session: Session | None = None) -> Iterator[bytes]:
    return stream_csv(poll_headers(), poll_rows(meeting, session=session))


def votes_csv(meeting: Meeting, *, session: Session | None = None) -> Iterator[bytes]:
    return stream_csv(vote_headers(), vote_rows(meeting, session=session))


def interventions_csv(meeting: Meeting, *, session: Session | None = None) -> Iterator[bytes]:
    return stream_csv(intervention_headers(), intervention_rows(meeting, session=session))


# --- XLSX ----------------------------------------------------------------------------------------


@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: Iterable[list[object]]
    widths: dict[int, int]


def build_workbook(sheets: list[Sheet]) -> bytes:
    """A workbook written row by row, one sheet after the other (openpyxl write-only mode keeps rows out of memory)."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for data in sheets:
        sheet = workbook.create_sheet(clean_text(data.title)[:31] or "Data")
        sheet.freeze_panes = "A2"
        for column, width in data.widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width
        header_cells = []
        for header in data.headers:
            cell = WriteOnlyCell(sheet, value=neutralise_formula(clean_text(header)))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in data.rows:
            sheet.append([_xlsx_value(value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def build_xlsx(title: str, headers: list[str], rows: Iterable[list[object]], *, widths: dict[int, int]) -> bytes:
    """A one-sheet workbook."""
    return build_workbook([Sheet(title, headers, rows, widths)])


def _xlsx_value(value: object) -> object:
    value = _text_cell(value)
    if isinstance(value, str) and len(value) > XLSX_CELL_LIMIT:
        value = value[: XLSX_CELL_LIMIT - 1] + "…"
    return value


def answers_xlsx(meeting: Meeting, *, session: Session | None = None) -> bytes:
    return build_xlsx(
        _("Answers"), answer_headers(), answer_rows(meeting, session=session), widths={5: 40, 7: 18, 9: 60, 12: 30}
    )


def practices_xlsx(meeting: Meeting, *, session: Session | None = None) -> bytes:
    return build_xlsx(
        _("Practices"), practice_headers(), practice_rows(meeting, session=session), widths={7: 18, 8: 30, 9: 60, 10: 30, 11: 25}
    )


def polls_xlsx(meeting: Meeting, *, session: Session | None = None) -> bytes:
    """Poll results, votes and interventions: one workbook, a sheet each."""
    return build_workbook(
        [
            Sheet(_("Polls"), poll_headers(), poll_rows(meeting, session=session), widths={4: 40, 14: 30, 18: 30}),
            Sheet(_("Votes"), vote_headers(), vote_rows(meeting, session=session), widths={5: 40, 8: 18, 9: 30, 10: 30, 12: 30}),
            Sheet(
                _("Interventions"), intervention_headers(), intervention_rows(meeting, session=session), widths={5: 18, 7: 40}
            ),
        ]
    )
