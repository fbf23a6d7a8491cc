"""The delegate's pages: who may see them, what they show, and what they cost in queries."""

import pytest
from django.urls import reverse

from .factories import BlockFactory, DelegationFactory, QuestionFactory, SessionFactory, make_chair, make_delegate

pytestmark = pytest.mark.django_db


def session_url(session) -> str:
    return reverse("session", args=[session.meeting.slug, session.number])


def test_anonymous_visitor_is_sent_to_login(client, seed_meeting):
    session = seed_meeting.sessions.get(number=2)
    response = client.get(session_url(session))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_delegate_reads_the_briefing_with_anchors_footnote_and_references(client, seed_meeting):
    client.force_login(make_delegate(seed_meeting.delegations.get(country="FR")))
    response = client.get(session_url(seed_meeting.sessions.get(number=2)))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="para-7"' in html
    assert 'id="fn-1"' in html
    assert 'id="ref-5"' in html and 'href="#ref-5"' in html
    assert 'id="box-2"' in html
    assert "What kind of co-ordination mechanisms have been put in place" in html


def test_session_page_escapes_markup_in_imported_text(client):
    block = BlockFactory(html="<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    QuestionFactory(session=block.session, text="<b>Why?</b>", html="&lt;b&gt;Why?&lt;/b&gt;")
    client.force_login(make_chair())
    html = client.get(session_url(block.session)).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;b&gt;Why?&lt;/b&gt;" in html


def test_agenda_lists_sessions_and_the_delegations_todo(client, seed_meeting):
    client.force_login(make_delegate(seed_meeting.delegations.get(country="FR")))
    response = client.get(reverse("meeting", args=[seed_meeting.slug]))
    html = response.content.decode()
    assert "Centre of Governments at the centre of combatting mis- and disinformation" in html
    assert "10 open questions have no answer from your delegation yet." in html


def test_unknown_session_is_404(client, seed_meeting):
    client.force_login(make_chair())
    assert client.get(reverse("session", args=[seed_meeting.slug, 9])).status_code == 404


@pytest.mark.parametrize("blocks", [5, 50])
def test_session_page_query_count_does_not_grow_with_blocks(client, django_assert_num_queries, blocks):
    session = SessionFactory()
    delegation = DelegationFactory(country="FR")
    session.meeting.delegations.add(delegation)
    BlockFactory.create_batch(blocks, session=session)
    QuestionFactory.create_batch(3, session=session)
    client.force_login(make_delegate(delegation))
    # session+meeting, user with its participant (access.ParticipantBackend), meeting with current items, blocks, references, questions,
    # own answers, own practices, the session save/load of the auth session, the meeting wall.
    with django_assert_num_queries(QUERIES_FOR_SESSION_PAGE):
        assert client.get(session_url(session)).status_code == 200


# 16, the session's opinion rounds (issue 25), the meeting wall (issue 23), the record notice (issue 26),
# less the participant read with the user (issue 22)
QUERIES_FOR_SESSION_PAGE = 18


def test_every_page_names_an_icon_that_is_served(client):
    """Browsers ask for an icon on every page; without one each page load logs a 404."""
    from pathlib import Path

    from django.contrib.staticfiles import finders

    html = client.get(reverse("login")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    icon = finders.find("favicon.svg")
    assert icon and Path(icon).read_text().startswith("<svg")
