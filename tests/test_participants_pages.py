"""The secretariat's participant pages, the printable sheet, and joining as an observer with the room code."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from sessions_app import access, participants
from sessions_app.models import Delegation, Participant, SignInToken

from .factories import (
    DelegationFactory,
    MeetingFactory,
    SessionFactory,
    make_chair,
    make_delegate,
    make_participant,
    make_secretariat,
)


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
    meeting = MeetingFactory(join_code="K7PQ2M")
    meeting.delegations.add(DelegationFactory(country="FR"), DelegationFactory(country="DE"))
    return meeting


@pytest.fixture
def france(meeting):
    return Delegation.objects.get(country="FR")


@pytest.fixture
def secretariat(meeting):
    return make_secretariat(first_name="Sam", last_name="Secretary")


@pytest.fixture
def sec_client(client, secretariat):
    client.force_login(secretariat)
    return client


def url(name, meeting, *args):
    return reverse(name, args=[meeting.slug, *args])


# --- The list ---------------------------------------------------------------------------------------


def test_the_list_groups_participants_by_delegation(sec_client, meeting, france):
    make_delegate(france, first_name="Marie", last_name="Dupont", email="marie@example.org")
    make_delegate(Delegation.objects.get(country="DE"), first_name="Hans", last_name="Müller")
    make_chair(first_name="Ana", last_name="Ruiz")
    response = sec_client.get(url("participants", meeting))
    assert response.status_code == 200
    groups = {group.title: [p.user.get_full_name() for p in group.participants] for group in response.context["groups"]}
    assert groups == {
        "Chair and secretariat": ["Ana Ruiz", "Sam Secretary"],
        "France": ["Marie Dupont"],
        "Germany": ["Hans Müller"],
        "Observers": [],
    }
    html = response.content.decode()
    assert html.index('id="delegation-fr"') < html.index('id="delegation-de"')  # by name: France before Germany


def test_the_list_escapes_what_participants_wrote(sec_client, meeting, france):
    make_delegate(france, first_name="<script>alert(1)</script>", last_name="")
    html = sec_client.get(url("participants", meeting)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_list_page_query_count_does_not_grow_with_participants(
    sec_client, meeting, france, django_assert_num_queries
):
    make_delegate(france)
    with CaptureQueriesContext(connection) as one:
        assert sec_client.get(url("participants", meeting)).status_code == 200
    for n in range(29):
        participant = make_delegate(france if n % 2 else Delegation.objects.get(country="DE")).participant
        if n % 3 == 0:
            participants.issue_sign_in_links(participants=[participant])
    assert len(participants.meeting_participants(meeting)) == 31  # 30 delegates and the secretariat
    with django_assert_num_queries(len(one)):
        assert sec_client.get(url("participants", meeting)).status_code == 200


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("participants", "get"),
        ("participant_add", "get"),
        ("participants_import", "get"),
        ("participants_import_preview", "get"),
        ("participants_send_links", "post"),
        ("participants_sheet", "post"),
    ],
)
@pytest.mark.parametrize("role", ["delegate", "head", "chair", "observer"])
def test_only_the_secretariat_reaches_the_set_up_pages(client, meeting, france, name, method, role):
    client.force_login(make_participant(role=role, delegation=france if role in {"delegate", "head"} else None))
    assert getattr(client, method)(url(name, meeting)).status_code == 403


def test_a_superuser_counts_as_secretariat(client, meeting):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw-123456789"))
    assert client.get(url("participants", meeting)).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, meeting):
    response = client.get(url("participants", meeting))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_per_participant_actions_are_refused_to_others(client, meeting, france):
    target = make_delegate(france).participant
    client.force_login(make_chair())
    for name in ("participant_edit", "participant_send_link", "participant_revoke_links", "participant_deactivate"):
        assert client.post(url(name, meeting, target.pk)).status_code == 403


# --- Add, edit, move, deactivate ---------------------------------------------------------------------


def form_data(**overrides):
    return {
        "name": "Jane Smith",
        "email": "Jane@Example.org",
        "role": "delegate",
        "delegation": "FR",
        "language": "",
        **overrides,
    }


def test_adding_a_participant(sec_client, meeting):
    response = sec_client.post(url("participant_add", meeting), form_data())
    jane = Participant.objects.get(user__email="jane@example.org")
    assert response.status_code == 302
    assert response.url == url("participant_edit", meeting, jane.pk)
    assert (jane.user.username, jane.user.get_full_name(), jane.role, jane.delegation.code) == (
        "jane@example.org",
        "Jane Smith",
        "delegate",
        "FR",
    )
    assert not jane.user.has_usable_password()


def test_adding_a_delegate_of_a_new_country_adds_the_delegation_to_the_meeting(sec_client, meeting):
    sec_client.post(url("participant_add", meeting), form_data(delegation="JP"))
    assert meeting.delegations.filter(country="JP").exists()


def test_adding_refuses_a_delegate_without_delegation_and_a_taken_email(sec_client, meeting, france):
    response = sec_client.post(url("participant_add", meeting), form_data(delegation=""))
    assert response.status_code == 400
    assert "needs a delegation" in response.content.decode()
    make_delegate(france, email="jane@example.org")
    response = sec_client.post(url("participant_add", meeting), form_data())
    assert response.status_code == 400
    assert "already uses this e-mail" in response.content.decode()


def test_moving_a_participant_to_another_delegation(sec_client, meeting, france, django_capture_on_commit_callbacks):
    jane = participants.add_participant(
        meeting=meeting, name="Jane", email="jane@example.org", role="delegate", delegation_code="FR"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = sec_client.post(url("participant_edit", meeting, jane.pk), form_data(name="Jane", delegation="DE"))
    assert response.status_code == 302
    jane.refresh_from_db()
    assert jane.delegation.code == "DE"
    assert access.delegation_of(User.objects.get(pk=jane.user_id)).code == "DE"
    assert len(callbacks) == 1  # her open pages reconnect to her new delegation's live groups


def test_editing_the_email_moves_the_derived_username_with_it(sec_client, meeting):
    jane = participants.add_participant(
        meeting=meeting, name="Jane", email="jane@example.org", role="delegate", delegation_code="FR"
    )
    sec_client.post(url("participant_edit", meeting, jane.pk), form_data(email="jane.smith@example.org"))
    jane.user.refresh_from_db()
    assert (jane.user.username, jane.user.email) == ("jane.smith@example.org", "jane.smith@example.org")


def test_editing_a_participant_of_another_meeting_is_not_found(sec_client, meeting):
    elsewhere = make_delegate(DelegationFactory(country="JP")).participant
    assert sec_client.get(url("participant_edit", meeting, elsewhere.pk)).status_code == 404


def test_deactivating_and_reactivating_from_the_page(sec_client, meeting, france):
    target = make_delegate(france).participant
    response = sec_client.post(url("participant_deactivate", meeting, target.pk))
    assert response.status_code == 302
    target.user.refresh_from_db()
    assert target.user.is_active is False
    assert "Deactivated" in sec_client.get(url("participants", meeting)).content.decode()
    sec_client.post(url("participant_reactivate", meeting, target.pk))
    target.user.refresh_from_db()
    assert target.user.is_active is True


def test_the_secretariat_cannot_deactivate_itself(sec_client, meeting, secretariat):
    sec_client.post(url("participant_deactivate", meeting, secretariat.participant.pk))
    secretariat.refresh_from_db()
    assert secretariat.is_active is True


def test_sending_one_participant_a_link(sec_client, meeting, france, mailoutbox):
    target = make_delegate(france, email="marie@example.org").participant
    response = sec_client.post(url("participant_send_link", meeting, target.pk))
    assert response.status_code == 302
    assert [mail.to for mail in mailoutbox] == [["marie@example.org"]]
    assert f"?meeting={meeting.slug}" in mailoutbox[0].body


def test_sending_links_to_everyone_who_has_not_signed_in(sec_client, meeting, france, mailoutbox):
    make_delegate(france, email="a@example.org")
    signed_in = make_delegate(france, email="b@example.org")
    User.objects.filter(pk=signed_in.pk).update(last_login="2024-01-01T10:00:00Z")
    make_participant(role="observer", email="")
    sec_client.post(url("participants_send_links", meeting))
    assert sorted(mail.to[0] for mail in mailoutbox) == ["a@example.org"]


# --- The printable sheet -----------------------------------------------------------------------------


def test_the_sheet_has_one_badge_with_a_qr_code_per_participant_of_the_delegation(sec_client, meeting, france):
    make_delegate(france, first_name="Marie", last_name="Dupont")
    make_delegate(france, first_name="Jean", last_name="Martin")
    make_delegate(Delegation.objects.get(country="DE"))
    response = sec_client.post(url("participants_sheet", meeting), {"delegation": france.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert html.count('class="signin-badge"') == 2
    assert html.count('src="data:image/svg+xml') == 2
    assert "Marie Dupont" in html and "Jean Martin" in html
    assert SignInToken.objects.count() == 2


def test_a_printed_link_signs_in(sec_client, client, meeting, france):
    target = make_delegate(france)
    response = sec_client.post(url("participants_sheet", meeting), {"participant": target.participant.pk})
    [link] = [badge["url"] for badge in response.context["badges"]]
    client.post(link.removeprefix("http://testserver"))
    assert client.session[SESSION_KEY] == str(target.pk)


def test_the_sheet_leaves_out_room_code_observers_administrators_and_the_deactivated(
    sec_client, meeting, france, secretariat
):
    make_participant(role="observer", email="")  # joined with the room code
    invited = make_participant(role="observer", email="guest@example.org")  # registered by the secretariat
    make_secretariat(is_staff=True)
    gone = make_delegate(france)
    participants.deactivate_participant(participant=gone.participant)
    response = sec_client.post(url("participants_sheet", meeting))
    assert {badge["participant"].user for badge in response.context["badges"]} == {secretariat, invited}


# --- Joining with the room code -----------------------------------------------------------------------


def test_the_room_code_makes_an_observer_who_lands_on_the_meeting(client, meeting):
    response = client.post(reverse("join"), {"code": " k7pq 2m ", "name": "Visitor"})
    assert (response.status_code, response.url) == (302, reverse("meeting", args=[meeting.slug]))
    observer = User.objects.get(pk=client.session[SESSION_KEY])
    assert observer.username.startswith("observer-")
    assert not observer.has_usable_password()
    assert (observer.participant.role, observer.participant.delegation, observer.get_full_name()) == (
        "observer",
        None,
        "Visitor",
    )
    assert client.get(response.url).status_code == 200


def test_the_join_form_is_prefilled_from_a_scanned_code(client, meeting):
    response = client.get(reverse("join") + "?code=K7PQ2M")
    assert 'value="K7PQ2M"' in response.content.decode()
    assert User.objects.filter(username__startswith="observer-").count() == 0  # nothing is created on GET


def test_a_wrong_code_is_refused_and_a_guessing_address_is_locked_out(client, meeting):
    response = client.post(reverse("join"), {"code": "AAAAAA"})
    assert response.status_code == 400
    assert "No meeting has this room code" in response.content.decode()
    for _ in range(participants.FAILURE_LIMIT - 1):
        client.post(reverse("join"), {"code": "AAAAAA"})
    assert client.post(reverse("join"), {"code": "K7PQ2M"}).status_code == 429
    assert not User.objects.filter(username__startswith="observer-").exists()


def test_a_signed_in_participant_entering_the_code_stays_who_they_are(client, meeting, france):
    delegate = make_delegate(france)
    client.force_login(delegate)
    client.post(reverse("join"), {"code": "K7PQ2M"})
    assert client.session[SESSION_KEY] == str(delegate.pk)
    assert not User.objects.filter(username__startswith="observer-").exists()


def test_an_observer_cannot_act_for_a_delegation_nor_moderate(client, meeting):
    SessionFactory(meeting=meeting, number=1)
    client.post(reverse("join"), {"code": "K7PQ2M"})
    observer = User.objects.get(pk=client.session[SESSION_KEY])
    assert access.delegation_of(observer) is None
    assert access.is_moderator(observer) is False
    assert client.get(url("participants", meeting)).status_code == 403
    assert client.get(url("participants_import", meeting)).status_code == 403
    try:
        console = reverse("console", args=[meeting.slug, 1])
    except NoReverseMatch:  # the console is not built yet
        return
    assert client.get(console).status_code == 403
