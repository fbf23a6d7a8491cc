"""Meeting walls: a person sees only the meetings they take part in; the secretariat and chairs see all.

The matrix below names every URL pattern and socket route of the project. A pattern added without an
entry fails `test_every_url_pattern_is_in_the_matrix`, so no page escapes the wall unnoticed.
"""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sessions_app import models, participants
from sessions_app.live import routing
from tests.factories import (
    AnswerFactory,
    DelegationFactory,
    MeetingFactory,
    PracticeFactory,
    QuestionFactory,
    SessionFactory,
    make_chair,
    make_delegate,
    make_participant,
    make_secretariat,
)
from tests.live_helpers import open_socket

pytestmark = pytest.mark.django_db


def _ids(world: dict) -> dict:
    return {
        "slug": world["meeting"].slug,
        "number": world["session"].number,
        "question_id": world["question"].pk,
        "answer_id": world["answer"].pk,
        "practice_id": world["practice"].pk,
        "poll_id": world["poll"].pk,
        "request_id": world["floor"].pk,
        "pk": world["delegate"].participant.pk,
        # Objects the two-meeting world does not build: the wall refuses before any lookup, and in
        # their own meeting both roles get the same answer (tests of each capability cover the rest).
        "round_id": 999_001,
        "statement_id": 999_002,
        "link_id": 999_003,
        "position": 1,
    }


def _kwargs(*names: str, **fixed):
    return lambda world: {**{name: _ids(world)[name] for name in names}, **fixed}


# Every named URL of the project: meeting-scoped ones with how to build them for a meeting, the others
# with why the wall does not apply (they name no meeting).
MEETING_URLS = {
    "meeting": _kwargs("slug"),
    "screen": _kwargs("slug"),
    "set_discussion": _kwargs("slug"),
    "session": _kwargs("slug", "number"),
    "console": _kwargs("slug", "number"),
    "save_conclusions": _kwargs("slug", "number"),
    "new_practice": _kwargs("slug", "number"),
    "edit_practice": _kwargs("slug", "practice_id"),
    "moderate_practice": _kwargs("slug", "practice_id"),
    "submit_answer": _kwargs("slug", "question_id"),
    "question_status": _kwargs("slug", "question_id"),
    "moderate_answer": _kwargs("slug", "answer_id"),
    "records": _kwargs("slug"),
    "records_summary": _kwargs("slug"),
    "records_compendium": _kwargs("slug"),
    "records_download": _kwargs("slug", fmt="csv"),
    "participants": _kwargs("slug"),
    "participant_add": _kwargs("slug"),
    "participants_import": _kwargs("slug"),
    "participants_import_preview": _kwargs("slug"),
    "participants_import_confirm": _kwargs("slug"),
    "participants_send_links": _kwargs("slug"),
    "participants_sheet": _kwargs("slug"),
    "participant_edit": _kwargs("slug", "pk"),
    "participant_send_link": _kwargs("slug", "pk"),
    "participant_revoke_links": _kwargs("slug", "pk"),
    "participant_deactivate": _kwargs("slug", "pk"),
    "participant_reactivate": _kwargs("slug", "pk"),
    "request_floor": _kwargs("slug", "number"),
    "end_floor": _kwargs("slug", "number"),
    "add_speaker": _kwargs("slug", "number"),
    "close_floor": _kwargs("slug", "number"),
    "withdraw_floor": _kwargs("slug", "request_id"),
    "give_floor": _kwargs("slug", "request_id"),
    "move_floor": _kwargs("slug", "request_id"),
    "start_session": _kwargs("slug", "number"),
    "end_session": _kwargs("slug", "number"),
    "session_schedule": _kwargs("slug", "number"),
    "create_poll": _kwargs("slug", "number"),
    "poll_action": _kwargs("slug", "poll_id"),
    "cast_vote": _kwargs("slug", "poll_id"),
    "meeting_settings": _kwargs("slug"),
    "create_screen_link": _kwargs("slug"),
    "revoke_screen_link": _kwargs("slug", "link_id"),
    "figure_image": _kwargs("slug", "position"),
    "opinion_open_round": _kwargs("slug", "number"),
    "opinion_add_statement": _kwargs("slug", "round_id"),
    "opinion_propose": _kwargs("slug", "round_id"),
    "opinion_round_action": _kwargs("slug", "round_id"),
    "opinion_moderate_statement": _kwargs("slug", "statement_id"),
    "opinion_vote": _kwargs("slug", "statement_id"),
    "opinion_polis_export": _kwargs("slug", "round_id"),
    "synthesis_action": _kwargs("slug", "question_id"),
    "record_reviews": _kwargs("slug"),
    "record_review": _kwargs("slug", "pk"),
    "record_review_docx": _kwargs("slug", "pk"),
}
NOT_MEETING_URLS = {
    "healthz": "the proxy's probe: says only whether the database and channel layer answer",
    "home": "lists only the meetings the user takes part in (test below)",
    "set_language": "the user's language",
    "import_notes": "secretariat only: creates a meeting",
    "signin_request": "anonymous: asks for a link",
    "signin": "a link's token, checked by participants.sign_in",
    "join": "a room code admits its own meeting only (test below)",
    "login": "password sign-in",
    "logout": "sign-out",
    "admin": "Django's admin: staff only",
    "signin_lockouts": "secretariat only: sign-in lock-outs of the instance",
    "signin_lockout_lift": "secretariat only: sign-in lock-outs of the instance",
    "kiosk_screen": "a screen link's token shows its own meeting's screen only (tests/test_kiosk_screen.py)",
    "library": "the practice library spans meetings; its visibility rules are tests/test_library*.py's",
    "library_peer": "the practice library spans meetings (earlier meetings' practices, by visibility)",
    "library_practice": "the practice library spans meetings; visibility per practice",
    "library_edit": "a practice's own delegation or the secretariat, checked by the view",
    "library_curate": "secretariat only",
    "library_themes": "secretariat only: the library's theme vocabulary",
    "library_export": "the library's current filter as a file, same visibility as its pages",
    "library_import": "secretariat only: bulk import of a compendium spreadsheet",
    "library_api": "the library's read-only API, same visibility as its pages",
    "library_api_practice": "the library's read-only API, same visibility as its pages",
}
SOCKET_ROUTES = {
    "ws/meetings/<slug:slug>/sessions/<int:number>/<str:audience>/": lambda w: f"/ws/meetings/{w['meeting'].slug}/sessions/{w['session'].number}/delegate/",
}
OTHER_SOCKET_ROUTES = {
    "ws/meetings/<slug:slug>/screen/": "chairs and the secretariat only, who see every meeting (test_kiosk_screen.py: delegates refused)",
    "ws/screen-link/<str:token>/": "a screen link's token admits its own meeting's screen only",
}


