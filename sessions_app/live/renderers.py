"""HTML fragments for live events: rendered once per receiving group, swapped in by htmx (out of band).

Every renderer reads the current state of the database, so replaying an old event re-renders what is
true now: a client that missed events ends with what a fresh page would show.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape

from .. import events, floor, polls, queries
from ..zones import zone_of
from ..fanout import Listeners
from ..fragments import answer_card, answer_saved_status
from ..models import Answer, Event, Meeting, Poll, Question, RecordVersion, Session, Visibility, Vote

logger = logging.getLogger(__name__)

RENDER_ATTEMPTS = 3  # a live render that meets a database error is tried again, after 0.25 s then 0.5 s

Fragments = list[tuple[str, str]]
Lazy = str | Callable[[], str]
LazyFragments = list[tuple[str, Lazy]]  # what renderers return: see render_event


def seq_marker(seq: int, *, covers: list[int] | None = None, through: bool = False) -> str:
    """Carried by every message: the client sends the last one it saw when it reconnects.

    A live message also says which event numbers it carries (`covers`, as ranges "4-6,9-9"), so that
    a console, which gets a fragment for every event, notices a number that never arrived (dropped
    by the channel layer, Redis or a process) and resyncs. A catch-up ends with a `through` marker:
    the page has everything up to `seq`.
    """
    extra = f' data-seqs="{seq_ranges(covers)}"' if covers else ""
    if through:
        extra += " data-through"
    return f'<span id="live-seq" data-seq="{int(seq)}"{extra} hidden hx-swap-oob="true"></span>'


def seq_ranges(seqs: list[int]) -> str:
    """Sorted event numbers as ranges: [4, 5, 6, 9] -> "4-6,9-9"."""
    ranges: list[list[int]] = []
    for seq in sorted(set(int(seq) for seq in seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ",".join(f"{first}-{last}" for first, last in ranges)


def _render(template: str, **context) -> str:
    return render_to_string(f"sessions_app/partials/{template}.html", context)


def render_batch(batch: list[Event], listeners: Listeners | None = None) -> list[tuple[str, dict[str, str], int]]:
    """(group, {language: html}, seq) for a run of committed events, in order.

    Each event renders once per receiving group and interface language (with `listeners`, only the
    languages of the group's sockets: see fanout.listeners). A run of consecutive answer
    submissions renders as one message per group (see _answers_saved).
    """
    messages = []
    for run in _runs(batch):
        for attempt in range(1, RENDER_ATTEMPTS + 1):
            try:
                messages.extend(_render_run(run, listeners))
                break
            except DatabaseError:  # e.g. no connection to be had in a burst: the events are stored, try again
                if attempt == RENDER_ATTEMPTS:
                    logger.exception("Could not render live events #%s-#%s", run[0].seq, run[-1].seq)
                else:
                    connection.close()
                    time.sleep(0.25 * attempt)
            except Exception:  # a render bug must not cost the other events their messages
                logger.exception("Could not render live events #%s-#%s", run[0].seq, run[-1].seq)
                break
    return messages


def _render_run(run: list[Event], listeners: Listeners | None) -> list[tuple[str, dict[str, str], int]]:
    """One message per group for a run: its renderer's queries once, its fragments once per language."""
    meeting = Meeting.objects.get(pk=run[0].meeting_id)
    together = RUN_RENDERERS.get(run[0].type)
    fragments = together(run, meeting) if together else RENDERERS[run[0].type](run[0], meeting)
    return _in_languages(fragments, meeting, listeners, seq=run[-1].seq, covers=[event.seq for event in run])


def _in_languages(fragments: LazyFragments, meeting: Meeting, listeners: Listeners | None, *, seq: int,
                  covers: list[int] | None = None) -> list[tuple[str, dict[str, str], int]]:
    """(group, {language: html}, seq): each fragment in the languages its group's sockets use."""
    languages = None if listeners is None or not fragments else listeners({group for group, _html in fragments})
    by_group: dict[str, dict[str, str]] = {}
    for language, _name in settings.LANGUAGES:
        groups = None if languages is None else {group for group, _html in fragments if language in languages.get(group, ())}
        if groups is not None and not groups:
            continue
        with translation.override(language), timezone.override(zone_of(meeting)):
            for group, html in _evaluated(fragments, seq=seq, groups=groups, covers=covers):
                by_group.setdefault(group, {})[language] = html
    return [(group, html, seq) for group, html in by_group.items()]


def _runs(batch: list[Event]) -> list[list[Event]]:
    """Consecutive answer submissions (or votes) of one meeting together; every other event alone."""
    runs: list[list[Event]] = []
    for event in batch:
        previous = runs[-1][-1] if runs else None
        if (previous is not None and event.type == previous.type and event.type in RUN_RENDERERS
                and event.meeting_id == previous.meeting_id):
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _answers_saved(run: list[Event], meeting: Meeting) -> LazyFragments:
    """Answers submitted one after another (or one): to the consoles every card (each answer once, as
    it is now) and each question's tally once; to each delegation its answers' status lines; to the
    delegates the published answers, in meetings that publish them."""
    created: dict[int, bool] = {}
    for event in run:  # an answer first created in this run is appended; one only edited, replaced
        created.setdefault(event.payload["answer"], bool(event.payload.get("created")))
    answers = queries.answers_for_console(list(created))
    question_ids = list(dict.fromkeys(answer.question_id for answer in answers))
    # Queried once, rendered once per language.
    tallies = functools.cache(lambda: tally_contexts(question_ids, meeting))
    published = functools.cache(lambda: queries.published_answers(question_ids=question_ids))

    def console() -> str:
        cards = [answer_card(answer, meeting, oob=f"beforeend:#answers-q{answer.question_id}" if created[answer.pk] else "true")
                 for answer in answers]
        return "".join(cards + [_render("tally", question_id=pk, **tallies()[pk], oob="true") for pk in question_ids])

    fragments: LazyFragments = [(events.group_name(meeting.pk, events.CONSOLE), console)]
    by_delegation: dict[int, list[Answer]] = {}
    for answer in answers:
        by_delegation.setdefault(answer.delegation_id, []).append(answer)
    for delegation_id, theirs in by_delegation.items():
        fragments.append((
            events.delegation_group(meeting.pk, delegation_id),
            lambda theirs=theirs: "".join(answer_saved_status(answer, oob="true") for answer in theirs),
        ))  # fmt: skip
    if meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED:
        fragments.append((events.group_name(meeting.pk, events.DELEGATE), lambda: "".join(
            _render("published_answers", question_id=pk, answers=published()[pk], meeting=meeting, oob="true")
            for pk in question_ids
        )))  # fmt: skip
    return fragments


def render_event(event: Event, *, meeting: Meeting | None = None, groups: set[str] | None = None) -> Fragments:
    """(group, html) pairs for one event in the active language; html starts with the sequence marker.

    With `groups` (a reconnecting socket's), only those groups' fragments are rendered: renderers
    return each fragment as a function, called only when its group is wanted.
    """
    meeting = meeting or Meeting.objects.get(pk=event.meeting_id)
    with timezone.override(zone_of(meeting)):  # the meeting's times, as its pages show them
        return _evaluated(RENDERERS[event.type](event, meeting), seq=event.seq, groups=groups)


def _evaluated(fragments: LazyFragments, *, seq: int, groups: set[str] | None = None, covers: list[int] | None = None) -> Fragments:
    rendered = []
    for group, html in fragments:
        if groups is not None and group not in groups:
            continue
        html = html() if callable(html) else html
        if html or html is NUMBERS_ONLY:
            rendered.append((group, seq_marker(seq, covers=covers) + html))
    return rendered


# A fragment that is only the message's event numbers: a console counts every event it is sent (to
# notice one missing), also a vote whose counts follow in a later message (TallyThrottle). Its own
# object: every other empty fragment means "nothing for this group".
class _NumbersOnly(str):
    pass


NUMBERS_ONLY = _NumbersOnly("")


def _later(template: str, **context) -> Callable[[], str]:
    """A fragment rendered only if some socket wants it (in the language active then)."""
    return lambda: _render(template, **context)


def _answer_saved_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    return _answers_saved([event], meeting)


def _answer_moderated_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    answer = queries.answer_for_console(event.payload["answer"])
    if answer is None:
        return []
    question_id = answer.question_id
    # Queried once, rendered once per language.
    tally = functools.cache(lambda: tally_contexts([question_id], meeting)[question_id])
    published = functools.cache(lambda: queries.published_answers_of(question_id))
    console = lambda: (answer_card(answer, meeting, oob="true")  # noqa: E731
                       + _render("tally", question_id=question_id, **tally(), oob="true"))
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), console),
                 # The delegation's own status line says whether the chair has hidden its answer.
                 (events.delegation_group(meeting.pk, answer.delegation_id), lambda: answer_saved_status(answer, oob="true"))]
    if meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED:
        fragments.append((events.group_name(meeting.pk, events.DELEGATE),
                          lambda: _render("published_answers", question_id=question_id, answers=published(), meeting=meeting, oob="true")))
    fragments.append((events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)))
    return fragments


