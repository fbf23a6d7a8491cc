"""The floor: each session's speakers' list, the speaker's countdown, and the session's own clock.

Writes follow services.py's rules (verb_noun, keyword-only, atomic, one live event each); the reads
at the end give the pages and live fragments what they show in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import access, events
from .models import Delegation, FloorRequest, Meeting, Question, Session
from .services import ActionRefused, require_delegation, set_discussion

Status = FloorRequest.Status
OPEN_STATUSES = (Status.WAITING, Status.SPEAKING)
MIN_SPEAKING_SECONDS, MAX_SPEAKING_SECONDS = 15, 60 * 60


def _record(session: Session) -> None:
    events.record(meeting=session.meeting, type=events.FLOOR_CHANGED, session=session, payload={"floor": session.pk})


def _locked_session(session: Session) -> Session:
    # One lock per session's list: two requests at once get distinct positions. The session's row
    # only, FOR NO KEY UPDATE: the meeting's row comes last, from the event's numbering, and an event
    # another process inserts for this session meanwhile (FOR KEY SHARE of it) need not wait for us
    # (docs/reliability.md, "Row locks").
    return Session.objects.select_for_update(of=("self",), no_key=True).select_related("meeting").get(pk=session.pk)


def _question_of(session: Session, question: Question | None) -> Question | None:
    if question is not None and question.session_id != session.pk:
        raise ActionRefused(_("That question belongs to another session."))
    return question


def _append(*, session: Session, delegation: Delegation, question: Question | None, user: User) -> FloorRequest:
    if not session.meeting.delegations.filter(pk=delegation.pk).exists():
        raise ActionRefused(_("This delegation does not take part in this meeting."))
    if session.floor_requests.filter(delegation=delegation, status__in=OPEN_STATUSES).exists():
        raise ActionRefused(
            _("%(delegation)s is already on the speakers' list of this session.") % {"delegation": delegation.name}
        )
    last = session.floor_requests.aggregate(last=Max("position"))["last"] or 0
    try:
        with transaction.atomic():
            request = FloorRequest.objects.create(
                session=session, delegation=delegation, question=_question_of(session, question),
                position=last + 1, requested_by=user,
            )
    except IntegrityError:  # the database's own one-open-request rule, should a race slip past the check
        raise ActionRefused(
            _("%(delegation)s is already on the speakers' list of this session.") % {"delegation": delegation.name}
        ) from None
    _record(session)
    return request


@transaction.atomic
def request_floor(*, user: User, session: Session, question: Question | None = None) -> FloorRequest:
    """A delegate raises their delegation's nameplate: it joins the end of the session's list."""
    delegation = require_delegation(user)
    session = _locked_session(session)
    if session.floor_closed:
        raise ActionRefused(_("The speakers' list of this session is closed."))
    return _append(session=session, delegation=delegation, question=question, user=user)


@transaction.atomic
def add_speaker(*, user: User, session: Session, delegation: Delegation, question: Question | None = None) -> FloorRequest:
    """The chair puts a delegation on the list on its behalf (also when the list is closed)."""
    access.require_moderator(user)
    session = _locked_session(session)
    return _append(session=session, delegation=delegation, question=question, user=user)


@transaction.atomic
def withdraw_floor_request(*, user: User, floor_request: FloorRequest) -> FloorRequest:
    """The delegation lowers its nameplate before it is given the floor."""
    delegation = require_delegation(user)
    session = _locked_session(floor_request.session)
    floor_request = FloorRequest.objects.get(pk=floor_request.pk)
    if floor_request.delegation_id != delegation.pk:
        raise ActionRefused(_("Only the delegation that asked for the floor can withdraw the request."))
    if floor_request.status != Status.WAITING:
        raise ActionRefused(_("This request is no longer waiting: it cannot be withdrawn."))
    floor_request.status = Status.WITHDRAWN
    floor_request.ended_at = timezone.now()
    floor_request.save(update_fields=["status", "ended_at"])
    _record(session)
    return floor_request


def _speaking_seconds(seconds) -> int:
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        raise ActionRefused(_("Give the speaking time in whole seconds.")) from None
    if not MIN_SPEAKING_SECONDS <= seconds <= MAX_SPEAKING_SECONDS:
        raise ActionRefused(
            _("The speaking time must be between %(min)s seconds and %(max)s minutes.")
            % {"min": MIN_SPEAKING_SECONDS, "max": MAX_SPEAKING_SECONDS // 60}
        )
    return seconds


def _end_current(session: Session, now: datetime) -> None:
    session.floor_requests.filter(status=Status.SPEAKING).update(status=Status.DONE, ended_at=now)


@transaction.atomic
def give_floor(*, user: User, floor_request: FloorRequest, seconds: int | str | None = None) -> FloorRequest:
    """The chair gives the floor to a waiting delegation, with a speaking time; whoever spoke before is done."""
    access.require_moderator(user)
    session = _locked_session(floor_request.session)
    floor_request = FloorRequest.objects.select_related("delegation").get(pk=floor_request.pk)
    if floor_request.status != Status.WAITING:
        raise ActionRefused(_("Only a delegation waiting on the list can be given the floor."))
    seconds = _speaking_seconds(seconds if seconds not in (None, "") else settings.FACILITATION["SPEAKING_SECONDS"])
    now = timezone.now()
    _end_current(session, now)
    floor_request.status, floor_request.started_at, floor_request.speaking_seconds = Status.SPEAKING, now, seconds
    floor_request.save(update_fields=["status", "started_at", "speaking_seconds"])
    _record(session)
    return floor_request


@transaction.atomic
def end_floor(*, user: User, session: Session) -> None:
    """The chair ends the current intervention; the record keeps its start and end."""
    access.require_moderator(user)
    session = _locked_session(session)
    if not session.floor_requests.filter(status=Status.SPEAKING).exists():
        raise ActionRefused(_("Nobody has the floor."))
    _end_current(session, timezone.now())
    _record(session)


@transaction.atomic
def move_floor_request(*, user: User, floor_request: FloorRequest, direction: str) -> None:
    """The chair moves a waiting delegation one place up or down the list."""
    access.require_moderator(user)
    if direction not in {"up", "down"}:
        raise ActionRefused(_("A speaker can only move up or down."))
    session = _locked_session(floor_request.session)
    waiting = list(session.floor_requests.filter(status=Status.WAITING).order_by("position", "requested_at"))
    index = next((i for i, item in enumerate(waiting) if item.pk == floor_request.pk), None)
    if index is None:
        raise ActionRefused(_("Only a delegation waiting on the list can be moved."))
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(waiting):
        return
    waiting[index], waiting[other] = waiting[other], waiting[index]
    for position, item in enumerate(waiting, start=1):
        item.position = position
    FloorRequest.objects.bulk_update(waiting, ["position"])
    _record(session)


@transaction.atomic
def set_floor_closed(*, user: User, session: Session, closed: bool) -> Session:
    """Close the speakers' list to new requests (those on it keep their place), or reopen it."""
    access.require_moderator(user)
    session = _locked_session(session)
    if session.floor_closed != closed:
        session.floor_closed = closed
        session.save(update_fields=["floor_closed"])
        _record(session)
    return session


