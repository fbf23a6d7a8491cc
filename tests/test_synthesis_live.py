"""The themes of a question's answers over WebSockets: answers arrive, the debounced recompute runs
off the request path, and the chair's console gets the new panel without a reload; delegates get nothing."""

import pytest
from channels.db import database_sync_to_async

from sessions_app import services
from sessions_app.synthesis import compute

from .factories import DelegationFactory, QuestionFactory, SessionFactory, make_chair, make_delegate
from .live_helpers import receive_until
from .test_room_live import close_room, open_room, receive_all
from .test_synthesis_themes import SCHOOL, WATER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def quick_synthesis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "SYNTHESIS_DELAY": 0.05}


@database_sync_to_async
def setup_room():
    delegations = [DelegationFactory(country=code) for code in CODES]
    question = QuestionFactory(session=SessionFactory(number=1))  # the room's sockets open session 1
    session, meeting = question.session, question.session.meeting
    meeting.delegations.add(*delegations)
    meeting.current_session = session
    meeting.save()
    delegates = [make_delegate(d) for d in delegations]
    return {"session": session, "meeting": meeting, "question": question, "chair": make_chair(), "fr": delegates[0],
            "de": delegates[1], "delegates": delegates}


async def test_the_themes_follow_the_answers_onto_the_console():
    world = await setup_room()
    sockets = await open_room(world)
    try:
        def answer_all():
            for i, (user, text) in enumerate(zip(world["delegates"], WATER + SCHOOL)):
                services.submit_answer(user=user, question=world["question"], kind="answer", text=text, key=f"k{i}")
        await database_sync_to_async(answer_all)()
        # Bursts of answers give a few recomputes, each with more answers: wait for the one with both themes.
        console = await receive_until(sockets["console"], "2 themes.", timeout=15)
        assert f'id="synthesis-question-{world["question"].pk}"' in console and "drought" in console
        await receive_all(sockets["fr"], timeout=3)  # the French delegation's own answer
        assert "synthesis-question" not in await receive_all(sockets["de"], timeout=3)
    finally:
        await close_room(sockets)
        await database_sync_to_async(compute.wait_for_syntheses)()


async def test_switching_to_chatham_house_takes_the_names_off_the_themes_live():
    from sessions_app.meeting_settings.services import change_meeting_settings

    from .factories import make_secretariat

    world = await setup_room()

    def answer_all():
        for i, (user, text) in enumerate(zip(world["delegates"], WATER + SCHOOL)):
            services.submit_answer(user=user, question=world["question"], kind="answer", text=text, key=f"k{i}")
    await database_sync_to_async(answer_all)()
    await database_sync_to_async(compute.wait_for_syntheses)()
    sockets = await open_room(world)
    try:
        while not await sockets["console"].receive_nothing(timeout=0.5):  # the last recompute's panel, if still on its way
            await sockets["console"].receive_from()
        meeting = world["meeting"]
        secretariat = await database_sync_to_async(make_secretariat)()
        await database_sync_to_async(change_meeting_settings)(
            user=secretariat, meeting=meeting, values={"attribution": "chatham", "answer_visibility": meeting.answer_visibility})
        console = await receive_until(sockets["console"], f'id="synthesis-question-{world["question"].pk}"', timeout=5)
        assert 'id="live-notice"' in console  # the settings change's own message
        assert "2 themes." in console and "France" not in console and "Germany" not in console
    finally:
        await close_room(sockets)
        await database_sync_to_async(compute.wait_for_syntheses)()
