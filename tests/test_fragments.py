"""The answer fragments written in Python (sessions_app/fragments.py): what a chair and a delegate see."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from sessions_app import fragments, queries, services
from sessions_app.live import renderers
from sessions_app.models import Event

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, make_chair, make_delegate


@pytest.fixture
def answered():
    france = DelegationFactory(country="FR")
    question = QuestionFactory()
    question.session.meeting.delegations.add(france)
    delegate = make_delegate(france, first_name="Amélie", last_name="<b>Martin</b>")
    answer = services.submit_answer(user=delegate, question=question, kind="answer", key="k1",
                                    text="First line <script>alert(1)</script>\nSecond & 'last' line")  # fmt: skip
    return {"question": question, "answer": queries.answer_for_console(answer.pk), "meeting": question.session.meeting, "delegate": delegate}


@pytest.mark.django_db
def test_an_answer_card_escapes_what_delegates_wrote_and_keeps_their_lines(answered):
    html = fragments.answer_card(answered["answer"], answered["meeting"])

    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;<br>Second &amp; &#x27;last&#x27; line" in html
    assert "Last saved by Amélie &lt;b&gt;Martin&lt;/b&gt; at " in html and "<b>Martin" not in html
    assert 'class="badge">Not yet reviewed<' in html
    url = reverse("moderate_answer", args=[answered["meeting"].slug, answered["answer"].pk])
    assert f'hx-post="{url}"' in html and ">Publish</button>" in html and ">★ Star as key point</button>" in html


@pytest.mark.django_db
def test_a_hidden_starred_or_duplicate_answer_shows_it_and_only_the_actions_that_apply(answered):
    answer, meeting = answered["answer"], answered["meeting"]
    other = AnswerFactory(question=answered["question"], delegation=DelegationFactory(country="DE"))
    answer.visibility, answer.hidden_reason, answer.duplicate_of = "hidden", "Off <topic>", other

    hidden = fragments.answer_card(answer, meeting)
    assert 'class="answer-card is-hidden"' in hidden and "Hidden: Off &lt;topic&gt;" in hidden
    assert "Duplicate of the answer of Germany." in hidden
    assert "Star as key point" not in hidden and "mod-more" not in hidden  # nothing to hide any more

    answer.visibility, answer.starred, answer.hidden_reason, answer.duplicate_of = "published", True, "", None
    starred = fragments.answer_card(answer, meeting)
    assert 'class="answer-card is-starred"' in starred and "★ Key point" in starred and ">Unstar</button>" in starred
    assert ">Publish</button>" not in starred and 'class="badge badge-ok">Published<' in starred


@pytest.mark.django_db
def test_fragments_speak_the_active_language(answered):
    answer = answered["answer"]
    answer.kind = "writing"
    with translation.override("fr"):
        card = fragments.answer_card(answer, answered["meeting"])
        status = fragments.answer_saved_status(answer, saved_now=True)
    with translation.override("en"):
        english = fragments.answer_saved_status(answer)
    assert 'class="badge">Pas encore examinée<' in card and "To be sent in writing" not in card and "Last saved by" not in card
    assert "Enregistré\u00a0: à transmettre par écrit. Enregistré par Amélie" in status and "Votre réponse a été enregistrée." in status
    assert english.startswith('<p class="answer-saved"') and "Recorded: to be sent in writing. Saved by Amélie" in english


@pytest.mark.django_db
def test_the_console_page_and_the_live_message_show_one_card(client, answered):
    chair = make_chair()
    client.force_login(chair)
    session = answered["question"].session
    page = client.get(reverse("console", args=[answered["meeting"].slug, session.number])).content.decode()
    messages = {group: html for group, html, _seq in renderers.render_batch(list(Event.objects.order_by("seq")))}
    live_html = messages[f"meeting.{answered['meeting'].pk}.console"]["en"]

    def card(html):
        found = re.search(r'<article class="answer-card.*?</article>', html, re.S).group(0)
        found = re.sub(r' hx-swap-oob="true"|\s*<input type="hidden" name="csrfmiddlewaretoken"[^>]*>', "", found)
        return re.sub(r"\s+", " ", found)

    assert card(page) == card(live_html)
    in_page = re.search(r'<article class="answer-card.*?</article>', page, re.S).group(0)
    assert 'name="csrfmiddlewaretoken"' in in_page  # the page's forms post without htmx too


@pytest.mark.django_db
def test_the_reply_to_a_saved_answer_replaces_the_status_the_key_and_the_button(answered):
    answer = answered["answer"]
    html = fragments.answer_saved_reply(answer, form_key="abc<")
    qid = answer.question_id
    assert f'id="answer-status-q{qid}" role="status" hx-swap-oob="true"' in html and "Your answer was saved." in html
    assert f'value="abc&lt;-q{qid}"' in html and f'id="answer-submit-q{qid}"' not in html
    assert f'id="answer-submit-{qid}" class="button button-primary" hx-swap-oob="true">Update the answer</button>' in html
    assert f'data-saved="{answer.pk}.' in html
    assert fragments.answer_saved_status(None, question=answered["question"]).endswith(">Your delegation has not answered yet.</p>")
