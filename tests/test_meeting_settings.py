"""The meeting settings page: the secretariat changes settings, the chair reads them, every change is logged."""

import pytest
from django.urls import reverse

from sessions_app.models import Event, ExportLog, Meeting, SettingChange

from .factories import DelegationFactory, MeetingFactory, make_chair, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting():
    return MeetingFactory()


def settings_url(meeting):
    return reverse("meeting_settings", args=[meeting.slug])


def test_settings_page_spells_out_consequences_for_the_secretariat(client, meeting):
    client.force_login(make_secretariat())
    html = client.get(settings_url(meeting)).content.decode()
    assert 'name="attribution"' in html and 'name="answer_visibility"' in html
    assert "No delegation will be named in any record" in html
    assert "Save the settings" in html


def test_chair_sees_what_applies_without_a_form(client, meeting):
    meeting.attribution = Meeting.Attribution.CHATHAM_HOUSE
    meeting.save()
    client.force_login(make_chair())
    html = client.get(settings_url(meeting)).content.decode()
    assert "No delegation will be named in any record" in html
    assert 'name="attribution"' not in html and "Save the settings" not in html
    assert "Screen links" not in html


def test_chair_cannot_change_settings(client, meeting):
    client.force_login(make_chair())
    response = client.post(settings_url(meeting), {"attribution": "chatham", "answer_visibility": "chair"})
    assert response.status_code == 403
    meeting.refresh_from_db()
    assert (meeting.attribution, SettingChange.objects.count()) == ("attributed", 0)


def test_delegate_cannot_open_settings(client, meeting):
    client.force_login(make_delegate(DelegationFactory(country="FR")))
    assert client.get(settings_url(meeting)).status_code == 403


def test_change_is_saved_logged_and_broadcast(client, meeting):
    secretariat = make_secretariat(first_name="Ana", last_name="Lopez")
    client.force_login(secretariat)
    response = client.post(settings_url(meeting), {"attribution": "chatham", "answer_visibility": "chair"}, follow=True)
    meeting.refresh_from_db()
    assert meeting.attribution == "chatham"
    change = SettingChange.objects.get()
    assert (change.field, change.old_value, change.new_value, change.user, change.exports_before) == (
        "attribution", "attributed", "chatham", secretariat, 0,
    )
    assert Event.objects.filter(meeting=meeting, type="settings.changed").count() == 1
    html = response.content.decode()
    assert "The settings were saved." in html
    assert "Ana Lopez: Attribution of contributions, Attributed to delegations → Chatham House" in html
    assert "already exported" not in html


def test_unchanged_form_logs_nothing(client, meeting):
    client.force_login(make_secretariat())
    response = client.post(settings_url(meeting), {"attribution": "attributed", "answer_visibility": "chair"}, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert (SettingChange.objects.count(), Event.objects.count()) == (0, 0)


def test_unknown_value_is_refused_and_changes_nothing(client, meeting):
    client.force_login(make_secretariat())
    response = client.post(settings_url(meeting), {"attribution": "chatham", "answer_visibility": "everyone<script>"})
    assert response.status_code == 400
    assert "Choose one of the offered settings." in response.content.decode()
    meeting.refresh_from_db()
    assert (meeting.attribution, meeting.answer_visibility, SettingChange.objects.count()) == ("attributed", "chair", 0)


def test_change_after_an_export_warns_that_copies_keep_the_old_setting(client, meeting):
    secretariat = make_secretariat()
    ExportLog.objects.create(meeting=meeting, user=secretariat, kind="summary", format="docx")
    client.force_login(secretariat)
    before = client.get(settings_url(meeting)).content.decode()
    assert "Records were already exported once from this meeting" in before
    response = client.post(settings_url(meeting), {"attribution": "chatham", "answer_visibility": "chair"}, follow=True)
    assert "those copies still follow the old setting" in response.content.decode()
    assert SettingChange.objects.get().exports_before == 1


def test_visibility_change_after_export_does_not_warn(client, meeting):
    secretariat = make_secretariat()
    ExportLog.objects.create(meeting=meeting, user=secretariat, kind="summary", format="docx")
    client.force_login(secretariat)
    response = client.post(settings_url(meeting), {"attribution": "attributed", "answer_visibility": "published"}, follow=True)
    assert "those copies still follow the old setting" not in response.content.decode()


def test_settings_page_in_french(client, meeting):
    client.force_login(make_secretariat())
    html = client.get(settings_url(meeting), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Paramètres de la réunion" in html
    assert "Aucune délégation ne sera nommée" in html


def test_records_page_links_to_settings(client, meeting):
    client.force_login(make_chair())
    assert settings_url(meeting) in client.get(reverse("records", args=[meeting.slug])).content.decode()


def test_settings_page_query_count_does_not_grow_with_the_log(client, meeting, django_assert_max_num_queries):
    secretariat = make_secretariat()
    client.force_login(secretariat)
    SettingChange.objects.create(meeting=meeting, user=secretariat, field="attribution", old_value="attributed", new_value="chatham")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(settings_url(meeting))
    SettingChange.objects.bulk_create(
        [SettingChange(meeting=meeting, user=make_secretariat(), field="attribution", old_value="a", new_value="b") for _ in range(29)]
    )
    with CaptureQueriesContext(connection) as thirty:
        client.get(settings_url(meeting))
    assert len(thirty) == len(one)


def test_closed_polls_fold_to_one_line_on_the_delegate_page(client):
    from sessions_app import polls

    from .factories import SessionFactory

    session = SessionFactory()
    france = DelegationFactory(country="FR")
    session.meeting.delegations.add(france)
    chair = make_chair()
    closed = polls.open_poll(user=chair, poll=polls.create_poll(user=chair, session=session, prompt="Closed one?", kind="single", options=["Yes", "No"]))
    polls.close_poll(user=chair, poll=closed)
    polls.open_poll(user=chair, poll=polls.create_poll(user=chair, session=session, prompt="Open one?", kind="single", options=["Yes", "No"]))
    client.force_login(make_delegate(france))
    html = client.get(reverse("session", args=[session.meeting.slug, session.number])).content.decode()
    assert f'<details class="poll-card poll-closed" id="poll-{closed.pk}">' in html
    assert '<article class="poll-card is-open"' in html
    # The questions come before the briefing in the page: a phone shows what is live first.
    assert html.index('id="questions"') < html.index('id="briefing"')
