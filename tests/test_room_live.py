"""The floor and polls over WebSockets: what each open page receives, and what a reconnect replays."""

import json

import pytest
from channels.db import database_sync_to_async

from sessions_app import floor, polls

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate
from .live_helpers import console_path, delegate_path, open_socket, screen_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]


@database_sync_to_async
def setup_room():
    france, germany, japan = (DelegationFactory(country=code) for code in ("FR", "DE", "JP"))
    session = SessionFactory(number=1)
    meeting = session.meeting
    meeting.delegations.add(france, germany, japan)
    meeting.current_session = session
    meeting.save()
    return {
        "session": session, "meeting": meeting, "chair": make_chair(),
        "fr": make_delegate(france), "de": make_delegate(germany), "jp": make_delegate(japan),
    }


async def receive_all(communicator, timeout=1.0) -> str:
    """Every message that arrives until the socket is quiet, joined."""
    messages = [await communicator.receive_from(timeout=timeout)]
    while not await communicator.receive_nothing(timeout=0.2):
        messages.append(await communicator.receive_from(timeout=timeout))
    return "\n".join(messages)


async def open_room(world):
    sockets = {}
    for name, path, user in (
        ("console", console_path(world["meeting"]), world["chair"]),
        ("fr", delegate_path(world["meeting"]), world["fr"]),
        ("de", delegate_path(world["meeting"]), world["de"]),
        ("screen", screen_path(world["meeting"]), world["chair"]),
    ):
        communicator, connected, _code = await open_socket(path, user)
        assert connected
        sockets[name] = communicator
    return sockets


async def close_room(sockets):
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_floor_request_reaches_the_console_everyone_and_the_requester_own_place():
    world = await setup_room()
    sockets = await open_room(world)
    try:
        await database_sync_to_async(floor.request_floor)(user=world["fr"], session=world["session"])
        console = await receive_all(sockets["console"])
        assert f'id="floor-console-{world["session"].pk}"' in console and "France" in console and "Give the floor" in console
        france = await receive_all(sockets["fr"])
        assert "Your delegation is number 1 on the list." in france
        # Everyone's view comes first; the requester's own place after it, so it wins.
        assert france.index("Request the floor") < france.index("Your delegation is number 1")
        germany = await receive_all(sockets["de"])
        assert "1 delegation waiting" in germany and "Your delegation is number" not in germany
        assert await sockets["screen"].receive_from(timeout=1)
    finally:
        await close_room(sockets)


async def test_giving_the_floor_sends_the_countdown_to_delegates_and_screen():
    world = await setup_room()
    request = await database_sync_to_async(floor.request_floor)(user=world["de"], session=world["session"])
    sockets = await open_room(world)
    try:
        given = await database_sync_to_async(floor.give_floor)(user=world["chair"], floor_request=request, seconds=120)
        ends = int(given.started_at.timestamp()) + 120
        france = await receive_all(sockets["fr"])
        assert "Germany has the floor" in france and f'data-countdown-ends="{ends}"' in france
        screen = await receive_all(sockets["screen"])
        assert "Germany has the floor" in screen and f'data-countdown-ends="{ends}"' in screen
        germany = await receive_all(sockets["de"])
        assert "Your delegation has the floor." in germany
    finally:
        await close_room(sockets)


async def test_poll_launch_vote_and_results_follow_the_chairs_choice():
    world = await setup_room()
    poll = await database_sync_to_async(polls.create_poll)(
        user=world["chair"], session=world["session"], prompt="Priority?", kind="single",
        options=["Top priority", "Significant priority"], benchmarks=["23", "27"], benchmark_label="Figure 4, n=26",
    )
    sockets = await open_room(world)
    try:
        await database_sync_to_async(polls.open_poll)(user=world["chair"], poll=poll)
        france = await receive_all(sockets["fr"])
        assert f'id="poll-vote-{poll.pk}"' in france and "Vote for my delegation" in france
        await receive_all(sockets["de"])
        await receive_all(sockets["console"])
        await receive_all(sockets["screen"])

        option = await database_sync_to_async(lambda: str(poll.options.get(label="Top priority").pk))()
        await database_sync_to_async(polls.cast_vote)(user=world["fr"], poll=poll, key="v1", options=[option])
        france = await receive_all(sockets["fr"])
        assert "Your delegation has voted." in france and "delegations voted" not in france
        assert await sockets["de"].receive_nothing(timeout=0.3)  # results hidden: other delegations get nothing
        console = await receive_all(sockets["console"])
        assert "1 of 3 delegations voted" in console and "Figure 4, n=26" in console

        await database_sync_to_async(polls.set_poll_results_visible)(user=world["chair"], poll=poll, visible=True)
        germany = await receive_all(sockets["de"])
        assert "1 of 3 delegations voted" in germany and "23%" in germany
        screen = await receive_all(sockets["screen"])
        assert "Figure 4, n=26" in screen and "100%" in screen
    finally:
        await close_room(sockets)


async def test_a_reconnecting_delegate_gets_their_vote_state_back():
    world = await setup_room()
    poll = await database_sync_to_async(polls.create_poll)(
        user=world["chair"], session=world["session"], prompt="Scale?", kind="scale", options=[],
    )
    await database_sync_to_async(polls.open_poll)(user=world["chair"], poll=poll)
    await database_sync_to_async(polls.cast_vote)(user=world["fr"], poll=poll, key="v1", scale="7")
    communicator, connected, _code = await open_socket(delegate_path(world["meeting"]), world["fr"])
    assert connected
    try:
        await communicator.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
        replay = await receive_all(communicator)
        last_state = replay[replay.rindex(f'id="poll-vote-{poll.pk}"'):]
        assert "Your delegation has voted." in last_state and "<form" not in last_state.split("</div>")[0]
    finally:
        await communicator.disconnect()
