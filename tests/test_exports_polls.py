"""Polls and interventions in the records: the summary record (Word and HTML), the data (XLSX, CSV) and the JSON record.

The meeting is held through the services, as the chair and the delegates would: polls prepared,
launched, voted in and closed; the floor asked for, given and ended, on a clock the test moves.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from sessions_app import floor, polls
from sessions_app.exports import common, docx_summary, record, tabular
from sessions_app.models import Answer, FloorRequest, Meeting, Poll, Vote

from .factories import DelegationFactory, MeetingFactory, QuestionFactory, SessionFactory, make_chair, make_delegate
from .test_exports_common import build_meeting
from .test_exports_docx import all_texts, headings, open_docx, table_rows
from .test_exports_record import empty_the_database
from .test_records_views import add_contributions

T0 = datetime(2023, 11, 22, 9, 0, tzinfo=UTC)  # 10:00 in Paris, the meeting's time zone
NAMES = ("France", "Germany", "Japan")
PRIORITY = "How much of a priority is tackling mis- and disinformation in your CoG?"
SOURCE = "OECD survey, 26 CoGs (Figure 4)"
NEVER_LAUNCHED = "A poll the chair never launched"


class Clock:
    """timezone.now() for the services, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@dataclass
class Held:
    meeting: Meeting
    chair: object
    question: object  # session 1, question 2


def hold_meeting(clock: Clock, *, attribution: str = Meeting.Attribution.ATTRIBUTED, slug: str = "polls-meeting") -> Held:
    """Two sessions: five launched polls (one of each kind, one still open) and a prepared one; three interventions."""
    france, germany, japan = (DelegationFactory(country=code) for code in ("FR", "DE", "JP"))
    meeting = MeetingFactory(title="Annual Meeting of Centres of Government", slug=slug, attribution=attribution)
    meeting.delegations.set([france, germany, japan])
    chair = make_chair(username=f"{slug}-chair")
    fr, fr2, de, jp = (make_delegate(d, username=f"{slug}-{name}") for d, name in ((france, "fr"), (france, "fr2"), (germany, "de"), (japan, "jp")))
    one = SessionFactory(meeting=meeting, number=1, title="Democratic resilience")
    two = SessionFactory(meeting=meeting, number=2, title="Strategic foresight")
    QuestionFactory(session=one, position=1, text="How does your centre of government build trust?")
    question = QuestionFactory(session=one, position=2, text="Which tools work best?")
    keys = iter(range(1000))

    def vote(user, poll, **choice):
        clock.advance(seconds=10)
        if "labels" in choice:
            choice["options"] = [str(poll.options.get(label=label).pk) for label in choice.pop("labels")]
        polls.cast_vote(user=user, poll=poll, key=f"{slug}-{next(keys)}", **choice)

    def launch(session, **fields):
        poll = polls.create_poll(user=chair, session=session, **fields)
        clock.advance(minutes=1)
        return polls.open_poll(user=chair, poll=poll)

    # Session 1: a single choice beside the briefing's survey, then a multiple choice left open.
    priority = launch(one, prompt=PRIORITY, kind="single", options=["Top priority", "Significant priority", "Other"],
                      benchmarks=["23", "27", ""], benchmark_label=SOURCE)  # fmt: skip
    vote(fr, priority, labels=["Top priority"])
    vote(de, priority, labels=["Significant priority"])
    vote(jp, priority, labels=["Top priority"])
    polls.close_poll(user=chair, poll=priority)
    channels = launch(one, prompt="Which channels do you use?", kind="multiple", options=["Press", "Social media", "Town halls"])
    vote(fr, channels, labels=["Press", "Social media"])
    vote(de, channels, labels=["Social media"])
    polls.create_poll(user=chair, session=one, prompt=NEVER_LAUNCHED, kind="single", options=["Yes", "No"])

    # Session 1's floor: France (on question 2) then Germany; Japan withdraws before its turn.
    clock.now = T0 + timedelta(minutes=5)
    france_request = floor.request_floor(user=fr, session=one, question=question)
    germany_request = floor.request_floor(user=de, session=one)
    floor.withdraw_floor_request(user=jp, floor_request=floor.request_floor(user=jp, session=one))
    floor.give_floor(user=chair, floor_request=france_request, seconds=120)
    clock.advance(minutes=3, seconds=5)
    floor.end_floor(user=chair, session=one)
    clock.now = T0 + timedelta(minutes=10)
    floor.give_floor(user=chair, floor_request=germany_request, seconds=120)
    clock.advance(seconds=90)
    floor.end_floor(user=chair, session=one)

    # Session 2: a scale with one vote per delegate, a ranking, short answers; Japan has the floor.
    clock.now = T0 + timedelta(minutes=50)
    readiness = launch(two, prompt="How ready is your centre of government?", kind="scale", options=[], scope="delegate")
    vote(fr, readiness, scale="6")
    vote(fr2, readiness, scale="8")
    vote(de, readiness, scale="9")
    polls.close_poll(user=chair, poll=readiness)
    ranking = launch(two, prompt="Rank the priorities", kind="ranking", options=["Skills", "Data", "Trust"])
    vote(fr, ranking, labels=["Data", "Trust", "Skills"])
    vote(jp, ranking, labels=["Data", "Skills", "Trust"])
    polls.close_poll(user=chair, poll=ranking)
    words = launch(two, prompt="One word for trust?", kind="text", options=[])
    vote(fr, words, text="Openness")
    vote(de, words, text="  openness ")
    vote(jp, words, text="=1+1")
    polls.close_poll(user=chair, poll=words)
    clock.now = T0 + timedelta(hours=1)
    floor.give_floor(user=chair, floor_request=floor.request_floor(user=jp, session=two), seconds=60)
    return Held(meeting, chair, question)


