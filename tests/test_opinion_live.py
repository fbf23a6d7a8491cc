"""Opinion rounds over WebSockets: statements reach each delegation, votes reach the console, and the
debounced analysis reaches the console and the screen without a reload."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions_app.models import OpinionRound
from sessions_app.opinion import services

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate
from .live_helpers import receive_until
from .test_room_live import close_room, open_room, receive_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def quick_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": 0.05}


@database_sync_to_async
def setup_room():
    delegations = [DelegationFactory(country=code) for code in CODES]
    session = SessionFactory(number=1)
    meeting = session.meeting
    meeting.delegations.add(*delegations)
    meeting.current_session = session
    meeting.save()
    delegates = [make_delegate(d) for d in delegations]
    return {"session": session, "meeting": meeting, "chair": make_chair(), "fr": delegates[0], "de": delegates[1],
            "delegates": delegates}


async def test_statements_votes_and_the_map_arrive_live():
    world = await setup_room()
    round = await database_sync_to_async(services.open_round)(user=world["chair"], session=world["session"], title="Round", order="chair")
    sockets = await open_room(world)
    try:
        statements = []
        for i in range(8):
            statements.append(await database_sync_to_async(services.add_statement)(user=world["chair"], round=round, text=f"Statement <b>{i}</b>"))
        # The eight statements' messages may arrive spread out under load: wait for the last one's panel.
        france = await receive_until(sockets["fr"], "Statement 1 of 8", timeout=10)
        assert f'id="opinion-vote-{round.pk}"' in france and "&lt;b&gt;" in france
        await receive_all(sockets["de"], timeout=3)
        await receive_all(sockets["console"], timeout=3)
        await database_sync_to_async(services.set_round_options)(user=world["chair"], round=round, on_screen=True)
        await receive_all(sockets["screen"], timeout=3)
        for name in ("fr", "de", "console"):
            await receive_all(sockets[name], timeout=3)

        await database_sync_to_async(services.cast_statement_vote)(user=world["fr"], statement=statements[0], choice="agree")
        france = await receive_all(sockets["fr"], timeout=3)
        assert "Statement 2 of 8" in france
        assert await sockets["de"].receive_nothing(timeout=0.3)  # another delegation's vote changes nothing for Germany

        def vote_blocs():
            for i, user in enumerate(world["delegates"]):
                for j, statement in enumerate(statements):
                    services.cast_statement_vote(user=user, statement=statement, choice="agree" if (i % 2 == 0) == (j < 4) else "disagree")
        await database_sync_to_async(vote_blocs)()
        for _attempt in range(50):  # the analysis runs in its own thread, shortly after the votes
            if (await database_sync_to_async(lambda: OpinionRound.objects.get(pk=round.pk).analysis)()).get("mapped"):
                break
            await asyncio.sleep(0.1)
        # Earlier analyses (fewer votes, bars only) may arrive first under load: wait for the map's.
        console = await receive_until(sockets["console"], 'class="opinion-map"', timeout=10)
        assert "Group A" in console and "Group B" in console
        await receive_until(sockets["screen"], 'class="opinion-map"', timeout=10)
    finally:
        await close_room(sockets)
        await database_sync_to_async(services.wait_for_analyses)()


async def test_switching_to_chatham_house_takes_the_names_off_the_opinion_groups_live():
    from sessions_app.meeting_settings.services import change_meeting_settings

    from .factories import make_secretariat

    world = await setup_room()
    round = await database_sync_to_async(services.open_round)(user=world["chair"], session=world["session"], title="Round", order="chair")
    statements = [await database_sync_to_async(services.add_statement)(user=world["chair"], round=round, text=f"Statement {i}")
                  for i in range(8)]
    await database_sync_to_async(services.set_round_options)(user=world["chair"], round=round, on_screen=True)

    def vote_blocs():
        for i, user in enumerate(world["delegates"]):
            for j, statement in enumerate(statements):
                services.cast_statement_vote(user=user, statement=statement, choice="agree" if (i % 2 == 0) == (j < 4) else "disagree")
    await database_sync_to_async(vote_blocs)()
    await database_sync_to_async(services.wait_for_analyses)()
    for _attempt in range(50):
        if (await database_sync_to_async(lambda: OpinionRound.objects.get(pk=round.pk).analysis)()).get("mapped"):
            break
        await asyncio.sleep(0.1)
    sockets = await open_room(world)
    try:
        for name in ("screen", "console"):  # the last analysis, if still on its way
            while not await sockets[name].receive_nothing(timeout=0.5):
                await sockets[name].receive_from()
        secretariat = await database_sync_to_async(make_secretariat)()
        meeting = world["meeting"]
        await database_sync_to_async(change_meeting_settings)(
            user=secretariat, meeting=meeting, values={"attribution": "chatham", "answer_visibility": meeting.answer_visibility})
        screen = await receive_until(sockets["screen"], 'id="opinion-screen"', timeout=5)
        console = await receive_until(sockets["console"], f'id="opinion-analysis-{round.pk}"', timeout=5)
        assert 'id="live-notice"' in console  # the settings change's own message
        for html in (screen, console):
            assert "Group A" in html and "France" not in html and "Germany" not in html
    finally:
        await close_room(sockets)
        await database_sync_to_async(services.wait_for_analyses)()
