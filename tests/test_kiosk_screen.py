"""Kiosk screen links: the projector's browser sees the room screen, and only it, without an account."""

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from sessions_app import services
from sessions_app.meeting_settings import services as settings_service
from sessions_app.models import ScreenLink

from .factories import DelegationFactory, MeetingFactory, QuestionFactory, make_chair, make_delegate, make_participant, make_secretariat
from .live_helpers import open_socket, screen_path


@pytest.fixture
def meeting(db):
    return MeetingFactory()


def kiosk_url(token):
    return reverse("kiosk_screen", args=[token])


@pytest.mark.django_db
def test_secretariat_makes_a_link_shown_once(client, meeting):
    client.force_login(make_secretariat())
    response = client.post(reverse("create_screen_link", args=[meeting.slug]), {"label": "Room <b>1</b>"})
    html = response.content.decode()
    link = ScreenLink.objects.get()
    assert link.label == "Room <b>1</b>"
    assert 'id="new-screen-link"' in html and "/screen-link/" in html
    assert "Room &lt;b&gt;1&lt;/b&gt;" in html  # the label is escaped
    # Only the hash is stored: the token is not in the database.
    token = html.split("/screen-link/")[1].split("/")[0]
    assert link.token_hash == settings_service.hash_screen_token(token) and token not in link.token_hash


@pytest.mark.django_db
def test_kiosk_link_shows_the_screen_to_nobody_signed_in(client, meeting):
    _link, token = settings_service.create_screen_link(user=make_secretariat(), meeting=meeting)
    response = client.get(kiosk_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'ws-connect="/ws/screen-link/{token}/"' in html
    assert 'class="topbar"' not in html and "Log out" not in html
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "_auth_user_id" not in client.session  # it signs in nobody


@pytest.mark.django_db
def test_kiosk_link_survives_a_restart_of_the_browser(client, meeting):
    _link, token = settings_service.create_screen_link(user=make_secretariat(), meeting=meeting)
    assert client.get(kiosk_url(token)).status_code == 200
    client.cookies.clear()  # the projector rebooted: no cookie, only the bookmarked URL
    assert client.get(kiosk_url(token)).status_code == 200


@pytest.mark.django_db
def test_revoked_or_wrong_link_shows_nothing(client, meeting):
    secretariat = make_secretariat()
    link, token = settings_service.create_screen_link(user=secretariat, meeting=meeting)
    client.force_login(secretariat)
    client.post(reverse("revoke_screen_link", args=[meeting.slug, link.pk]))
    client.logout()
    assert client.get(kiosk_url(token)).status_code == 404
    assert client.get(kiosk_url("not-a-token")).status_code == 404


@pytest.mark.django_db
def test_chair_and_delegate_cannot_make_links(client, meeting):
    for user in (make_chair(), make_delegate(DelegationFactory(country="FR"))):
        client.force_login(user)
        assert client.post(reverse("create_screen_link", args=[meeting.slug])).status_code == 403
    assert ScreenLink.objects.count() == 0


@pytest.mark.django_db
def test_too_long_label_is_refused(client, meeting):
    client.force_login(make_secretariat())
    response = client.post(reverse("create_screen_link", args=[meeting.slug]), {"label": "x" * 101})
    assert response.status_code == 400 and ScreenLink.objects.count() == 0


@pytest.mark.django_db
def test_screen_page_is_refused_to_delegates_but_open_to_chair_and_observer(client, meeting):
    client.force_login(make_delegate(DelegationFactory(country="FR")))
    assert client.get(reverse("screen", args=[meeting.slug])).status_code == 403
    for user in (make_chair(), make_participant(role="observer", meetings=[meeting])):
        client.force_login(user)
        assert client.get(reverse("screen", args=[meeting.slug])).status_code == 200


@database_sync_to_async
def live_world():
    france = DelegationFactory(country="FR")
    question = QuestionFactory()
    meeting = question.session.meeting
    meeting.delegations.add(france)
    secretariat = make_secretariat()
    link, token = settings_service.create_screen_link(user=secretariat, meeting=meeting)
    return {"question": question, "meeting": meeting, "chair": make_chair(), "fr": make_delegate(france), "secretariat": secretariat, "link": link, "token": token}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_kiosk_socket_gets_the_screen_feed_and_closes_on_revocation():
    world = await live_world()
    kiosk, connected, _ = await open_socket(f"/ws/screen-link/{world['token']}/")
    assert connected
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=world["meeting"], question=world["question"])
    html = await kiosk.receive_from(timeout=2)
    assert world["question"].text in html
    await database_sync_to_async(settings_service.revoke_screen_link)(user=world["secretariat"], link=world["link"])
    assert (await kiosk.receive_output(timeout=2))["type"] == "websocket.close"
    await kiosk.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_kiosk_socket_refuses_a_wrong_token_and_delegates_lose_the_screen_socket():
    world = await live_world()
    _c, connected, code = await open_socket("/ws/screen-link/wrong/")
    assert (connected, code) == (False, 4403)
    _c, connected, code = await open_socket(screen_path(world["meeting"]), world["fr"])
    assert (connected, code) == (False, 4403)
