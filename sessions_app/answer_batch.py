"""Group commit for answers: posts that arrive together are stored in one transaction.

When every delegation presses "submit" within a minute, a transaction per answer (its reads, its
locks, its sequence number, its live render) is most of what an answer costs. The answer view (after
Django's whole request path: middleware, sign-in, CSRF, the view's own checks) hands its validated
submission to `store_answer`, which returns once the batch holding it is committed:

- the first request to arrive while no batch is being stored *leads*: it stores every submission
  waiting (its own included) with `services.submit_answers`, in one transaction, renders the
  consoles' cards for them in its own thread, and gives each waiting request its result;
- a request arriving while a batch is being stored waits for the next one. While it waits it holds
  no PostgreSQL connection (it goes back to the pool: 40 delegations waiting must not hold 40 of a
  pool of 20) and none of the process's request slots (`middleware.BoundedThreadsMiddleware`,
  through the `waiting` context its view passes);
- when a leader is done, the first request still waiting leads the next batch. So a lone answer
  waits for nothing, and under load a batch holds what arrived during the previous one.

Batches are stored one at a time per process, in the order their posts arrived: two edits of one
answer apply in that order (last edit wins, both kept as revisions), and a key sent twice stores once
(`services.submit_answers`). A batch whose transaction fails twice (not a refusal: a database error)
is not lost: each of its requests then stores its own submission alone, and gets that result.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager

from django.db import IntegrityError, OperationalError, connection

from . import events, services

logger = logging.getLogger(__name__)

MAX_BATCH = 200  # submissions stored in one transaction at most; the rest lead the next


class _Ticket:
    """One request's submission on its way through a batch."""

    __slots__ = ("submission", "done", "result", "lead", "alone")

    def __init__(self, submission: services.AnswerSubmission):
        self.submission = submission
        self.done = threading.Event()  # set when the result is there, or when this request is to lead
        self.result: services.Answer | services.ActionRefused | None = None
        self.lead = False
        self.alone = False  # its batch failed: the request stores its submission on its own


class AnswerBatcher:
    """The batches of one process (see the module's docstring); thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: list[_Ticket] = []
        self.leading = False  # a request is storing a batch now (or has been told to)
        self.stats = Counter()  # batches; answered, refused (by a batch); alone (stored after a batch failed)

    def submit(self, submission: services.AnswerSubmission, *, waiting: Callable[[], AbstractContextManager] = contextlib.nullcontext):
        """The stored answer (or the refusal) once the batch holding `submission` is committed."""
        ticket = _Ticket(submission)
        with self.lock:
            self.pending.append(ticket)
            lead = ticket.lead = not self.leading
            self.leading = True
        if not lead:
            release_connection()
            with waiting():
                ticket.done.wait()
        if ticket.lead:
            self._lead(ticket)
        if ticket.alone:
            ticket.result = _store_alone(submission)
        return ticket.result

    def _lead(self, ticket: _Ticket) -> None:
        """Store the batch waiting now (this request's among them), then pass the lead on."""
        batch: list[_Ticket] = []
        try:
            with self.lock:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            try:
                results = self.store([each.submission for each in batch])
            except Exception:  # not lost: each request stores its own (and fails or succeeds alone)
                logger.exception("Could not store a batch of %s answers; each is stored on its own", len(batch))
                results = None
            self.stats["batches"] += 1
            if results is None:
                self.stats["alone"] += len(batch)
            else:
                self.stats["answered"] += sum(not isinstance(result, services.ActionRefused) for result in results)
                self.stats["refused"] += sum(isinstance(result, services.ActionRefused) for result in results)
            for index, each in enumerate(batch):
                if results is None:
                    each.alone = True
                else:
                    each.result = results[index]
                each.lead = False
                if each is not ticket:
                    each.done.set()
        finally:
            for each in batch:  # whatever went wrong above, no request of the batch waits forever
                if each is not ticket and not each.done.is_set():
                    each.alone, each.lead = True, False
                    each.done.set()
            with self.lock:
                if self.pending:
                    successor = self.pending[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self.leading = False

    def store(self, submissions: list[services.AnswerSubmission]) -> list:
        """One batch in one transaction (and its consoles' cards rendered in this thread), run once
        more if the database broke it: a PostgreSQL deadlock with another process's writes, SQLite
        busy past its timeout, or another process storing one of these answers or keys meanwhile."""
        with events.rendered_in_this_thread():
            try:
                return services.submit_answers(submissions)
            except (IntegrityError, OperationalError):
                return services.submit_answers(submissions)


def release_connection() -> None:
    """Give this thread's database connection back before a wait (to PostgreSQL's pool; SQLite's to
    the process's kept connections, facilitation.sqlite), so that a waiting request holds none of the
    pool or of the server's max_connections, and 200 requests waiting for a batch do not each keep a
    SQLite connection the next requests would then open anew; the next query takes one again. Not
    inside a transaction, which the connection carries."""
    if not connection.in_atomic_block:
        connection.close()


def _store_alone(submission: services.AnswerSubmission):
    try:
        return services.submit_answers([submission])[0]
    except (IntegrityError, OperationalError):
        return services.submit_answers([submission])[0]


_batcher = AnswerBatcher()


def batcher() -> AnswerBatcher:
    """This process's batcher."""
    return _batcher


def store_answer(submission: services.AnswerSubmission, *, waiting: Callable[[], AbstractContextManager] = contextlib.nullcontext):
    """Store one delegation's answer together with the others arriving now: the stored Answer, or the
    ActionRefused that says why not, once its batch is committed. `waiting` is entered while this
    request waits for another's batch (to give back what a waiting request should not hold)."""
    return _batcher.submit(submission, waiting=waiting)
