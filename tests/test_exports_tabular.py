"""Answers and practices as data: CSV (streamed, Excel-safe) and XLSX."""

import csv
import io
import tracemalloc

import openpyxl
import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from sessions_app.exports import tabular
from sessions_app.models import Answer, Delegation, Practice, Question

from .factories import AnswerFactory, MeetingFactory, PracticeFactory, SessionFactory, make_chair
from .test_exports_common import build_meeting


def read_csv(pieces) -> tuple[bytes, list[list[str]]]:
    data = b"".join(pieces)
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[list[object]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def built(db):
    return build_meeting()


def test_answers_csv_has_one_row_per_answer_with_moderation_flags(built):
    data, rows = read_csv(tabular.answers_csv(built.meeting))

    assert data.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "Answer id", "Meeting", "Session", "Question number", "Question", "Delegation code", "Delegation", "Kind", "Text",
        "Visibility", "Starred", "Hidden reason", "Duplicate of (answer id)", "Created", "Updated",
    ]  # fmt: skip
    france = Answer.objects.get(question__position=1, question__session__number=1, delegation__country="FR")
    japan_hidden = Answer.objects.get(question__position=1, question__session__number=1, delegation__country="JP")
    original = Answer.objects.get(question__session__number=2, delegation__country="DE")
    duplicate = Answer.objects.get(question__session__number=2, delegation__country="JP")
    assert rows[2] == [
        str(france.pk), "records-meeting", "1", "1", "How does your centre of government build trust?", "FR", "France",
        "answer", "We publish our plans.\n\nAnd we consult widely.", "published", "true", "", "",
        "2023-11-22T10:00:00+01:00", "2023-11-22T10:00:30+01:00",
    ]  # fmt: skip
    assert rows[3][5:13] == ["JP", "Japan", "answer", japan_hidden.text, "hidden", "false", "Off topic", ""]
    assert rows[-1][0] == str(duplicate.pk) and rows[-1][12] == str(original.pk)
    assert [(row[2], row[3], row[5], row[7]) for row in rows[1:]] == [
        ("1", "1", "DE", "answer"), ("1", "1", "FR", "answer"), ("1", "1", "JP", "answer"),
        ("1", "2", "FR", "none"), ("1", "2", "JP", "writing"), ("2", "1", "DE", "answer"), ("2", "1", "JP", "answer"),
    ]  # fmt: skip


def test_answers_csv_of_one_session(built):
    _data, rows = read_csv(tabular.answers_csv(built.meeting, session=built.meeting.sessions.get(number=2)))

    assert [(row[2], row[5]) for row in rows[1:]] == [("2", "DE"), ("2", "JP")]


def test_practices_csv_has_themes_and_links(built):
    _data, rows = read_csv(tabular.practices_csv(built.meeting))

    assert rows[0] == [
        "Practice id", "Meeting", "Session", "Question number", "Paragraph number", "Delegation code", "Delegation",
        "Title", "Description", "Link", "Themes", "Visibility", "Starred", "Hidden reason", "Created", "Updated",
    ]  # fmt: skip
    convention = Practice.objects.get(title="Citizens' convention")
    assert rows[1][:14] == [
        str(convention.pk), "records-meeting", "1", "", "7", "FR", "France", "Citizens' convention",
        "150 citizens drawn by lot.", "https://example.org/convention", "Digital; Participation", "pending", "false", "",
    ]  # fmt: skip
    assert [(row[2], row[7], row[11]) for row in rows[1:]] == [
        ("1", "Citizens' convention", "pending"), ("1", "Open data portal", "pending"), ("1", "Regional dialogues", "pending"),
        ("2", "A practice hidden by the chair", "hidden"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+33 1 23", "'+33 1 23"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\n=1+1"),  # a lone CR becomes a newline, still neutralised
        ("Ordinary text", "Ordinary text"),
    ],
)
def test_csv_and_xlsx_neutralise_formulas(built, text, cell):
    Answer.objects.filter(delegation=built.germany, question__session__number=1).update(text=text)
    PracticeFactory(session=built.meeting.sessions.get(number=1), delegation=built.japan, title=text, description="d")

    _data, answers = read_csv(tabular.answers_csv(built.meeting))
    _data, practices = read_csv(tabular.practices_csv(built.meeting))
    answers_sheet = read_xlsx(tabular.answers_xlsx(built.meeting))
    practices_sheet = read_xlsx(tabular.practices_xlsx(built.meeting))

    assert (answers[1][8], practices[4][7]) == (cell, cell)
    assert (answers_sheet[1][8], practices_sheet[4][7]) == (cell, cell)