def _practice_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    practice = queries.practice_for_console(event.payload["practice"])
    if practice is None:
        return []
    oob = "afterbegin:#practices-feed" if event.payload.get("created") else "true"
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), _later("practice_card", practice=practice, meeting=meeting, oob=oob, console=True))]
    if event.type == events.PRACTICE_SAVED:
        fragments.append((
            events.delegation_group(meeting.pk, practice.delegation_id),
            lambda: _render("practices_mine", practices=queries.delegation_practices(practice.session, practice.delegation),
                            delegation=practice.delegation, session=practice.session, meeting=meeting, oob="true"),
        ))  # fmt: skip
    return fragments


def _question_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    question = Question.objects.select_related("session").get(pk=event.payload["question"])
    return [
        (events.group_name(meeting.pk, events.CONSOLE), _later("question_controls", question=question, meeting=meeting, oob="true")),
        (events.group_name(meeting.pk, events.DELEGATE), _later("question_status", question=question, meeting=meeting, oob="true")),
        (events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)),
    ]


def _discussion_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=meeting.pk)
    banner = _later("now_discussing", meeting=meeting, oob="true")
    return [
        (events.group_name(meeting.pk, events.CONSOLE), banner),
        (events.group_name(meeting.pk, events.DELEGATE), banner),
        (events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)),
    ]


