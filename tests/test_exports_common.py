"""What goes into the records: the shared data gathering (exports/common.py) and the meeting the export tests use."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sessions_app.exports import common
from sessions_app.models import (
    Answer,
    AnswerRevision,
    ConclusionRevision,
    FloorRequest,
    Meeting,
    ModerationAction,
    Poll,
    PollOption,
    Practice,
    Theme,
    Visibility,
    Vote,
)

from .factories import (
    AnswerFactory,
    BlockFactory,
    DelegationFactory,
    MeetingFactory,
    PracticeFactory,
    QuestionFactory,
    SessionFactory,
    make_chair,
    make_delegate,
    make_secretariat,
)

T0 = datetime(2023, 11, 22, 9, 0, tzinfo=UTC)
HIDDEN_TEXT = "This answer was hidden by the chair."
HIDDEN_PRACTICE = "A practice hidden by the chair"


@dataclass
class Built:
    meeting: Meeting
    france: object
    germany: object
    japan: object
    chair: object
    secretariat: object
    delegate_fr: object


def stamp(model, pk, **times):
    """Set auto_now/auto_now_add times, which save() would overwrite."""
    model.objects.filter(pk=pk).update(**times)


def build_meeting(*, attribution: str = Meeting.Attribution.ATTRIBUTED, slug: str = "records-meeting") -> Built:
    """A two-session meeting with every kind of contribution the records show or leave out."""
    france, germany, japan = (DelegationFactory(country=code) for code in ("FR", "DE", "JP"))
    meeting = MeetingFactory(
        title="Annual Meeting of Centres of Government", slug=slug, place="Paris", attribution=attribution,
        start_date=T0.date(), end_date=(T0 + timedelta(days=1)).date(),
    )  # fmt: skip
    meeting.delegations.set([france, germany, japan])
    chair = make_chair(username=f"{slug}-chair", first_name="Claire", last_name="Chair")
    secretariat = make_secretariat(username=f"{slug}-secretariat")
    delegate_fr = make_delegate(france, username=f"{slug}-delegate-fr")
    delegate_de = make_delegate(germany, username=f"{slug}-delegate-de")

    one = SessionFactory(meeting=meeting, number=1, title="Democratic resilience")
    two = SessionFactory(meeting=meeting, number=2, title="Strategic foresight")
    paragraph = BlockFactory(session=one, position=1, number=7, text="Trust matters.")
    q1 = QuestionFactory(session=one, position=1, text="How does your centre of government build trust?")
    q2 = QuestionFactory(session=one, position=2, text="Which tools work best?")
    q3 = QuestionFactory(session=two, position=1, text="How do you use foresight?")

    a_fr = AnswerFactory(question=q1, delegation=france, text="We publish our plans.\n\nAnd we consult widely.",
                         created_by=delegate_fr, updated_by=delegate_fr, visibility=Visibility.PUBLISHED, starred=True)
    a_de = AnswerFactory(question=q1, delegation=germany, text="Wir haben ein Bürgerforum.", created_by=delegate_de,
                         updated_by=delegate_de)
    AnswerFactory(question=q1, delegation=japan, text=HIDDEN_TEXT, visibility=Visibility.HIDDEN, hidden_reason="Off topic")
    AnswerFactory(question=q2, delegation=france, kind=Answer.Kind.NO_CONTRIBUTION, text="")
    a_jp = AnswerFactory(question=q2, delegation=japan, kind=Answer.Kind.IN_WRITING, text="")
    a_dup = AnswerFactory(question=q3, delegation=germany, text="Foresight units in every ministry.")
    AnswerFactory(question=q3, delegation=japan, text="Also foresight units.", duplicate_of=a_dup)
    for offset, answer in enumerate([a_fr, a_de, a_jp, a_dup]):
        stamp(Answer, answer.pk, created_at=T0 + timedelta(minutes=offset), updated_at=T0 + timedelta(minutes=offset, seconds=30))
    revision = AnswerRevision.objects.create(answer=a_fr, kind="answer", text="We publish our plans.", author=delegate_fr)
    stamp(AnswerRevision, revision.pk, created_at=T0)

    digital = Theme.objects.create(meeting=meeting, name="Digital")
    participation = Theme.objects.create(meeting=meeting, name="Participation")
    p1 = PracticeFactory(session=one, delegation=france, title="Citizens' convention", description="150 citizens drawn by lot.",
                         link="https://example.org/convention", paragraph=paragraph, created_by=delegate_fr)
    p1.themes.set([participation, digital])
    p2 = PracticeFactory(session=one, delegation=germany, title="Open data portal", description="All plans online.", question=q1)
    p2.themes.set([digital])
    PracticeFactory(session=one, delegation=japan, title="Regional dialogues", description="Town halls.")
    PracticeFactory(session=two, delegation=japan, title=HIDDEN_PRACTICE, description="x", visibility=Visibility.HIDDEN)

    for minutes, text in ((10, "First draft."), (20, "Trust is built by openness.\n\nCentres of government lead.")):
        conclusion = ConclusionRevision.objects.create(session=one, text=text, author=chair)
        stamp(ConclusionRevision, conclusion.pk, created_at=T0 + timedelta(minutes=minutes))

    FloorRequest.objects.create(session=one, delegation=france, status="done", position=1, requested_by=delegate_fr,
                                started_at=T0 + timedelta(minutes=5), ended_at=T0 + timedelta(minutes=8), speaking_seconds=180)
    FloorRequest.objects.create(session=one, delegation=germany, status="withdrawn", position=2)

    poll = Poll.objects.create(session=one, prompt="Is trust rising?", kind="single", status="closed", benchmark_label="OECD average")
    yes = PollOption.objects.create(poll=poll, position=1, label="Yes", benchmark_percent=Decimal("41.4"))
    no = PollOption.objects.create(poll=poll, position=2, label="No")
    for delegation, option in ((france, yes), (germany, yes), (japan, no)):
        Vote.objects.create(poll=poll, voter_key=f"d{delegation.pk}", delegation=delegation).options.set([option])
    scale = Poll.objects.create(session=two, prompt="How ready are you?", kind="scale", status="closed", scope="delegate")
    Vote.objects.create(poll=scale, voter_key=f"u{delegate_fr.pk}", user=delegate_fr, delegation=france, scale_value=6)
    Vote.objects.create(poll=scale, voter_key=f"u{delegate_de.pk}", user=delegate_de, delegation=germany, scale_value=9)
    ranking = Poll.objects.create(session=two, prompt="Rank the priorities", kind="ranking", status="closed")
    first, second = (PollOption.objects.create(poll=ranking, position=n, label=label) for n, label in ((1, "Skills"), (2, "Data")))
    Vote.objects.create(poll=ranking, voter_key=f"d{france.pk}", delegation=france, ranking=[second.pk, first.pk])
    Vote.objects.create(poll=ranking, voter_key=f"d{japan.pk}", delegation=japan, ranking=[second.pk, first.pk])
    Poll.objects.create(session=two, prompt="A poll never opened", kind="text")

    ModerationAction.objects.create(meeting=meeting, actor=chair, action="star", answer=a_fr)
    ModerationAction.objects.create(meeting=meeting, actor=chair, action="hide", practice=Practice.objects.get(title=HIDDEN_PRACTICE), reason="Duplicate")
    ModerationAction.objects.create(meeting=meeting, actor=chair, action="close", question=q2)
    return Built(meeting, france, germany, japan, chair, secretariat, delegate_fr)


@pytest.fixture
def built(db) -> Built:
    return build_meeting()


@pytest.fixture
def built_chatham(db) -> Built:
    return build_meeting(attribution=Meeting.Attribution.CHATHAM_HOUSE, slug="chatham-meeting")


def test_clean_text_strips_xml_invalid_characters_and_keeps_newlines():
    assert common.clean_text("a\x00b\x0bc\x1fd\r\ne\tf\x85g") == "abcd\ne\tfg"


@pytest.mark.parametrize("value", ["=1+1", "+33 1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"])
def test_neutralise_formula_prefixes_an_apostrophe(value):
    assert common.neutralise_formula(value) == "'" + value


def test_neutralise_formula_leaves_plain_text():
    assert common.neutralise_formula("Plain = text") == "Plain = text"


def test_gather_summary_leaves_out_hidden_answers_and_orders_by_delegation(built):
    record = common.gather_summary(built.meeting)

    first = record.sessions[0].questions[0]
    assert [answer.delegation.code for answer in first.contributions] == ["FR", "DE"]  # France before Germany (English names)
    assert HIDDEN_TEXT not in [answer.text for q in record.sessions[0].questions for answer in q.contributions]
    assert [answer.delegation.code for answer in record.sessions[0].key_points] == ["FR"]
    assert record.sessions[0].conclusions == "Trust is built by openness.\n\nCentres of government lead."
    assert [item.request.delegation.code for item in record.sessions[0].interventions] == ["FR"]  # not the withdrawn request
    assert [d.code for d in record.delegations] == ["FR", "DE", "JP"]


def test_gather_summary_poll_results(built):
    record = common.gather_summary(built.meeting)

    single = record.sessions[0].polls[0]
    assert (single.results.voters, single.delegations_voted, single.delegation_count) == (3, 3, 3)
    assert [(o.label, o.count, o.percent, o.benchmark) for o in single.results.options] == [
        ("Yes", 2, 66.7, 41.4), ("No", 1, 33.3, None)
    ]  # fmt: skip
    scale, ranking = record.sessions[1].polls  # the poll never opened is left out
    assert (scale.results.scale_mean, scale.results.scale_median) == (7.5, 7.5)
    assert [(o.label, o.score, o.count) for o in ranking.results.options] == [("Data", 2.0, 2), ("Skills", 1.0, 0)]


def test_gather_summary_under_chatham_house_names_nobody(built_chatham):
    record = common.gather_summary(built_chatham.meeting)

    assert (record.attributed, record.delegations, record.delegation_count) == (False, [], 3)
    assert common.contribution_label(record.sessions[0].questions[0].contributions[0], record.attributed) == ""


def test_gather_summary_of_one_session(built):
    session = built.meeting.sessions.get(number=2)

    record = common.gather_summary(built.meeting, session=session)

    assert [item.session.number for item in record.sessions] == [2]


def test_gather_compendium_groups_by_theme_then_country(built):
    compendium = common.gather_compendium(built.meeting)

    one, two = compendium.sessions
    assert [(theme.name, [(g.delegation.code, [p.title for p in g.practices]) for g in theme.countries]) for theme in one.themes] == [
        ("Digital", [("FR", ["Citizens' convention"]), ("DE", ["Open data portal"])]),
        ("Participation", [("FR", ["Citizens' convention"])]),
        ("Other", [("JP", ["Regional dialogues"])]),
    ]
    assert (one.count, two.count, two.themes) == (3, 0, [])


def test_gather_compendium_under_chatham_house_has_no_country_level(built_chatham):
    compendium = common.gather_compendium(built_chatham.meeting)

    digital = compendium.sessions[0].themes[0]
    assert [(g.delegation, [p.title for p in g.practices]) for g in digital.countries] == [
        (None, ["Citizens' convention", "Open data portal"])
    ]


def test_practice_relates_to_paragraph_and_question(built):
    convention = Practice.objects.select_related("paragraph", "question").get(title="Citizens' convention")
    portal = Practice.objects.select_related("paragraph", "question").get(title="Open data portal")

    assert common.practice_relates_to(convention) == "paragraph 7"
    assert common.practice_relates_to(portal) == "question 1: How does your centre of government build trust?"


def test_web_link_refuses_scripts():
    assert (common.web_link("javascript:alert(1)"), common.web_link("https://a.example/x")) == ("", "https://a.example/x")
