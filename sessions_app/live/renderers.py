"""HTML fragments for live events: rendered once per receiving group, swapped in by htmx (out of band).

Every renderer reads the current state of the database, so replaying an old event re-renders what is
true now: a client that missed events ends with what a fresh page would show.
"""

from __future__ import annotations

import functools
import logging
import time

from django.db import DatabaseError, connection
from django.utils import timezone

from .. import events, floor, polls, queries
from ..fragments import answer_card, answer_saved_status
from ..models import Answer, Event, Meeting, Poll, Question, RecordVersion, Session, Vote
from ..zones import zone_of
from .fanout import Listeners
from .partials import Fragments, LazyFragments, evaluated, in_languages, later, render
from .screen import opinion_screen_html, screen_fragment
from .votes import votes_cast

logger = logging.getLogger(__name__)

RENDER_ATTEMPTS = 3  # a live render that meets a database error is tried again, after 0.25 s then 0.5 s


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
    return in_languages(fragments, meeting, listeners, seq=run[-1].seq, covers=[event.seq for event in run])


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
        return "".join(cards + [render("tally", question_id=pk, **tallies()[pk], oob="true") for pk in question_ids])

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
            render("published_answers", question_id=pk, answers=published()[pk], meeting=meeting, oob="true")
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
        return evaluated(RENDERERS[event.type](event, meeting), seq=event.seq, groups=groups)


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
                       + render("tally", question_id=question_id, **tally(), oob="true"))
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), console),
                 # The delegation's own status line says whether the chair has hidden its answer.
                 (events.delegation_group(meeting.pk, answer.delegation_id), lambda: answer_saved_status(answer, oob="true"))]
    if meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED:
        fragments.append((events.group_name(meeting.pk, events.DELEGATE),
                          lambda: render("published_answers", question_id=question_id, answers=published(), meeting=meeting, oob="true")))
    fragments.append((events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)))
    return fragments


def _practice_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    practice = queries.practice_for_console(event.payload["practice"])
    if practice is None:
        return []
    oob = "afterbegin:#practices-feed" if event.payload.get("created") else "true"
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), later("practice_card", practice=practice, meeting=meeting, oob=oob, console=True))]
    if event.type == events.PRACTICE_SAVED:
        fragments.append((
            events.delegation_group(meeting.pk, practice.delegation_id),
            lambda: render("practices_mine", practices=queries.delegation_practices(practice.session, practice.delegation),
                            delegation=practice.delegation, session=practice.session, meeting=meeting, oob="true"),
        ))  # fmt: skip
    return fragments


def _question_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    question = Question.objects.select_related("session").get(pk=event.payload["question"])
    return [
        (events.group_name(meeting.pk, events.CONSOLE), later("question_controls", question=question, meeting=meeting, oob="true")),
        (events.group_name(meeting.pk, events.DELEGATE), later("question_status", question=question, meeting=meeting, oob="true")),
        (events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)),
    ]


def _discussion_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=meeting.pk)
    banner = later("now_discussing", meeting=meeting, oob="true")
    return [
        (events.group_name(meeting.pk, events.CONSOLE), banner),
        (events.group_name(meeting.pk, events.DELEGATE), banner),
        (events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)),
    ]


def _conclusions_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    def status():
        session = Session.objects.get(pk=event.session_id)
        return render("conclusions_status", revision=session.conclusions.select_related("author").first(), session=session, oob="true")

    return [(events.group_name(meeting.pk, events.CONSOLE), status)]


def _settings_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    """The notice, and every live part that names delegations (or not, under the Chatham House rule),
    rendered afresh: a switch of attribution must not leave names on an open screen until a reload."""
    from ..models import OpinionRound
    from ..opinion import queries as opinion_queries
    from ..synthesis import queries as synthesis_queries

    meeting = Meeting.objects.get(pk=meeting.pk)  # the settings just saved, not the caller's copy
    notice = later("settings_notice", meeting=meeting)
    rounds = functools.cache(lambda: [opinion_queries.round_view(round, meeting)
                                      for round in OpinionRound.objects.filter(session__meeting=meeting).order_by("pk")])
    panels = functools.cache(lambda: synthesis_queries.theme_panels(
        list(Question.objects.filter(session__meeting=meeting, synthesis__isnull=False).order_by("pk")), meeting))
    console = lambda: notice() + "".join(  # noqa: E731
        [render("opinion_analysis", **view, oob="true") for view in rounds()]
        + [render("synthesis_question", **panel, oob="true") for panel in panels()])
    # Every question's published answers, or none now that the meeting keeps answers to the chair:
    # a page open before the change shows what the new setting says, without a reload.
    question_ids = list(Question.objects.filter(session__meeting=meeting).values_list("pk", flat=True))
    shown = meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED
    published = functools.cache(lambda: queries.published_answers(question_ids=question_ids) if shown else {})
    delegate = lambda: notice() + "".join(  # noqa: E731
        render("published_answers", question_id=pk, answers=published().get(pk, []), meeting=meeting, oob="true")
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
        (events.group_name(meeting.pk, events.CONSOLE), later("floor_console", state=state, session=session, meeting=meeting, oob="true")),
        (delegates, lambda: render("floor_status", state=state, session=session, meeting=meeting, oob="true")
         + render("floor_mine", state=state, session=session, meeting=meeting, delegation=None, oob="true")),
    ]
    for request in [state.speaker, *state.waiting]:
        if request is not None:
            mine = later("floor_mine", state=state, session=session, meeting=meeting, delegation=request.delegation, oob="true")
            fragments.append((events.delegation_group(meeting.pk, request.delegation_id), mine))
    fragments.append((events.group_name(meeting.pk, events.SCREEN), screen_fragment(meeting)))
    return fragments