@pytest.fixture
def held(db, clock) -> Held:
    return hold_meeting(clock)


@pytest.fixture
def held_chatham(db, clock) -> Held:
    return hold_meeting(clock, attribution=Meeting.Attribution.CHATHAM_HOUSE, slug="chatham-polls")


def tables_by_header(document) -> dict[str, list[list[str]]]:
    """The document's tables, each under its header row joined with " | "; a repeated header keeps the first."""
    tables: dict[str, list[list[str]]] = {}
    for table in document.tables:
        rows = table_rows(table)
        tables.setdefault(" | ".join(rows[0]), rows[1:])
    return tables


def paragraphs_after(document, heading: str) -> list[str]:
    texts = [paragraph.text for paragraph in document.paragraphs]
    return texts[texts.index(heading) + 1 :]


# --- Summary record: Word --------------------------------------------------------------------------


def test_summary_docx_shows_each_launched_poll_after_the_contributions(held):
    document = open_docx(docx_summary.build(held.meeting))

    assert headings(document, 2)[3:6] == ["Contributions of delegations", "Polls", "Interventions"]
    assert headings(document, 3) == [
        "Question 1", "Question 2", PRIORITY, "Which channels do you use?",
        "How ready is your centre of government?", "Rank the priorities", "One word for trust?",
    ]  # fmt: skip
    assert paragraphs_after(document, PRIORITY)[:2] == ["Single choice · One vote per delegation", "3 of 3 delegations voted"]
    assert paragraphs_after(document, "Which channels do you use?")[:3] == [
        "Multiple choice · One vote per delegation", "2 of 3 delegations voted", "Voting was still open when this record was made."
    ]  # fmt: skip
    assert [text for text in all_texts(document) if NEVER_LAUNCHED in text] == []


def test_summary_docx_poll_table_has_the_benchmark_and_its_source(held):
    tables = tables_by_header(open_docx(docx_summary.build(held.meeting)))

    assert tables[f"Option | Votes | Share of voters | Benchmark: {SOURCE}"] == [
        ["Top priority", "2", "66.7%", "23%"], ["Significant priority", "1", "33.3%", "27%"], ["Other", "0", "0%", ""],
    ]  # fmt: skip
    # Several options may be chosen: shares of voters add up to more than 100.
    assert tables["Option | Votes | Share of voters"] == [["Press", "1", "50%"], ["Social media", "2", "100%"], ["Town halls", "0", "0%"]]


