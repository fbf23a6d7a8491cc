"""Writes of opinion rounds: the chair's rounds and statements, delegations' proposals and votes.

Each service checks the role, locks what it changes, and records a live event in the same
transaction. A vote schedules the round's analysis (analysis.py) off the request path, debounced.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, compute_pool, events
from ..models import Answer, Delegation, Meeting, OpinionRound, Question, Session, Statement, StatementVote, StatementVoteKey
from ..services import CHANGE_KEY, ActionRefused, NotADelegate, clean_text
from . import analysis

log = logging.getLogger(__name__)
STATEMENT_MAX_CHARS = 400
Status = OpinionRound.Status


def fold(text: str) -> str:
    """The form two statements share when they say the same thing up to case, spaces and final stop."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".!").casefold()[:400]


def _record(round: OpinionRound, type: str = events.OPINION_CHANGED, **payload) -> events.Event:
    return events.record(meeting=round.session.meeting, type=type, session=round.session, payload={"round": round.pk, **payload})


def _locked(round: OpinionRound) -> OpinionRound:
    # The round's row only (of="self"): FOR UPDATE over the join would also lock the session and the
    # meeting, and a vote that holds the meeting's row (its event number) while it inserts its event
    # (which checks the session's row) then deadlocks with us on PostgreSQL.
    return OpinionRound.objects.select_for_update(of=("self",), no_key=True).select_related("session__meeting").get(pk=round.pk)


@transaction.atomic
def open_round(
    *, user: User, session: Session, title: str, question: Question | None = None,
    order: str = OpinionRound.Order.PRIORITY, proposals_allowed: bool = False,
) -> OpinionRound:
    """Start a round of statements for a session or one of its questions."""
    access.require_moderator(user)
    title = clean_text(title, limit=300, label=_("The round's title"))
    if order not in OpinionRound.Order.values:
        raise ActionRefused(_("Choose the order in which delegations see the statements."))
    if question is not None and question.session_id != session.pk:
        raise ActionRefused(_("This question belongs to another session."))
    round = OpinionRound.objects.create(session=session, question=question, title=title, order=order,
                                        proposals_allowed=proposals_allowed)
    round.session = Session.objects.select_related("meeting").get(pk=session.pk)
    _record(round)
    return round


@transaction.atomic
def set_round_status(*, user: User, round: OpinionRound, status: str) -> OpinionRound:
    """Open, pause or close a round; a closed round stays closed."""
    access.require_moderator(user)
    round = _locked(round)
    if status not in Status.values:
        raise ActionRefused(_("Choose open, paused or closed."))
    if round.status == Status.CLOSED:
        raise ActionRefused(_("This round is closed; it cannot be reopened."))
    if round.status != status:
        round.status = status
        round.save(update_fields=["status"])
        _record(round)
    return round


@transaction.atomic
def set_round_options(*, user: User, round: OpinionRound, proposals_allowed: bool | None = None,
                      on_screen: bool | None = None, order: str | None = None) -> OpinionRound:
    """The chair's settings of a round: delegations' proposals, the room screen, the order."""
    access.require_moderator(user)
    round = _locked(round)
    if order is not None and order not in OpinionRound.Order.values:
        raise ActionRefused(_("Choose the order in which delegations see the statements."))
    for name, value in (("proposals_allowed", proposals_allowed), ("on_screen", on_screen), ("order", order)):
        if value is not None:
            setattr(round, name, value)
    round.save(update_fields=["proposals_allowed", "on_screen", "order"])
    _record(round)
    return round


def _new_statement(round: OpinionRound, text: str, **fields) -> Statement:
    text = clean_text(text, limit=STATEMENT_MAX_CHARS, label=_("A statement"))
    folded = fold(text)
    if round.statements.filter(folded=folded).exists():
        raise ActionRefused(_("This round already has this statement."))
    position = round.statements.count() + 1
    try:
        with transaction.atomic():
            return Statement.objects.create(round=round, text=text, folded=folded, position=position, **fields)
    except IntegrityError:  # the same text stored by a concurrent request
        raise ActionRefused(_("This round already has this statement.")) from None


@transaction.atomic
def add_statement(*, user: User, round: OpinionRound, text: str) -> Statement:
    """The chair writes a statement; delegations see it at once."""
    access.require_moderator(user)
    round = _locked(round)
    if round.status == Status.CLOSED:
        raise ActionRefused(_("This round is closed."))
    statement = _new_statement(round, text, status=Statement.Status.APPROVED)
    _record(round, statement=statement.pk)
    return statement