def _url_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace:
                names.add(pattern.namespace)  # a namespaced app (the admin) is one entry
            else:
                names |= _url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"unnamed URL pattern {pattern.pattern}: name it and add it to the matrix"
            names.add(pattern.name)
    return names


def test_every_url_pattern_is_in_the_matrix():
    names = _url_names(get_resolver().url_patterns)
    assert names - set(MEETING_URLS) - set(NOT_MEETING_URLS) == set()
    assert (set(MEETING_URLS) | set(NOT_MEETING_URLS)) - names == set()


def test_every_socket_route_is_in_the_matrix():
    assert {str(route.pattern) for route in routing.websocket_urlpatterns} == set(SOCKET_ROUTES) | set(OTHER_SOCKET_ROUTES)


def _meeting(title: str, country: str) -> dict:
    meeting = MeetingFactory(title=title)
    session = SessionFactory(meeting=meeting, number=1)
    delegation = DelegationFactory(country=country)
    meeting.delegations.add(delegation)
    question = QuestionFactory(session=session, text=f"Question of {title}?")
    floor = models.FloorRequest.objects.create(session=session, delegation=delegation)
    return {
        "meeting": meeting,
        "session": session,
        "question": question,
        "answer": AnswerFactory(question=question, delegation=delegation, text=f"Answer of {title}."),
        "practice": PracticeFactory(session=session, delegation=delegation),
        "poll": models.Poll.objects.create(session=session, prompt=f"Poll of {title}?"),
        "floor": floor,
        "delegate": make_delegate(delegation),
        "observer": participants.join_as_observer(meeting=meeting, name=f"Observer of {title}"),
    }


@pytest.fixture
def two_meetings():
    return _meeting("Meeting Alpha", "FR"), _meeting("Meeting Bravo", "DE")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", sorted(MEETING_URLS))
