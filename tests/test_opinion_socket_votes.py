"""Votes over the delegate's socket: stored through the vote batcher, answered with the panel and an
ack naming the page's key; refused clearly (nothing stored) for a closed round, another meeting's
statement or another role; a malformed frame closes the socket. And what the consoles see of votes:
the votes per statement, carried as numbered live events."""

import json
import re
import time

import pytest
from channels.db import database_sync_to_async

from sessions_app.live import consumers, votes
from sessions_app.models import Event, StatementVote
from sessions_app.opinion import services

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate
from . import live_helpers
from .live_helpers import close_code, connected_socket, console_path, delegate_path, open_socket, receive_until
from .test_room_live import receive_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]
KEY = "k-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": -1}


@database_sync_to_async
def setup_round(statements=3):
    delegations = [DelegationFactory(country=code) for code in ("FR", "DE")]
    session = SessionFactory(number=1)
    meeting = session.meeting
    meeting.delegations.add(*delegations)
    chair = make_chair()
    round = services.open_round(user=chair, session=session, title="Round", order="chair")
    items = [services.add_statement(user=chair, round=round, text=f"Statement <b>{i}</b>") for i in range(statements)]
    return {"meeting": meeting, "session": session, "chair": chair, "round": round, "statements": items,
            "fr": make_delegate(delegations[0]), "de": make_delegate(delegations[1]), "delegations": delegations}


def frame(world, statement=0, choice="agree", key=KEY, **extra):
    return json.dumps({"type": "vote", "key": key, "round": world["round"].pk,
                       "statement": world["statements"][statement].pk, "choice": choice, **extra})


async def delegate_socket(world, name="fr"):
    return await connected_socket(delegate_path(world["meeting"]), world[name])


async def reply_to(socket, key=KEY, timeout=5) -> str:
    return await live_helpers.reply_to(socket, key, timeout)


@database_sync_to_async
def stored_votes(world):
    return sorted(StatementVote.objects.filter(statement__round=world["round"]).values_list("delegation__country", "choice"))


async def test_a_vote_over_the_socket_is_stored_and_answered_with_the_next_statement_and_the_ack():
    world = await setup_round()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world))
        reply = await reply_to(socket)
        assert "Statement 2 of 3" in reply and f'id="opinion-vote-{world["round"].pk}"' in reply
        assert "&lt;b&gt;" in reply and "<b>" not in reply
        assert "data-vote-refused" not in reply
        assert await stored_votes(world) == [("FR", -1)]
    finally:
        await socket.disconnect()


async def test_the_same_vote_sent_twice_is_stored_once_and_acked_twice():
    world = await setup_round()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world))
        await reply_to(socket)
        await socket.send_to(text_data=frame(world))
        again = await reply_to(socket)
        assert "Statement 2 of 3" in again
        assert await stored_votes(world) == [("FR", -1)]
        assert await database_sync_to_async(Event.objects.filter(type="opinion.voted").count)() == 1
    finally:
        await socket.disconnect()


async def test_a_vote_in_a_closed_round_is_refused_and_changes_nothing():
    world = await setup_round()
    await database_sync_to_async(services.set_round_status)(user=world["chair"], round=world["round"], status="closed")
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world))
        reply = await reply_to(socket)
        assert "data-vote-refused" in reply and "This round is not open: votes are not taken now." in reply
        assert await stored_votes(world) == []
    finally:
        await socket.disconnect()


async def test_a_vote_on_another_meetings_statement_or_round_is_refused():
    world, other = await setup_round(), await setup_round(statements=1)
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=json.dumps({"type": "vote", "key": KEY, "round": other["round"].pk,
                                                   "statement": other["statements"][0].pk, "choice": "agree"}))
        assert "This statement is not open to votes." in await reply_to(socket)
        # A statement of this meeting named with the wrong round.
        await socket.send_to(text_data=frame(world, key="k-wrong-round", round=other["round"].pk))
        assert "data-vote-refused" in await reply_to(socket, key="k-wrong-round")
        assert await stored_votes(world) == [] and await stored_votes(other) == []
    finally:
        await socket.disconnect()


async def test_a_console_cannot_vote_over_its_socket():
    world = await setup_round()
    socket, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected
    try:
        await socket.send_to(text_data=frame(world))
        assert "Only a delegation&#x27;s delegates can do this." in await reply_to(socket)
        assert await stored_votes(world) == []
    finally:
        await socket.disconnect()


