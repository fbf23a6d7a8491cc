"""Opinion rounds in the records: the summary record's consensus and groups, the JSON record's round trip."""

import io

import docx
import pytest

from sessions_app.exports import docx_summary, record
from sessions_app.models import Delegation, Meeting, OpinionRound, Statement, StatementVote
from sessions_app.opinion import services

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, make_chair, make_delegate
from .test_exports_record import empty_the_database

pytestmark = pytest.mark.django_db
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def no_background_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": -1}


def voted_round(attribution=Meeting.Attribution.ATTRIBUTED):
    """Two blocs of four delegations voting opposite ways on eight statements, all agreeing on a ninth."""
    question = QuestionFactory(text="How do you counter misinformation?")
    session, meeting = question.session, question.session.meeting
    Meeting.objects.filter(pk=meeting.pk).update(attribution=attribution)
    meeting.refresh_from_db()
    delegations = [DelegationFactory(country=code) for code in CODES]
    meeting.delegations.add(*delegations)
    chair = make_chair()
    answer = AnswerFactory(question=question, delegation=delegations[0], text="Public service media must be funded.")
    round = services.open_round(user=chair, session=session, title="Misinformation", question=question)
    items = [services.add_statement(user=chair, round=round, text=f"Bloc statement {i}") for i in range(1, 9)]
    shared = services.add_statement_from_answer(user=chair, round=round, answer=answer)
    for i, delegation in enumerate(delegations):
        user = make_delegate(delegation)
        for j, statement in enumerate(items):
            services.cast_statement_vote(user=user, statement=statement, choice="agree" if (j < 4) != bool(i % 2) else "disagree")
        services.cast_statement_vote(user=user, statement=shared, choice="agree")
    services.analyse_round(round.pk)
    round.refresh_from_db()
    return {"meeting": meeting, "round": round, "delegations": delegations, "shared": shared, "question": question}


def texts_of(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return [p.text for p in document.paragraphs]


def test_the_summary_record_gives_each_rounds_consensus_and_groups_representative_statements():
    built = voted_round()
    texts = texts_of(docx_summary.build(built["meeting"]))
    start = texts.index("Statement rounds")
    section = texts[start:]
    assert section[1:3] == ["Misinformation", "8 delegations counted."]
    assert "The room agreed: Public service media must be funded." in section
    groups = [line for line in section if line.startswith("Group ")]
    # Two groups of four, lettered by size then by their first delegation's ISO code: CA's group is A.
    assert groups == ["Group A (4 delegations: Canada, Germany, Mexico, Norway)", "Group B (4 delegations: Chile, France, Japan, South Korea)"]
    a, b = (section.index(line) for line in groups)
    assert {line for line in section[b + 1:] if line.startswith(("agreed", "disagreed"))} >= {"agreed: Bloc statement 1"}
    assert any(line.startswith("agreed: Bloc statement 5") or line.startswith("disagreed: Bloc statement 1") for line in section[a + 1:b])


def test_under_the_chatham_house_rule_the_summarys_groups_are_counts():
    built = voted_round(Meeting.Attribution.CHATHAM_HOUSE)
    texts = texts_of(docx_summary.build(built["meeting"]))
    section = texts[texts.index("Statement rounds"):]
    assert [line for line in section if line.startswith("Group ")] == ["Group A (4 delegations)", "Group B (4 delegations)"]
    joined = "\n".join(section)
    assert not any(d.name in joined for d in built["delegations"])


def lettered_groups(round: OpinionRound) -> dict[str, list[str]]:
    """The round's groups as the pages letter them, each with its delegations' ISO codes."""
    codes = dict(Delegation.objects.values_list("pk", "country"))
    return {g["label"]: sorted(str(codes[m]) for m in g["members"]) for g in round.analysis["groups"]}


def test_the_json_record_keeps_rounds_statements_and_votes_through_a_round_trip():
    built = voted_round()
    groups_before = lettered_groups(built["round"])
    first = record.build(built["meeting"])
    document = record.parse(first)
    [entry] = document["sessions"][0]["rounds"]
    ref = [built["question"].session.number, built["question"].position]
    assert entry["title"] == "Misinformation" and entry["question"] == ref and len(entry["statements"]) == 9
    assert entry["statements"][8]["answer"] == [*ref, "FR"] and len(entry["statements"][8]["votes"]) == 8
    empty_the_database()

    restored = record.restore_record(record.parse(first))

    assert record.build(restored) == first
    round = OpinionRound.objects.get(session__meeting=restored)
    assert Statement.objects.filter(round=round).count() == 9 and StatementVote.objects.filter(statement__round=round).count() == 72
    # The same groups with the same letters, though the restore created the delegations in another
    # order (by code; the fixture made FR first): rows are ordered by ISO code, not by database id.
    assert lettered_groups(round) == groups_before == {"A": ["CA", "DE", "MX", "NO"], "B": ["CL", "FR", "JP", "KR"]}
    assert list(Delegation.objects.filter(country__in=CODES).order_by("pk").values_list("country", flat=True)) != list(CODES)


def test_a_record_with_a_damaged_round_restores_nothing():
    built = voted_round()
    document = record.parse(record.build(built["meeting"]))
    document["meeting"]["slug"] = "another-slug"
    document["sessions"][0]["rounds"][0]["statements"][0]["votes"][0]["choice"] = 7
    before = OpinionRound.objects.count()
    with pytest.raises(record.RecordError, match="nothing was imported"):
        record.restore_record(document)
    assert OpinionRound.objects.count() == before
    assert not Meeting.objects.filter(slug="another-slug").exists()


def test_a_record_written_before_rounds_were_kept_still_restores():
    built = voted_round()
    document = record.parse(record.build(built["meeting"]))
    for session in document["sessions"]:
        del session["rounds"]
    empty_the_database()
    restored = record.restore_record(document)
    assert not OpinionRound.objects.filter(session__meeting=restored).exists()