def _conclusions_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    def status():
        session = Session.objects.get(pk=event.session_id)
        return _render("conclusions_status", revision=session.conclusions.select_related("author").first(), session=session, oob="true")

    return [(events.group_name(meeting.pk, events.CONSOLE), status)]


def _settings_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    """The notice, and every live part that names delegations (or not, under the Chatham House rule),
    rendered afresh: a switch of attribution must not leave names on an open screen until a reload."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries
    from ..synthesis import queries as synthesis_queries

    meeting = Meeting.objects.get(pk=meeting.pk)  # the settings just saved, not the caller's copy
    notice = _later("settings_notice", meeting=meeting)
    rounds = functools.cache(lambda: [opinion_queries.round_view(round, meeting)
                                      for round in OpinionRound.objects.filter(session__meeting=meeting).order_by("pk")])
    panels = functools.cache(lambda: synthesis_queries.theme_panels(
        list(Question.objects.filter(session__meeting=meeting, synthesis__isnull=False).order_by("pk")), meeting))
    console = lambda: notice() + "".join(  # noqa: E731
        [_render("opinion_analysis", **view, oob="true") for view in rounds()]
        + [_render("synthesis_question", **panel, oob="true") for panel in panels()])
    # Every question's published answers, or none now that the meeting keeps answers to the chair:
    # a page open before the change shows what the new setting says, without a reload.
    question_ids = list(Question.objects.filter(session__meeting=meeting).values_list("pk", flat=True))
    shown = meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED
    published = functools.cache(lambda: queries.published_answers(question_ids=question_ids) if shown else {})
    delegate = lambda: notice() + "".join(  # noqa: E731
        _render("published_answers", question_id=pk, answers=published().get(pk, []), meeting=meeting, oob="true")
        for pk in question_ids)
    screen = screen_fragment(meeting)
    return [
        (events.group_name(meeting.pk, events.CONSOLE), console),
        (events.group_name(meeting.pk, events.DELEGATE), delegate),
        (events.group_name(meeting.pk, events.SCREEN), lambda: screen() + opinion_screen_html(meeting)),
    ]


def _floor_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    session = Session.objects.select_related("meeting").get(pk=event.payload["floor"])
    state = floor.floor_state(session, with_not_spoken=True)
    delegates = events.group_name(meeting.pk, events.DELEGATE)
    # Everyone's view first, then each listed delegation's own place (sent after, so it wins).
    fragments = [
        (events.group_name(meeting.pk, events.CONSOLE), _later("floor_console", state=state, session=session, meeting=meeting, oob="true")),
        (delegates, lambda: _render("floor_status", state=state, session=session, meeting=meeting, oob="true")
         + _render("floor_mine", state=state, session=session, meeting=meeting, delegation=None, oob="true")),
    ]
    for request in [state.speaker, *state.waiting]:
        if request is not None:
            mine = _later("floor_mine", state=state, session=session, meeting=meeting, delegation=request.delegation, oob="true")
            fragments.append((events.delegation_group(meeting.pk, request.delegation_id), mine))
    fragments.append((events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)))
    return fragments


def _timing_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    session = Session.objects.get(pk=event.payload["timing"])
    clock = lambda: _render("session_clock", session=session, meeting=meeting, oob="true",  # noqa: E731
                            next_session=meeting.sessions.filter(number__gt=session.number).first())
    return [(events.group_name(meeting.pk, events.CONSOLE), clock)]


def polls_console_html(session: Session, meeting: Meeting) -> str:
    return _render("polls_console", session=session, meeting=meeting, **polls.console_polls(session), oob="true")


def polls_delegate_html(session: Session, meeting: Meeting, launched, delegation, voted: set[int]) -> str:
    return _render("polls_delegate", session=session, meeting=meeting, polls=launched, delegation=delegation, voted=voted, oob="true")


def _poll_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    session = Session.objects.select_related("meeting").get(pk=event.session_id)
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), lambda: polls_console_html(session, meeting))]
    delegates = events.group_name(meeting.pk, events.DELEGATE)
    if event.type == events.POLL_CHANGED:
        # A poll opened, closed, or its results were shown: every delegation's list, with its own votes.
        launched = functools.cache(lambda: polls.launched_polls(session))
        votes_by_delegation = functools.cache(lambda: polls.voted_polls_by_delegation(session))
        fragments.append((delegates, lambda: polls_delegate_html(session, meeting, launched(), None, set())))
        for delegation in meeting.delegations.all():
            fragments.append((
                events.delegation_group(meeting.pk, delegation.pk),
                lambda delegation=delegation: polls_delegate_html(
                    session, meeting, launched(), delegation, votes_by_delegation().get(delegation.pk, set())),
            ))  # fmt: skip
    else:
        vote = Vote.objects.select_related("poll", "delegation").filter(pk=event.payload["vote"]).first()
        if vote is not None:
            poll = vote.poll
            voter = (events.delegation_group(meeting.pk, vote.delegation_id) if poll.scope == Poll.Scope.DELEGATION and vote.delegation_id
                     else events.user_group(vote.user_id))
            fragments.append((voter, _later("poll_vote", poll=poll, meeting=meeting, voted=True, delegation=vote.delegation, oob="true")))
            if poll.results_visible:
                fragments.append((delegates, lambda: _render("poll_results", results=polls.poll_results(poll), poll=poll, meeting=meeting, oob="true")))
    fragments.append((events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)))
    return fragments


def _opinion_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries
    from ..templatetags import opinion as opinion_tags

    round = OpinionRound.objects.filter(pk=event.payload.get("round")).first()
    if round is None:
        return []
    context = functools.cache(lambda: opinion_queries.round_view(round, meeting))
    html = lambda: _render("opinion_analysis", **context(), oob="true")  # noqa: E731
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), html)]
    if event.type != events.OPINION_ANALYSED and not event.payload.get("proposed"):
        # Each delegation sees its own next statement: after a change everyone's
        # (not after a proposal, which nobody sees before moderation: the proposer's panel keeps its thanks).
        session = Session.objects.select_related("meeting").get(pk=round.session_id)
        for delegation in meeting.delegations.all():
            fragments.append((events.delegation_group(meeting.pk, delegation.pk), lambda delegation=delegation: _render(
                "opinion_delegate", **opinion_tags.delegate_context(session, meeting, delegation), oob="true")))
    # The screen shows the round the chair put there (maybe another one, or none now).
    fragments.append((events.group_name(meeting.pk, events.SCREEN), lambda: opinion_screen_html(meeting)))
    return fragments


OOB = ' hx-swap-oob="true"'
# Renders kept for replies not taken yet: a batch's (at most group_commit.MAX_BATCH votes, in each language
# listened to) are taken as soon as it is rendered; the rest (replays, a panel nobody's reply waits for) are
# dropped oldest first, a few kB each.
VOTE_PANELS_KEPT = 400
_vote_panels: OrderedDict[tuple[int, int, str], str] = OrderedDict()
_vote_panels_lock = threading.Lock()


def _votes_cast(run: list[Event], meeting: Meeting) -> LazyFragments:
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

    @functools.cache
    def next_in(round_id: int) -> dict:
        return opinion_queries.next_statements(rounds[round_id], [d for r, d in numbers if r == round_id and d in members])

    def panels(delegation_id: int) -> str:
        return "".join(_vote_panel(numbers[(round_id, delegation_id)], rounds[round_id], meeting, next_in(round_id)[delegation_id])
                       for round_id in by_delegation[delegation_id])

    # The consoles' counts: decided once per run (not per language), read once, rendered per language.
    voted_rounds = sorted({round_id for round_id, _delegation in numbers if round_id in rounds})
    counted_now = functools.cache(lambda: [pk for pk in voted_rounds if tally_throttle.now(meeting.pk, pk)])
    views = functools.cache(lambda: [opinion_queries.tally_view(rounds[pk], meeting_id=meeting.pk) for pk in counted_now()])

    def console() -> str:
        return "".join(_render("opinion_tally", **view, oob="true") for view in views()) or NUMBERS_ONLY

    return [(events.group_name(meeting.pk, events.CONSOLE), console),
            *((events.delegation_group(meeting.pk, pk), lambda pk=pk: panels(pk)) for pk in by_delegation)]


TALLY_INTERVAL_S = 0.1  # a round's counts go to the consoles at most ten times a second per process


class TallyThrottle:
    """When a round's votes per statement go to the consoles: with a run of votes at most every
    `interval` seconds per round (a vote stream in batches of a few votes would otherwise send, and
    render, them for every batch); a run in between carries only its event numbers, and one refresh
    (events.refresh_later) sends the counts once the interval has passed, so the last votes of a burst
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
        if events.refresh_later(wait, lambda listeners: self._refresh(meeting_id, round_id, listeners)):
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
    fragments = [(events.group_name(meeting_id, events.CONSOLE), lambda: _render("opinion_tally", **view, oob="true"))]
    return _in_languages(fragments, meeting, listeners, seq=view["as_of"])