# --- The session's clock and the agenda ----------------------------------------------------------


def _record_timing(session: Session) -> None:
    events.record(meeting=session.meeting, type=events.SESSION_TIMING, session=session, payload={"timing": session.pk})


@transaction.atomic
def set_session_schedule(*, user: User, session: Session, start: datetime | None, duration_minutes: int | None) -> Session:
    """The secretariat sets when a session is planned to start and how long it lasts."""
    access.require_moderator(user)
    if duration_minutes is not None and not 1 <= duration_minutes <= 24 * 60:
        raise ActionRefused(_("A session lasts between 1 minute and 24 hours."))
    session = _locked_session(session)
    session.scheduled_start, session.duration_minutes = start, duration_minutes
    session.save(update_fields=["scheduled_start", "duration_minutes"])
    _record_timing(session)
    return session


@transaction.atomic
def start_session(*, user: User, session: Session) -> Session:
    """Open a session: its clock starts, any other running session ends, and the room follows it."""
    access.require_moderator(user)
    # Every session of the meeting locked, in one order: a start at once with another's waits for it,
    # then sees its session running and ends it (locking only the sessions running, each start saw
    # the other's not yet started, and two clocks ran). Read after the locks: as committed now.
    locked = list(Session.objects.select_for_update(of=("self",), no_key=True).select_related("meeting")
                  .filter(meeting_id=session.meeting_id).order_by("pk"))
    session = next(each for each in locked if each.pk == session.pk)
    now = timezone.now()
    for other in (each for each in locked if each.pk != session.pk and each.started_at is not None and each.ended_at is None):
        other.ended_at = now
        other.save(update_fields=["ended_at"])
        _end_current(other, now)
        _record_timing(other)
    session.started_at, session.ended_at = session.started_at or now, None
    session.save(update_fields=["started_at", "ended_at"])
    _record_timing(session)
    meeting = session.meeting
    if meeting.current_session_id != session.pk:
        set_discussion(user=user, meeting=meeting, question=None, session=session)
    return session