@transaction.atomic
def add_statement_from_answer(*, user: User, round: OpinionRound, answer: Answer) -> Statement:
    """One click: a delegation's answer (cut at a word under 400 characters) becomes a statement."""
    access.require_moderator(user)
    round = _locked(round)
    if answer.question.session_id != round.session_id:
        raise ActionRefused(_("This answer belongs to another session."))
    text = " ".join(answer.text.split())
    if len(text) > STATEMENT_MAX_CHARS:
        text = text[: STATEMENT_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    if round.status == Status.CLOSED:
        raise ActionRefused(_("This round is closed."))
    statement = _new_statement(round, text, status=Statement.Status.APPROVED, answer=answer)
    _record(round, statement=statement.pk)
    return statement


@transaction.atomic
def propose_statement(*, user: User, round: OpinionRound, text: str) -> Statement:
    """A delegation proposes a statement, when the chair allows it; nobody sees it before moderation."""
    delegation = _delegation(user, round)
    round = _locked(round)
    if not round.proposals_allowed:
        raise ActionRefused(_("The chair does not take proposals in this round."))
    if round.status != Status.OPEN:
        raise ActionRefused(_("This round is not open."))
    statement = _new_statement(round, text, status=Statement.Status.PENDING, proposed_by=delegation)
    _record(round, statement=statement.pk, proposed=True)
    return statement


@transaction.atomic
def moderate_statement(*, user: User, statement: Statement, approve: bool) -> Statement:
    """The chair approves a proposed statement (delegations then vote on it) or rejects it."""
    access.require_moderator(user)
    round = _locked(statement.round)
    statement = Statement.objects.select_for_update(no_key=True).get(pk=statement.pk)
    statement.status = Statement.Status.APPROVED if approve else Statement.Status.REJECTED
    statement.save(update_fields=["status"])
    _record(round, statement=statement.pk)
    return statement


def _delegation(user: User, round: OpinionRound) -> Delegation:
    delegation = access.delegation_of(user)
    if delegation is None:
        raise ActionRefused(_("Only a delegation's delegates can do this."))
    if not round.session.meeting.delegations.filter(pk=delegation.pk).exists():
        raise ActionRefused(_("Your delegation does not take part in this meeting."))
    return delegation


class NotAVoter(NotADelegate):
    """A vote of a user who is not (or no longer) a delegation's delegate: a socket then closes."""


CHOICES = {"agree": StatementVote.Choice.AGREE, "disagree": StatementVote.Choice.DISAGREE, "pass": StatementVote.Choice.PASS}


@dataclass(frozen=True)
class VoteSubmission:
    """One vote as a delegate sent it: who, on which statement, which choice; `delegation`, when the
    caller names the delegation it votes for (refused unless it is the user's own); `meeting_id` and
    `round_id`, when the caller names where the statement is (a socket's vote: refused elsewhere);
    `key`, the page's key for this change (CHANGE_KEY), with which it is applied once."""

    user: User
    statement_id: int
    choice: str
    delegation: Delegation | None = None
    meeting_id: int | None = None
    round_id: int | None = None
    key: str | None = None


def cast_statement_vote(*, user: User, statement: Statement, choice: str, delegation: Delegation | None = None) -> StatementVote:
    """A delegation's agree / disagree / pass on a statement: one per delegation, changeable while the
    round is open; the same vote sent twice is stored once. A vote that changed something carries its
    live event's number (`event_seq`)."""
    result = cast_statement_votes([VoteSubmission(user=user, statement_id=statement.pk, choice=choice, delegation=delegation)])[0]
    if isinstance(result, ActionRefused):
        raise result
    return result


@transaction.atomic
def cast_statement_votes(submissions: list[VoteSubmission]) -> list[StatementVote | ActionRefused]:
    """Store a run of votes in one transaction, each as cast_statement_vote would: the vote, or the
    refusal, of each in order. A refused vote stores nothing and does not stop the others; two votes of
    one delegation on one statement in a run apply in order. The reads and writes are a few queries for
    the whole run (vote_batch.py batches the vote view's posts). Raises IntegrityError when another
    process stored one of these votes meanwhile: run it again."""
    # The voters as they are now, read once for the run: a socket's user was read when it connected,
    # and a delegate signed out, deactivated or moved to another role since votes no more (NotAVoter).
    fresh = {user.pk: user for user in User.objects.filter(pk__in={item.user.pk for item in submissions}, is_active=True)
             .select_related("participant__delegation")}
    submissions = [replace(item, user=fresh.get(item.user.pk) or AnonymousUser()) for item in submissions]
    # Locked first, in one order: the round may have been closed, or a statement moderated, since
    # the callers read them (and a vote in another process waits for this one, or this one for it).
    statements = {statement.pk: statement for statement in Statement.objects.select_for_update(of=("self",), no_key=True).filter(
        pk__in={item.statement_id for item in submissions}).select_related("round__session__meeting").order_by("pk")}
    delegations = {access.delegation_of(item.user) for item in submissions} - {None}  # cached on each user
    members = set(Meeting.delegations.through.objects.filter(
        meeting_id__in={statement.round.session.meeting_id for statement in statements.values()},
        delegation_id__in={delegation.pk for delegation in delegations},
    ).values_list("meeting_id", "delegation_id")) if delegations and statements else set()
    current = {(vote.statement_id, vote.delegation_id): vote for vote in StatementVote.objects.filter(
        statement_id__in=list(statements), delegation_id__in={delegation.pk for delegation in delegations})} if delegations else {}
    # The changes these keys name that were applied already (this one sent again, or a late copy of it).
    keys = {item.key for item in submissions if item.key}
    applied = {key: (statement_id, delegation_id) for key, statement_id, delegation_id in StatementVoteKey.objects.filter(
        key__in=keys).values_list("key", "vote__statement_id", "vote__delegation_id")} if keys else {}
    results: list[StatementVote | ActionRefused] = []
    changed: dict[tuple[int, int], StatementVote] = {}
    voted: list[tuple[StatementVote, OpinionRound]] = []
    new_keys: dict[str, StatementVote] = {}
    for item in submissions:
        try:
            statement = statements.get(item.statement_id)
            if statement is None or item.round_id not in (None, statement.round_id) or item.meeting_id not in (
                    None, statement.round.session.meeting_id):
                raise ActionRefused(_("This statement is not open to votes."))
            own = _vote_delegation(item, statement, members)
            if item.key is not None and not CHANGE_KEY.fullmatch(item.key):
                raise ActionRefused(_("This vote could not be read: reload the page and vote again."))
            vote = current.get((statement.pk, own.pk))
            if vote is not None:
                vote.statement = statement  # read and locked above: the caller's reply needs no query for it
            earlier = applied.get(item.key) or (item.key in new_keys and (new_keys[item.key].statement_id, new_keys[item.key].delegation_id))
            if earlier and earlier != (statement.pk, own.pk):  # another vote's key: not this change
                raise ActionRefused(_("This vote could not be read: reload the page and vote again."))
            if earlier and vote is not None:
                # Applied already: a retry, or a late copy of a change that a newer one has replaced since.
                if item.key not in new_keys:
                    vote.event_seq = None
                results.append(vote)
                continue
            if vote is not None and vote.choice == CHOICES[item.choice]:
                vote.event_seq = None
                results.append(vote)  # a retry: nothing changes
                if item.key:
                    new_keys[item.key] = vote
                continue
            if vote is None:
                vote = current[(statement.pk, own.pk)] = StatementVote(statement=statement, delegation=own)
            vote.choice, vote.user = CHOICES[item.choice], item.user
            changed[(statement.pk, own.pk)] = vote
            voted.append((vote, statement.round))
            results.append(vote)
            if item.key:
                new_keys[item.key] = vote
        except ActionRefused as refusal:
            results.append(refusal)
    if not voted:
        StatementVoteKey.objects.bulk_create([StatementVoteKey(key=key, vote=vote) for key, vote in new_keys.items()])
        return results
    again = [vote for vote in changed.values() if vote.pk is not None]
    StatementVote.objects.bulk_create([vote for vote in changed.values() if vote.pk is None])
    if again:
        now = timezone.now()
        for vote in again:
            vote.updated_at = now
        StatementVote.objects.bulk_update(again, ["choice", "user", "updated_at"])
    # Another process storing one of these keys meanwhile breaks the batch (IntegrityError): it is run
    # again (group_commit), and then finds the key applied.
    StatementVoteKey.objects.bulk_create([StatementVoteKey(key=key, vote=vote) for key, vote in new_keys.items()])
    by_meeting: dict[int, list[tuple[StatementVote, OpinionRound]]] = {}
    for vote, round in voted:
        by_meeting.setdefault(round.session.meeting_id, []).append((vote, round))
    for meeting_id, theirs in by_meeting.items():
        recorded = events.record_many(meeting_id=meeting_id, records=[
            (events.OPINION_VOTED, round.session, {"round": round.pk, "statement": vote.statement_id, "delegation": vote.delegation_id})
            for vote, round in theirs])  # fmt: skip
        for (vote, _round), event in zip(theirs, recorded):
            vote.event_seq = event.seq
    for round_id in {round.pk for _vote, round in voted}:
        transaction.on_commit(lambda round_id=round_id: schedule_analysis(round_id))
    return results


def _vote_delegation(item: VoteSubmission, statement: Statement, members: set[tuple[int, int]]) -> Delegation:
    """The delegation `item` votes for, once every check before its vote passed (in
    cast_statement_vote's order of refusals)."""
    round = statement.round
    own = access.delegation_of(item.user)
    if own is None:
        raise NotAVoter(_("Only a delegation's delegates can do this."))
    if (round.session.meeting_id, own.pk) not in members:
        raise ActionRefused(_("Your delegation does not take part in this meeting."))
    if item.delegation is not None and item.delegation.pk != own.pk:
        raise ActionRefused(_("You can vote only for your own delegation."))
    if item.choice not in CHOICES:
        raise ActionRefused(_("Choose agree, disagree or pass."))
    if round.status != Status.OPEN:
        raise ActionRefused(_("This round is not open: votes are not taken now."))
    if statement.status != Statement.Status.APPROVED:
        raise ActionRefused(_("This statement is not open to votes."))
    return own


def round_votes(round: OpinionRound) -> tuple[dict[int, dict[int, int]], list[int]]:
    """The round's vote matrix as analysis.analyse takes it: approved statements only."""
    statements = list(round.statements.filter(status=Statement.Status.APPROVED).values_list("pk", flat=True))
    votes: dict[int, dict[int, int]] = {}
    rows = StatementVote.objects.filter(statement__round=round, statement__status=Statement.Status.APPROVED)
    for statement, delegation, choice in rows.values_list("statement_id", "delegation_id", "choice"):
        votes.setdefault(delegation, {})[statement] = choice
    return votes, statements


def analyse_votes(round: OpinionRound) -> dict:
    """The analysis of the round's stored votes, delegations ordered by ISO code (the same votes give the
    same groups with the same letters in any database), statement keys as strings (as JSON stores them)."""
    votes, statements = round_votes(round)
    keys = dict(Delegation.objects.filter(pk__in=list(votes)).values_list("pk", "country")) if votes else {}
    result = compute_pool.run(analysis.analyse, votes, statements, keys={pk: str(code) for pk, code in keys.items()})
    result["statements"] = {str(k): v for k, v in result["statements"].items()}
    return result


def analyse_round(round_id: int) -> dict:
    """Compute the round's analysis from its stored votes, store it and tell the console and screen.

    Analyses may overlap (a burst of votes in one process, or votes on two processes) and finish in
    any order: see store_analysis.
    """
    result = compute_analysis(round_id)
    store_analysis(round_id, result)
    return result


def compute_analysis(round_id: int) -> dict:
    """The round's analysis of the votes stored now, stamped `as_of` the meeting's last sequence number
    read before the votes: every vote commits with a higher number (events.record), so the votes read
    include every vote committed up to it."""
    round = OpinionRound.objects.only("session__meeting_id").select_related("session").get(pk=round_id)
    as_of = Meeting.objects.values_list("last_seq", flat=True).get(pk=round.session.meeting_id)
    result = analyse_votes(round)
    result["as_of"] = as_of
    return result


@transaction.atomic
def store_analysis(round_id: int, result: dict) -> bool:
    """Store an analysis and tell the screens, unless one of fresher votes was stored meanwhile (then the
    screens keep it: they never go back to older votes). True when stored."""
    round = _locked(OpinionRound(pk=round_id))
    if (round.analysis or {}).get("as_of", -1) > result["as_of"]:
        return False
    OpinionRound.objects.filter(pk=round_id).update(analysis=result)
    round.analysis = result
    _record(round, events.OPINION_ANALYSED)
    return True


_pending: dict[int, threading.Timer | None] = {}  # rounds whose analysis is scheduled, not started
_running: set[int] = set()
_again: set[int] = set()  # rounds voted on while their analysis ran: analysed once more after it
_last_start: dict[int, float] = {}
_last_cost: dict[int, float] = {}  # CPU seconds of the round's last analysis in this process
_pending_lock = threading.Lock()
# An analysis of a large round costs ~0.1 s of CPU (193 delegations, 20 statements): analyses of a
# round start at most every OPINION_ANALYSIS_DELAY seconds, and never oftener than its cost over this
# share, so that under a stream of votes they take at most a quarter of a core. The consoles' counts
# do not wait for them (live/votes.py, TallyThrottle).
ANALYSIS_SHARE = 0.25


def schedule_analysis(round_id: int) -> None:
    """Analyse the round soon, in a thread of its own: throttled, not debounced. The first vote of a
    burst is analysed at once; while votes keep coming, an analysis starts at most every
    OPINION_ANALYSIS_DELAY seconds (or its last CPU cost over ANALYSIS_SHARE, if longer) and never two
    of one round at a time in a process, so a vote waits at most that spacing plus the analysis in
    progress before the map counts it (a debounce would make every vote of a steady stream wait the
    whole delay, and more). Processes share the spacing (_claim_slot): two processes taking votes
    analyse the round as often as one."""
    delay = settings.FACILITATION["OPINION_ANALYSIS_DELAY"]
    if delay < 0:  # analysis switched off (tests call analyse_round themselves)
        return
    with _pending_lock:
        if round_id in _pending:
            return
        if round_id in _running:
            _again.add(round_id)
            return
        spacing = _spacing(round_id)
        wait = max(0.0, _last_start.get(round_id, -spacing) + spacing - time.monotonic())
    _schedule(round_id, wait)


def _spacing(round_id: int) -> float:
    return max(settings.FACILITATION["OPINION_ANALYSIS_DELAY"], _last_cost.get(round_id, 0.0) / ANALYSIS_SHARE)


def _schedule(round_id: int, wait: float, waited_for=None) -> None:
    loop = events.server_loop()
    with _pending_lock:
        if round_id in _pending:
            return
        if loop is not None:
            # Under the server: run later in a worker thread of its loop (asgiref records the loop
            # there), so the analysis' event goes through the loop's Broadcaster in sequence order.
            _pending[round_id] = None
            work = sync_to_async(_run_analysis, thread_sensitive=False)
            loop.call_soon_threadsafe(lambda: loop.call_later(wait, lambda: loop.create_task(work(round_id, waited_for))))
            return
        timer = _pending[round_id] = threading.Timer(wait, _run_analysis, args=(round_id, waited_for))
        timer.daemon = True
    timer.start()


def _claim_slot(round_id: int, spacing: float):
    """Take the round's analysis slot for `spacing` seconds (True), or say until when another process
    holds it (its datetime): one conditional UPDATE, atomic in every database."""
    now = timezone.now()
    free = Q(analysis_slot_until__isnull=True) | Q(analysis_slot_until__lte=now)
    if OpinionRound.objects.filter(free, pk=round_id).update(analysis_slot_until=now + timedelta(seconds=spacing)):
        return True
    return OpinionRound.objects.filter(pk=round_id).values_list("analysis_slot_until", flat=True).first() or now


def _run_analysis(round_id: int, waited_for=None) -> None:
    """Analyse the round if this process gets its slot; else wait for the end of the slot that
    another analysis holds (`waited_for`, when this is that wait's run)."""
    with _pending_lock:
        _pending.pop(round_id, None)
        _running.add(round_id)
        _last_start[round_id] = time.monotonic()
        spacing = _spacing(round_id)
    cpu = time.thread_time() + compute_pool.spent_in_this_thread()  # here and in the compute process
    claimed = False
    try:
        claimed = _claim_slot(round_id, spacing)
        if claimed is True:
            analyse_round(round_id)
        elif waited_for is None or claimed == waited_for:
            # Another analysis started lately (another process's, or this one's under an older spacing),
            # maybe before this process's last votes committed: try again when its slot ends (a timer
            # may wake a little early: the same slot, waited for again). Then an analysis that starts
            # after these votes (ours, or another's: a slot is only taken once the last has ended) counts them.
            _schedule(round_id, max(0.0, (claimed - timezone.now()).total_seconds()) + 0.005, waited_for=claimed)
        # else: the slot waited for ended and another analysis took the next since: it counts our votes.
    except OpinionRound.DoesNotExist:
        pass  # deleted meanwhile
    except Exception:  # a failed analysis leaves the last one shown; the next vote tries again
        log.exception("Analysis of opinion round %s failed", round_id)
    finally:
        close_old_connections()
        with _pending_lock:
            if claimed is True:
                _last_cost[round_id] = time.thread_time() + compute_pool.spent_in_this_thread() - cpu
            _running.discard(round_id)
            again = round_id in _again
            _again.discard(round_id)
        if again:
            schedule_analysis(round_id)


def wait_for_analyses(timeout: float = 5.0) -> None:
    """Block until the scheduled analyses (and those they scheduled again) ran (tests and the demo loader)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _pending_lock:
            timers = [timer for timer in _pending.values() if timer is not None]
            busy = bool(_running)
        if not timers and not busy:
            return
        for timer in timers:
            try:
                timer.join(max(deadline - time.monotonic(), 0))
            except RuntimeError:  # scheduled, not started yet (it starts just after the lock is released)
                time.sleep(0.01)
        if not timers:
            time.sleep(0.01)
