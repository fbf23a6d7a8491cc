"""Personal sign-in links: single use, expiring, revocable, rate-limited, and never an account oracle."""

import logging
import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from sessions_app import events, participants
from sessions_app.models import Participant, SignInToken
from sessions_app.participants import SignInRefused
from sessions_app.services import ActionRefused

from .factories import DelegationFactory, MeetingFactory, make_participant, make_secretariat


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever language an earlier request left active in this thread."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def meeting(db):
    meeting = MeetingFactory(slug="annual-meeting")
    meeting.delegations.add(DelegationFactory(country="FR"))
    return meeting


@pytest.fixture
def delegate(meeting) -> Participant:
    participant = participants.add_participant(
        meeting=meeting,
        name="Marie Dupont",
        email="marie@example.org",
        role="delegate",
        delegation_code="FR",
        language="fr",
    )
    return participant


def new_link(participant) -> str:
    [link] = participants.issue_sign_in_links(participants=[participant])
    return link.token


def signin_url(token: str, meeting=None) -> str:
    return participants.sign_in_path(token, meeting=meeting)


def without_csrf_tokens(response) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


# --- Tokens ----------------------------------------------------------------------------------------


def test_a_link_holds_a_long_random_token_and_only_its_hash_is_stored(delegate):
    token = new_link(delegate)
    stored = SignInToken.objects.get(participant=delegate)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert stored.token_hash == participants.hash_token(token) != token
    assert not SignInToken.objects.filter(token_hash=token).exists()
    assert stored.expires_at - timezone.now() > timedelta(days=6, hours=23)


def test_opening_the_link_shows_a_button_and_does_not_use_it_up(client, delegate, meeting):
    response = client.get(signin_url(new_link(delegate), meeting))
    assert response.status_code == 200
    assert "Marie Dupont" in response.content.decode()
    assert '<form method="post"' in response.content.decode()
    assert logged_in_user_id(client) is None
    assert SignInToken.objects.get().used_at is None


def test_the_button_signs_in_once_and_lands_on_the_meeting_in_the_participants_language(client, delegate, meeting):
    url = signin_url(new_link(delegate), meeting)
    response = client.post(url)
    assert response.status_code == 302
    assert response.url == reverse("meeting", args=[meeting.slug])
    assert logged_in_user_id(client) == str(delegate.user_id)
    assert response.cookies["django_language"].value == "fr"
    assert SignInToken.objects.get().used_at is not None
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.wsgi_request.LANGUAGE_CODE == "fr"


def test_the_link_is_replaced_by_a_normal_session(client, delegate, meeting):
    session = client.session
    session["seen"] = True
    session.save()
    anonymous_key = session.session_key
    client.post(signin_url(new_link(delegate), meeting))
    assert client.session.session_key != anonymous_key  # login() rotated the session key
    assert SignInToken.objects.get().used_at is not None
    assert client.get(reverse("meeting", args=[meeting.slug])).status_code == 200


def test_a_replayed_link_is_refused_and_logged(client, delegate, meeting, caplog):
    url = signin_url(new_link(delegate), meeting)
    client.post(url)
    other = Client()
    with caplog.at_level(logging.WARNING, logger="sessions_app.signin"):
        response = other.post(url)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert logged_in_user_id(other) is None
    assert any("used" in record.getMessage() for record in caplog.records if record.name == "sessions_app.signin")


def test_the_owner_opening_a_used_link_again_just_lands_on_the_meeting(client, delegate, meeting):
    url = signin_url(new_link(delegate), meeting)
    client.post(url)
    response = client.get(url)
    assert (response.status_code, response.url) == (302, reverse("meeting", args=[meeting.slug]))


def test_an_expired_link_says_so_and_offers_a_new_one(client, delegate, meeting):
    token = new_link(delegate)
    SignInToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(signin_url(token, meeting))
    html = response.content.decode()
    assert response.status_code == 410
    assert "This link has expired" in html
    assert reverse("signin_request") in html
    assert client.post(signin_url(token, meeting)).status_code == 410
    assert logged_in_user_id(client) is None


def test_links_expire_after_the_configured_days(delegate, settings):
    settings.FACILITATION = {**settings.FACILITATION, "SIGN_IN_LINK_DAYS": 2}
    new_link(delegate)
    remaining = SignInToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=1, hours=23) < remaining <= timedelta(days=2)


def test_a_revoked_link_is_refused(client, delegate, meeting):
    token = new_link(delegate)
    participants.revoke_sign_in_links(participant=delegate)
    response = client.post(signin_url(token, meeting))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_a_deactivated_participants_link_is_refused(client, delegate, meeting):
    token = new_link(delegate)
    participants.deactivate_participant(participant=delegate)
    with pytest.raises(SignInRefused):
        participants.redeem_sign_in_token(raw_token=token)
    assert client.post(signin_url(token, meeting)).status_code == 410


