"""A graceful stop (SIGTERM: Uvicorn's lifespan shutdown) sends the live messages still pending."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions_app import events, lifespan, services

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

    await database_sync_to_async(services.submit_answer)(user=delegate, question=question, kind="answer", text="Last <b>one</b>", key="k")
    broadcaster = events.Broadcaster.of(asyncio.get_running_loop())
    assert broadcaster.unsent() == 1  # committed, its live message not sent yet: the server is stopped now
    await inbox.put({"type": "lifespan.shutdown"})
    assert await asyncio.wait_for(outbox.get(), 5) == {"type": "lifespan.shutdown.complete"}
    assert broadcaster.unsent() == 0 and broadcaster.task.done()  # sent before the process may exit
    await server
    assert "Last &lt;b&gt;one&lt;/b&gt;" in await console.receive_from(timeout=2)
    await console.disconnect()
