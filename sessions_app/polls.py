"""Live polls: the chair prepares and launches them, delegations vote once, results are drawn here.

Writes follow services.py's rules; `poll_results` computes what the console, the room screen, the
delegates (when the chair shows them) and the records display, from the stored votes.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, events
from .models import Poll, PollOption, Session, Submission, Vote
from .services import ActionRefused, claim_key, clean_text

Kind = Poll.Kind
CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.RANKING)
SCALE_VALUES = Poll.scale_values


def _record(poll: Poll, type: str = events.POLL_CHANGED, **payload) -> None:
    events.record(meeting=poll.session.meeting, type=type, session=poll.session, payload={"poll": poll.pk, **payload})


def _benchmark(value: str) -> Decimal | None:
    value = (value or "").strip().rstrip("%").replace(",", ".")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ActionRefused(_("A benchmark is a percentage between 0 and 100, such as 23 or 27.5.")) from None
    if not 0 <= number <= 100:
        raise ActionRefused(_("A benchmark is a percentage between 0 and 100, such as 23 or 27.5."))
    return number.quantize(Decimal("0.1"))


def _scale_benchmark(value: str | None) -> Decimal | None:
    value = ("" if value is None else str(value)).strip().replace(",", ".")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or not 0 <= number <= 10:
        raise ActionRefused(_("A scale benchmark is a number from 0 to 10, such as 6.5."))
    return number.quantize(Decimal("0.1"))


@transaction.atomic
def create_poll(
    *, user: User, session: Session, prompt: str, kind: str, options: list[str], scope: str = Poll.Scope.DELEGATION,
    benchmark_label: str = "", benchmarks: list[str] | None = None, benchmark_scale: str | None = None,
) -> Poll:
    """Prepare a poll for a session (not yet visible to delegates); choice polls need 2+ options.

    `benchmarks` holds, per option, the share (in %) a survey from the briefing reported for it;
    `benchmark_scale`, for a scale poll, the briefing's average on the same 0-10 scale.
    """
    access.require_moderator(user)
    prompt = clean_text(prompt, limit=500, label=_("The poll's question"))
    if kind not in Kind.values:
        raise ActionRefused(_("Choose a type of poll."))
    if scope not in Poll.Scope.values:
        raise ActionRefused(_("Choose who votes: each delegation once, or each delegate."))
    labels = [clean_text(option, limit=200, label=_("An option"), required=False) for option in options]
    benchmarks = list(benchmarks or [])
    benchmarks += [""] * (len(labels) - len(benchmarks))
    rows = [(label, benchmarks[i]) for i, label in enumerate(labels) if label]
    if kind in CHOICE_KINDS:
        if len(rows) < 2:
            raise ActionRefused(_("A choice poll needs at least two options."))
        if len(rows) > settings.FACILITATION["POLL_MAX_OPTIONS"]:
            raise ActionRefused(_("A poll has at most %(count)s options.") % {"count": settings.FACILITATION["POLL_MAX_OPTIONS"]})
        if len({label.casefold() for label, _b in rows}) != len(rows):
            raise ActionRefused(_("Two options have the same text."))
    else:
        rows = []
    scale_benchmark = _scale_benchmark(benchmark_scale) if kind == Kind.SCALE else None
    poll = Poll.objects.create(
        session=session, prompt=prompt, kind=kind, scope=scope, benchmark_scale=scale_benchmark,
        benchmark_label=clean_text(benchmark_label, limit=300, label=_("The benchmark's source"), required=False),
    )
    PollOption.objects.bulk_create(
        PollOption(poll=poll, position=i, label=label, benchmark_percent=_benchmark(value))
        for i, (label, value) in enumerate(rows, start=1)
    )
    poll.session = Session.objects.select_related("meeting").get(pk=session.pk)
    _record(poll)
    return poll


def _locked(poll: Poll) -> Poll:
    # The poll's row only, FOR NO KEY UPDATE: over the join it also locked the session and the meeting
    # rows before the numbering, and deadlocked with an answer numbering its event (docs/reliability.md).
    return Poll.objects.select_for_update(of=("self",), no_key=True).select_related("session__meeting").get(pk=poll.pk)


@transaction.atomic
def open_poll(*, user: User, poll: Poll) -> Poll:
    """Launch a prepared poll: delegates see it and can vote."""
    access.require_moderator(user)
    poll = _locked(poll)
    if poll.status != Poll.Status.DRAFT:
        raise ActionRefused(_("Only a prepared poll can be launched; a closed poll stays closed."))
    poll.status, poll.opened_at = Poll.Status.OPEN, timezone.now()
    poll.save(update_fields=["status", "opened_at"])
    _record(poll)
    return poll


@transaction.atomic
def close_poll(*, user: User, poll: Poll) -> Poll:
    """Stop the voting; the results stay."""
    access.require_moderator(user)
    poll = _locked(poll)
    if poll.status != Poll.Status.OPEN:
        raise ActionRefused(_("This poll is not open."))
    poll.status, poll.closed_at = Poll.Status.CLOSED, timezone.now()
    poll.save(update_fields=["status", "closed_at"])
    _record(poll)
    return poll


@transaction.atomic
def set_poll_results_visible(*, user: User, poll: Poll, visible: bool) -> Poll:
    """The chair decides when delegates see the results (the console and room screen always do)."""
    access.require_moderator(user)
    poll = _locked(poll)
    if poll.results_visible != visible:
        poll.results_visible = visible
        poll.save(update_fields=["results_visible"])
        _record(poll)
    return poll


@transaction.atomic
def delete_poll(*, user: User, poll: Poll) -> None:
    """Remove a prepared poll nobody has seen yet."""
    access.require_moderator(user)
    poll = _locked(poll)
    if poll.status != Poll.Status.DRAFT:
        raise ActionRefused(_("Only a poll that was never launched can be deleted."))
    _record(poll, deleted=True)
    poll.delete()


def _choices(poll: Poll, option_ids: list[str]) -> list[PollOption]:
    try:
        wanted = [int(value) for value in option_ids]
    except (TypeError, ValueError):
        raise ActionRefused(_("Choose among the poll's options.")) from None
    options = {option.pk: option for option in poll.options.all()}
    if any(pk not in options for pk in wanted) or len(set(wanted)) != len(wanted):
        raise ActionRefused(_("Choose among the poll's options."))
    return [options[pk] for pk in wanted]


@transaction.atomic
def cast_vote(
    *, user: User, poll: Poll, key: str, options: list[str] | None = None, scale: str | None = None, text: str = "",
) -> Vote:
    """Store a delegation's (or a delegate's) vote once; a retry with the same key returns the first."""
    previous = claim_key(key=key, user=user, action="vote")
    if previous is not None:
        return Vote.objects.get(pk=previous.object_id)
    poll = _locked(poll)
    delegation = access.delegation_of(user)
    if delegation is None and not (poll.open_to_observers and access.role_of(user)):
        raise ActionRefused(_("Only a delegation's delegates can vote."))
    if poll.status != Poll.Status.OPEN:
        raise ActionRefused(_("This poll is closed: votes are no longer taken."))
    if delegation is not None and not poll.session.meeting.delegations.filter(pk=delegation.pk).exists():
        raise ActionRefused(_("Your delegation does not take part in this meeting."))
    per_delegation = poll.scope == Poll.Scope.DELEGATION and delegation is not None
    voter_key = f"d{delegation.pk}" if per_delegation else f"u{user.pk}"
    if poll.votes.filter(voter_key=voter_key).exists():
        raise ActionRefused(
            _("Your delegation has already voted in this poll.") if per_delegation else _("You have already voted in this poll.")
        )
    chosen: list[PollOption] = []
    vote = Vote(poll=poll, voter_key=voter_key, delegation=delegation, user=user)
    if poll.kind in CHOICE_KINDS:
        chosen = _choices(poll, options or [])
        if poll.kind == Kind.SINGLE and len(chosen) != 1:
            raise ActionRefused(_("Choose one option."))
        if poll.kind == Kind.MULTIPLE and not chosen:
            raise ActionRefused(_("Choose at least one option."))
        if poll.kind == Kind.RANKING:
            if len(chosen) != poll.options.count():
                raise ActionRefused(_("Rank every option, each once."))
            vote.ranking = [option.pk for option in chosen]
    elif poll.kind == Kind.SCALE:
        try:
            vote.scale_value = int(scale)
        except (TypeError, ValueError):
            vote.scale_value = None
        if vote.scale_value not in SCALE_VALUES:
            raise ActionRefused(_("Choose a value from 0 to 10."))
    else:
        vote.text = clean_text(text, limit=settings.FACILITATION["POLL_TEXT_MAX_CHARS"], label=_("Your answer"))
    try:
        with transaction.atomic():
            vote.save()
    except IntegrityError:  # a concurrent vote from the same delegation won the race
        raise ActionRefused(_("Your delegation has already voted in this poll.")) from None
    if poll.kind in (Kind.SINGLE, Kind.MULTIPLE):
        vote.options.set(chosen)
    Submission.objects.create(key=key, user=user, action="vote", object_id=vote.pk)
    _record(poll, type=events.POLL_VOTED, vote=vote.pk)
    return vote


# --- Results -------------------------------------------------------------------------------------


@dataclass
class OptionResult:
    label: str
    count: int
    percent: float
    benchmark: float | None = None
    score: float | None = None  # ranking: average points (n for first place ... 1 for last)


@dataclass
class PollResults:
    poll: Poll
    voters: int
    eligible: int
    options: list[OptionResult] = field(default_factory=list)
    scale: list[OptionResult] = field(default_factory=list)
    scale_mean: float | None = None
    scale_median: float | None = None
    scale_benchmark: float | None = None  # the briefing's figure on the 0-10 scale
    words: list[tuple[str, int, int]] = field(default_factory=list)  # (word or phrase, count, size 1-5)

    @property
    def has_benchmark(self) -> bool:
        return any(option.benchmark is not None for option in self.options)


STOP_WORDS = frozenset(
    "a an and are as at be by for from in is it of on or that the this to with "
    "au aux avec ce ces dans de des du en et la le les leur ou par pour que qui sur un une".split()
)


def _percent(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


def poll_results(poll: Poll, *, eligible: int | None = None) -> PollResults:
    """Counts per option (with the briefing's benchmark), scale distribution, ranking scores or word counts."""
    options = list(poll.options.all())
    votes = list(poll.votes.prefetch_related("options"))
    if eligible is None:
        eligible = poll.session.meeting.delegations.count() if poll.scope == Poll.Scope.DELEGATION else len(votes)
    choices = Counter(option.pk for vote in votes for option in vote.options.all())
    results, _rows = tally(poll, options, votes, eligible=eligible, choices=choices)
    return results


def tally(poll: Poll, options: list, votes: list, *, eligible: int, choices: Counter | dict) -> tuple[PollResults, list]:
    """The results from rows already read: `options` in their order, `votes` (with scale_value, text
    and ranking), `choices` = votes per option id. Also returns (option, result) in the options' order.
    The one place the counting rules live, for the pages and the records alike."""
    voters = len(votes)
    results = PollResults(poll=poll, voters=voters, eligible=eligible)
    rows: list = []
    if poll.kind in (Kind.SINGLE, Kind.MULTIPLE):
        rows = [
            (option, OptionResult(option.label, choices.get(option.pk, 0), _percent(choices.get(option.pk, 0), voters),
                                  float(option.benchmark_percent) if option.benchmark_percent is not None else None))
            for option in options
        ]
        results.options = [result for _option, result in rows]
    elif poll.kind == Kind.RANKING:
        points: Counter = Counter()
        firsts: Counter = Counter()
        for vote in votes:
            # A restored record may hold a ranking that is not a list of option ids: it scores nothing.
            ranking = vote.ranking if isinstance(vote.ranking, list) and all(isinstance(i, int) for i in vote.ranking) else []
            for place, option_id in enumerate(ranking):
                points[option_id] += len(options) - place
            if ranking:
                firsts[ranking[0]] += 1
        rows = [
            (option, OptionResult(option.label, firsts[option.pk], _percent(firsts[option.pk], voters),
                                  score=round(points[option.pk] / voters, 2) if voters else 0.0))
            for option in options
        ]
        results.options = sorted((result for _option, result in rows), key=lambda result: -(result.score or 0))
    elif poll.kind == Kind.SCALE:
        values = [vote.scale_value for vote in votes if vote.scale_value is not None]
        counts = Counter(values)
        results.scale = [OptionResult(str(value), counts[value], _percent(counts[value], voters)) for value in SCALE_VALUES]
        results.scale_benchmark = float(poll.benchmark_scale) if poll.benchmark_scale is not None else None
        if values:
            results.scale_mean = round(statistics.fmean(values), 1)
            results.scale_median = statistics.median(values)
    else:
        results.words = word_frequencies([vote.text for vote in votes])
    return results, rows


def word_frequencies(texts: list[str], limit: int = 40) -> list[tuple[str, int, int]]:
    """Short answers as (word or phrase, count, size 1-5), alphabetical: answers of up to three words
    count as they are ("trust", "public trust"); longer ones count by their words, without stop words."""
    phrases = Counter(" ".join(text.casefold().split()) for text in texts if text.strip())
    if all(len(phrase.split()) <= 3 for phrase in phrases):
        counted = phrases
    else:
        counted = Counter(
            word for text in texts for word in re.findall(r"[\w'-]+", text.casefold()) if word not in STOP_WORDS and len(word) > 1
        )
    top = counted.most_common(limit)
    highest = top[0][1] if top else 1
    return [(word, count, 1 + round(4 * (count - 1) / max(highest - 1, 1))) for word, count in sorted(top)]


# --- Reads ---------------------------------------------------------------------------------------


def _with_results(poll_list: list[Poll], eligible: int) -> list[Poll]:
    for poll in poll_list:
        poll.results = poll_results(poll, eligible=eligible if poll.scope == Poll.Scope.DELEGATION else None)
    return poll_list


def console_polls(session: Session) -> dict:
    """Every poll of the session, prepared or launched, with its results, for the chair."""
    eligible = session.meeting.delegations.count()
    poll_list = list(session.polls.prefetch_related("options").select_related("session__meeting"))
    return {"polls": _with_results(poll_list, eligible), "poll_kinds": Kind.choices, "poll_scopes": Poll.Scope.choices}


def launched_polls(session: Session) -> list[Poll]:
    """The polls delegates see: launched ones, newest first, with results where the chair shows them."""
    eligible = session.meeting.delegations.count()
    poll_list = list(
        session.polls.exclude(status=Poll.Status.DRAFT).prefetch_related("options").select_related("session__meeting").order_by("-opened_at")
    )
    for poll in poll_list:
        poll.results = poll_results(poll, eligible=eligible) if poll.results_visible else None
    return poll_list


def voted_polls_by_delegation(session: Session) -> dict[int, set[int]]:
    voted: dict[int, set[int]] = {}
    rows = Vote.objects.filter(poll__session=session, delegation__isnull=False, poll__scope=Poll.Scope.DELEGATION)
    for poll_id, delegation_id in rows.values_list("poll_id", "delegation_id"):
        voted.setdefault(delegation_id, set()).add(poll_id)
    return voted


def voted_polls(session: Session, *, user: User, delegation) -> set[int]:
    """The session's polls this person may no longer vote in: their delegation's, or their own vote."""
    keys = [f"u{user.pk}"] + ([f"d{delegation.pk}"] if delegation is not None else [])
    return set(Vote.objects.filter(poll__session=session, voter_key__in=keys).values_list("poll_id", flat=True))


def screen_poll(meeting) -> Poll | None:
    """The poll on the room screen: the one launched last in the meeting."""
    return (
        Poll.objects.filter(session__meeting=meeting, opened_at__isnull=False)
        .select_related("session__meeting").prefetch_related("options").order_by("-opened_at").first()
    )


# --- A meeting's prepared polls, from a data file --------------------------------------------------


def import_polls(*, user: User, meeting, data: dict) -> list[Poll]:
    """Prepare the polls a file describes ({"polls": [{"session", "prompt", "kind", "options":
    [[label, benchmark or null], ...], "benchmark_label", "scope"}]}); a poll already prepared with
    the same question in the same session is left as it is."""
    entries = data.get("polls") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ActionRefused(_("The polls file needs a list under \"polls\"."))
    sessions = {session.number: session for session in meeting.sessions.all()}
    created = []
    with transaction.atomic():
        for index, entry in enumerate(entries, start=1):
            session = sessions.get(entry.get("session")) if isinstance(entry, dict) else None
            if session is None:
                raise ActionRefused(_("Poll %(index)s of the file names no session of this meeting.") % {"index": index})
            if session.polls.filter(prompt=(entry.get("prompt") or "").strip()).exists():
                continue
            options = [row if isinstance(row, list) else [row, None] for row in entry.get("options", [])]
            created.append(create_poll(
                user=user, session=session, prompt=entry.get("prompt", ""), kind=entry.get("kind", ""),
                scope=entry.get("scope", Poll.Scope.DELEGATION), options=[str(row[0]) for row in options],
                benchmarks=["" if len(row) < 2 or row[1] is None else str(row[1]) for row in options],
                benchmark_label=entry.get("benchmark_label", ""), benchmark_scale=entry.get("benchmark_scale"),
            ))
    return created