def _vote_panel(seqs: list[int], round, meeting: Meeting, next) -> str:
    html, language = _render("opinion_vote", meeting=meeting, round=round, next=next, oob="true"), translation.get_language()
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


def vote_ack(key: str, *, refused: bool = False) -> str:
    """What tells the page that sent a vote over its socket that the vote with this key is done with:
    stored (or already stored), or refused (then nothing changed, and the page does not send it again)."""
    # hx-swap-oob with no target: app.js's live-targets drops it before htmx swaps (else htmx reports it as an error).
    return f'<span class="vote-ack" data-vote-ack="{escape(key)}"{" data-vote-refused" if refused else ""} hx-swap-oob="true" hidden></span>'


def vote_reply(key: str, round, vote) -> str:
    """A socket's answer to its vote, stored: the delegation's panel (its next statement), then the ack."""
    from ..opinion import queries as opinion_queries

    meeting = round.session.meeting
    html = vote.event_seq and take_vote_panel(meeting.pk, vote.event_seq, translation.get_language(), oob=True)
    if not html:  # nothing changed (the same vote again), or the live update was rendered elsewhere
        html = _render("opinion_vote", meeting=meeting, round=round, next=opinion_queries.next_statement(round, vote.delegation), oob="true")
    return html + vote_ack(key)


