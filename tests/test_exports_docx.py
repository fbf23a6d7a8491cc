"""The Word documents, opened again with python-docx: what the secretariat will read."""

import io

import docx
import pytest

from sessions_app.exports import docx_compendium, docx_summary
from sessions_app.models import Answer, Meeting, Practice

from .factories import AnswerFactory, PracticeFactory
from .test_exports_common import HIDDEN_PRACTICE, HIDDEN_TEXT, build_meeting

NAMES = ("France", "Germany", "Japan")


def open_docx(data: bytes):
    return docx.Document(io.BytesIO(data))


def all_texts(document) -> list[str]:
    """Every paragraph and every table cell, in document order (tables after paragraphs)."""
    texts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            texts += [cell.text for cell in row.cells]
    return texts


def headings(document, level: int) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == f"Heading {level}"]


def table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


@pytest.fixture
def built(db):
    return build_meeting()


@pytest.fixture
def built_chatham(db):
    return build_meeting(attribution=Meeting.Attribution.CHATHAM_HOUSE, slug="chatham-meeting")


def test_summary_docx_has_the_meeting_header_and_a_section_per_session(built):
    document = open_docx(docx_summary.build(built.meeting))

    assert [p.text for p in document.paragraphs[:5]] == [
        "Annual Meeting of Centres of Government",
        "Summary record",
        "Paris · 22 November 2023 – 23 November 2023",
        "Participating delegations",
        "France, Germany, Japan",
    ]
    assert headings(document, 1) == ["Participating delegations", "Session 1. Democratic resilience", "Session 2. Strategic foresight"]
    assert headings(document, 2)[:6] == [
        "Discussion questions", "Chair's conclusions", "Key points", "Contributions of delegations", "Polls", "Interventions"
    ]  # fmt: skip


def test_summary_docx_attributes_contributions_and_shows_kinds(built):
    texts = all_texts(open_docx(docx_summary.build(built.meeting)))

    assert "France: We publish our plans." in texts
    assert "Germany: Wir haben ein Bürgerforum." in texts
    assert "France: No contribution" in texts
    assert "Japan: To be sent in writing" in texts
    assert "Trust is built by openness." in texts
    assert "First draft." not in texts  # only the latest conclusions


def test_summary_docx_key_points_are_one_bullet_each(built):
    document = open_docx(docx_summary.build(built.meeting))

    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert bullets == ["France: We publish our plans.\nAnd we consult widely."]


def test_summary_docx_leaves_out_hidden_answers(built):
    texts = all_texts(open_docx(docx_summary.build(built.meeting)))

    assert [text for text in texts if HIDDEN_TEXT in text] == []


def test_summary_docx_lists_poll_results_and_interventions(built):
    document = open_docx(docx_summary.build(built.meeting))

    single, interventions, scale, ranking = document.tables
    assert table_rows(single) == [
        ["Option", "Votes", "Share of voters", "Benchmark: OECD average"], ["Yes", "2", "66.7%", "41.4%"], ["No", "1", "33.3%", ""]
    ]  # fmt: skip
    assert table_rows(interventions) == [["Delegation", "Question", "Time", "Duration"], ["France", "", "10:05 – 10:08", "3 min 00 s"]]
    assert table_rows(scale)[7] == ["6", "1", "50%"]
    assert table_rows(ranking) == [["Option", "Average points", "First places"], ["Data", "2", "2"], ["Skills", "1", "0"]]
    texts = all_texts(document)
    assert "Average 7.5 · median 7.5 (0 to 10)" in texts
    assert "1 intervention was made from the floor." in texts


def test_summary_docx_of_one_session(built):
    session = built.meeting.sessions.get(number=2)

    document = open_docx(docx_summary.build(built.meeting, session=session))

    assert document.paragraphs[1].text == "Summary record of session 2"
    assert headings(document, 1) == ["Participating delegations", "Session 2. Strategic foresight"]


