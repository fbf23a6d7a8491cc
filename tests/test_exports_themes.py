"""The themes of answers in the JSON record: the chair's names and merges survive export and import_record."""

import pytest

from sessions_app.live import partials
from sessions_app.exports import record
from sessions_app.models import AnswerSynthesis, ConclusionRevision, Meeting, Question, Statement
from sessions_app.synthesis import compute, queries
from sessions_app.synthesis import services as synthesis

from .test_exports_record import empty_the_database
from .test_synthesis_console import room  # noqa: F401  the fixture: nine answers on water, schools and football

pytestmark = pytest.mark.django_db
NAME = "Climate <script>alert(1)</script> in schools"


def edited(room) -> Meeting:
    """The chair names the schools theme, merges it with the water theme, and takes it to a statement and a conclusion."""
    question, chair = room["question"], room["chair"]
    version = compute.synthesise_question(question.pk).version
    version = synthesis.rename_theme(user=chair, question=question, version=version, theme=1, name=NAME).version
    version = synthesis.merge_themes(user=chair, question=question, version=version, themes=[0, 1]).version
    synthesis.theme_to_statement(user=chair, question=question, version=version, theme=0)
    synthesis.theme_to_conclusion(user=chair, question=question, version=version, theme=0)
    return room["meeting"]


def shown_themes(meeting: Meeting) -> list[tuple[str, int, str]]:
    question = Question.objects.get(session__meeting=meeting)
    return [(row["label"], row["size"], row["quote"]) for row in queries.theme_panel(question, meeting)["themes"]]


def test_the_json_record_keeps_the_chairs_names_and_merges_of_themes_through_a_round_trip(room):  # noqa: F811
    meeting = edited(room)
    before = shown_themes(meeting)
    assert [(label, size) for label, size, _quote in before] == [(NAME, 8)]  # one theme: merged, and named
    first = record.build(meeting)
    [session] = record.parse(first)["sessions"]
    [question] = session["questions"]
    codes = sorted(str(a.delegation.country) for a in room["answers"][4:8])
    # Answers by natural key (session number, question position, delegation code), never by database id.
    assert question["themes"]["names"] == [{"members": [[session["number"], question["position"], code] for code in codes], "name": NAME}]
    assert len(question["themes"]["merges"]) == 1 and len(question["themes"]["merges"][0]) == 2
    empty_the_database()

    restored = record.restore_record(record.parse(first))

    assert record.build(restored) == first
    assert shown_themes(restored) == before
    assert Statement.objects.get(round__session__meeting=restored).text == NAME
    assert NAME in ConclusionRevision.objects.get(session__meeting=restored).text
    panel = partials.render("synthesis_question", **queries.theme_panel(Question.objects.get(session__meeting=restored), restored))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel and "<script>alert" not in panel


def test_a_record_written_before_themes_were_kept_still_restores(room):  # noqa: F811
    document = record.parse(record.build(edited(room)))
    for session in document["sessions"]:
        for question in session["questions"]:
            del question["themes"]
    empty_the_database()
    restored = record.restore_record(document)
    assert not AnswerSynthesis.objects.filter(question__session__meeting=restored).exists()


def test_a_theme_pointing_at_an_answer_not_in_the_record_restores_nothing(room):  # noqa: F811
    document = record.parse(record.build(edited(room)))
    document["meeting"]["slug"] = "another-slug"
    document["sessions"][0]["questions"][0]["themes"]["names"][0]["members"][0][2] = "ZW"
    with pytest.raises(record.RecordError, match=r"points at the answer \[\d+, \d+, 'ZW'\], which is not in the record"):
        record.restore_record(document)
    assert not Meeting.objects.filter(slug="another-slug").exists()
