"""The chair's hand on a meeting's contributions: moderating answers and practices, opening and closing
questions, what the room discusses now, and the session's draft conclusions."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from .. import access, events, oplog
from ..models import Answer, ConclusionRevision, Meeting, ModerationAction, Practice, Question, Session, Visibility
from ..synthesis import compute as synthesis
from ..writes import ActionRefused, clean_text


MODERATION_ACTIONS = {"publish", "hide", "star", "unstar", "duplicate"}


@transaction.atomic
def moderate_answer(
    *, user: User, answer: Answer, action: str, reason: str = "", duplicate_of: Answer | None = None
) -> Answer:
    """Publish, hide (with a reason), star/unstar or mark an answer as a duplicate; logged and pushed live."""
    access.require_moderator(user)
    answer = Answer.objects.select_for_update(of=("self",), no_key=True).select_related("question__session__meeting").get(pk=answer.pk)
    reason = clean_text(reason, limit=300, label=_("The reason"), required=action == "hide")
    if action == "publish":
        answer.visibility, answer.hidden_reason = Visibility.PUBLISHED, ""
    elif action == "hide":
        answer.visibility, answer.hidden_reason, answer.starred = Visibility.HIDDEN, reason, False
    elif action == "star":
        if answer.visibility == Visibility.HIDDEN:
            raise ActionRefused(_("A hidden answer cannot be starred; publish it first."))
        answer.starred = True
    elif action == "unstar":
        answer.starred = False
    elif action == "duplicate":
        if duplicate_of is None or duplicate_of.pk == answer.pk or duplicate_of.question_id != answer.question_id:
            raise ActionRefused(_("Choose another answer to the same question."))
        answer.duplicate_of = duplicate_of
    else:
        raise ActionRefused(_("Unknown moderation action."))
    answer.save(update_fields=["visibility", "hidden_reason", "starred", "duplicate_of"])
    meeting = answer.question.session.meeting
    ModerationAction.objects.create(meeting=meeting, actor=user, action=action, answer=answer, reason=reason)
    oplog.log_event("moderation.answer", meeting_id=meeting.pk, user_id=user.pk, object_id=answer.pk, action=action)
    events.record(
        meeting=meeting, type=events.ANSWER_MODERATED, session=answer.question.session,
        payload={"answer": answer.pk, "delegation": answer.delegation_id, "action": action},
    )
    if action in ("hide", "publish"):  # a hidden answer leaves the themes, a published one comes back
        transaction.on_commit(lambda: synthesis.schedule_synthesis([answer.question_id]))
    return answer


@transaction.atomic
def moderate_practice(*, user: User, practice: Practice, action: str, reason: str = "") -> Practice:
    """Publish, hide or star a country practice; logged and pushed to every console."""
    access.require_moderator(user)
    practice = Practice.objects.select_for_update(of=("self",), no_key=True).select_related("session__meeting").get(pk=practice.pk)
    reason = clean_text(reason, limit=300, label=_("The reason"), required=action == "hide")
    if action == "publish":
        practice.visibility, practice.hidden_reason = Visibility.PUBLISHED, ""
    elif action == "hide":
        practice.visibility, practice.hidden_reason, practice.starred = Visibility.HIDDEN, reason, False
    elif action in {"star", "unstar"}:
        practice.starred = action == "star"
    else:
        raise ActionRefused(_("Unknown moderation action."))
    practice.save(update_fields=["visibility", "hidden_reason", "starred"])
    meeting = practice.session.meeting
    ModerationAction.objects.create(meeting=meeting, actor=user, action=action, practice=practice, reason=reason)
    oplog.log_event("moderation.practice", meeting_id=meeting.pk, user_id=user.pk, object_id=practice.pk, action=action)
    events.record(
        meeting=meeting, type=events.PRACTICE_MODERATED, session=practice.session,
        payload={"practice": practice.pk, "action": action},
    )
    return practice


@transaction.atomic
def set_question_status(*, user: User, question: Question, status: str) -> Question:
    """Open, close or reopen a discussion question; every screen follows."""
    access.require_moderator(user)
    if status not in {Question.Status.OPEN, Question.Status.CLOSED}:
        raise ActionRefused(_("A question can only be opened or closed."))
    question = Question.objects.select_for_update(of=("self",), no_key=True).select_related("session__meeting").get(pk=question.pk)
    if question.status == status:
        return question
    question.status = status
    question.save(update_fields=["status"])
    meeting = question.session.meeting
    action = ModerationAction.Action.OPEN if status == Question.Status.OPEN else ModerationAction.Action.CLOSE
    ModerationAction.objects.create(meeting=meeting, actor=user, action=action, question=question)
    events.record(meeting=meeting, type=events.QUESTION_STATUS, session=question.session, payload={"question": question.pk})
    return question


@transaction.atomic
def set_discussion(*, user: User, meeting: Meeting, question: Question | None, session: Session | None = None) -> Meeting:
    """Set what the room is discussing now: a question (and its session), a session alone, or nothing."""
    access.require_moderator(user)
    meeting = Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)
    if question is not None:
        question = Question.objects.select_related("session").get(pk=question.pk)
        if question.session.meeting_id != meeting.pk:
            raise ActionRefused(_("That question belongs to another meeting."))
        session = question.session
    if session is not None and session.meeting_id != meeting.pk:
        raise ActionRefused(_("That session belongs to another meeting."))
    meeting.current_question = question
    meeting.current_session = session if session is not None else meeting.current_session
    meeting.save(update_fields=["current_question", "current_session", "updated_at"])
    ModerationAction.objects.create(meeting=meeting, actor=user, action=ModerationAction.Action.DISCUSS, question=question)
    events.record(
        meeting=meeting, type=events.DISCUSSION_CHANGED, session=meeting.current_session,
        payload={"question": question.pk if question else None},
    )
    return meeting


@transaction.atomic
def save_conclusions(*, user: User, session: Session, text: str) -> ConclusionRevision:
    """Save a new revision of the chair's draft conclusions for a session (history is kept)."""
    access.require_moderator(user)
    text = clean_text(text, limit=20000, label=_("The conclusions"), required=False)
    session = Session.objects.select_related("meeting").get(pk=session.pk)
    revision = ConclusionRevision.objects.create(session=session, text=text, author=user)
    events.record(meeting=session.meeting, type=events.CONCLUSIONS_SAVED, session=session, payload={"revision": revision.pk})
    return revision
