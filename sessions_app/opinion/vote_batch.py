"""Group commit for votes: votes posted together are stored in one transaction (group_commit.py),
with `services.cast_statement_votes`, and their live events rendered once per batch by the leading
request. A vote sent twice stores once; refusals are each vote's own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from ..group_commit import GroupCommit
from . import services

_batcher = GroupCommit(services.cast_statement_votes, kind="votes", stored="voted")


def batcher() -> GroupCommit:
    """This process's batcher of votes."""
    return _batcher


def store_vote(submission: services.VoteSubmission, *, waiting: Callable[[], AbstractContextManager] = contextlib.nullcontext):
    """Store one delegation's vote together with the others arriving now: the StatementVote (with its
    `event_seq`), or the ActionRefused that says why not, once its batch is committed. `waiting` is
    entered while this request waits for another's batch."""
    return _batcher.submit(submission, waiting=waiting)