def test_a_guessed_token_gets_nothing_and_is_logged(client, delegate, caplog):
    new_link(delegate)
    with caplog.at_level(logging.WARNING, logger="sessions_app.signin"):
        response = client.post(signin_url("x" * 43))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert logged_in_user_id(client) is None
    [record] = [r for r in caplog.records if r.name == "sessions_app.signin"]
    assert "unknown" in record.getMessage()
    assert "x" * 43 not in record.getMessage()  # the token itself is never logged


def test_too_many_failures_from_one_address_get_429_even_with_a_good_link(client, delegate):
    for _ in range(participants.FAILURE_LIMIT):
        assert client.get(signin_url(f"guess-{_:040d}")).status_code == 404
    response = client.post(signin_url(new_link(delegate)))
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert logged_in_user_id(client) is None
    other_address = client.post(signin_url(new_link(delegate)), REMOTE_ADDR="10.0.0.2")
    assert other_address.status_code == 302


def test_a_meeting_parameter_never_redirects_elsewhere(client, delegate):
    response = client.post(participants.sign_in_path(new_link(delegate)) + "?meeting=https://evil.example")
    assert (response.status_code, response.url) == (302, reverse("home"))


def test_administrators_get_no_links(meeting):
    admin = make_secretariat(is_staff=True)
    with pytest.raises(ActionRefused, match="password"):
        participants.issue_sign_in_links(participants=[admin.participant])


# --- Revocation ends sessions ----------------------------------------------------------------------


def test_revoking_ends_the_participants_open_sessions_and_no_one_elses(client, delegate, meeting, django_user_model):
    client.post(signin_url(new_link(delegate), meeting))
    other_client = Client()
    bystander = make_participant(role="observer", meetings=[meeting])
    other_client.force_login(bystander)
    assert Session.objects.count() == 2

    participants.revoke_sign_in_links(participant=delegate)

    assert Session.objects.count() == 1
    assert client.get(reverse("meeting", args=[meeting.slug])).status_code == 302  # back to the login page
    assert other_client.get(reverse("meeting", args=[meeting.slug])).status_code == 200


def test_deactivating_signs_out_and_refuses_new_links(client, delegate, meeting):
    client.post(signin_url(new_link(delegate), meeting))
    participants.deactivate_participant(participant=delegate)
    assert client.get(reverse("meeting", args=[meeting.slug])).status_code == 302
    with translation.override("en"), pytest.raises(ActionRefused, match="deactivated"):
        participants.issue_sign_in_links(participants=[delegate])


def test_revocation_tells_the_users_sockets_to_close_once_committed(delegate, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.revocation_group(delegate.user_id), channel)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        participants.revoke_sign_in_links(participant=delegate)
    assert len(callbacks) == 1
    assert async_to_sync(layer.receive)(channel) == {"type": "auth.revoked", "group": events.revocation_group(delegate.user_id)}


# --- E-mail ----------------------------------------------------------------------------------------


def test_sending_a_link_mails_a_working_link_in_the_participants_language(client, delegate, meeting, mailoutbox):
    participants.send_sign_in_link(participant=delegate, meeting=meeting, base_url="http://testserver/")
    [mail] = mailoutbox
    assert mail.to == ["marie@example.org"]
    assert meeting.title in mail.subject
    url = re.search(r"http://testserver(/signin/\S+)", mail.body).group(1)
    assert client.post(url).status_code == 302
    assert logged_in_user_id(client) == str(delegate.user_id)


def test_asking_for_a_new_link_answers_the_same_for_known_and_unknown_addresses(client, delegate, mailoutbox):
    known = client.post(reverse("signin_request"), {"email": "MARIE@example.org"})
    unknown = client.post(reverse("signin_request"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert without_csrf_tokens(known) == without_csrf_tokens(unknown)
    assert [mail.to for mail in mailoutbox] == [["marie@example.org"]]


def test_no_new_link_is_mailed_to_a_deactivated_participant(client, delegate, mailoutbox):
    participants.deactivate_participant(participant=delegate)
    response = client.post(reverse("signin_request"), {"email": "marie@example.org"})
    assert response.status_code == 200
    assert mailoutbox == []


def test_asking_for_links_is_rate_limited(client, delegate, mailoutbox):
    for _ in range(participants.LINK_REQUEST_LIMIT):
        client.post(reverse("signin_request"), {"email": "marie@example.org"})
    assert client.post(reverse("signin_request"), {"email": "marie@example.org"}).status_code == 429
    assert len(mailoutbox) == participants.LINK_REQUEST_LIMIT
