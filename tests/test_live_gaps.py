"""Gap detection: every live message says which event numbers it carries, so a page notices one that
never arrived (the channel layer delivers at most once) and asks for it by number."""

import asyncio
import json
import re

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import services
from sessions_app.live import partials, quiet_check

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from .live_helpers import console_path, delegate_path, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]

MARKER = re.compile(r'<span id="live-seq" data-seq="(\d+)"(?: data-seqs="([\d,-]+)")?( data-through)?')


def carried(html: str) -> set[int]:
    """The event numbers a live message says it carries."""
    found = MARKER.search(html)
    assert found and found.group(2), html[:200]
    numbers = set()
    for part in found.group(2).split(","):
        first, last = part.split("-")
        numbers.update(range(int(first), int(last) + 1))
    return numbers


@database_sync_to_async
def setup_meeting():
    france, germany = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    question = QuestionFactory()
    question.session.number = 1
    question.session.save()
    question.session.meeting.delegations.add(france, germany)
    return {"question": question, "meeting": question.session.meeting, "fr": make_delegate(france), "de": make_delegate(germany), "chair": make_chair()}


submit = database_sync_to_async(services.submit_answer)


async def drain(communicator) -> list[str]:
    messages = [await communicator.receive_from(timeout=3)]
    while not await communicator.receive_nothing(timeout=1.5):
        messages.append(await communicator.receive_from())
    return messages


async def test_seq_ranges_are_compact_and_sorted():
    assert partials.seq_ranges([9, 4, 6, 5, 5]) == "4-6,9-9"
    assert partials.seq_marker(9, covers=[4, 5, 6, 9]) == '<span id="live-seq" data-seq="9" data-seqs="4-6,9-9" hidden hx-swap-oob="true"></span>'
    assert 'data-through' in partials.seq_marker(9, through=True)


async def test_the_console_stream_carries_every_event_number_in_order():
    world = await setup_meeting()
    console, ok, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    assert ok
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="One", key="a")
    await submit(user=world["de"], question=world["question"], kind="answer", text="Two", key="b")
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="star")
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=world["meeting"], question=world["question"])
    await database_sync_to_async(services.set_question_status)(user=world["chair"], question=world["question"], status="closed")
    await database_sync_to_async(services.save_practice)(
        user=world["fr"], session=world["question"].session, title="Toolkit", description="Training.", key="p"
    )
    numbers = set()
    for html in await drain(console):
        numbers |= carried(html)
    assert numbers == {1, 2, 3, 4, 5, 6}  # nothing missing: a console that lacks a number knows it
    await console.disconnect()


async def test_a_dropped_message_shows_as_a_gap_and_the_resync_replays_it():
    world = await setup_meeting()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    await submit(user=world["fr"], question=world["question"], kind="answer", text="First", key="a")
    first = await console.receive_from(timeout=2)
    await submit(user=world["de"], question=world["question"], kind="answer", text="Dropped <b>on the way</b>", key="b")
    await console.receive_from(timeout=2)  # lost: the page never sees it
    await submit(user=world["fr"], question=world["question"], kind="answer", text="Third", key="c")
    third = await console.receive_from(timeout=2)
    assert carried(first) == {1} and carried(third) == {3}  # 2 is missing: the page resyncs after 1

    await console.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    replay = await drain(console)
    joined = "".join(replay)
    assert "Dropped &lt;b&gt;on the way&lt;/b&gt;" in joined and "<b>on the way" not in joined
    # One message (a live one delivered meanwhile never lands between its parts), closed by the
    # marker that the page has everything up to 3.
    assert len(replay) == 1 and MARKER.findall(replay[0])[-1] == ("3", "", " data-through")
    await console.disconnect()


async def test_a_quiet_page_that_missed_nothing_gets_nothing_back():
    world = await setup_meeting()
    await submit(user=world["fr"], question=world["question"], kind="answer", text="First", key="a")
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await delegate.send_to(text_data=json.dumps({"type": "resync", "after": 1}))  # the periodic check, nothing new
    assert await delegate.receive_nothing(timeout=0.3)
    await delegate.disconnect()


async def test_a_delegate_that_missed_its_own_status_gets_it_from_the_periodic_check():
    world = await setup_meeting()
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await submit(user=world["de"], question=world["question"], kind="answer", text="Germany", key="a")
    await submit(user=world["fr"], question=world["question"], kind="answer", text="France", key="b")
    await drain(delegate)  # lost on the way
    await delegate.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
    replay = await drain(delegate)
    assert f'id="answer-status-q{world["question"].pk}"' in "".join(replay)
    assert "Germany" not in "".join(replay)  # another delegation's answer is not this page's to see
    assert len(replay) == 1 and MARKER.findall(replay[0])[-1] == ("2", "", " data-through")
    await delegate.disconnect()


@database_sync_to_async
def start_counting_socket_queries() -> CaptureQueriesContext:
    """Count the queries of the sockets' database thread (socket_database runs on this one too)."""
    counting = CaptureQueriesContext(connection)
    counting.__enter__()
    return counting


@database_sync_to_async
def socket_queries(counting: CaptureQueriesContext) -> list[str]:
    counting.__exit__(None, None, None)
    return [query["sql"] for query in counting.captured_queries]


async def test_quiet_checks_of_many_consoles_cost_one_query_and_only_a_page_behind_gets_a_reply(monkeypatch):
    quiet_check.forget()
    monkeypatch.setattr(quiet_check, "MAX_AGE_S", 60)  # every check below within the age, however slow the machine
    world = await setup_meeting()
    await submit(user=world["fr"], question=world["question"], kind="answer", text="First", key="a")
    # Opened after the first answer went out: each console has everything up to 1.
    consoles = [(await open_socket(console_path(world["meeting"]), world["chair"]))[0] for _ in range(8)]

    counting = await start_counting_socket_queries()
    for _round in range(2):  # every console quiet at once, twice, each with everything up to 1
        for console in consoles:
            await console.send_to(text_data=json.dumps({"type": "check", "after": 1}))
        assert all(await asyncio.gather(*(console.receive_nothing(timeout=0.2) for console in consoles)))
    queries = await socket_queries(counting)
    assert len(queries) == 1 and '"last_seq"' in queries[0], queries  # one read for all, no role re-check

    await submit(user=world["de"], question=world["question"], kind="answer", text="Dropped <i>late</i>", key="b")
    for console in consoles:
        await console.receive_from(timeout=2)  # the last message of the burst, lost on the way
    monkeypatch.setattr(quiet_check, "MAX_AGE_S", 0)  # the half second gone by
    await consoles[0].send_to(text_data=json.dumps({"type": "check", "after": 1}))
    replay = [await consoles[0].receive_from(timeout=2)]  # one message: the catch-up
    assert len(replay) == 1 and "Dropped &lt;i&gt;late&lt;/i&gt;" in replay[0] and "<i>late" not in replay[0]
    assert MARKER.findall(replay[0])[-1] == ("2", "", " data-through")
    await consoles[1].send_to(text_data=json.dumps({"type": "check", "after": 2}))  # a console that has it
    assert await consoles[1].receive_nothing(timeout=0.2) and await consoles[0].receive_nothing(timeout=0.05)
    for console in consoles:
        await console.disconnect()


async def test_a_malformed_quiet_check_closes_the_socket():
    world = await setup_meeting()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    await console.send_to(text_data=json.dumps({"type": "check", "after": "1"}))
    assert (await console.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4400}
    await console.disconnect()
