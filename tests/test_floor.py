"""The floor: requests, the chair's list, the countdown's data, the session clock and every refusal."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from sessions_app import floor
from sessions_app.models import Event, FloorRequest
from sessions_app.services import ActionRefused

from .factories import DelegationFactory, QuestionFactory, SessionFactory, make_chair, make_delegate, make_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    question = QuestionFactory()
    session = question.session
    meeting = session.meeting
    delegations = [DelegationFactory(country=code) for code in ("FR", "DE", "JP")]
    meeting.delegations.add(*delegations)
    france, germany, japan = delegations
    return {
        "session": session, "meeting": meeting, "question": question, "chair": make_chair(),
        "france": france, "germany": germany, "japan": japan,
        "fr": make_delegate(france), "fr2": make_delegate(france), "de": make_delegate(germany), "jp": make_delegate(japan),
    }


def waiting_names(session) -> list[str]:
    return [r.delegation.name for r in floor.floor_state(session).waiting]


def test_requests_join_the_list_in_order_and_record_one_event_each(room):
    session = room["session"]
    floor.request_floor(user=room["de"], session=session)
    floor.request_floor(user=room["fr"], session=session, question=room["question"])
    assert waiting_names(session) == ["Germany", "France"]
    assert floor.floor_state(session).position_of(room["france"]) == 2
    assert Event.objects.filter(type="floor.changed").count() == 2


def test_a_delegation_holds_one_open_request_even_from_two_delegates(room):
    floor.request_floor(user=room["fr"], session=room["session"])
    with pytest.raises(ActionRefused, match="already on the speakers' list"):
        floor.request_floor(user=room["fr2"], session=room["session"])
    assert FloorRequest.objects.count() == 1


def test_after_speaking_a_delegation_may_ask_again(room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    floor.give_floor(user=room["chair"], floor_request=request, seconds=60)
    floor.end_floor(user=room["chair"], session=room["session"])
    floor.request_floor(user=room["fr2"], session=room["session"])
    assert waiting_names(room["session"]) == ["France"]


def test_withdraw_only_by_own_delegation_and_only_while_waiting(room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    with pytest.raises(ActionRefused, match="Only the delegation"):
        floor.withdraw_floor_request(user=room["de"], floor_request=request)
    floor.withdraw_floor_request(user=room["fr2"], floor_request=request)
    assert waiting_names(room["session"]) == []
    with pytest.raises(ActionRefused, match="no longer waiting"):
        floor.withdraw_floor_request(user=room["fr"], floor_request=request)


def test_giving_the_floor_ends_the_previous_intervention_and_keeps_times(room):
    first = floor.request_floor(user=room["fr"], session=room["session"])
    second = floor.request_floor(user=room["de"], session=room["session"])
    floor.give_floor(user=room["chair"], floor_request=first, seconds=120)
    state = floor.floor_state(room["session"])
    assert state.speaker.pk == first.pk
    assert state.speaker_ends_at == state.speaker.started_at + timedelta(seconds=120)
    floor.give_floor(user=room["chair"], floor_request=second, seconds="90")
    first.refresh_from_db()
    assert first.status == "done" and first.ended_at is not None and first.started_at <= first.ended_at
    assert [r.delegation.name for r in floor.interventions(room["meeting"])] == ["France", "Germany"]


@pytest.mark.parametrize("seconds", ["abc", 5, 99999])
def test_speaking_time_out_of_range_is_refused_and_nothing_changes(room, seconds):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    with pytest.raises(ActionRefused, match="speaking time|whole seconds"):
        floor.give_floor(user=room["chair"], floor_request=request, seconds=seconds)
    request.refresh_from_db()
    assert request.status == "waiting"


def test_default_speaking_time_comes_from_settings(room, settings):
    settings.FACILITATION = {**settings.FACILITATION, "SPEAKING_SECONDS": 240}
    request = floor.request_floor(user=room["fr"], session=room["session"])
    assert floor.give_floor(user=room["chair"], floor_request=request).speaking_seconds == 240


def test_chair_reorders_adds_on_behalf_and_closes_the_list(room):
    session = room["session"]
    floor.request_floor(user=room["fr"], session=session)
    german = floor.request_floor(user=room["de"], session=session)
    floor.move_floor_request(user=room["chair"], floor_request=german, direction="up")
    assert waiting_names(session) == ["Germany", "France"]
    floor.set_floor_closed(user=room["chair"], session=session, closed=True)
    with pytest.raises(ActionRefused, match="closed"):
        floor.request_floor(user=room["jp"], session=session)
    floor.add_speaker(user=room["chair"], session=session, delegation=room["japan"])
    assert waiting_names(session) == ["Germany", "France", "Japan"]


def test_chair_actions_are_refused_to_delegates_and_change_nothing(room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    for action in (
        lambda: floor.give_floor(user=room["de"], floor_request=request, seconds=60),
        lambda: floor.move_floor_request(user=room["de"], floor_request=request, direction="down"),
        lambda: floor.set_floor_closed(user=room["de"], session=room["session"], closed=True),
        lambda: floor.add_speaker(user=room["de"], session=room["session"], delegation=room["japan"]),
    ):
        with pytest.raises(PermissionDenied):
            action()
    request.refresh_from_db()
    assert (request.status, room["session"].floor_closed) == ("waiting", False)


def test_observers_and_chairs_cannot_request_the_floor_for_themselves(room):
    observer = make_participant(role="observer")
    for user in (observer, room["chair"]):
        with pytest.raises(ActionRefused, match="delegation"):
            floor.request_floor(user=user, session=room["session"])


def test_request_on_a_question_of_another_session_is_refused(room):
    other = QuestionFactory(session=SessionFactory(meeting=room["meeting"], number=2))
    with pytest.raises(ActionRefused, match="another session"):
        floor.request_floor(user=room["fr"], session=room["session"], question=other)
    assert FloorRequest.objects.count() == 0


def test_not_yet_spoken_lists_delegations_without_an_intervention(room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    floor.give_floor(user=room["chair"], floor_request=request, seconds=60)
    state = floor.floor_state(room["session"], with_not_spoken=True)
    assert [d.name for d in state.not_spoken] == ["Germany", "Japan"]


def test_starting_a_session_ends_the_running_one_and_the_room_follows(room):
    first = room["session"]
    second = SessionFactory(meeting=room["meeting"], number=2)
    floor.start_session(user=room["chair"], session=first)
    floor.start_session(user=room["chair"], session=second)
    for item in (first, second, room["meeting"]):
        item.refresh_from_db()
    assert first.ended_at is not None
    assert room["meeting"].current_session_id == second.pk
    assert floor.session_clock(second)["running"] is True


def test_session_clock_counts_minutes_used_and_left(room):
    session = room["session"]
    session.duration_minutes = 90
    session.started_at = timezone.now() - timedelta(minutes=35, seconds=10)
    assert floor.session_clock(session) == {"used": 35, "left": 55, "running": True}


def test_ending_a_session_that_is_not_running_is_refused(room):
    with pytest.raises(ActionRefused, match="not running"):
        floor.end_session(user=room["chair"], session=room["session"])


# --- Over HTTP -----------------------------------------------------------------------------------


def test_delegate_requests_the_floor_over_htmx_and_sees_their_place(client, room):
    floor.request_floor(user=room["de"], session=room["session"])
    client.force_login(room["fr"])
    url = reverse("request_floor", args=[room["meeting"].slug, room["session"].number])
    response = client.post(url, {"question": str(room["question"].pk)}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your delegation is number 2 on the list." in html and "Withdraw the request" in html
    assert FloorRequest.objects.get(delegation=room["france"]).question_id == room["question"].pk


def test_second_request_over_htmx_gets_a_clear_message(client, room):
    floor.request_floor(user=room["fr2"], session=room["session"])
    client.force_login(room["fr"])
    url = reverse("request_floor", args=[room["meeting"].slug, room["session"].number])
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "France is already on the speakers&#x27; list of this session." in response.content.decode()
    assert FloorRequest.objects.count() == 1


def test_delegate_cannot_give_the_floor_over_http(client, room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    client.force_login(room["de"])
    response = client.post(reverse("give_floor", args=[room["meeting"].slug, request.pk]), {"seconds": "60"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "waiting"


def test_console_and_session_page_show_the_list_and_countdown(client, room):
    request = floor.request_floor(user=room["fr"], session=room["session"])
    floor.request_floor(user=room["de"], session=room["session"])
    given = floor.give_floor(user=room["chair"], floor_request=request, seconds=180)
    client.force_login(room["chair"])
    console = client.get(reverse("console", args=[room["meeting"].slug, room["session"].number])).content.decode()
    assert "France has the floor" in console and "Give the floor" in console and 'role="timer"' in console
    assert "2 delegations have not spoken in this session" in console
    client.force_login(room["de"])
    page = client.get(reverse("session", args=[room["meeting"].slug, room["session"].number])).content.decode()
    assert "France has the floor" in page and "Your delegation is number 1 on the list." in page
    assert f'data-countdown-ends="{int((given.started_at + timedelta(seconds=180)).timestamp())}"' in page


def test_schedule_form_saves_start_and_duration(client, room):
    client.force_login(room["chair"])
    url = reverse("session_schedule", args=[room["meeting"].slug, room["session"].number])
    assert client.post(url, {"start": "2023-11-22T09:30", "duration": "90"}).status_code == 302
    room["session"].refresh_from_db()
    assert room["session"].duration_minutes == 90
    assert timezone.localtime(room["session"].scheduled_start).strftime("%H:%M") == "09:30"
    client.post(url, {"start": "not a date", "duration": "x"})
    room["session"].refresh_from_db()
    assert room["session"].duration_minutes == 90