@pytest.mark.parametrize("role", ["delegate", "observer"])
def test_a_participant_of_one_meeting_is_refused_every_url_of_another(two_meetings, name, role):
    alpha, bravo = two_meetings
    client_a, client_b = _client(alpha[role]), _client(bravo[role])
    url_a, url_b = reverse(name, kwargs=MEETING_URLS[name](alpha)), reverse(name, kwargs=MEETING_URLS[name](bravo))
    before = (models.Answer.objects.count(), models.FloorRequest.objects.count(), models.Event.objects.count())
    for method in ("get", "post"):
        own = getattr(client_a, method)(url_a)
        mirror = getattr(client_b, method)(url_b)  # the same role in its own meeting, for comparison
        other = getattr(client_a, method)(url_b)
        assert other.status_code == 403, (method, url_b)
        assert "Meeting Bravo" not in other.content.decode()
        assert own.status_code == mirror.status_code  # in their own meeting, the role decides, not the wall
    if name in {"meeting", "session"}:
        assert client_a.get(url_a).status_code == 200
    # The refused posts changed nothing (the own-meeting posts had no valid form data either).
    assert (models.Answer.objects.count(), models.FloorRequest.objects.count()) == before[:2]


@pytest.mark.parametrize("maker", [make_secretariat, make_chair])
def test_officers_see_every_meeting(two_meetings, maker):
    alpha, bravo = two_meetings
    client = _client(maker())
    for world in (alpha, bravo):
        assert client.get(reverse("meeting", kwargs={"slug": world["meeting"].slug})).status_code == 200
        assert client.get(reverse("session", kwargs=_kwargs("slug", "number")(world))).status_code == 200


def test_a_superuser_sees_every_meeting(two_meetings, django_user_model):
    alpha, bravo = two_meetings
    client = _client(django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123"))
    for world in (alpha, bravo):
        assert client.get(reverse("records", kwargs={"slug": world["meeting"].slug})).status_code == 200


def test_home_lists_only_the_meetings_one_takes_part_in(two_meetings):
    alpha, bravo = two_meetings
    response = _client(alpha["delegate"]).get(reverse("home"))
    # One meeting: home goes straight to it.
    assert response.status_code == 302 and response.url == reverse("meeting", kwargs={"slug": alpha["meeting"].slug})
    html = _client(make_secretariat()).get(reverse("home")).content.decode()
    assert "Meeting Alpha" in html and "Meeting Bravo" in html


def test_the_refusal_says_why_in_french(two_meetings):
    alpha, bravo = two_meetings
    client = _client(alpha["delegate"])
    response = client.get(reverse("meeting", kwargs={"slug": bravo["meeting"].slug}), headers={"accept-language": "fr"})
    assert response.status_code == 403
    assert "Vous ne participez pas à cette réunion." in response.content.decode()


def test_an_observer_who_enters_another_rooms_code_takes_part_in_it_too(two_meetings):
    alpha, bravo = two_meetings
    client = _client(alpha["observer"])
    bravo_url = reverse("meeting", kwargs={"slug": bravo["meeting"].slug})
    assert client.get(bravo_url).status_code == 403
    assert client.post(reverse("join"), {"code": bravo["meeting"].join_code}).status_code == 302
    assert client.get(bravo_url).status_code == 200


def test_an_unknown_meeting_is_still_not_found(two_meetings):
    alpha, _bravo = two_meetings
    assert _client(alpha["delegate"]).get("/meetings/no-such-meeting/").status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(SOCKET_ROUTES))
@pytest.mark.parametrize("role", ["delegate", "observer"])
async def test_a_participant_of_one_meeting_cannot_open_another_meetings_socket(route, role):
    alpha, bravo = await database_sync_to_async(lambda: (_meeting("Meeting Alpha", "FR"), _meeting("Meeting Bravo", "DE")))()
    own, connected, _code = await open_socket(SOCKET_ROUTES[route](alpha), alpha[role])
    assert connected
    await own.disconnect()
    other, connected, code = await open_socket(SOCKET_ROUTES[route](bravo), alpha[role])
    assert (connected, code) == (False, 4403)


@pytest.mark.django_db(transaction=True)
async def test_a_chair_opens_the_sockets_of_every_meeting():
    alpha, bravo = await database_sync_to_async(lambda: (_meeting("Meeting Alpha", "FR"), _meeting("Meeting Bravo", "DE")))()
    chair = await database_sync_to_async(make_chair)()
    for world in (alpha, bravo):
        socket, connected, _code = await open_socket(f"/ws/meetings/{world['meeting'].slug}/sessions/1/console/", chair)
        assert connected
        await socket.disconnect()