def test_summary_docx_shows_scale_ranking_and_short_answers(held):
    document = open_docx(docx_summary.build(held.meeting))
    tables = tables_by_header(document)

    assert paragraphs_after(document, "How ready is your centre of government?")[:3] == [
        "Scale 0-10 · One vote per delegate", "2 of 3 delegations voted · 3 votes in all", "Average 7.7 · median 8 (0 to 10)"
    ]  # fmt: skip
    assert tables["Value | Votes | Share of voters"][6:10] == [["6", "1", "33.3%"], ["7", "0", "0%"], ["8", "1", "33.3%"], ["9", "1", "33.3%"]]
    assert paragraphs_after(document, "Rank the priorities")[2] == "Average points: 3 for a first place, down to 1 for the last."
    assert tables["Option | Average points | First places"] == [["Data", "3", "2"], ["Skills", "1.50", "0"], ["Trust", "1.50", "0"]]
    assert tables["Answer | Votes"] == [["Openness", "2"], ["=1+1", "1"]]


def test_summary_docx_lists_interventions_in_the_order_given(held):
    document = open_docx(docx_summary.build(held.meeting))

    header = "Delegation | Question | Time | Duration"
    assert [table_rows(table)[1:] for table in document.tables if " | ".join(table_rows(table)[0]) == header] == [
        [["France", "Question 2", "10:05 – 10:08", "3 min 05 s"], ["Germany", "", "10:10 – 10:11", "1 min 30 s"]],
        [["Japan", "", "11:00 –", ""]],  # still speaking when the record was made
    ]
    texts = all_texts(document)
    assert ("2 interventions were made from the floor." in texts, "1 intervention was made from the floor." in texts) == (True, True)


def test_summary_docx_of_one_session_has_its_polls_and_interventions_only(held):
    document = open_docx(docx_summary.build(held.meeting, session=held.meeting.sessions.get(number=2)))

    assert headings(document, 3) == ["How ready is your centre of government?", "Rank the priorities", "One word for trust?"]
    assert "1 intervention was made from the floor." in all_texts(document)


def test_summary_docx_under_chatham_house_counts_interventions_and_names_nobody(held_chatham):
    document = open_docx(docx_summary.build(held_chatham.meeting))

    texts = all_texts(document)
    assert [text for text in texts if any(name in text for name in NAMES)] == []
    assert "2 interventions were made from the floor." in texts
    assert [rows for header, rows in tables_by_header(document).items() if header.startswith("Delegation")] == []
    assert tables_by_header(document)[f"Option | Votes | Share of voters | Benchmark: {SOURCE}"][0] == ["Top priority", "2", "66.7%", "23%"]


def test_summary_docx_in_french(held):
    with translation.override("fr"):
        document = open_docx(docx_summary.build(held.meeting))

    assert "Sondages" in headings(document, 2)
    assert table_rows(document.tables[0])[1] == ["Top priority", "2", "66,7\u00a0%", "23\u00a0%"]


# --- Summary record: the printable page ------------------------------------------------------------


def test_summary_page_shows_polls_with_benchmark_and_interventions(client, held):
    client.force_login(held.chair)

    html = client.get(reverse("records_summary", args=[held.meeting.slug])).content.decode()

    session_one = html[: html.index('id="session-2-title"')]
    assert session_one.index("Contributions of delegations") < session_one.index("<h3>Polls</h3>") < session_one.index("<h3>Interventions</h3>")
    assert f'<h4 lang="en">{PRIORITY}</h4>' in html
    assert '<p class="meta">3 of 3 delegations voted</p>' in html
    assert f'<th scope="col">Benchmark: {SOURCE}</th>' in html
    assert '<tr><th scope="row" lang="en">Top priority</th><td>2</td><td>66.7%</td><td>23%</td></tr>' in html
    assert '<tr><th scope="row" lang="en">Openness</th><td>2</td></tr>' in html
    assert "<p>2 interventions were made from the floor.</p>" in html
    assert '<th scope="row">France</th>\n          <td>Question 2</td>' in html
    assert '<time datetime="2023-11-22T10:05:00+01:00">10:05</time> – <time datetime="2023-11-22T10:08:05+01:00">10:08</time>' in html
    assert NEVER_LAUNCHED not in html


