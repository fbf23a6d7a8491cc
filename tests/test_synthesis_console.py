"""The themes of a question's answers on the chair's console: shown, renamed, merged, made a statement
or a draft conclusion; recomputed after answers; the attribution setting holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app import events, services
from sessions_app.live import renderers
from sessions_app.models import AnswerSynthesis, ConclusionRevision, Event, Meeting, OpinionRound, Statement
from sessions_app.synthesis import compute
from sessions_app.synthesis import services as synthesis

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, make_chair, make_delegate
from .test_synthesis_themes import OFF_TOPIC, SCHOOL, WATER

pytestmark = pytest.mark.django_db
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT")


@pytest.fixture
def room():
    question = QuestionFactory(text="How do you adapt to climate change?")
    meeting = question.session.meeting
    delegations = [DelegationFactory(country=code) for code in CODES]
    meeting.delegations.add(*delegations)
    answers = [AnswerFactory(question=question, delegation=d, text=t) for d, t in zip(delegations, WATER + SCHOOL + [OFF_TOPIC])]
    return {"question": question, "meeting": meeting, "session": question.session, "delegations": delegations,
            "answers": answers, "chair": make_chair()}


def console(client, room) -> str:
    return client.get(reverse("console", args=[room["meeting"].slug, room["session"].number])).content.decode()


def action(client, room, **data):
    url = reverse("synthesis_action", args=[room["meeting"].slug, room["question"].pk])
    return client.post(url, data, headers={"HX-Request": "true"})


def test_the_console_shows_each_theme_with_its_delegations_quote_and_outliers(client, room):
    compute.synthesise_question(room["question"].pk)
    client.force_login(room["chair"])
    page = console(client, room)
    assert "Themes of the answers" in page and "2 themes." in page
    assert "drought" in page and "4 delegations: Canada, France, Germany, Japan" in page
    themes = AnswerSynthesis.objects.get().result["themes"]
    quoted = {a.pk: a.text for a in room["answers"]}
    assert quoted[themes[0]["central"]] in page and quoted[themes[1]["central"]] in page
    assert "Answers unlike all others" in page and OFF_TOPIC in page


def test_under_the_chatham_house_rule_themes_give_counts_not_delegations(client, room):
    Meeting.objects.filter(pk=room["meeting"].pk).update(attribution=Meeting.Attribution.CHATHAM_HOUSE)
    compute.synthesise_question(room["question"].pk)
    client.force_login(room["chair"])
    html = action(client, room, action="recompute").content.decode()
    assert "4 delegations" in html
    assert not any(d.name in html for d in room["delegations"])


def test_before_any_answer_the_panel_says_themes_come_later(client, room):
    client.force_login(room["chair"])
    assert "No themes yet: they appear once delegations answer." in console(client, room)


def test_the_chair_renames_a_theme_and_the_name_survives_a_new_answer(client, room):
    version = compute.synthesise_question(room["question"].pk).version
    client.force_login(room["chair"])
    response = action(client, room, action="rename", version=version, theme=1, name="Climate <b>in</b> schools")
    html = response.content.decode()
    assert response.status_code == 200 and "The theme was renamed." in html
    assert "Climate &lt;b&gt;in&lt;/b&gt; schools" in html and "<b>in</b>" not in html
    AnswerFactory(question=room["question"], delegation=DelegationFactory(country="ES"),
                  text="Climate education and teacher training in each school.")
    result = compute.synthesise_question(room["question"].pk).result
    assert [t["name"] for t in result["themes"]] == ["Climate <b>in</b> schools", ""]


def test_an_edit_on_themes_recomputed_meanwhile_is_refused_and_changes_nothing(client, room):
    stale = compute.synthesise_question(room["question"].pk).version
    compute.synthesise_question(room["question"].pk)  # an answer arrived meanwhile
    client.force_login(room["chair"])
    response = action(client, room, action="rename", version=stale, theme=0, name="Water")
    assert response.status_code == 422 and "The themes changed since you loaded them" in response.content.decode()
    assert AnswerSynthesis.objects.get().edits == {}
    bad = action(client, room, action="rename", version=stale + 1, theme=7, name="Water")
    assert bad.status_code == 422 and "Choose one of the themes shown." in bad.content.decode()


def test_the_chair_merges_two_themes(client, room):
    version = compute.synthesise_question(room["question"].pk).version
    client.force_login(room["chair"])
    one = action(client, room, action="merge", version=version, themes=[0])
    assert one.status_code == 422 and "at least two themes" in one.content.decode()
    assert action(client, room, action="merge", version=version, themes=[0, 1]).status_code == 200
    synthesis_row = AnswerSynthesis.objects.get()
    assert [sorted(t["members"]) for t in synthesis_row.result["themes"]] == [[a.pk for a in room["answers"][:8]]]
    assert "1 theme." in console(client, room)


def test_a_theme_becomes_a_statement_of_the_questions_round_in_one_click(client, room):
    synthesis_row = compute.synthesise_question(room["question"].pk)
    client.force_login(room["chair"])
    html = action(client, room, action="statement", version=synthesis_row.version, theme=0).content.decode()
    assert "The theme is now a statement of the round" in html
    round = OpinionRound.objects.get()
    assert round.question == room["question"]
    central = next(a for a in room["answers"] if a.pk == synthesis_row.result["themes"][0]["central"])
    assert list(Statement.objects.values_list("text", "answer")) == [(central.text, central.pk)]
    # A named theme gives its name; the same round takes it.
    synthesis_row = synthesis.rename_theme(user=room["chair"], question=room["question"], version=synthesis_row.version, theme=1,
                                           name="Climate education belongs in every school")
    action(client, room, action="statement", version=synthesis_row.version, theme=1)
    assert OpinionRound.objects.count() == 1
    assert Statement.objects.order_by("position").last().text == "Climate education belongs in every school"


def test_a_theme_becomes_a_paragraph_of_the_draft_conclusions(client, room):
    services.save_conclusions(user=room["chair"], session=room["session"], text="The chair thanked delegations.")
    version = compute.synthesise_question(room["question"].pk).version
    client.force_login(room["chair"])
    assert action(client, room, action="conclusion", version=version, theme=0).status_code == 200
    text = ConclusionRevision.objects.filter(session=room["session"]).first().text
    first, second = text.split("\n\n")
    assert first == "The chair thanked delegations."
    assert second.startswith("drought, ") and "raised by 4 delegations (" in second and "Canada" in second
    assert ConclusionRevision.objects.count() == 2  # the earlier draft is kept


def test_delegates_cannot_touch_the_themes(client, room):
    version = compute.synthesise_question(room["question"].pk).version
    client.force_login(make_delegate(room["delegations"][0]))
    assert action(client, room, action="rename", version=version, theme=0, name="Ours").status_code == 403
    assert AnswerSynthesis.objects.get().edits == {}


def test_hostile_answers_are_escaped_in_the_themes(client, room):
    AnswerFactory(question=room["question"], delegation=DelegationFactory(country="BE"),
                  text="<script>alert(1)</script> drought irrigation water farmers")
    compute.synthesise_question(room["question"].pk)
    client.force_login(room["chair"])
    page = console(client, room)
    assert "<script>alert(1)</script>" not in page


def test_a_hidden_answer_leaves_the_themes(room):
    services.moderate_answer(user=room["chair"], answer=room["answers"][8], action="hide", reason="Off topic")
    result = compute.synthesise_question(room["question"].pk).result
    assert result["answers"] == 8 and result["outliers"] == []


def test_the_recomputed_themes_reach_the_console_as_a_live_fragment(room):
    synthesis_row = compute.synthesise_question(room["question"].pk)
    event = Event.objects.get(type=events.SYNTHESIS_CHANGED)
    assert event.payload == {"question": room["question"].pk, "version": synthesis_row.version}
    [(group, html)] = renderers.RENDERERS[event.type](event, room["meeting"])
    assert group == events.group_name(room["meeting"].pk, events.CONSOLE)
    html = html()
    assert f'id="synthesis-question-{room["question"].pk}"' in html and 'hx-swap-oob="true"' in html and "drought" in html


@pytest.mark.parametrize("questions", [1, 6])
def test_the_themes_cost_the_console_the_same_queries_however_many_questions(client, room, questions):
    for _ in range(questions - 1):
        other = QuestionFactory(session=room["session"])
        for delegation, text in zip(room["delegations"], WATER + SCHOOL):
            AnswerFactory(question=other, delegation=delegation, text=text)
    for question in room["session"].questions.all():
        compute.synthesise_question(question.pk)
    client.force_login(room["chair"])
    console(client, room)
    with CaptureQueriesContext(connection) as queries:
        console(client, room)
    themed = [q["sql"] for q in queries.captured_queries if "answersynthesis" in q["sql"]]
    assert len(themed) == 1


@pytest.mark.django_db(transaction=True)
def test_answers_submitted_are_followed_by_their_themes(settings):
    settings.FACILITATION = {**settings.FACILITATION, "SYNTHESIS_DELAY": 0.05}
    question = QuestionFactory()
    delegates = []
    for code, text in zip(CODES, WATER + SCHOOL):
        delegation = DelegationFactory(country=code)
        question.session.meeting.delegations.add(delegation)
        delegates.append((make_delegate(delegation), text))
    for index, (user, text) in enumerate(delegates):
        services.submit_answer(user=user, question=question, kind="answer", text=text, key=f"k{index}")
    compute.wait_for_syntheses()
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not AnswerSynthesis.objects.filter(result__answers=8).exists():
        time.sleep(0.05)
        compute.wait_for_syntheses()
    result = AnswerSynthesis.objects.get(question=question).result
    assert [len(t["members"]) for t in result["themes"]] == [4, 4]


def test_the_demo_meeting_shows_the_themes_of_its_answers():
    from django.core.management import call_command

    call_command("load_demo", quiet_accounts=True)
    [synthesis_row] = AnswerSynthesis.objects.all()
    [theme] = synthesis_row.result["themes"]
    assert len(theme["members"]) == 2 and "trust" in theme["terms"]


def test_answers_with_nothing_in_common_are_listed_apart_with_the_reason(client):
    question = QuestionFactory()
    meeting = question.session.meeting
    for code, text in (("FR", "Irrigation quotas for farmers."), ("DE", "Teacher training in schools.")):
        delegation = DelegationFactory(country=code)
        meeting.delegations.add(delegation)
        AnswerFactory(question=question, delegation=delegation, text=text)
    compute.synthesise_question(question.pk)
    client.force_login(make_chair())
    url = reverse("synthesis_action", args=[meeting.slug, question.pk])
    html = client.post(url, {"action": "recompute"}, headers={"HX-Request": "true"}).content.decode()
    assert "Too few answers with words in common for themes" in html and "The themes were computed again" in html
    assert "Answers unlike all others" in html and "France: " in html and "Teacher training in schools." in html