def answer_reply(key: str, answer) -> str:
    """A socket's answer to an answer it sent, stored: what the HTTP form's reply swaps in (the saved
    status, the form's next key, its button), then the ack."""
    from ..fragments import answer_saved_reply

    return str(answer_saved_reply(answer, form_key=uuid.uuid4().hex)) + vote_ack(key)


def answer_refused(key: str, *, question_id: int, meeting_id: int, delegation, message: str, text: str) -> str:
    """A socket's answer to an answer that was refused: the question's card with the error and the text
    sent, as the HTTP form shows it (a question of another meeting: the notice only), then the ack."""
    question = Question.objects.filter(pk=question_id, session__meeting_id=meeting_id).select_related("session__meeting").first()
    if question is None or delegation is None:
        return vote_refused(key, message)
    context = queries.answer_card_context(question, delegation, error=message, submitted_text=text)
    return render_to_string("sessions_app/partials/question_delegate.html", context) + vote_ack(key, refused=True)


def vote_refused(key: str, message: str) -> str:
    """A socket's answer to a vote that was refused: the reason where the page shows notices, and the ack."""
    return _render("live_notice", message=message) + vote_ack(key, refused=True)


def opinion_screen_html(meeting: Meeting) -> str:
    """The opinion round the chair put on the room screen (maybe another one, or none now)."""
    from ..opinion import queries as opinion_queries

    shown = opinion_queries.screen_round(meeting)
    view = opinion_queries.round_view(shown, meeting) if shown else {"round": None}
    return _render("opinion_screen", meeting=meeting, **view, oob="true")


