"""The opinion round's pages as a tester found them: CSRF after the last vote, French decimal commas in the
map, reviewing one's votes, consensus against divisive, group names in the reader's order, the room screen."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sessions_app.models import Statement, StatementVote
from sessions_app.opinion import analysis, queries, services

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate

pytestmark = pytest.mark.django_db
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def no_background_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": -1}


@pytest.fixture
def room():
    session = SessionFactory()
    delegations = [DelegationFactory(country=code) for code in CODES]
    session.meeting.delegations.add(*delegations)
    return {"session": session, "meeting": session.meeting, "chair": make_chair(), "delegations": delegations,
            "delegates": [make_delegate(d) for d in delegations]}


def page_url(room):
    return reverse("session", args=[room["meeting"].slug, room["session"].number])


def token_of(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "no CSRF token in the fragment"
    return found.group(1)


def test_after_the_last_vote_the_proposal_form_carries_a_working_csrf_token(room):
    round = services.open_round(user=room["chair"], session=room["session"], title="Round", order="chair",
                                proposals_allowed=True)
    only = services.add_statement(user=room["chair"], round=round, text="The only statement")
    client = Client(enforce_csrf_checks=True)
    client.force_login(room["delegates"][0])
    page = client.get(page_url(room)).content.decode()
    vote = reverse("opinion_vote", args=[room["meeting"].slug, only.pk])
    response = client.post(vote, {"choice": "agree", "csrfmiddlewaretoken": token_of(page)}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Propose a statement" in fragment
    propose = reverse("opinion_propose", args=[room["meeting"].slug, round.pk])
    proposed = client.post(propose, {"text": "A statement from a delegation", "csrfmiddlewaretoken": token_of(fragment)})
    assert proposed.status_code == 302
    assert Statement.objects.filter(text="A statement from a delegation", status=Statement.Status.PENDING).exists()


def test_the_panel_pushed_live_posts_its_proposal_through_htmx_with_the_page_token(room):
    """The socket pushes the panel to every delegate of a delegation, so it cannot hold one person's token:
    its forms post through htmx, which sends the page's token in a header."""
    from sessions_app.templatetags.opinion import delegate_context

    round = services.open_round(user=room["chair"], session=room["session"], title="Round", proposals_allowed=True)
    only = services.add_statement(user=room["chair"], round=round, text="The only statement")
    services.cast_statement_vote(user=room["delegates"][0], statement=only, choice="agree")
    pushed = render_to_string("sessions_app/partials/opinion_delegate.html",
                              delegate_context(room["session"], room["meeting"], room["delegations"][0]))
    propose = reverse("opinion_propose", args=[room["meeting"].slug, round.pk])
    assert f'hx-post="{propose}"' in pushed
    client = Client(enforce_csrf_checks=True)
    client.force_login(room["delegates"][0])
    token = token_of(client.get(page_url(room)).content.decode())
    answer = client.post(propose, {"text": "From a delegation"}, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert answer.status_code == 200
    assert "the chair reviews your statement" in answer.content.decode() and 'name="csrfmiddlewaretoken"' in answer.content.decode()
    assert Statement.objects.filter(text="From a delegation", status=Statement.Status.PENDING).count() == 1
    assert client.post(propose, {"text": "Without a token"}, headers={"HX-Request": "true"}).status_code == 403


def test_after_voting_on_all_statements_a_delegation_reviews_and_changes_its_votes(client, room):
    round = services.open_round(user=room["chair"], session=room["session"], title="Round", order="chair")
    first = services.add_statement(user=room["chair"], round=round, text="First statement")
    second = services.add_statement(user=room["chair"], round=round, text="Second <b>statement</b>")
    client.force_login(room["delegates"][0])
    for statement in (first, second):
        last = client.post(reverse("opinion_vote", args=[room["meeting"].slug, statement.pk]), {"choice": "agree"},
                           headers={"HX-Request": "true"}).content.decode()
    assert "voted on all 2 statements" in last
    assert "Review and change your delegation" in last and "<details class=\"opinion-review\" open>" in last
    assert "First statement" in last and "Second &lt;b&gt;statement&lt;/b&gt;" in last
    assert last.count('value="agree" class="button button-small" aria-pressed="true"') == 2
    changed = client.post(reverse("opinion_vote", args=[room["meeting"].slug, first.pk]), {"choice": "disagree"},
                          headers={"HX-Request": "true"}).content.decode()
    assert StatementVote.objects.get(statement=first).choice == StatementVote.Choice.DISAGREE
    assert 'value="disagree" class="button button-small" aria-pressed="true"' in changed
    page = client.get(page_url(room)).content.decode()
    assert "Review and change your delegation" in page
    services.set_round_status(user=room["chair"], round=round, status="paused")
    paused = client.get(page_url(room)).content.decode()
    assert 'aria-pressed' not in paused
