"""Group commit for answers: posts that arrive together are stored in one transaction
(group_commit.py), with `services.submit_answers`: a key sent twice stores once, two edits of one
answer apply in the order they arrived (last edit wins, both kept as revisions)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from . import services
from .group_commit import GroupCommit

_batcher = GroupCommit(services.submit_answers, kind="answers", stored="answered")


def batcher() -> GroupCommit:
    """This process's batcher of answers."""
    return _batcher


def store_answer(submission: services.AnswerSubmission, *, waiting: Callable[[], AbstractContextManager] = contextlib.nullcontext):
    """Store one delegation's answer together with the others arriving now: the stored Answer, or the
    ActionRefused that says why not, once its batch is committed. `waiting` is entered while this
    request waits for another's batch (to give back what a waiting request should not hold)."""
    return _batcher.submit(submission, waiting=waiting)