def test_summary_page_under_chatham_house_counts_interventions_and_names_nobody(client, held_chatham):
    client.force_login(held_chatham.chair)

    html = client.get(reverse("records_summary", args=[held_chatham.meeting.slug])).content.decode()

    assert [name for name in NAMES if name in html] == []
    assert "<p>2 interventions were made from the floor.</p>" in html
    assert "<th scope=\"col\">Duration</th>" not in html


def test_summary_page_escapes_what_the_chair_and_delegates_wrote(client, held):
    Poll.objects.filter(prompt=PRIORITY).update(prompt="<script>alert(1)</script>", benchmark_label="<b>survey</b>")
    Vote.objects.filter(text="=1+1").update(text="<img src=x onerror=alert(1)>")
    client.force_login(held.chair)

    html = client.get(reverse("records_summary", args=[held.meeting.slug])).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>survey" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Benchmark: &lt;b&gt;survey&lt;/b&gt;" in html


# --- The figures are the console's ----------------------------------------------------------------


def test_record_results_are_those_the_console_shows(held):
    gathered = [item for items in common.gather_polls(held.meeting, delegation_count=3).values() for item in items]

    assert len(gathered) == 5  # the poll never launched is left out
    for item in gathered:
        assert item.results == polls.poll_results(item.poll)


# --- Data: XLSX and CSV ---------------------------------------------------------------------------


def sheets(data: bytes) -> dict[str, list[list[object]]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}


def read_csv(pieces) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"), newline="")))