def _record_notice_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    """The record's notice on the delegates' pages: the version the event announces, as it was issued
    (versions are frozen, so a replay shows what the page would have shown then; a later notice follows)."""
    version = RecordVersion.objects.filter(pk=event.payload.get("version"), meeting=meeting).select_related("session").first()
    if version is None:
        return []
    return [(events.group_name(meeting.pk, events.DELEGATE), _later(
        "record_review_notice", meeting=meeting, latest=version, notice=event.payload.get("notice"), oob="innerHTML"))]
def _synthesis_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    from ..synthesis import queries as synthesis_queries

    question = Question.objects.filter(pk=event.payload.get("question")).first()
    if question is None:
        return []
    return [(events.group_name(meeting.pk, events.CONSOLE),
             lambda: _render("synthesis_question", **synthesis_queries.theme_panel(question, meeting), oob="true"))]


RENDERERS = {
    events.ANSWER_SAVED: _answer_saved_fragments,
    events.ANSWER_MODERATED: _answer_moderated_fragments,
    events.PRACTICE_SAVED: _practice_fragments,
    events.PRACTICE_MODERATED: _practice_fragments,
    events.QUESTION_STATUS: _question_fragments,
    events.DISCUSSION_CHANGED: _discussion_fragments,
    events.CONCLUSIONS_SAVED: _conclusions_fragments,
    events.SETTINGS_CHANGED: _settings_fragments,
    events.FLOOR_CHANGED: _floor_fragments,
    events.SESSION_TIMING: _timing_fragments,
    events.POLL_CHANGED: _poll_fragments,
    events.POLL_VOTED: _poll_fragments,
    events.OPINION_CHANGED: _opinion_fragments,
    events.OPINION_VOTED: lambda event, meeting: _votes_cast([event], meeting),
    events.OPINION_ANALYSED: _opinion_fragments,
    events.RECORD_NOTICE: _record_notice_fragments,
    events.SYNTHESIS_CHANGED: _synthesis_fragments,
}
assert set(RENDERERS) == set(events.EVENT_AUDIENCES), "every event type needs a renderer"
# Event types whose consecutive events (a batch's) render together: fn(run, meeting).
RUN_RENDERERS = {events.ANSWER_SAVED: _answers_saved, events.OPINION_VOTED: _votes_cast}


