"""Answers and practices of one meeting, as the delegations submit them: verb_noun functions,
keyword-only, atomic, each stored once per client key.

Views, consumers and management commands call these; none of them writes to the ORM itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, events, rows
from ..models import Answer, AnswerRevision, Block, Delegation, Meeting, Practice, Question, Session, Submission, Theme
from ..synthesis import compute as synthesis
from ..writes import ActionRefused, NotADelegate, claim_key, clean_text, form_reused, require_delegation, require_key


class QuestionNotFound(ActionRefused):
    """The question an answer was sent to does not exist, or not in the meeting its address names."""


@dataclass(frozen=True)
class AnswerSubmission:
    """One answer form as a delegate sent it: who, to which question, what, and the form's key.

    `meeting_slug` is the meeting its address names (the answer view's URL), checked with the run's
    questions in one query instead of a lookup per request; None: not checked (a caller that has
    the Question already)."""

    user: User
    question_id: int
    kind: str
    text: str
    key: str
    meeting_slug: str | None = None


def submit_answer(*, user: User, question: Question, kind: str, text: str, key: str) -> Answer:
    """Store the delegation's answer (create or last-edit-wins update) once per client key."""
    result = submit_answers([AnswerSubmission(user=user, question_id=question.pk, kind=kind, text=text, key=key)])[0]
    if isinstance(result, ActionRefused):
        raise result
    return result


def submit_answers(submissions: list[AnswerSubmission]) -> list[Answer | ActionRefused]:
    """Store a run of answers in one transaction, each as submit_answer would: the result of each, in order.

    A refused submission stores nothing and does not stop the others. The reads and writes are one
    query per table for the whole run, so that a room of delegations submitting at once costs a few
    transactions rather than one per answer. Two submissions of one delegation's answer in a run are
    applied in order (last edit wins, both kept as revisions); a key used twice stores once.
    Raises IntegrityError when another process stored the same answer or key meanwhile: run it again.
    """
    with transaction.atomic():
        return _submit_answers(submissions)


def _submit_answers(submissions: list[AnswerSubmission]) -> list[Answer | ActionRefused]:
    # The authors as they are now, read once for the run: a socket's user was read when it connected,
    # and a delegate signed out, deactivated or moved to another role since answers no more (NotADelegate).
    fresh = {user.pk: user for user in User.objects.filter(pk__in={item.user.pk for item in submissions}, is_active=True)
             .select_related("participant__delegation")}
    submissions = [replace(item, user=fresh.get(item.user.pk) or AnonymousUser()) for item in submissions]
    keys = {item.key for item in submissions if item.key and len(item.key) <= 64}
    earlier = {row.key: row for row in Submission.objects.filter(key__in=keys)} if keys else {}
    earlier_answers = Answer.objects.in_bulk([row.object_id for row in earlier.values() if row.action == "answer"]) if earlier else {}
    # Read inside the transaction: the chair may have closed a question since the callers read it.
    # Only what the checks read: a question's, session's and meeting's rows carry their texts and HTML.
    questions = (Question.objects.select_related("session__meeting").only("status", "session__meeting__slug")
                 .in_bulk({item.question_id for item in submissions}))
    delegations = {access.delegation_of(item.user) for item in submissions} - {None}  # cached on each user
    members = set(
        Meeting.delegations.through.objects.filter(
            meeting_id__in={question.session.meeting_id for question in questions.values()},
            delegation_id__in={delegation.pk for delegation in delegations},
        ).values_list("meeting_id", "delegation_id")
    )
    limit = settings.FACILITATION["ANSWER_MAX_CHARS"]
    results: list[Answer | ActionRefused | int | None] = [None] * len(submissions)
    first_with_key: dict[str, int] = {}
    accepted: list[tuple[int, AnswerSubmission, Question, Delegation, str]] = []
    for index, item in enumerate(submissions):
        try:
            if not item.user.is_authenticated:  # before its key: a retry of an earlier answer is refused too
                raise NotADelegate(_("Only a delegation's delegates can do this."))
            require_key(item.key)
            if item.key in first_with_key:  # the same form twice in this run: answered as the first
                results[index] = first_with_key[item.key]
                continue
            first_with_key[item.key] = index
            previous = earlier.get(item.key)
            if previous is not None:
                answer = earlier_answers.get(previous.object_id) if previous.action == "answer" else None
                if previous.user_id != item.user.pk or answer is None or answer.question_id != item.question_id:
                    raise form_reused()
                results[index] = answer
                continue
            delegation = require_delegation(item.user)
            question = questions.get(item.question_id)
            if question is None or item.meeting_slug not in (None, question.session.meeting.slug):
                raise QuestionNotFound(_("This question no longer exists; reload the page."))
            if (question.session.meeting_id, delegation.pk) not in members:
                raise ActionRefused(_("Your delegation does not take part in this meeting."))
            if question.status != Question.Status.OPEN:
                raise ActionRefused(_("This question is closed: answers can no longer be submitted or changed."))
            if item.kind not in Answer.Kind.values:
                raise ActionRefused(_("Choose a valid type of answer."))
            text = clean_text(item.text, limit=limit, label=_("The answer"), required=item.kind == Answer.Kind.ANSWER)
            accepted.append((index, item, question, delegation, text if item.kind == Answer.Kind.ANSWER else ""))
        except ActionRefused as refusal:
            results[index] = refusal
    if accepted:
        _store_answers(accepted, results)
    for index, result in enumerate(results):
        if isinstance(result, int):  # a repeated key: the first submission's result, if for the same
            first, item = results[result], submissions[index]
            same = submissions[result].user.pk == item.user.pk and submissions[result].question_id == item.question_id
            results[index] = first if same else form_reused()
    return results


def _store_answers(accepted: list[tuple[int, AnswerSubmission, Question, Delegation, str]], results: list) -> None:
    """Write the accepted submissions of a run: answers, revisions, keys and live events, a query each."""
    # Lock the run's answers that exist, always in the same order (by key), so that two processes
    # storing overlapping runs wait for each other instead of deadlocking. The lock covers the run's
    # questions x delegations (a query that costs the same for any run; an OR of exact pairs cost a
    # third of the run's writes to build), of which the run's own pairs are kept.
    pairs = {(question.pk, delegation.pk) for _i, _item, question, delegation, _t in accepted}
    existing = {
        (answer.question_id, answer.delegation_id): answer
        for answer in Answer.objects.select_for_update(no_key=True)
        .filter(question_id__in={question for question, _d in pairs}, delegation_id__in={delegation for _q, delegation in pairs})
        .order_by("pk")
        if (answer.question_id, answer.delegation_id) in pairs
    }
    now = timezone.now()
    new: list[Answer] = []
    changed: dict[int, Answer] = {}
    saved: list[tuple[int, AnswerSubmission, Question, Answer, bool, str]] = []
    for index, item, question, delegation, text in accepted:
        answer = existing.get((question.pk, delegation.pk))
        created = answer is None
        if created:
            answer = Answer(question=question, delegation=delegation, kind=item.kind, text=text, created_by=item.user, updated_by=item.user)
            existing[(question.pk, delegation.pk)] = answer
            new.append(answer)
        else:  # edited, perhaps by a colleague earlier in this run
            answer.kind, answer.text, answer.updated_by, answer.updated_at = item.kind, text, item.user, now
            if answer.pk is not None:
                changed[answer.pk] = answer
        saved.append((index, item, question, answer, created, text))
    _bulk_insert(Answer, sorted(new, key=lambda answer: (answer.question_id, answer.delegation_id)))  # same order everywhere
    rows.update_rows(Answer, list(changed.values()), ["kind", "text", "updated_by", "updated_at"])
    rows.insert_rows(AnswerRevision, ["answer", "kind", "text", "author", "created_at"],
                     [[answer.pk, item.kind, text, item.user.pk, now] for _i, item, _q, answer, _c, text in saved])  # fmt: skip
    rows.insert_rows(Submission, ["key", "user", "action", "object_id", "created_at"],
                     sorted([item.key, item.user.pk, "answer", answer.pk, now] for _i, item, _q, answer, _c, _t in saved))  # fmt: skip
    by_meeting: dict[int, list[tuple[str, Session, dict]]] = {}
    for index, _item, question, answer, created, _text in saved:
        results[index] = answer
        by_meeting.setdefault(question.session.meeting_id, []).append(
            (events.ANSWER_SAVED, question.session, {"answer": answer.pk, "delegation": answer.delegation_id, "created": created})
        )
    for meeting_id, records in by_meeting.items():
        events.record_many(meeting_id=meeting_id, records=records)
    # The questions' themes follow their answers (debounced, off this request).
    questions_saved = {question.pk for _i, _item, question, _a, _c, _t in saved}
    transaction.on_commit(lambda: synthesis.schedule_synthesis(sorted(questions_saved)))


def _bulk_insert(model, instances: list) -> None:
    """Insert rows and learn their keys: one statement where the database returns them (PostgreSQL,
    SQLite 3.35+), one per row elsewhere."""
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(instances)
    else:
        for instance in instances:
            instance.save(force_insert=True)


@transaction.atomic
def save_practice(
    *,
    user: User,
    session: Session,
    title: str,
    description: str,
    link: str = "",
    question: Question | None = None,
    paragraph: Block | None = None,
    themes: list[str] | None = None,
    key: str,
    practice: Practice | None = None,
) -> Practice:
    """Create or edit one of the delegation's country practices, once per client key."""
    previous = claim_key(key=key, user=user, action="practice")
    if previous is not None:
        return Practice.objects.get(pk=previous.object_id)
    delegation = require_delegation(user)
    session = Session.objects.select_related("meeting").get(pk=session.pk)
    if session.is_over:
        raise ActionRefused(_("This session is over: practices can no longer be added or changed."))
    if practice is not None and practice.delegation_id != delegation.pk:
        raise ActionRefused(_("You can only edit your own delegation's practices."))
    if question is not None and question.session_id != session.pk:
        raise ActionRefused(_("That question belongs to another session."), field="question")
    if paragraph is not None and paragraph.session_id != session.pk:
        raise ActionRefused(_("That paragraph belongs to another session."), field="paragraph")
    title = clean_text(title, limit=200, label=_("The title"))
    description = clean_text(description, limit=settings.FACILITATION["PRACTICE_MAX_CHARS"], label=_("The description"))
    link = (link or "").strip()
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            raise ActionRefused(_("The link must be a web address starting with http:// or https://."), field="link")
    # One theme per name whatever its case ("Désinformation, désinformation" is one theme, as written first).
    cleaned = [clean_text(name, limit=80, label=_("A theme"))[:80] for name in (themes or []) if name.strip()]
    theme_names = sorted({name.casefold(): name for name in reversed(cleaned)}.values())
    created = practice is None
    if created:
        practice = Practice(session=session, delegation=delegation, created_by=user)
    practice.title, practice.description, practice.link = title, description, link
    practice.question, practice.paragraph, practice.updated_by = question, paragraph, user
    practice.save()
    practice.themes.set([Theme.objects.get_or_create(meeting=session.meeting, name=name)[0] for name in theme_names])
    Submission.objects.create(key=key, user=user, action="practice", object_id=practice.pk)
    events.record(meeting=session.meeting, type=events.PRACTICE_SAVED, session=session, payload={"practice": practice.pk, "delegation": practice.delegation_id, "created": created})
    return practice