def test_answers_xlsx_holds_the_same_rows_as_the_csv(built):
    _data, csv_rows = read_csv(tabular.answers_csv(built.meeting))

    sheet = read_xlsx(tabular.answers_xlsx(built.meeting))

    assert sheet[0] == csv_rows[0]
    as_text = [["" if value is None else ("true" if value is True else "false" if value is False else str(value)) for value in row] for row in sheet[1:]]
    assert as_text == csv_rows[1:]


def test_xlsx_survives_control_characters_and_huge_cells(built):
    huge = "x" * 40000
    Answer.objects.filter(delegation=built.germany, question__session__number=1).update(text="a\x01b\x07c\x1bd " + huge)
    Practice.objects.filter(title="Open data portal").update(title="Portal\x0b\x0c")

    answers = read_xlsx(tabular.answers_xlsx(built.meeting))
    practices = read_xlsx(tabular.practices_xlsx(built.meeting))

    assert answers[1][8] == ("abcd " + huge)[:32766] + "…"
    assert practices[2][7] == "Portal"


def test_xlsx_sheet_is_named_and_header_frozen(built):
    workbook = openpyxl.load_workbook(io.BytesIO(tabular.practices_xlsx(built.meeting)))

    assert (workbook.sheetnames, workbook.worksheets[0].freeze_panes) == (["Practices"], "A2")


# --- Streaming -----------------------------------------------------------------------------------

ROWS = 10_000


@pytest.fixture
def large_meeting(db):
    """10,000 answers: 100 delegations answering 100 questions, 400 characters each."""
    meeting = MeetingFactory(slug="large")
    codes = [code for code, _name in list(countries)[:100]]
    delegations = Delegation.objects.bulk_create([Delegation(country=code) for code in codes])
    session = SessionFactory(meeting=meeting, number=1)
    questions = Question.objects.bulk_create(
        [Question(session=session, position=n, text=f"Question {n}?", html=f"Question {n}?") for n in range(1, 101)]
    )
    text = "A considered answer about centres of government and trust. " * 7
    Answer.objects.bulk_create(
        [Answer(question=q, delegation=d, text=text[:400]) for q in questions for d in delegations], batch_size=2000
    )
    return meeting


def test_answers_csv_of_10000_answers_streams_with_flat_memory(client, large_meeting):
    client.force_login(make_chair())

    response = client.get(reverse("records_download", args=[large_meeting.slug, "answers-csv"]))

    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        pieces = iter(response.streaming_content)
        first = next(pieces)
        after_first, _peak = tracemalloc.get_traced_memory()
        size, count = len(first), 1
        for piece in pieces:  # each piece is dropped as soon as it is counted, as a server would send it
            size += len(piece)
            count += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    # One header piece, then one piece per 200 rows: the file is never assembled in one place.
    assert count == 1 + ROWS // tabular.ROWS_PER_PIECE
    assert first.startswith(b"\xef\xbb\xbfAnswer id,")
    assert size > 4_000_000
    # Rows are read a few hundred at a time: memory at any moment is a fraction of the file
    # (building the file whole would need more than its size).
    assert after_first < size / 10
    assert peak < size / 3


def test_answers_csv_times_are_iso_8601_in_the_meeting_time_zone(db):
    answer = AnswerFactory()

    _data, rows = read_csv(tabular.answers_csv(answer.question.session.meeting))

    assert rows[1][13:] == [timezone.localtime(answer.created_at).isoformat(), timezone.localtime(answer.updated_at).isoformat()]
    assert rows[1][13].endswith("+01:00")  # Europe/Paris in November
