"""The scale-out database: what only PostgreSQL's row locks and deadlock detection can show."""

import asyncio
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions_app import services
from sessions_app.models import Answer, AnswerRevision, Meeting

from .factories import DelegationFactory, QuestionFactory, make_delegate

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (the PostgreSQL + Redis pass of make test)")


def _connect(**options) -> psycopg.Connection:
    """A connection of another process, to the test database."""
    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"] or None,
                           password=settings["PASSWORD"] or None, dbname=settings["NAME"], **options)  # fmt: skip


def _wait_for_a_lock_wait(watcher: psycopg.Connection, bound_s: float = 10.0) -> None:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        if row[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the answer's transaction never waited for the lock")


@pytest.mark.django_db(transaction=True)
def test_an_answer_whose_transaction_postgresql_breaks_in_a_deadlock_is_stored_on_the_retry():
    """Another process holds the meeting's row (numbering its own events) and then wants the answer
    row this post has locked: PostgreSQL breaks the deadlock by failing the post's transaction. The
    delegate must get their answer saved, not an error."""
    france = DelegationFactory(country="FR")
    question = QuestionFactory(status="open")
    meeting = question.session.meeting
    meeting.delegations.add(france)
    delegate = make_delegate(france)
    answer = services.submit_answer(user=delegate, question=question, kind="answer", text="First thoughts", key="k1")
    url = reverse("submit_answer", args=[meeting.slug, question.pk])
    replies = []

    def post():
        try:
            client = Client()
            client.force_login(delegate)
            replies.append(client.post(url, {"kind": "answer", "text": "Our final answer", "key": "k2"}, headers={"HX-Request": "true"}))
        finally:
            connection.close()

    with _connect(autocommit=True) as watcher, _connect() as other:
        other.execute("SET deadlock_timeout = '10s'")  # the post's backend (1 s) finds the deadlock first
        other.execute(f"UPDATE {Meeting._meta.db_table} SET last_seq = last_seq WHERE id = %s", [meeting.pk])
        thread = threading.Thread(target=post)
        thread.start()
        _wait_for_a_lock_wait(watcher)  # the post has locked its answer and waits for the meeting's row
        other.execute(f"SELECT id FROM {Answer._meta.db_table} WHERE id = %s FOR UPDATE", [answer.pk])  # closes the cycle
        other.commit()
        thread.join(15)

    assert [reply.status_code for reply in replies] == [200]
    assert "Your answer was saved." in replies[0].content.decode()
    answer.refresh_from_db()
    assert answer.text == "Our final answer"
    assert list(AnswerRevision.objects.filter(answer=answer).order_by("pk").values_list("text", flat=True)) == ["First thoughts", "Our final answer"]


@pytest.mark.django_db(transaction=True)
async def test_an_answer_batch_postgresql_breaks_in_a_deadlock_is_stored_by_the_batch_on_its_retry():
    """The same deadlock for a post through the real ASGI application, whose batch
    (sessions_app/answer_batch.py) runs its transaction again and stores the answer."""
    from channels.db import database_sync_to_async

    from sessions_app import answer_batch

    from .test_answer_batch import answer_path, post, setup_meeting

    world = await setup_meeting()
    delegate, meeting = world["delegates"][0], world["meeting"]
    answer = await database_sync_to_async(services.submit_answer)(user=delegate, question=world["question"], kind="answer", text="First thoughts", key="k1")
    batcher = answer_batch.batcher()
    answered, alone = batcher.stats["answered"], batcher.stats["alone"]

    with _connect(autocommit=True) as watcher, _connect() as other:
        other.execute("SET deadlock_timeout = '10s'")  # the batch's backend (1 s) finds the deadlock first
        other.execute(f"UPDATE {Meeting._meta.db_table} SET last_seq = last_seq WHERE id = %s", [meeting.pk])
        posting = asyncio.create_task(post(answer_path(world), {"kind": "answer", "text": "Our final answer", "key": "k2"}, user=delegate))
        await asyncio.to_thread(_wait_for_a_lock_wait, watcher)  # the batch has locked the answer, waits for the meeting's row
        await asyncio.to_thread(other.execute, f"SELECT id FROM {Answer._meta.db_table} WHERE id = %s FOR UPDATE", [answer.pk])
        await asyncio.to_thread(other.commit)
        response = await asyncio.wait_for(posting, 15)

    assert response["status"] == 200 and "Your answer was saved." in response["body"].decode()
    assert (batcher.stats["answered"], batcher.stats["alone"]) == (answered + 1, alone)  # by the batch's retry
    texts = await database_sync_to_async(lambda: list(AnswerRevision.objects.filter(answer=answer).order_by("pk").values_list("text", flat=True)))()
    assert texts == ["First thoughts", "Our final answer"]