def same_cells(row: list[object]) -> list[object]:
    """A row from a sheet or a CSV, compared as the values they hold: "23.0", 23.0 and 23 alike; None as ""."""

    def cell(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return "" if value is None else value

    return [cell(value) for value in row]


def test_polls_xlsx_has_a_sheet_of_polls_votes_and_interventions(held):
    workbook = sheets(tabular.polls_xlsx(held.meeting))

    assert list(workbook) == ["Polls", "Votes", "Interventions"]
    polls_sheet = workbook["Polls"]
    assert polls_sheet[0][9:] == [
        "Voters", "Delegations that voted", "Delegations in the meeting", "Option number", "Option",
        "Votes for the option (ranking: first places)", "Percent of voters", "Benchmark (%)", "Benchmark source",
        "Average points", "Average (0 to 10)", "Median (0 to 10)",
    ]  # fmt: skip
    priority = Poll.objects.get(prompt=PRIORITY)
    assert polls_sheet[1] == [
        priority.pk, "polls-meeting", 1, PRIORITY, "single", "closed", "delegation", "2023-11-22T10:01:00+01:00",
        "2023-11-22T10:01:30+01:00", 3, 3, 3, 1, "Top priority", 2, 66.7, 23, SOURCE, None, None, None,
    ]  # fmt: skip
    summary = [(row[3], row[5], row[13], row[14], row[15], row[16], row[18], row[19], row[20]) for row in polls_sheet[2:]]
    assert summary == [
        (PRIORITY, "closed", "Significant priority", 1, 33.3, 27, None, None, None),
        (PRIORITY, "closed", "Other", 0, 0, None, None, None, None),
        ("Which channels do you use?", "open", "Press", 1, 50, None, None, None, None),
        ("Which channels do you use?", "open", "Social media", 2, 100, None, None, None, None),
        ("Which channels do you use?", "open", "Town halls", 0, 0, None, None, None, None),
        (NEVER_LAUNCHED, "draft", "Yes", 0, 0, None, None, None, None),
        (NEVER_LAUNCHED, "draft", "No", 0, 0, None, None, None, None),
        ("How ready is your centre of government?", "closed", None, None, None, None, None, 7.7, 8),
        ("Rank the priorities", "closed", "Skills", 0, 0, None, 1.5, None, None),
        ("Rank the priorities", "closed", "Data", 2, 100, None, 3, None, None),
        ("Rank the priorities", "closed", "Trust", 0, 0, None, 1.5, None, None),
        ("One word for trust?", "closed", None, None, None, None, None, None, None),
    ]
    assert [(row[9], row[10]) for row in polls_sheet[1:] if row[3] == "How ready is your centre of government?"] == [(3, 2)]


def test_polls_xlsx_votes_sheet_has_one_row_per_vote(held):
    votes = sheets(tabular.polls_xlsx(held.meeting))["Votes"]

    assert votes[0] == [
        "Vote id", "Meeting", "Session", "Poll id", "Poll", "Kind", "Delegation code", "Delegation", "Choices",
        "Ranking (first to last)", "Scale value", "Text", "Time",
    ]  # fmt: skip
    assert [row[4] for row in votes[1:]].count(PRIORITY) == 3
    assert [(row[5], row[6], row[8], row[9], row[10], row[11]) for row in votes[1:] if row[5] != "single"] == [
        ("multiple", "FR", "Press; Social media", None, None, None),
        ("multiple", "DE", "Social media", None, None, None),
        ("scale", "FR", None, None, 6, None),
        ("scale", "FR", None, None, 8, None),
        ("scale", "DE", None, None, 9, None),
        ("ranking", "FR", None, "Data > Trust > Skills", None, None),
        ("ranking", "JP", None, "Data > Skills > Trust", None, None),
        ("text", "FR", None, None, None, "Openness"),
        ("text", "DE", None, None, None, "openness"),
        ("text", "JP", None, None, None, "'=1+1"),  # never run as a formula
    ]
    assert votes[1][7] == "France" and votes[1][12].endswith("+01:00")


def test_polls_xlsx_interventions_sheet_in_the_order_given(held):
    interventions = sheets(tabular.polls_xlsx(held.meeting))["Interventions"]

    assert interventions[0] == [
        "Meeting", "Session", "Order", "Delegation code", "Delegation", "Question number", "Question", "Requested",
        "Start", "End", "Duration (seconds)", "Speaking time given (seconds)", "Status",
    ]  # fmt: skip
    assert interventions[1:] == [
        ["polls-meeting", 1, 1, "FR", "France", 2, "Which tools work best?", "2023-11-22T10:05:00+01:00",
         "2023-11-22T10:05:00+01:00", "2023-11-22T10:08:05+01:00", 185, 120, "done"],
        ["polls-meeting", 1, 2, "DE", "Germany", None, None, "2023-11-22T10:05:00+01:00",
         "2023-11-22T10:10:00+01:00", "2023-11-22T10:11:30+01:00", 90, 120, "done"],
        ["polls-meeting", 2, 1, "JP", "Japan", None, None, "2023-11-22T11:00:00+01:00",
         "2023-11-22T11:00:00+01:00", None, None, 60, "speaking"],
    ]  # fmt: skip


def test_polls_xlsx_of_one_session(held):
    workbook = sheets(tabular.polls_xlsx(held.meeting, session=held.meeting.sessions.get(number=2)))

    assert ({row[2] for row in workbook["Polls"][1:]}, {row[2] for row in workbook["Votes"][1:]}) == ({2}, {2})
    assert [row[3] for row in workbook["Interventions"][1:]] == ["JP"]


def test_csv_downloads_hold_the_rows_of_the_sheets(held):
    workbook = sheets(tabular.polls_xlsx(held.meeting))

    for build, title in ((tabular.polls_csv, "Polls"), (tabular.votes_csv, "Votes"), (tabular.interventions_csv, "Interventions")):
        assert [same_cells(row) for row in read_csv(build(held.meeting))] == [same_cells(row) for row in workbook[title]]


def test_csv_and_xlsx_neutralise_formulas_in_polls_and_votes(held):
    Poll.objects.filter(prompt=PRIORITY).update(prompt="@SUM(A1)")
    held.meeting.sessions.get(number=1).polls.get(prompt="Which channels do you use?").options.filter(label="Press").update(label="+33 press")

    polls_rows = read_csv(tabular.polls_csv(held.meeting))
    votes_rows = read_csv(tabular.votes_csv(held.meeting))

    assert polls_rows[1][3] == "'@SUM(A1)"
    assert [row[8] for row in votes_rows if row[5] == "multiple"] == ["'+33 press; Social media", "Social media"]
    assert [row[11] for row in votes_rows if row[5] == "text"][-1] == "'=1+1"
    assert sheets(tabular.polls_xlsx(held.meeting))["Votes"][1][4] == "'@SUM(A1)"


# --- JSON record ----------------------------------------------------------------------------------


def test_json_record_round_trip_brings_back_polls_votes_and_the_floor(held):
    before = record.build(held.meeting)
    summary_before = [(item.facts, item.headers, item.rows) for items in common.gather_polls(held.meeting, delegation_count=3).values() for item in items]
    empty_the_database()

    restored = record.restore_record(record.parse(before))

    assert record.build(restored) == before
    document = record.parse(before)
    assert [[poll["prompt"] for poll in session["polls"]] for session in document["sessions"]] == [
        [PRIORITY, "Which channels do you use?", NEVER_LAUNCHED],
        ["How ready is your centre of government?", "Rank the priorities", "One word for trust?"],
    ]
    assert document["sessions"][0]["polls"][0]["options"][0] == {"position": 1, "label": "Top priority", "benchmark_percent": "23.0"}
    assert [(entry["delegation"], entry["status"], entry["question"]) for entry in document["sessions"][0]["floor"]] == [
        ("FR", "done", [1, 2]), ("DE", "done", None), ("JP", "withdrawn", None)
    ]  # fmt: skip
    assert Vote.objects.filter(poll__session__meeting=restored).count() == 13
    assert list(
        FloorRequest.objects.filter(session__meeting=restored).order_by("session__number", "position").values_list("delegation__country", "status")
    ) == [("FR", "done"), ("DE", "done"), ("JP", "withdrawn"), ("JP", "speaking")]
    summary_after = [(item.facts, item.headers, item.rows) for items in common.gather_polls(restored, delegation_count=3).values() for item in items]
    assert summary_after == summary_before
    interventions = [(i.delegation, i.question, i.time, i.duration) for s in common.gather_summary(restored).sessions for i in s.interventions]
    assert interventions == [
        ("France", "Question 2", "10:05 – 10:08", "3 min 05 s"), ("Germany", "", "10:10 – 10:11", "1 min 30 s"),
        ("Japan", "", "11:00 –", ""),
    ]  # fmt: skip


def test_restored_delegate_votes_keep_one_vote_per_person(held):
    data = record.build(held.meeting)
    empty_the_database()

    meeting = record.restore_record(record.parse(data))

    scale = Poll.objects.get(session__meeting=meeting, kind="scale")
    assert sorted((vote.voter_key == f"u{vote.user_id}", vote.delegation.code, vote.scale_value) for vote in scale.votes.all()) == [
        (True, "DE", 9), (True, "FR", 6), (True, "FR", 8)
    ]  # fmt: skip


# --- Query counts ---------------------------------------------------------------------------------


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
        b"".join(response.streaming_content if response.streaming else [response.content])
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("fmt", ["summary-docx", "polls-csv", "votes-csv", "interventions-csv", "polls-xlsx", "json"])
def test_downloads_make_the_same_queries_for_2_and_20_voters_and_speakers(client, db, fmt):
    built = build_meeting()
    client.force_login(built.chair)
    url = reverse("records_download", args=[built.meeting.slug, fmt])
    add_contributions(built.meeting, 2)  # four more polls, 2 votes in each, 2 more interventions
    with_two = queries(client, url)
    Answer.objects.filter(text__startswith="Answer from").delete()  # one answer per delegation and question
    add_contributions(built.meeting, 20)  # four more polls again, 20 votes in each, 20 more interventions

    assert queries(client, url) == with_two
