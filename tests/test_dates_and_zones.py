"""Dates and times in each language's unambiguous form, in the meeting's time zone."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from sessions_app.models import Participant

from .factories import DelegationFactory, MeetingFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db

SIGNED_IN = datetime.datetime(2026, 12, 6, 0, 43, tzinfo=datetime.UTC)


@pytest.fixture
def page(client):
    def get(*, time_zone, language):
        meeting = MeetingFactory(time_zone=time_zone)
        delegate = make_delegate(DelegationFactory(country="FR"))
        meeting.delegations.add(Participant.objects.get(user=delegate).delegation)
        User.objects.filter(pk=delegate.pk).update(last_login=SIGNED_IN)
        client.force_login(make_secretariat())
        return client.get(reverse("participants", args=[meeting.slug]), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    return get


def test_participants_page_in_english_reads_day_month_year_and_24_hours(page):
    assert "last signed in 6 December 2026, 01:43" in page(time_zone="Europe/Paris", language="en")


def test_participants_page_in_french_reads_french_forms(page):
    assert "6 décembre 2026, 01 h 43" in page(time_zone="Europe/Paris", language="fr")


def test_times_follow_the_meeting_time_zone(page):
    # 00:43 UTC is 19:43 the day before in New York.
    assert "5 December 2026, 19:43" in page(time_zone="America/New_York", language="en")


def test_unknown_time_zone_falls_back_to_the_server_zone(page):
    assert "6 December 2026, 01:43" in page(time_zone="Mars/Olympus", language="en")


@pytest.mark.django_db
def test_a_live_fragment_shows_the_meetings_time_not_the_servers():
    import datetime

    from sessions_app import events
    from sessions_app.live import renderers
    from sessions_app.models import Meeting

    from .factories import SessionFactory

    meeting = Meeting.objects.create(title="Tokyo meeting", slug="tokyo-meeting", time_zone="Asia/Tokyo")
    session = SessionFactory(meeting=meeting, number=1, scheduled_start=datetime.datetime(2026, 12, 6, 0, 43, tzinfo=datetime.UTC))
    event = events.record(meeting=meeting, type=events.SESSION_TIMING, session=session, payload={"timing": session.pk})
    messages = renderers.render_batch([event])
    console = next(html for group, html, _seq in messages if group == events.group_name(meeting.pk, events.CONSOLE))
    assert "Planned for 6 December 2026, 09:43" in console["en"]
    assert "6 décembre 2026, 09 h 43" in console["fr"]

