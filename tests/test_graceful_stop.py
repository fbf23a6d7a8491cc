"""A graceful stop (SIGTERM: Uvicorn's lifespan shutdown) sends the live messages still pending."""

import asyncio
import logging

import pytest
from channels.db import database_sync_to_async

from sessions_app import services
from sessions_app.live import fanout, lifespan
from sessions_app.live.broadcaster import Broadcaster

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from .live_helpers import console_path, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]


@database_sync_to_async
def setup_meeting():
    question = QuestionFactory()
    france = DelegationFactory(country="FR")
    question.session.number = 1
    question.session.save()
    question.session.meeting.delegations.add(france)
    return question, make_delegate(france), make_chair()


async def test_the_lifespan_shutdown_sends_the_pending_live_messages_before_it_completes():
    question, delegate, chair = await setup_meeting()
    console, connected, _ = await open_socket(console_path(question.session.meeting), chair)
    assert connected
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    server = asyncio.get_running_loop().create_task(lifespan.application({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert await outbox.get() == {"type": "lifespan.startup.complete"}

    broadcaster = Broadcaster.of(asyncio.get_running_loop())
    # Committed, its live message not sent yet when the server is stopped. Whether the broadcaster
    # has already sent it by the time the committing thread hands back is the scheduler's: on a busy
    # machine it often has, so the answer is edited again until one is caught still pending.
    for attempt in range(50):
        text = f"Last <b>one</b> #{attempt}"
        await database_sync_to_async(services.submit_answer)(user=delegate, question=question, kind="answer", text=text, key=f"k{attempt}")
        if broadcaster.unsent():
            break
        await broadcaster.sent()
    assert broadcaster.unsent() == 1, "every answer was sent before the stop: nothing left to drain"
    await inbox.put({"type": "lifespan.shutdown"})
    assert await asyncio.wait_for(outbox.get(), 5) == {"type": "lifespan.shutdown.complete"}
    assert broadcaster.unsent() == 0 and broadcaster.task.done()  # sent before the process may exit
    await server
    received = ""
    while f"#{attempt}" not in received:
        received = await console.receive_from(timeout=2)
    assert f"Last &lt;b&gt;one&lt;/b&gt; #{attempt}" in received
    await console.disconnect()


async def a_read_that_drops_cancellations():
    """What channels-redis's receive does under redis-py: a command's send through asyncio.wait_for
    (Python 3.11's returns the result of a step that finished as the cancellation arrived, and drops
    the cancellation), then the blocking read of the reply, again and again until a message comes."""

    async def send():
        await asyncio.sleep(0)

    while True:
        await asyncio.wait_for(send(), 30)
        await asyncio.sleep(0.001)


async def test_a_channel_read_ends_when_its_socket_is_cancelled_even_if_the_read_drops_cancellations():
    for attempt in range(20):  # at every point of the read's loop
        read = asyncio.ensure_future(fanout.until_cancelled(a_read_that_drops_cancellations()))
        await asyncio.sleep(0.001 * (attempt % 5))
        for _ in range(attempt % 3):
            await asyncio.sleep(0)
        read.cancel()
        done, _ = await asyncio.wait({read}, timeout=fanout.STOP_BOUND_S + 1)
        assert read in done and read.cancelled(), attempt
    assert [task for task in asyncio.all_tasks() if "a_read_that_drops" in repr(task)] == []  # no read left behind


async def test_a_channel_read_gives_back_its_message_or_its_error():
    async def message():
        await asyncio.sleep(0)
        return {"type": "auth.revoked"}

    async def outage():
        raise ConnectionError("Redis is restarting")

    assert await fanout.until_cancelled(message()) == {"type": "auth.revoked"}
    with pytest.raises(ConnectionError, match="Redis is restarting"):
        await fanout.until_cancelled(outage())


async def test_a_channel_layer_task_failing_while_redis_is_down_is_the_outage_not_a_traceback(caplog):
    """channels-redis fires off a task per message received (cleaning its backup queue) that nothing
    awaits; Redis down, it fails, and asyncio logged "Task exception was never retrieved" with three
    chained tracebacks (seen in the stopping worker of the chaos scenario)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    loop = asyncio.get_running_loop()

    async def fails(error):
        raise error

    async def context_of(error):
        task = loop.create_task(fails(error))
        await asyncio.wait({task})
        return {"message": "Task exception was never retrieved", "exception": task.exception(), "future": task}

    try:
        fanout.quiet_layer_tasks(loop, await context_of(RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")))
        assert [record for record in caplog.records if record.exc_info] == []
        fanout.quiet_layer_tasks(loop, await context_of(ValueError("a bug")))  # not an outage: as asyncio says it
        fanout.quiet_layer_tasks(loop, await context_of(ConnectionResetError("a client's socket")))  # nor another task's socket
        assert [record.exc_info[0] for record in caplog.records if record.exc_info] == [ValueError, ConnectionResetError]
    finally:
        fanout.outage.back()


async def test_a_layer_task_reported_after_its_outage_ended_is_said_in_a_line_and_opens_no_outage(caplog):
    """asyncio reports a task whose error nobody read when it is collected: maybe after Redis is back."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    caplog.set_level(logging.INFO, logger="sessions_app")
    loop = asyncio.get_running_loop()

    async def fails():
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    task = loop.create_task(fails())
    await asyncio.wait({task})
    context = {"message": "Task exception was never retrieved", "exception": task.exception(), "future": task}
    fanout.outage.back()  # no outage now
    fanout.quiet_layer_tasks(loop, context)
    assert fanout.outage.since is None  # Redis is up: no "unavailable" said, nor "back" to follow
    said = [(record.levelno, record.getMessage()) for record in caplog.records if record.name.startswith("sessions_app")]
    assert said == [(logging.INFO, "A channel layer's own background task had failed while its server was unreachable: "
                                   "Error 111 connecting to 127.0.0.1:6379. Connection refused.")]  # fmt: skip
    try:  # during an outage, it is one more failure of it, not a line of its own
        fanout.outage.failed(RedisConnectionError("down"), "a test")
        caplog.clear()
        fanout.quiet_layer_tasks(loop, context)
        assert fanout.outage.failures == 2 and caplog.records == []
    finally:
        fanout.outage.back()


async def test_the_lifespan_start_installs_the_quiet_handler_for_the_layers_tasks():
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    loop = asyncio.get_running_loop()
    server = loop.create_task(lifespan.application({"type": "lifespan"}, inbox.get, outbox.put))
    try:
        await inbox.put({"type": "lifespan.startup"})
        assert await outbox.get() == {"type": "lifespan.startup.complete"}
        assert loop.get_exception_handler() is fanout.quiet_layer_tasks
        await inbox.put({"type": "lifespan.shutdown"})
        assert await asyncio.wait_for(outbox.get(), 5) == {"type": "lifespan.shutdown.complete"}
        await server
    finally:
        loop.set_exception_handler(None)
