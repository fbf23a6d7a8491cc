"""The live discussion over HTTP: delegates' forms, the console, the room screen and who may use them."""

import re

import pytest
from django.urls import reverse

from sessions_app import services
from sessions_app.models import Answer, FloorRequest, Poll, PollOption, Practice, Vote

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, make_chair, make_delegate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    france, germany = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    question = QuestionFactory()
    meeting = question.session.meeting
    meeting.delegations.add(france, germany)
    return {"question": question, "meeting": meeting, "session": question.session, "fr": make_delegate(france), "france": france}


def answer_url(world):
    return reverse("submit_answer", args=[world["meeting"].slug, world["question"].pk])


def console_url(world):
    return reverse("console", args=[world["meeting"].slug, world["session"].number])


def test_answer_form_posts_once_per_key_and_redirects_without_javascript(client, world):
    client.force_login(world["fr"])
    data = {"kind": "answer", "text": "Our centre co-ordinates.", "key": "abc-q1"}
    responses = [client.post(answer_url(world), data) for _ in range(3)]
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert Answer.objects.get().text == "Our centre co-ordinates."


def test_htmx_answer_replies_with_the_saved_status_a_new_key_and_the_button_out_of_band(client, world):
    """The form stays as the delegate left it (no swap of the card); only what changed is replaced."""
    client.force_login(world["fr"])
    pk = world["question"].pk
    response = client.post(answer_url(world), {"kind": "answer", "text": "<b>Yes</b>.", "key": "k"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    assert f'id="answer-status-q{pk}" role="status" hx-swap-oob="true"' in html and "Your answer was saved." in html
    key = re.search(rf'id="answer-key-{pk}" value="([^"]+)" data-submission-key hx-swap-oob="true"', html)[1]
    assert key.endswith(f"-q{pk}") and key != "k"
    assert f'id="answer-submit-{pk}"' in html and "Update the answer" in html
    assert "<b>" not in html


def test_empty_answer_shows_the_error_and_keeps_nothing(client, world):
    client.force_login(world["fr"])
    response = client.post(answer_url(world), {"kind": "answer", "text": "  ", "key": "k"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "The answer cannot be empty." in response.content.decode()
    assert Answer.objects.count() == 0


def test_oversized_answer_keeps_the_typed_text_in_the_form(client, world):
    client.force_login(world["fr"])
    text = "word " * 1200
    response = client.post(answer_url(world), {"kind": "answer", "text": text, "key": "k"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "the limit is 5000" in response.content.decode()
    assert text.strip() in response.content.decode()


def test_closed_question_form_is_disabled_on_the_page(client, world):
    world["question"].status = "closed"
    world["question"].save()
    client.force_login(world["fr"])
    html = client.get(reverse("session", args=[world["meeting"].slug, world["session"].number])).content.decode()
    assert f'id="answer-fieldset-{world["question"].pk}" disabled' in html
    assert "This question is closed" in html


@pytest.mark.parametrize(
    ("name", "method"),
    [("console", "get"), ("moderate_answer", "post"), ("moderate_answer", "get"), ("question_status", "post"), ("set_discussion", "post"),
     ("save_conclusions", "post")],
)
def test_delegate_gets_403_on_every_chair_url(client, world, name, method):
    answer = AnswerFactory(question=world["question"], delegation=world["france"])
    args = {
        "console": [world["meeting"].slug, world["session"].number],
        "moderate_answer": [world["meeting"].slug, answer.pk],
        "question_status": [world["meeting"].slug, world["question"].pk],
        "set_discussion": [world["meeting"].slug],
        "save_conclusions": [world["meeting"].slug, world["session"].number],
    }[name]
    client.force_login(world["fr"])
    response = getattr(client, method)(reverse(name, args=args), {"action": "star", "status": "closed", "question": world["question"].pk, "text": "x"})
    assert response.status_code == 403
    answer.refresh_from_db()
    assert (answer.starred, type(world["question"]).objects.get().status) == (False, "open")


def test_chair_cannot_answer_for_a_delegation(client, world):
    client.force_login(make_chair())
    response = client.post(answer_url(world), {"kind": "answer", "text": "x", "key": "k"})
    assert response.status_code == 403
    assert Answer.objects.count() == 0


def test_console_shows_answers_tally_and_who_has_not_answered(client, world):
    services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Ours", key="k")
    client.force_login(make_chair())
    html = client.get(console_url(world)).content.decode()
    assert "1 of 2 delegations answered" in html
    assert "Germany" in html and "Ours" in html


def test_console_moderation_over_htmx_returns_the_updated_card(client, world):
    answer = services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Ours", key="k")
    client.force_login(make_chair())
    url = reverse("moderate_answer", args=[world["meeting"].slug, answer.pk])
    response = client.post(url, {"action": "star"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Key point" in response.content.decode()
    refused = client.post(url, {"action": "hide", "reason": ""}, headers={"HX-Request": "true"})
    assert refused.status_code == 422
    answer.refresh_from_db()
    assert (answer.starred, answer.visibility) == (True, "pending")


def test_a_cards_hide_and_duplicate_forms_load_when_the_chair_opens_them(client, world):
    answer = services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Ours", key="k")
    germany = make_delegate(DelegationFactory(country="DE"))
    theirs = services.submit_answer(user=germany, question=world["question"], kind="answer", text="Theirs", key="k2")
    client.force_login(make_chair())
    url = reverse("moderate_answer", args=[world["meeting"].slug, answer.pk])
    card = client.get(console_url(world)).content.decode()
    assert f'hx-get="{url}" hx-trigger="toggle once"' in card and "Reason for hiding" not in card  # folded, not sent

    forms = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'<label for="reason-answer-{answer.pk}">Reason for hiding</label>' in forms
    # The answer it duplicates is chosen among the question's other answers, by the delegation's name.
    assert f'<label for="dup-{answer.pk}">Duplicate of the answer of</label>' in forms
    assert f'<select id="dup-{answer.pk}" name="duplicate_of" required><option value="">Choose a delegation</option><option value="DE">Germany</option></select>' in forms
    assert f'hx-post="{url}"' in forms and 'name="csrfmiddlewaretoken"' in forms
    answer.refresh_from_db()
    assert (answer.visibility, answer.starred) == ("pending", False)  # looking changes nothing

    marked = client.post(url, {"action": "duplicate", "duplicate_of": "DE"}, headers={"HX-Request": "true"})
    assert marked.status_code == 200 and "Duplicate of the answer of Germany." in marked.content.decode()
    assert Answer.objects.get(pk=answer.pk).duplicate_of == theirs

    hidden = client.post(url, {"action": "hide", "reason": "Off topic"}, headers={"HX-Request": "true"})
    assert hidden.status_code == 200 and "Hidden: Off topic" in hidden.content.decode()

    practice = services.save_practice(user=world["fr"], session=world["session"], title="VIGINUM", description="A service.", key="p")
    practice_forms = client.get(reverse("moderate_practice", args=[world["meeting"].slug, practice.pk]), headers={"HX-Request": "true"})
    assert "Reason for hiding" in practice_forms.content.decode() and "Duplicate of" not in practice_forms.content.decode()


@pytest.mark.parametrize("answers", [1, 30])
def test_console_query_count_does_not_grow_with_answers(client, django_assert_num_queries, answers):
    """Nor with speakers on the list or votes in a poll."""
    question = QuestionFactory()
    meeting = question.session.meeting
    poll = Poll.objects.create(session=question.session, prompt="Priority?", status=Poll.Status.OPEN)
    options = [PollOption.objects.create(poll=poll, position=i, label=f"Option {i}") for i in (1, 2)]
    codes = ["FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT", "ES", "AT", "BE", "CH", "CZ", "DK", "EE", "FI", "GB", "GR", "HU", "IE", "IL", "IS", "LT", "LU", "LV", "NL", "NZ", "PL", "PT"]
    for position, code in enumerate(codes[:answers], start=1):
        delegation = DelegationFactory(country=code)
        meeting.delegations.add(delegation)
        AnswerFactory(question=question, delegation=delegation)
        FloorRequest.objects.create(session=question.session, delegation=delegation, position=position)
        Vote.objects.create(poll=poll, voter_key=f"d{delegation.pk}", delegation=delegation).options.set([options[0]])
    Practice.objects.create(session=question.session, delegation=meeting.delegations.first(), title="P", description="D")
    client.force_login(make_chair())
    # 23, the opinion rounds with the questions to open one on (issue 25), who answered what (cards on demand),
    # the themes of the questions (issue 25); less the participant, read with the user (access.ParticipantBackend)
    with django_assert_num_queries(27):
        assert client.get(reverse("console", args=[meeting.slug, question.session.number])).status_code == 200


@pytest.mark.parametrize("others", [0, 30])
def test_an_answer_posted_with_htmx_costs_the_same_queries_however_full_the_session(client, django_assert_num_queries, world, others):
    """The reply re-renders the one question, not the session page (briefing, other questions, polls)."""
    session = world["session"]
    for position in range(others):
        QuestionFactory(session=session)
        session.blocks.create(position=position, kind="paragraph", html=f"<p>Paragraph {position}</p>", number=position + 1)
    for code in ["DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT", "ES", "AT"][: others // 3]:
        AnswerFactory(question=world["question"], delegation=DelegationFactory(country=code))
    client.force_login(world["fr"])
    # the session, the user with its participant, the meeting wall's, then the batch's (its authors read afresh, for a
    # socket's user was read when it connected; the question among them)
    with django_assert_num_queries(15):
        response = client.post(answer_url(world), {"kind": "answer", "text": "Yes.", "key": f"k{others}"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "Your answer was saved." in html and "Saved by" in html


def test_practice_form_creates_once_and_lists_it_for_the_delegation(client, world):
    client.force_login(world["fr"])
    url = reverse("new_practice", args=[world["meeting"].slug, world["session"].number])
    data = {"title": "VIGINUM", "description": "Service against foreign digital interference.", "link": "", "themes": "co-ordination", "key": "p1"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Practice.objects.count() == 1
    html = client.get(reverse("session", args=[world["meeting"].slug, world["session"].number])).content.decode()
    assert "VIGINUM" in html


def test_practice_form_error_keeps_input(client, world):
    client.force_login(world["fr"])
    url = reverse("new_practice", args=[world["meeting"].slug, world["session"].number])
    response = client.post(url, {"title": "<b>T</b>", "description": "", "key": "p1"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "The description cannot be empty." in html and "&lt;b&gt;T&lt;/b&gt;" in html


def test_published_answers_visible_to_delegates_only_when_the_meeting_says_so(client, world):
    answer = services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Shared view", key="k")
    services.moderate_answer(user=make_chair(), answer=answer, action="publish")
    germany_delegate = make_delegate(world["meeting"].delegations.get(country="DE"))
    client.force_login(germany_delegate)
    url = reverse("session", args=[world["meeting"].slug, world["session"].number])
    assert "Shared view" not in client.get(url).content.decode()
    world["meeting"].answer_visibility = "published"
    world["meeting"].save()
    html = client.get(url).content.decode()
    assert "Shared view" in html
    assert f'id="published-q{world["question"].pk}"' in html  # where the live updates land


def test_a_published_no_contribution_is_not_listed_among_published_answers(client, world):
    chair = make_chair()
    world["meeting"].answer_visibility = "published"
    world["meeting"].save()
    silent = services.submit_answer(user=world["fr"], question=world["question"], kind="none", text="", key="k")
    services.moderate_answer(user=chair, answer=silent, action="publish")
    client.force_login(make_delegate(world["meeting"].delegations.get(country="DE")))
    html = client.get(reverse("session", args=[world["meeting"].slug, world["session"].number])).content.decode()
    assert 'class="published-list"' not in html  # no empty "France:" line


def test_room_screen_shows_starred_answers_without_names_under_chatham_house(client, world):
    answer = services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    chair = make_chair()
    services.set_discussion(user=chair, meeting=world["meeting"], question=world["question"])
    services.moderate_answer(user=chair, answer=answer, action="star")
    client.force_login(chair)
    url = reverse("screen", args=[world["meeting"].slug])
    assert "France" in client.get(url).content.decode()
    type(world["meeting"]).objects.filter(pk=world["meeting"].pk).update(attribution="chatham")
    html = client.get(url).content.decode()
    assert "Key idea" in html and "France" not in html


CODES = ["FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT", "ES", "AT", "BE", "CH", "CZ", "DK", "EE", "FI", "GB", "GR", "HU",
         "IE", "IL", "IS", "LT", "LU", "LV", "NL", "NZ", "PL", "PT"]  # fmt: skip


def answered_question(session, answers: int, *, position: int):
    question = QuestionFactory(session=session, position=position)
    for code in CODES[:answers]:
        delegation = DelegationFactory(country=code) if not session.meeting.delegations.filter(country=code).exists() else session.meeting.delegations.get(country=code)
        session.meeting.delegations.add(delegation)
        AnswerFactory(question=question, delegation=delegation, text=f"{code} on question {position}")
    return question


def test_console_shows_open_only_the_questions_whose_answers_fit_and_counts_every_one(client, settings):
    """A question with many answers is closed on the first render: its tally, not its cards."""
    settings.FACILITATION = {**settings.FACILITATION, "CONSOLE_OPEN_CARDS": 3}
    few = QuestionFactory(position=1)
    session = few.session
    many = answered_question(session, 5, position=2)
    AnswerFactory(question=few, delegation=session.meeting.delegations.get(country="FR"), text="FR on question 1")
    client.force_login(make_chair())
    html = client.get(reverse("console", args=[session.meeting.slug, session.number])).content.decode()

    # The cards' own texts: "on question 2" alone is also in a question's "Discussion question 2…?",
    # whose number is the factory's sequence (so it failed after 1, 19-28, … earlier questions).
    assert "FR on question 1" in html and [code for code in CODES[:5] if f"{code} on question 2" in html] == []
    assert f'id="answers-q{many.pk}" data-answers="unloaded" hidden' in html
    assert f'id="answers-q{few.pk}" data-answers="loaded"' in html
    assert re.search(rf'name="open" value="{many.pk}" aria-expanded="false" aria-controls="answers-q{many.pk}"', html)
    assert f'aria-expanded="true" aria-controls="answers-q{few.pk}"' in html
    assert "5 of 5 delegations answered" in html and "1 of 5 delegations answered" in html


def test_console_opens_the_question_under_discussion_first(client, settings):
    settings.FACILITATION = {**settings.FACILITATION, "CONSOLE_OPEN_CARDS": 3}
    first = QuestionFactory(position=1)
    session = first.session
    answered_question(session, 2, position=2)
    discussed = answered_question(session, 3, position=3)
    AnswerFactory(question=first, delegation=session.meeting.delegations.get(country="FR"))
    Meeting = session.meeting.__class__
    Meeting.objects.filter(pk=session.meeting_id).update(current_question=discussed, current_session=session)
    client.force_login(make_chair())
    html = client.get(reverse("console", args=[session.meeting.slug, session.number])).content.decode()
    assert f'id="answers-q{discussed.pk}" data-answers="loaded"' in html and "DE on question 3" in html
    assert f'id="answers-q{first.pk}" data-answers="unloaded"' in html  # the budget went to the question discussed


def test_opening_a_closed_question_loads_its_cards_and_the_seq_they_are_as_of(client, settings):
    settings.FACILITATION = {**settings.FACILITATION, "CONSOLE_OPEN_CARDS": 0}
    question = answered_question(QuestionFactory(position=1).session, 3, position=2)
    meeting = question.session.meeting
    meeting.refresh_from_db()
    client.force_login(make_chair())
    url = reverse("console", args=[meeting.slug, question.session.number])
    fragment = client.get(url, {"open": question.pk}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert f'data-answers-seq="{meeting.last_seq}" data-answers-count="3"' in html
    assert [code for code in CODES[:3] if f"{code} on question 2" in html] == CODES[:3]
    assert html.count('class="answer-card') == 3

    # Without JavaScript the button reloads the console with the question open.
    page = client.get(url, {"open": question.pk}).content.decode()
    assert f'id="answers-q{question.pk}" data-answers="loaded"' in page and "JP on question 2" in page


def test_opening_a_question_refuses_what_it_cannot_show(client):
    question = QuestionFactory()
    other = QuestionFactory()  # another meeting's
    AnswerFactory(question=other, text="Not for this console")
    url = reverse("console", args=[question.session.meeting.slug, question.session.number])
    client.force_login(make_chair())
    assert client.get(url, {"open": other.pk}, headers={"HX-Request": "true"}).status_code == 404
    assert client.get(url, {"open": "x"}, headers={"HX-Request": "true"}).status_code == 404
    assert "Not for this console" not in client.get(url, {"open": other.pk}).content.decode()
    client.force_login(make_delegate(DelegationFactory(country="FR")))
    assert client.get(url, {"open": question.pk}, headers={"HX-Request": "true"}).status_code == 403


@pytest.mark.parametrize("answers", [1, 30])
def test_opening_a_question_costs_the_same_queries_however_many_answers(client, django_assert_num_queries, answers):
    question = answered_question(QuestionFactory().session, answers, position=2)
    url = reverse("console", args=[question.session.meeting.slug, question.session.number])
    client.force_login(make_chair())
    with django_assert_num_queries(5):  # sign-in with the role, the session, the question, its answers
        response = client.get(url, {"open": question.pk}, headers={"HX-Request": "true"})
    assert response.content.decode().count('class="answer-card') == answers


def test_delegation_page_says_its_hidden_answer_is_hidden_by_the_moderator_not_deleted(client, world):
    answer = services.submit_answer(user=world["fr"], question=world["question"], kind="answer", text="Off topic", key="k")
    services.moderate_answer(user=make_chair(), answer=answer, action="hide", reason="Not about the question")
    client.force_login(world["fr"])
    page = reverse("session", args=[world["meeting"].slug, world["session"].number])

    english = client.get(page).content.decode()
    french = client.get(page, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "Hidden by the moderator: your answer is kept, not deleted" in english
    assert "Masquée par la modération\u00a0: votre réponse est conservée, pas supprimée" in french
    assert "Not about the question" not in english  # the chair's reason stays on the console
    services.moderate_answer(user=make_chair(), answer=answer, action="publish")
    assert "Hidden by the moderator" not in client.get(page).content.decode()
