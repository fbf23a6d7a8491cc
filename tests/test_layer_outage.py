"""Redis restarted mid-meeting: the process resubscribes its groups, open sockets are told live
updates paused and resumed (and resync), handshakes during the outage are refused with a close code
the page retries on, never an HTTP 500; what was stored meanwhile reaches the console.

Runs its own redis-server on a free port (no persistence, so a restart forgets every group, as a real
restarted Redis without a dump does)."""

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import time

import pytest
from channels.db import database_sync_to_async

from sessions_app import participants, services
from sessions_app.live import fanout

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from .live_helpers import close_code, console_path, open_socket, receive_until
from .servers import free_port

PORT = free_port()  # not a fixed one: make test runs the embedded and the services pass at once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]


def start_redis() -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def own_redis(settings):
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is missing (REQUIRE_SERVICES=1)")
        pytest.skip("redis-server is not installed")
    state = {"process": start_redis()}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{PORT}/0", "socket_timeout": 30}], "capacity": 2000, "expiry": 60},
        }
    }

    def stop():
        state["process"].kill()
        state["process"].wait()

    def restart():
        state["process"] = start_redis()

    yield type("Redis", (), {"stop": staticmethod(stop), "restart": staticmethod(restart)})
    stop()


@database_sync_to_async
def setup_meeting():
    france = DelegationFactory(country="FR")
    question = QuestionFactory()
    question.session.number = 1
    question.session.save()
    question.session.meeting.delegations.add(france)
    return {"question": question, "meeting": question.session.meeting, "fr": make_delegate(france), "chair": make_chair()}


submit = database_sync_to_async(services.submit_answer)


async def test_redis_restart_pauses_then_resubscribes_and_nothing_stored_is_lost(own_redis, caplog):
    caplog.set_level(logging.INFO, logger="sessions_app")
    fanout.outage.since = None  # this process's layer is up (an earlier test's outage is over)
    # As the lifespan's start sets it in every server: channels-redis's own tasks that failed in the
    # outage are reported when collected, which the handshakes' collection (live/garbage.py) may do here.
    asyncio.get_running_loop().set_exception_handler(fanout.quiet_layer_tasks)
    world = await setup_meeting()
    console, ok, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    assert ok
    await submit(user=world["fr"], question=world["question"], kind="answer", text="Before the outage", key="a")
    assert "Before the outage" in await receive_until(console, "Before the outage", timeout=3)

    own_redis.stop()
    assert 'data-live-state="paused"' in await receive_until(console, "data-live-state", timeout=5)
    # Answers still go to the database while Redis is down; their live message is lost.
    await submit(user=world["fr"], question=world["question"], kind="answer", text="During the outage", key="b")
    # A page opening now is refused with 1013 (try again later), which htmx's ws extension retries.
    refused, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected is True
    assert (await refused.receive_output(timeout=5))["code"] == 1013

    own_redis.restart()
    assert 'data-live-state="resumed"' in await receive_until(console, 'data-live-state="resumed"', timeout=10)
    # The page resyncs on "resumed": the answer stored during the outage is replayed.
    await console.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    assert "During the outage" in await receive_until(console, "During the outage", timeout=3)
    # And the groups are subscribed again: the next answer arrives live.
    await submit(user=world["fr"], question=world["question"], kind="answer", text="After the outage", key="c")
    assert "After the outage" in await receive_until(console, "After the outage", timeout=5)
    reopened, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected is True
    await reopened.disconnect()
    # The chair's revocation too reaches a socket that was open through the restart (a restarted
    # Redis forgot the user's group; the hub joined it again).
    await database_sync_to_async(participants.deactivate_participant)(participant=world["chair"].participant)
    assert await close_code(console, timeout=5) == 4403
    await console.wait()
    await asyncio.sleep(0)
    # An expected fault: one warning when the layer went away, one when it was back; no traceback.
    warnings = [record.getMessage() for record in caplog.records if record.name.startswith("sessions_app") and record.levelno >= logging.WARNING]
    assert len(warnings) == 2 and warnings[0].startswith("Channel layer unavailable ("), warnings
    assert warnings[1].startswith("Channel layer back after "), warnings
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