def tally_contexts(question_ids: list[int], meeting: Meeting) -> dict[int, dict]:
    """Per question, its tally (queries.tally): a query for the questions' answers, one for the
    meeting's delegations."""
    answered: dict[int, set[int]] = {pk: set() for pk in question_ids}
    for question_id, delegation_id in Answer.objects.filter(question_id__in=question_ids).order_by().values_list("question_id", "delegation_id"):
        answered[question_id].add(delegation_id)
    delegations = queries.delegation_codes(meeting) if question_ids else []
    return {pk: queries.tally(theirs, delegations) for pk, theirs in answered.items()}


def screen_context(meeting: Meeting) -> dict:
    """What the room screen shows: the question under discussion with its key points, who has the
    floor in the current session, and the latest launched poll (its results once the chair shows them)."""
    question = meeting.current_question
    starred = []
    if question is not None:
        starred = list(
            question.answers.filter(starred=True).exclude(visibility=Visibility.HIDDEN).select_related("delegation").order_by("updated_at")
        )
    session = meeting.current_session or (question.session if question else None)
    poll = polls.screen_poll(meeting)
    return {
        "meeting": meeting,
        "question": question,
        "starred": starred,
        "floor_state": floor.floor_state(session) if session else None,
        "screen_poll": poll,
        "screen_results": polls.poll_results(poll) if poll is not None and poll.results_visible else None,
    }


def screen_fragment(meeting: Meeting) -> Callable[[], str]:
    """The room screen's live parts, as a lazy fragment: queried once at the first call, rendered in
    the language active at each call (a broadcast renders every language)."""
    context = functools.cache(lambda: screen_context(
        Meeting.objects.select_related("current_question__session", "current_session").get(pk=meeting.pk)))
    return lambda: "".join(_render(name, **context(), oob="true") for name in ("screen_main", "screen_floor", "screen_poll"))


def screen_html(meeting: Meeting) -> str:
    return screen_fragment(meeting)()


# --- Catch-up for a reconnecting client -----------------------------------------------------------


def _tallies_since(meeting: Meeting, after: int) -> list[str]:
    """The counts of each round voted in after `after`, once (missed_events leaves the votes out for consoles)."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries

    # The rounds, not every vote: a console back after thousands of votes reads a few rows.
    voted = (Event.objects.filter(meeting=meeting, seq__gt=after, type=events.OPINION_VOTED)
             .order_by().values_list("payload__round", flat=True).distinct())
    rounds = OpinionRound.objects.filter(pk__in=set(voted), session__meeting=meeting).order_by("pk")
    return [_render("opinion_tally", **opinion_queries.tally_view(round, meeting_id=meeting.pk), oob="true") for round in rounds]


def catch_up(*, meeting_id: int, after: int, groups: set[str], full_render) -> tuple[int, list[str]]:
    """Messages that bring a client that saw everything up to `after` level with the database.

    Replays the missed events (rendered from the current state, once per object) or, when the gap is
    longer than events.REPLAY_LIMIT or `after` is unknown, calls full_render() for a fresh render.
    Returns the current sequence number and the HTML messages to send.
    """
    meeting = Meeting.objects.get(pk=meeting_id)
    current = meeting.last_seq
    if after >= current:
        return current, []
    missed = events.missed_events(meeting, after, groups, events.REPLAY_LIMIT)
    if after < 0 or len(missed) > events.REPLAY_LIMIT:
        return current, [seq_marker(current, through=True) + full_render()]
    # Renders show the current state, so one render per (type, object) is enough; the first one keeps
    # its "created" flag so that a card the client never had is appended rather than replaced.
    seen: set[tuple] = set()
    messages = []
    for event in missed:
        payload = event.payload or {}
        key = (event.type, *sorted((name, value) for name, value in payload.items() if name != "created"))
        if key in seen:
            continue
        seen.add(key)
        for _group, html in render_event(event, meeting=meeting, groups=groups):
            messages.append(html)
    if events.group_name(meeting_id, events.CONSOLE) in groups:
        messages += _tallies_since(meeting, after)
    messages.append(seq_marker(current, through=True))
    return current, messages
