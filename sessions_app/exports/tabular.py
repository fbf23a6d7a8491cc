"""Answers and practices as raw data, one row each: CSV (streamed) and XLSX (write-only workbook).

Data exports are for the secretariat and always carry delegation codes, whatever the meeting's
attribution; the records page says so. Rows are read with `.iterator(chunk_size=...)` so that the
CSV's memory stays flat however many rows there are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..models import Answer, Meeting, Practice, Session
from .common import clean_text, neutralise_formula

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


# --- XLSX ----------------------------------------------------------------------------------------


def build_xlsx(title: str, headers: list[str], rows: Iterable[list[object]], *, widths: dict[int, int]) -> bytes:
    """A one-sheet workbook written row by row (openpyxl write-only mode keeps rows out of memory)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(clean_text(title)[:31] or "Data")
    sheet.freeze_panes = "A2"
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=neutralise_formula(clean_text(header)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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