@transaction.atomic
def end_session(*, user: User, session: Session) -> Session:
    """Close a running session's clock; whoever has the floor is done."""
    access.require_moderator(user)
    session = _locked_session(session)
    if session.started_at is None or session.ended_at is not None:
        raise ActionRefused(_("This session is not running."))
    now = timezone.now()
    session.ended_at = now
    session.save(update_fields=["ended_at"])
    _end_current(session, now)
    _record_timing(session)
    return session


# --- Reads ---------------------------------------------------------------------------------------


@dataclass
class FloorState:
    session: Session
    speaker: FloorRequest | None
    waiting: list[FloorRequest]
    spoken: list[FloorRequest]
    not_spoken: list[Delegation]
    questions: list[Question]
    delegations: list[Delegation]  # the meeting's, for the chair's "add a delegation" (with_not_spoken only)

    @property
    def speaker_ends_at(self) -> datetime | None:
        if self.speaker is None or not self.speaker.started_at or not self.speaker.speaking_seconds:
            return None
        return self.speaker.started_at + timedelta(seconds=self.speaker.speaking_seconds)

    @property
    def default_speaking_seconds(self) -> int:
        return settings.FACILITATION["SPEAKING_SECONDS"]

    @property
    def speaking_times(self) -> list[tuple[int, str]]:
        """The speaking times the chair picks from (labels in the active language)."""
        times = sorted({30, 60, 120, 180, 300, 600, self.default_speaking_seconds})
        return [
            (seconds, ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds} if seconds < 60
             else ngettext("%(count)s minute", "%(count)s minutes", seconds // 60) % {"count": seconds // 60}
             if seconds % 60 == 0 else f"{seconds // 60}:{seconds % 60:02d}")
            for seconds in times
        ]

    def position_of(self, delegation: Delegation | None) -> int | None:
        for position, request in enumerate(self.waiting, start=1):
            if delegation is not None and request.delegation_id == delegation.pk:
                return position
        return None

    def open_request_of(self, delegation: Delegation | None) -> FloorRequest | None:
        if delegation is None:
            return None
        if self.speaker is not None and self.speaker.delegation_id == delegation.pk:
            return self.speaker
        return next((r for r in self.waiting if r.delegation_id == delegation.pk), None)


def floor_state(session: Session, *, with_not_spoken: bool = False) -> FloorState:
    """The list as everyone sees it: who speaks, who waits in order, who spoke (three queries at most)."""
    requests = list(
        session.floor_requests.exclude(status=Status.WITHDRAWN)
        .select_related("delegation", "question")
        .order_by("position", "requested_at")
    )
    speaker = next((r for r in requests if r.status == Status.SPEAKING), None)
    waiting = [r for r in requests if r.status == Status.WAITING]
    spoken = sorted((r for r in requests if r.status == Status.DONE), key=lambda r: r.started_at or r.requested_at)
    not_spoken: list[Delegation] = []
    delegations: list[Delegation] = []
    if with_not_spoken:
        have_spoken = {r.delegation_id for r in requests if r.status in (Status.DONE, Status.SPEAKING)}
        delegations = list(session.meeting.delegations.all())
        not_spoken = [d for d in delegations if d.pk not in have_spoken]
    questions = list(session.questions.all())
    return FloorState(session=session, speaker=speaker, waiting=waiting, spoken=spoken, not_spoken=not_spoken, questions=questions, delegations=delegations)


def interventions(meeting: Meeting) -> list[FloorRequest]:
    """Every intervention of the meeting, in the order given, for the records."""
    return list(
        FloorRequest.objects.filter(session__meeting=meeting, started_at__isnull=False)
        .select_related("session", "delegation", "question")
        .order_by("session__number", "started_at")
    )


def session_clock(session: Session, now: datetime | None = None) -> dict:
    """Minutes used and left of a session's planned duration (None where unknown)."""
    now = now or timezone.now()
    used = left = None
    if session.started_at:
        used = int(((session.ended_at or now) - session.started_at).total_seconds() // 60)
        if session.duration_minutes:
            left = session.duration_minutes - used
    return {"used": used, "left": left, "running": bool(session.started_at and not session.ended_at)}

