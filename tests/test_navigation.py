"""The top bar on pages of no meeting (the practice library) links back to the meeting last open."""

import datetime
import re

import pytest
from django.urls import reverse

from .factories import DelegationFactory, MeetingFactory, SessionFactory, make_chair, make_delegate

pytestmark = pytest.mark.django_db


def nav_links(response) -> list[tuple[str, str]]:
    """(label, href) of the top bar's links, in order."""
    html = response.content.decode()
    nav = html[html.index('<ul class="nav-links">'): html.index("</ul>", html.index('<ul class="nav-links">'))]
    return [(label.strip(), href) for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)]


def test_library_top_bar_links_back_to_the_session_the_delegate_left(client):
    france = DelegationFactory(country="FR")
    meeting = MeetingFactory(start_date=datetime.date(2026, 5, 1))
    meeting.delegations.add(france)
    SessionFactory(meeting=meeting, number=1)
    SessionFactory(meeting=meeting, number=2)
    client.force_login(make_delegate(france))
    client.get(reverse("session", args=[meeting.slug, 2]))

    links = nav_links(client.get(reverse("library")))

    assert links[:3] == [
        ("Meeting", reverse("meeting", args=[meeting.slug])),
        ("Session 2", reverse("session", args=[meeting.slug, 2])),
        ("Record review", reverse("record_reviews", args=[meeting.slug])),
    ]


def test_library_top_bar_without_a_meeting_opened_links_the_latest_meeting(client):
    older = MeetingFactory(start_date=datetime.date(2022, 11, 17))
    latest = MeetingFactory(start_date=datetime.date(2026, 5, 1))
    SessionFactory(meeting=latest, number=1)
    client.force_login(make_chair())

    links = dict(nav_links(client.get(reverse("library"))))

    assert links["Meeting"] == reverse("meeting", args=[latest.slug])
    assert links["Records"] == reverse("records", args=[latest.slug])
    assert "Console" not in links  # no session was open
    assert reverse("meeting", args=[older.slug]) not in links.values()


def test_top_bar_keeps_the_session_when_the_chair_goes_to_the_agenda(client):
    meeting = MeetingFactory(start_date=datetime.date(2026, 5, 1))
    SessionFactory(meeting=meeting, number=3)
    client.force_login(make_chair())
    client.get(reverse("console", args=[meeting.slug, 3]))
    client.get(reverse("meeting", args=[meeting.slug]))

    links = dict(nav_links(client.get(reverse("library"))))

    assert links["Console"] == reverse("console", args=[meeting.slug, 3])


def test_top_bar_never_links_a_remembered_meeting_the_delegate_no_longer_takes_part_in(client):
    france = DelegationFactory(country="FR")
    left = MeetingFactory(start_date=datetime.date(2026, 5, 1))
    left.delegations.add(france)
    SessionFactory(meeting=left, number=1)
    delegate = make_delegate(france)
    client.force_login(delegate)
    client.get(reverse("session", args=[left.slug, 1]))
    left.delegations.remove(france)

    links = nav_links(client.get(reverse("library")))

    assert [label for label, _href in links] == ["Practice library"]
