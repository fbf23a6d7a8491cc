"""A revoked or deactivated participant's live sockets close within moments, and cannot reopen."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from facilitation.asgi import application
from sessions_app import participants

from .factories import DelegationFactory, MeetingFactory, SessionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]

CLOSE_FORBIDDEN = 4403
CLOSE_UNAUTHENTICATED = 4401


@database_sync_to_async
def setup_delegate():
    cache.clear()
    meeting = MeetingFactory()
    meeting.delegations.add(DelegationFactory(country="FR"))
    SessionFactory(meeting=meeting, number=1)
    participant = participants.add_participant(
        meeting=meeting, name="Marie Dupont", email="marie@example.org", role="delegate", delegation_code="FR"
    )
    [link] = participants.issue_sign_in_links(participants=[participant])
    return meeting, participant, link.token


@sync_to_async
def sign_in_with_link(token: str, meeting) -> str:
    """Sign in the way a participant does, and return the browser's session cookie."""
    client = Client()
    response = client.post(participants.sign_in_path(token, meeting=meeting))
    assert response.status_code == 302
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def open_delegate_socket(meeting, cookie: str):
    communicator = WebsocketCommunicator(
        application,
        f"/ws/meetings/{meeting.slug}/sessions/1/delegate/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())],
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.parametrize("withdraw", ["revoke", "deactivate"])
async def test_withdrawing_a_participant_closes_their_open_sockets_and_refuses_new_ones(withdraw):
    meeting, participant, token = await setup_delegate()
    cookie = await sign_in_with_link(token, meeting)
    communicator, connected, _code = await open_delegate_socket(meeting, cookie)
    assert connected is True

    service = participants.revoke_sign_in_links if withdraw == "revoke" else participants.deactivate_participant
    await database_sync_to_async(service)(participant=participant)

    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    await communicator.wait()

    again, connected, code = await open_delegate_socket(meeting, cookie)
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)  # the session itself is gone