def _timing_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    session = Session.objects.get(pk=event.payload["timing"])
    clock = lambda: render("session_clock", session=session, meeting=meeting, oob="true",  # noqa: E731
                            next_session=meeting.sessions.filter(number__gt=session.number).first())
    return [(events.group_name(meeting.pk, events.CONSOLE), clock)]


def polls_console_html(session: Session, meeting: Meeting) -> str:
    return render("polls_console", session=session, meeting=meeting, **polls.console_polls(session), oob="true")


def polls_delegate_html(session: Session, meeting: Meeting, launched, delegation, voted: set[int]) -> str:
    return render("polls_delegate", session=session, meeting=meeting, polls=launched, delegation=delegation, voted=voted, oob="true")


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
            fragments.append((voter, later("poll_vote", poll=poll, meeting=meeting, voted=True, delegation=vote.delegation, oob="true")))
            if poll.results_visible:
                fragments.append((delegates, lambda: render("poll_results", results=polls.poll_results(poll), poll=poll, meeting=meeting, oob="true")))
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
    html = lambda: render("opinion_analysis", **context(), oob="true")  # noqa: E731
    fragments = [(events.group_name(meeting.pk, events.CONSOLE), html)]
    if event.type != events.OPINION_ANALYSED and not event.payload.get("proposed"):
        # Each delegation sees its own next statement: after a change everyone's
        # (not after a proposal, which nobody sees before moderation: the proposer's panel keeps its thanks).
        session = Session.objects.select_related("meeting").get(pk=round.session_id)
        for delegation in meeting.delegations.all():
            fragments.append((events.delegation_group(meeting.pk, delegation.pk), lambda delegation=delegation: render(
                "opinion_delegate", **opinion_tags.delegate_context(session, meeting, delegation), oob="true")))
    # The screen shows the round the chair put there (maybe another one, or none now).
    fragments.append((events.group_name(meeting.pk, events.SCREEN), lambda: opinion_screen_html(meeting)))
    return fragments


def _record_notice_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    """The record's notice on the delegates' pages: the version the event announces, as it was issued
    (versions are frozen, so a replay shows what the page would have shown then; a later notice follows)."""
    version = RecordVersion.objects.filter(pk=event.payload.get("version"), meeting=meeting).select_related("session").first()
    if version is None:
        return []
    return [(events.group_name(meeting.pk, events.DELEGATE), later(
        "record_review_notice", meeting=meeting, latest=version, notice=event.payload.get("notice"), oob="innerHTML"))]
def _synthesis_fragments(event: Event, meeting: Meeting) -> LazyFragments:
    from ..synthesis import queries as synthesis_queries

    question = Question.objects.filter(pk=event.payload.get("question")).first()
    if question is None:
        return []
    return [(events.group_name(meeting.pk, events.CONSOLE),
             lambda: render("synthesis_question", **synthesis_queries.theme_panel(question, meeting), oob="true"))]


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
    events.OPINION_VOTED: lambda event, meeting: votes_cast([event], meeting),
    events.OPINION_ANALYSED: _opinion_fragments,
    events.RECORD_NOTICE: _record_notice_fragments,
    events.SYNTHESIS_CHANGED: _synthesis_fragments,
}
assert set(RENDERERS) == set(events.EVENT_AUDIENCES), "every event type needs a renderer"
# Event types whose consecutive events (a batch's) render together: fn(run, meeting).
RUN_RENDERERS = {events.ANSWER_SAVED: _answers_saved, events.OPINION_VOTED: votes_cast}


def tally_contexts(question_ids: list[int], meeting: Meeting) -> dict[int, dict]:
    """Per question, its tally (queries.tally): a query for the questions' answers, one for the
    meeting's delegations."""
    answered: dict[int, set[int]] = {pk: set() for pk in question_ids}
    for question_id, delegation_id in Answer.objects.filter(question_id__in=question_ids).order_by().values_list("question_id", "delegation_id"):
        answered[question_id].add(delegation_id)
    delegations = queries.delegation_codes(meeting) if question_ids else []
    return {pk: queries.tally(theirs, delegations) for pk, theirs in answered.items()}
