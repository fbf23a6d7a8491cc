"""Vote posts through Django's request path and the real ASGI application, stored in batches below the
view (sessions_app/opinion/vote_batch.py): each delegate's reply, every socket of the voting delegation
updated (a colleague's phone too), another delegation's left alone."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions_app.models import StatementVote
from sessions_app.opinion import services, vote_batch

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate
from .live_helpers import delegate_path, open_socket, receive_until
from .test_answer_batch import post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]
CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def no_background_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": -1}


@database_sync_to_async
def setup_round():
    session = SessionFactory(number=1)
    delegations = [DelegationFactory(country=code) for code in CODES]
    session.meeting.delegations.add(*delegations)
    chair = make_chair()
    round = services.open_round(user=chair, session=session, title="Round", order="chair")
    statements = [services.add_statement(user=chair, round=round, text=f"Statement <i>{i}</i>") for i in range(2)]
    return {"meeting": session.meeting, "round": round, "statements": statements,
            "delegates": [make_delegate(d) for d in delegations], "colleague": make_delegate(delegations[0])}


def vote_path(world, statement) -> str:
    return f"/meetings/{world['meeting'].slug}/opinion/statements/{statement.pk}/vote/"


async def test_votes_posted_together_are_stored_together_and_each_delegation_sees_its_panel():
    world = await setup_round()
    first = world["statements"][0]
    colleague, _ok, _code = await open_socket(delegate_path(world["meeting"]), world["colleague"])  # France's second phone
    germany, _ok, _code = await open_socket(delegate_path(world["meeting"]), world["delegates"][1])
    try:
        before = vote_batch.batcher().stats.copy()
        voters = world["delegates"][:1] + world["delegates"][2:]  # everyone but Germany
        replies = await asyncio.gather(*(post(vote_path(world, first), {"choice": "agree"}, user=user) for user in voters),
                                       post(vote_path(world, first), {"choice": "agree"}, user=voters[0]))  # France's retry
        assert [reply["status"] for reply in replies] == [200] * 8
        for reply in replies:
            body = reply["body"].decode()
            assert f'<section class="panel opinion-vote" id="opinion-vote-{world["round"].pk}"' in body
            assert "Statement 2 of 2" in body and "Statement &lt;i&gt;1&lt;/i&gt;" in body and "hx-swap-oob" not in body
        # France's vote is answered with its live update's render (whose forms take the CSRF token from the
        # page's hx-headers), not a second render; its retry renders its own (as may, where the layer knows no
        # socket of theirs listens, the other delegations).
        shared = ["csrfmiddlewaretoken" not in reply["body"].decode() for reply in replies]
        assert shared[0] + shared[-1] == 1
        assert await database_sync_to_async(StatementVote.objects.count)() == 7
        stats = vote_batch.batcher().stats
        assert stats["voted"] - before["voted"] == 8 and stats["batches"] - before["batches"] < 8
        panel = await receive_until(colleague, "Statement 2 of 2", timeout=5)
        assert f'id="opinion-vote-{world["round"].pk}" aria-labelledby="opinion-vote-{world["round"].pk}-title" hx-swap-oob="true"' in panel
        assert await germany.receive_nothing(timeout=0.3)
        refused = await post(vote_path(world, first), {"choice": "maybe"}, user=world["delegates"][1])
        assert refused["status"] == 422 and "agree, disagree or pass" in refused["body"].decode()
    finally:
        await colleague.disconnect()
        await germany.disconnect()
