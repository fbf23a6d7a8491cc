"""Group commit: requests that arrive together are stored in one transaction.

When every delegation presses "submit" (an answer, a vote) within a minute, a transaction per
request (its reads, its locks, its sequence number, its live render) is most of what it costs. A
view (after Django's whole request path: middleware, sign-in, CSRF, the view's own checks) hands its
validated submission to a `GroupCommit`, which returns once the batch holding it is committed:

- the first request to arrive while no batch is being stored *leads*: it stores every submission
  waiting (its own included) with the batcher's `store_many` (a service storing a list in one
  transaction, a result or an ActionRefused for each), renders the live events of the batch in its
  own thread, and gives each waiting request its result;
- a request arriving while a batch is being stored waits for the next one. While it waits it holds
  no PostgreSQL connection (it goes back to the pool: 40 delegations waiting must not hold 40 of a
  pool of 20) and none of the process's request slots (`middleware.BoundedThreadsMiddleware`,
  through the `waiting` context its view passes);
- when a leader is done, the first request still waiting leads the next batch. So a lone request
  waits for nothing, and under load a batch holds what arrived during the previous one.

Batches are stored one at a time per batcher and process, in the order their posts arrived: two
edits of one answer apply in that order (last edit wins), and a retry stores once (`store_many`'s
rule). A batch whose transaction fails twice (not a refusal: a database error) is not lost: each of
its requests then stores its own submission alone, and gets that result.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager

from django.db import IntegrityError, OperationalError, connection

from . import events
from .services import ActionRefused

logger = logging.getLogger(__name__)

MAX_BATCH = 200  # submissions stored in one transaction at most; the rest lead the next


class _Ticket:
    """One request's submission on its way through a batch."""

    __slots__ = ("submission", "done", "result", "lead", "alone")

    def __init__(self, submission):
        self.submission = submission
        self.done = threading.Event()  # set when the result is there, or when this request is to lead
        self.result = None
        self.lead = False
        self.alone = False  # its batch failed: the request stores its submission on its own


class GroupCommit:
    """The batches of one kind of submission in one process (see the module's docstring); thread-safe.

    `store_many(submissions)` stores a list in one transaction and returns a result or an ActionRefused
    for each, in order; it raises IntegrityError or OperationalError when the database broke the
    batch (it is then run once more). `stored` names the stats' count of stored submissions."""

    def __init__(self, store_many: Callable[[list], list], *, kind: str, stored: str = "stored"):
        self.store_many, self.kind, self.stored = store_many, kind, stored
        self.lock = threading.Lock()
        self.pending: list[_Ticket] = []
        self.leading = False  # a request is storing a batch now (or has been told to)
        self.stats = Counter()  # batches; stored, refused (by a batch); alone (stored after a batch failed)

    def submit(self, submission, *, waiting: Callable[[], AbstractContextManager] = contextlib.nullcontext):
        """The result (or the refusal) once the batch holding `submission` is committed."""
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
            ticket.result = self.store([submission])[0]
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
                logger.exception("Could not store a batch of %s %s; each is stored on its own", len(batch), self.kind)
                results = None
            self.stats["batches"] += 1
            if results is None:
                self.stats["alone"] += len(batch)
            else:
                self.stats[self.stored] += sum(not isinstance(result, ActionRefused) for result in results)
                self.stats["refused"] += sum(isinstance(result, ActionRefused) for result in results)
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

    def store(self, submissions: list) -> list:
        """One batch in one transaction (and its live events rendered in this thread), run once
        more if the database broke it: a PostgreSQL deadlock with another process's writes, SQLite
        busy past its timeout, or another process storing one of these submissions meanwhile."""
        with events.rendered_in_this_thread():
            try:
                return self.store_many(submissions)
            except (IntegrityError, OperationalError):
                return self.store_many(submissions)


def release_connection() -> None:
    """Give this thread's database connection back before a wait (to PostgreSQL's pool; SQLite's to
    the process's kept connections, facilitation.sqlite), so that a waiting request holds none of the
    pool or of the server's max_connections, and 200 requests waiting for a batch do not each keep a
    SQLite connection the next requests would then open anew; the next query takes one again. Not
    inside a transaction, which the connection carries."""
    if not connection.in_atomic_block:
        connection.close()
