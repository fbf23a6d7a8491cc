"""The live parts of an opinion round's votes: a run of votes rendered together, the consoles'
counts throttled (TallyThrottle), and each vote's panel kept for its reply (take_vote_panel)."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

from django.utils import translation

from .. import events
from ..models import Event, Meeting
from . import broadcaster
from .fanout import Listeners
from .partials import NUMBERS_ONLY, LazyFragments, in_languages, render

OOB = ' hx-swap-oob="true"'
# Renders kept for replies not taken yet: a batch's (at most group_commit.MAX_BATCH votes, in each language
# listened to) are taken as soon as it is rendered; the rest (replays, a panel nobody's reply waits for) are
# dropped oldest first, a few kB each.
VOTE_PANELS_KEPT = 400
_vote_panels: OrderedDict[tuple[int, int, str], str] = OrderedDict()
_vote_panels_lock = threading.Lock()


def votes_cast(run: list[Event], meeting: Meeting) -> LazyFragments:
    """Votes cast one after another (or one): to each voting delegation (all its sockets: a colleague's
    phone too) the panel of each round it voted in, once, as it is now; its next statements read once
    for all the run's delegations. To the consoles, the votes per statement of each round voted in
    (throttled: TallyThrottle); the map follows with the analysis. Each vote's reply is this same
    render of the panel (take_vote_panel)."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries

    numbers: dict[tuple[int, int], list[int]] = {}  # (round, delegation) -> its votes' event numbers
    for event in run:
        numbers.setdefault((event.payload.get("round"), event.payload.get("delegation")), []).append(event.seq)
    rounds = OpinionRound.objects.in_bulk({round_id for round_id, _delegation in numbers})
    members = set(meeting.delegations.filter(pk__in={pk for _round, pk in numbers}).values_list("pk", flat=True))
    by_delegation: dict[int, list[int]] = {}
    for round_id, delegation_id in numbers:
        if round_id in rounds and delegation_id in members:
            by_delegation.setdefault(delegation_id, []).append(round_id)

    # Each round's approved statements and tallies, read once for the panels and the consoles' counts.
    statements = functools.cache(lambda round_id: opinion_queries.approved(rounds[round_id]))
    tallies = functools.cache(lambda round_id: opinion_queries.tallies_of(rounds[round_id]))

    @functools.cache
    def next_in(round_id: int) -> dict:
        return opinion_queries.next_statements(rounds[round_id], [d for r, d in numbers if r == round_id and d in members],
                                               approved_statements=statements(round_id), read_tallies=lambda: tallies(round_id))

    def panels(delegation_id: int) -> str:
        return "".join(_vote_panel(numbers[(round_id, delegation_id)], rounds[round_id], meeting, next_in(round_id)[delegation_id])
                       for round_id in by_delegation[delegation_id])

    # The consoles' counts: decided once per run (not per language), read once, rendered per language.
    voted_rounds = sorted({round_id for round_id, _delegation in numbers if round_id in rounds})
    counted_now = functools.cache(lambda: [pk for pk in voted_rounds if tally_throttle.now(meeting.pk, pk)])
    # Every vote of the run is committed (it is rendered after commit): the counts read now include them.
    views = functools.cache(lambda: [opinion_queries.tally_view(rounds[pk], meeting_id=meeting.pk, as_of=run[-1].seq,
                                                                statements=statements(pk), tallies=tallies(pk))
                                     for pk in counted_now()])

    def console() -> str:
        return "".join(render("opinion_tally", **view, oob="true") for view in views()) or NUMBERS_ONLY

    return [(events.group_name(meeting.pk, events.CONSOLE), console),
            *((events.delegation_group(meeting.pk, pk), lambda pk=pk: panels(pk)) for pk in by_delegation)]


TALLY_INTERVAL_S = 0.05  # a round's counts go to the consoles at most twenty times a second per process


class TallyThrottle:
    """When a round's votes per statement go to the consoles: with a run of votes at most every
    `interval` seconds per round (a vote stream in batches of a few votes would otherwise send, and
    render, them for every batch); a run in between carries only its event numbers, and one refresh
    (broadcaster.refresh_later) sends the counts once the interval has passed, so the last votes of a burst
    are shown at most `interval` later. The map has its own, slower throttle (opinion/services.py)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.lock = threading.Lock()
        self.last: dict[int, float] = {}  # round -> when its counts were last rendered here
        self.owed: set[int] = set()  # rounds with a refresh scheduled

    def now(self, meeting_id: int, round_id: int) -> bool:
        """True: render the round's counts with this run. False: they follow in a refresh."""
        with self.lock:
            now = time.monotonic()
            wait = self.last.get(round_id, -self.interval) + self.interval - now
            if wait <= 0:
                self.last[round_id] = now
                return True
            if round_id in self.owed:
                return False
            self.owed.add(round_id)
        if broadcaster.refresh_later(wait, lambda listeners: self._refresh(meeting_id, round_id, listeners)):
            return False
        with self.lock:  # no server loop (a management command, the test client): counted now
            self.owed.discard(round_id)
            self.last[round_id] = time.monotonic()
        return True

    def _refresh(self, meeting_id: int, round_id: int, listeners: Listeners | None) -> list[tuple[str, dict[str, str], int]]:
        with self.lock:
            self.owed.discard(round_id)
            self.last[round_id] = time.monotonic()
        return tally_messages(meeting_id, round_id, listeners)


tally_throttle = TallyThrottle(TALLY_INTERVAL_S)


def tally_messages(meeting_id: int, round_id: int, listeners: Listeners | None = None) -> list[tuple[str, dict[str, str], int]]:
    """The consoles' counts of a round as a live message of their own, marked with the event number
    they are as of (and carrying no event: the runs of votes they count carried theirs)."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries

    meeting = Meeting.objects.get(pk=meeting_id)
    round = OpinionRound.objects.filter(pk=round_id, session__meeting_id=meeting_id).first()
    if round is None:
        return []
    view = opinion_queries.tally_view(round, meeting_id=meeting_id)
    fragments = [(events.group_name(meeting_id, events.CONSOLE), lambda: render("opinion_tally", **view, oob="true"))]
    return in_languages(fragments, meeting, listeners, seq=view["as_of"])


def _vote_panel(seqs: list[int], round, meeting: Meeting, next) -> str:
    html, language = render("opinion_vote", meeting=meeting, round=round, next=next, oob="true"), translation.get_language()
    with _vote_panels_lock:
        for seq in seqs:
            _vote_panels[(meeting.pk, seq, language)] = html
        while len(_vote_panels) > VOTE_PANELS_KEPT:
            _vote_panels.popitem(last=False)
    return html


def take_vote_panel(meeting_id: int, seq: int, language: str, *, oob: bool = False) -> str | None:
    """The voting delegation's panel as the live update of vote event `seq` rendered it in `language`
    (without the out-of-band swap, unless `oob`: a socket's reply), once: so that the vote's reply does
    not render it a second time. None when it was not rendered here in that language (no socket of
    the delegation in it, or another thread renders it); the caller then renders its own."""
    with _vote_panels_lock:
        html = _vote_panels.pop((meeting_id, seq, language), None)
    return html if html is None or oob else html.replace(OOB, "", 1)