async def test_a_delegate_whose_role_was_revoked_since_connecting_is_closed_not_counted():
    """No push of the revocation (an update the sign-in code never saw, or a push the layer lost), and
    long before the socket's periodic re-check: the vote's run reads the voter afresh and refuses."""
    world = await setup_round()
    socket = await delegate_socket(world)
    try:
        def revoke():
            type(world["fr"]).objects.filter(pk=world["fr"].pk).update(is_active=False)
        await database_sync_to_async(revoke)()
        await socket.send_to(text_data=frame(world))
        assert await close_code(socket) == consumers.CLOSE_FORBIDDEN
        assert await stored_votes(world) == []
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("bad", [
    {"type": "vote", "round": 1, "statement": 1, "choice": "agree"},  # no key
    {"type": "vote", "key": "short", "round": 1, "statement": 1, "choice": "agree"},
    {"type": "vote", "key": KEY, "round": 1, "statement": "1", "choice": "agree"},
    {"type": "vote", "key": KEY, "round": True, "statement": 1, "choice": "agree"},
    {"type": "vote", "key": KEY, "round": 1, "statement": 1, "choice": ["agree"]},
    {"type": "vote", "key": '"><script>', "round": 1, "statement": 1, "choice": "agree"},
])
async def test_a_malformed_vote_frame_closes_the_socket_and_stores_nothing(bad):
    world = await setup_round()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=json.dumps(bad))
        assert await close_code(socket) == consumers.CLOSE_MALFORMED
        assert await stored_votes(world) == []
    finally:
        await socket.disconnect()


async def test_an_unknown_choice_is_refused_with_its_reason():
    world = await setup_round()
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world, choice="maybe"))
        assert "Choose agree, disagree or pass." in await reply_to(socket)
        assert await stored_votes(world) == []
    finally:
        await socket.disconnect()


async def test_the_console_sees_votes_per_statement_as_numbered_events_without_waiting_for_the_map():
    world = await setup_round()
    console = await connected_socket(console_path(world["meeting"]), world["chair"])
    socket = await delegate_socket(world)
    try:
        await socket.send_to(text_data=frame(world))
        await reply_to(socket)
        html = await receive_until(console, f'id="opinion-tally-{world["round"].pk}"', timeout=5)
        seq = await database_sync_to_async(lambda: Event.objects.get(type="opinion.voted").seq)()
        assert f'data-seqs="{seq}-{seq}"' in html  # the vote's number: no gap, no resync
        row = re.search(r"Statement &lt;b&gt;0&lt;/b&gt;</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", html)
        assert row and row.groups() == ("1", "0", "0")
        assert "opinion-map" not in html  # the analysis is switched off here: the counts did not wait for it
    finally:
        await socket.disconnect()
        await console.disconnect()


async def test_votes_in_quick_succession_reach_the_console_throttled_and_the_last_counts_follow():
    world = await setup_round(statements=6)
    console = await connected_socket(console_path(world["meeting"]), world["chair"])
    socket = await delegate_socket(world)
    try:
        started = time.monotonic()
        for i in range(6):
            await socket.send_to(text_data=frame(world, statement=i, key=f"k-quick-{i:04d}"))
            await reply_to(socket, key=f"k-quick-{i:04d}")
        seqs = await database_sync_to_async(lambda: set(Event.objects.filter(type="opinion.voted").values_list("seq", flat=True)))()

        def carried(messages) -> set[int]:
            return {int(n) for message in messages for first, last in re.findall(r'data-seqs="(\d+)-(\d+)"', message)
                    for n in range(int(first), int(last) + 1)}

        # The counts' refresh (a message of its own) may count the last vote before that vote's own
        # message (its event number) reaches the console: read until both have come.
        messages = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (any("(6 votes)" in m for m in messages) and seqs <= carried(messages)):
            messages.append(await console.receive_from(timeout=5))
        assert any("(6 votes)" in m for m in messages)  # the last counts arrive, after the throttle's interval at most
        assert seqs <= carried(messages)  # every vote's number reached the console, counts or not
        tallies = sum('id="opinion-tally-' in message for message in messages)
        elapsed = time.monotonic() - started
        assert tallies <= 2 + elapsed / votes.TALLY_INTERVAL_S
    finally:
        await socket.disconnect()
        await console.disconnect()


async def test_a_console_that_missed_votes_gets_the_counts_once_in_its_catch_up():
    world = await setup_round()
    for name in ("fr", "de"):
        await database_sync_to_async(services.cast_statement_vote)(user=world[name], statement=world["statements"][0], choice="agree")
    console = await connected_socket(console_path(world["meeting"]), world["chair"])
    try:
        await console.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
        html = await receive_all(console, timeout=3)
        assert html.count(f'id="opinion-tally-{world["round"].pk}"') >= 1
        assert "(2 votes)" in html
    finally:
        await console.disconnect()