def test_summary_docx_under_chatham_house_names_no_delegation(built_chatham):
    document = open_docx(docx_summary.build(built_chatham.meeting))

    texts = all_texts(document)
    assert [text for text in texts if any(name in text for name in NAMES)] == []
    assert "3 delegations took part." in texts
    assert "We publish our plans.\nAnd we consult widely." in texts
    assert "No contribution" in texts
    assert "1 intervention was made from the floor." in texts
    assert [table_rows(table)[0][0] for table in document.tables] == ["Option", "Value", "Option"]  # no table of interventions


def test_compendium_docx_groups_by_session_theme_and_country(built):
    document = open_docx(docx_compendium.build(built.meeting))

    assert document.paragraphs[1].text == "Compendium of country practices"
    assert headings(document, 1) == ["Session 1. Democratic resilience", "Session 2. Strategic foresight"]
    assert headings(document, 2) == ["Digital", "Participation", "Other"]
    assert headings(document, 3) == ["France", "Germany", "France", "Japan"]
    assert headings(document, 4) == ["Citizens' convention", "Open data portal", "Citizens' convention", "Regional dialogues"]
    texts = all_texts(document)
    assert "Delegation: France" in texts
    assert "Link: https://example.org/convention" in texts
    assert "Relates to: paragraph 7" in texts
    assert "Relates to: question 1: How does your centre of government build trust?" in texts
    assert "No practice was shared in this session." in texts
    assert [text for text in texts if HIDDEN_PRACTICE in text] == []


def test_compendium_docx_link_is_a_hyperlink(built):
    document = open_docx(docx_compendium.build(built.meeting))

    targets = [rel.target_ref for rel in document.part.rels.values() if rel.reltype.endswith("/hyperlink")]
    assert targets == ["https://example.org/convention"]


def test_compendium_docx_under_chatham_house_names_no_delegation(built_chatham):
    document = open_docx(docx_compendium.build(built_chatham.meeting))

    assert [text for text in all_texts(document) if any(name in text for name in NAMES)] == []
    assert headings(document, 3) == []
    assert headings(document, 4) == ["Citizens' convention", "Open data portal", "Citizens' convention", "Regional dialogues"]


def test_docx_exports_survive_markup_control_characters_and_long_words(built):
    question = built.meeting.sessions.get(number=2).questions.get()
    long_word = "Donaudampfschifffahrt" * 400
    Answer.objects.filter(question=question, delegation=built.germany).update(
        text="<script>alert(1)</script> & <b>bold</b>\x01\x07\x1b\x0b end " + long_word
    )
    AnswerFactory(question=question, delegation=built.france, text="\x01", starred=True)
    PracticeFactory(
        session=question.session, delegation=built.germany, title="Bad\x08 title <i>", description="\x1f\ufffe" + long_word,
        link="javascript:alert(1)",
    )
    built.meeting.title = "Meeting\x0c title"
    built.meeting.save()

    summary = all_texts(open_docx(docx_summary.build(built.meeting)))
    compendium = open_docx(docx_compendium.build(built.meeting))

    assert f"Germany: <script>alert(1)</script> & <b>bold</b> end {long_word}" in summary
    assert "Meeting title" in summary
    assert "Bad title <i>" in headings(compendium, 4)
    assert "Link: javascript:alert(1)" in all_texts(compendium)
    assert [rel.target_ref for rel in compendium.part.rels.values() if rel.reltype.endswith("/hyperlink")] == [
        "https://example.org/convention"
    ]


def test_docx_core_properties_name_the_meeting(built):
    document = open_docx(docx_summary.build(built.meeting))

    assert (document.core_properties.title, document.core_properties.language) == (
        "Annual Meeting of Centres of Government — Summary record",
        "en",
    )


def test_summary_docx_of_the_demo_meeting_opens(seed_meeting):
    document = open_docx(docx_summary.build(seed_meeting))

    assert len(headings(document, 1)) == 1 + seed_meeting.sessions.count()
    assert Practice.objects.count() == 0
