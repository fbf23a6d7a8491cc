"""Row locks that cannot deadlock: two processes' services at once on one meeting (PostgreSQL).

Every service that records a live event takes the meeting's row last (events.record numbers the
event with an UPDATE of it: FOR NO KEY UPDATE) and then inserts the event, which checks its
session's row (FOR KEY SHARE). A service that locked that session's row FOR UPDATE, or the meeting's
over a join, before waiting for the numbering deadlocked with it. Each test runs two such services
from two threads (two connections, as two processes) many times at once.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from sessions_app import floor, polls, services
from sessions_app.library import services as library_services
from sessions_app.models import Answer, Event, FloorRequest, ModerationAction, Poll, Vote

from .factories import DelegationFactory, QuestionFactory, SessionFactory, make_chair, make_delegate, make_secretariat, published_practice

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: SQLite locks the whole database, rows never deadlock"),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 40


def run_together(first, second, rounds: int = ROUNDS) -> list[BaseException]:
    """Run first(i) and second(i) in two threads, each round started at the same moment; the errors."""
    barrier, errors = threading.Barrier(2), []

    def loop(action):
        try:
            for index in range(rounds):
                barrier.wait(timeout=30)
                try:
                    action(index)
                except Exception as error:  # a deadlock is reported, not raised in the thread
                    errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=loop, args=(action,)) for action in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a service waited for a lock past 120 s"
    return errors


def meeting_with_two_delegations():
    question = QuestionFactory(status="open")
    meeting = question.session.meeting
    france, germany = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    meeting.delegations.add(france, germany)
    return question, make_delegate(france), make_delegate(germany)


def answer_edits(delegate, question):
    """A delegate editing their answer: numbers an event with the answer's row locked."""
    return lambda index: services.submit_answer(user=delegate, question=question, kind="answer", text=f"Edit {index}", key=uuid.uuid4().hex)


def test_an_answer_and_a_floor_request_at_once_never_deadlock():
    question, france, germany = meeting_with_two_delegations()
    session = question.session

    def floor_request(index):
        request = floor.request_floor(user=germany, session=session)
        floor.withdraw_floor_request(user=germany, floor_request=request)

    errors = run_together(answer_edits(france, question), floor_request)

    assert errors == []
    assert Answer.objects.get(question=question).text == f"Edit {ROUNDS - 1}"
    assert FloorRequest.objects.filter(session=session).count() == ROUNDS
    assert Event.objects.filter(meeting=session.meeting).count() == ROUNDS * 3


def test_an_answer_and_a_poll_vote_at_once_never_deadlock():
    question, france, germany = meeting_with_two_delegations()
    chair = make_chair()
    ballots = [polls.create_poll(user=chair, session=question.session, prompt=f"Poll {n}", kind="single", options=["Yes", "No"])
               for n in range(ROUNDS)]
    for poll in ballots:
        polls.open_poll(user=chair, poll=poll)
    first_event = question.session.meeting.events.count()

    def vote(index):
        poll = ballots[index]
        polls.cast_vote(user=germany, poll=poll, key=uuid.uuid4().hex, options=[str(poll.options.first().pk)])

    errors = run_together(answer_edits(france, question), vote)

    assert errors == []
    assert Answer.objects.get(question=question).text == f"Edit {ROUNDS - 1}"
    assert Vote.objects.filter(poll__in=ballots).count() == ROUNDS
    assert question.session.meeting.events.count() - first_event == ROUNDS * 2


def test_a_moderation_and_a_session_start_at_once_never_deadlock():
    question, france, _germany = meeting_with_two_delegations()
    chair = make_chair()
    answer = services.submit_answer(user=france, question=question, kind="answer", text="Our practice", key="k")
    other = SessionFactory(meeting=question.session.meeting, number=99)
    sessions = [question.session, other]

    def moderate(index):
        services.moderate_answer(user=chair, answer=answer, action="star" if index % 2 else "unstar")

    def start(index):
        floor.start_session(user=chair, session=sessions[index % 2])

    errors = run_together(moderate, start)

    assert errors == []
    assert ModerationAction.objects.filter(answer=answer).count() == ROUNDS
    assert Answer.objects.get(pk=answer.pk).starred is True  # the last round starred it
    assert question.session.meeting.__class__.objects.get(pk=question.session.meeting_id).current_session_id == sessions[(ROUNDS - 1) % 2].pk


def test_two_curators_merging_a_pair_each_way_at_once_never_deadlock():
    session = SessionFactory()
    delegation = DelegationFactory(country="FR")
    pairs = [(published_practice(session=session, delegation=delegation, title=f"First {index}"),
              published_practice(session=session, delegation=delegation, title=f"Second {index}")) for index in range(ROUNDS)]
    one, other = make_secretariat(username="curator-one"), make_secretariat(username="curator-two")
    refused: list[str] = []

    def merge(user, forwards):
        def action(index):
            first, second = pairs[index] if forwards else pairs[index][::-1]
            try:
                library_services.merge_practices(first, duplicate=second, user=user)
            except services.ActionRefused as refusal:  # the other curator merged this pair first
                refused.append(refusal.message)
        return action

    errors = run_together(merge(one, True), merge(other, False))

    assert errors == []
    assert len(refused) == ROUNDS  # each pair merged once, one way
    for first, second in pairs:
        first.refresh_from_db(), second.refresh_from_db()
        assert [first.merged_into_id, second.merged_into_id].count(None) == 1


def test_two_chairs_starting_two_sessions_at_once_leave_one_running():
    """Each start ends the sessions running; two starts at once each saw the other's session not yet
    started, and the room was left with two clocks running."""
    from sessions_app.models import Session

    question, _france, _germany = meeting_with_two_delegations()
    meeting = question.session.meeting
    chairs = [make_chair(), make_chair()]
    rounds, barrier, running, errors = 20, threading.Barrier(2), [], []

    def chair(which):
        try:
            for index in range(rounds):
                mine = SessionFactory(meeting=meeting, number=100 + 2 * index + which)
                barrier.wait(timeout=30)
                try:
                    floor.start_session(user=chairs[which], session=mine)
                except Exception as error:
                    errors.append(error)
                barrier.wait(timeout=30)
                if which == 0:
                    running.append(Session.objects.filter(meeting=meeting, started_at__isnull=False, ended_at__isnull=True).count())
                barrier.wait(timeout=30)
        finally:
            connection.close()

    threads = [threading.Thread(target=chair, args=(which,)) for which in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert running == [1] * rounds
