"""Every write to the domain: verb_noun functions, keyword-only, atomic.

Views, consumers and management commands call these; none of them writes to the ORM itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .. import access, events, importer, oplog, rows
from ..synthesis import compute as synthesis
from ..models import (
    Answer,
    AnswerRevision,
    Block,
    ConclusionRevision,
    Delegation,
    Meeting,
    ModerationAction,
    Participant,
    Practice,
    Question,
    Reference,
    Session,
    Submission,
    Theme,
    Visibility,
)

# Letters that cannot be misread on a projector (no 0/O, 1/I/L).
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _block_plain_text(block: importer.Block) -> str:
    parts = [block.title, block.subtitle, block.text, *block.items]
    parts += [_block_plain_text(child) for child in block.body]
    parts += [block.note, block.source]
    return "\n".join(importer.plain_text(part) for part in parts if part)


def _new_join_code() -> str:
    while True:
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(6))
        if not Meeting.objects.filter(join_code=code).exists():
            return code


@transaction.atomic
def import_meeting_notes(notes: importer.MeetingNotes, *, source_name: str = "") -> Meeting:
    """Create or update (matched by title) the meeting described by parsed session notes.

    Re-importing updates in place: sessions, briefing blocks, questions and references keep their
    rows by number/position so that answers and practices stay attached. A re-import that would
    drop a session or question that already holds contributions is refused (NotesError).
    """
    slug = slugify(notes.title)[:110] or "meeting"
    meeting, created = Meeting.objects.select_for_update(no_key=True).get_or_create(
        slug=slug, defaults={"title": notes.title[:300], "join_code": _new_join_code()}
    )
    meeting.title = notes.title[:300]
    meeting.place = notes.place[:200]
    meeting.dates_text = notes.dates[:100]
    meeting.start_date = notes.start_date
    meeting.end_date = notes.end_date
    meeting.source_name = source_name[:255]
    meeting.save()
    if created:
        meeting.delegations.set(Delegation.objects.all())

    reference_numbers = frozenset(ref.number for ref in notes.references)
    existing_refs = {ref.number: ref for ref in meeting.references.all()}
    for ref in notes.references:
        html = importer.render_inline(ref.text, reference_numbers=reference_numbers)
        row = existing_refs.pop(ref.number, None) or Reference(meeting=meeting, number=ref.number)
        row.text = importer.plain_text(ref.text)
        row.html = html
        row.save()
    Reference.objects.filter(pk__in=[ref.pk for ref in existing_refs.values()]).delete()

    existing_sessions = {session.number: session for session in meeting.sessions.all()}
    for parsed in notes.sessions:
        session = existing_sessions.pop(parsed.number, None) or Session(meeting=meeting, number=parsed.number)
        session.title = parsed.title[:400]
        session.save()
        _replace_blocks(session, parsed.blocks, reference_numbers)
        _replace_questions(session, parsed.questions, reference_numbers)
    for dropped in existing_sessions.values():
        if dropped.questions.filter(answers__isnull=False).exists() or dropped.practices.exists():
            raise importer.NotesError(
                _(
                    "Session %(number)s is not in the new notes but already has contributions; "
                    "it cannot be removed by an import."
                )
                % {"number": dropped.number}
            )
        dropped.delete()
    oplog.log_event("import.notes", meeting_id=meeting.pk, count=meeting.sessions.count())
    return meeting


def _replace_blocks(
    session: Session, blocks: tuple[importer.Block, ...], reference_numbers: frozenset[int], language: str = ""
) -> None:
    existing = {block.position: block for block in session.blocks.filter(language=language)}
    for position, parsed in enumerate(blocks, start=1):
        row = existing.pop(position, None) or Block(session=session, language=language, position=position)
        row.kind = parsed.kind
        row.number = parsed.number
        row.title = importer.plain_text(parsed.title)[:500]
        row.text = _block_plain_text(parsed)
        row.html = importer.render_block_html(parsed, reference_numbers=reference_numbers)
        row.save()
    Block.objects.filter(pk__in=[block.pk for block in existing.values()]).delete()


def _replace_questions(
    session: Session, questions: tuple[importer.Question, ...], reference_numbers: frozenset[int]
) -> None:
    existing = {question.position: question for question in session.questions.all()}
    for position, parsed in enumerate(questions, start=1):
        row = existing.pop(position, None) or Question(session=session, position=position)
        row.text = importer.plain_text(parsed.text)
        row.html = importer.render_inline(parsed.text, reference_numbers=reference_numbers)
        row.save()
    for dropped in existing.values():
        if dropped.answers.exists():
            raise importer.NotesError(
                _(
                    "Question %(question)s of session %(session)s is not in the new notes but already has "
                    "answers; it cannot be removed by an import."
                )
                % {"question": dropped.position, "session": session.number}
            )
        dropped.delete()


def _paragraph_numbers(blocks) -> list[int]:
    return [block.number for block in blocks if block.kind == "paragraph" and block.number]


@transaction.atomic
def import_notes_translation(notes: importer.MeetingNotes, *, meeting: Meeting, language: str) -> Meeting:
    """Attach a translation of a meeting's notes (same sessions, paragraph numbers and questions).

    The translation is checked against the notes already imported, and refused whole (NotesError,
    nothing stored) at the first session, paragraph or question that does not match.
    """
    language = (language or "").strip().lower()
    if language not in dict(settings.LANGUAGES) or language == meeting.language:
        raise importer.NotesError(
            _("A translation must be in another of the app's languages than the notes themselves (%(language)s).")
            % {"language": meeting.language}
        )
    sessions = {session.number: session for session in meeting.sessions.prefetch_related("questions")}
    numbers = [parsed.number for parsed in notes.sessions]
    if sorted(numbers) != sorted(sessions):
        raise importer.NotesError(
            _("The translation has sessions %(theirs)s; the meeting has sessions %(ours)s.")
            % {"theirs": ", ".join(map(str, numbers)) or "-", "ours": ", ".join(map(str, sorted(sessions)))}
        )
    reference_numbers = frozenset(ref.number for ref in meeting.references.all())
    for parsed in notes.sessions:
        session = sessions[parsed.number]
        ours = _paragraph_numbers(session.blocks.filter(language=""))
        theirs = _paragraph_numbers(parsed.blocks)
        if ours != theirs:
            first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            raise importer.NotesError(
                _("Session %(session)s of the translation: its paragraphs are numbered %(theirs)s, "
                  "the notes' %(ours)s (they differ from position %(position)s on).")
                % {"session": parsed.number, "theirs": _number_range(theirs), "ours": _number_range(ours), "position": first + 1},
                line=parsed.line,
            )
        questions = list(session.questions.all())
        if len(questions) != len(parsed.questions):
            raise importer.NotesError(
                _("Session %(session)s of the translation has %(theirs)s discussion questions; the notes have %(ours)s.")
                % {"session": parsed.number, "theirs": len(parsed.questions), "ours": len(questions)},
                line=parsed.line,
            )
        session.translations = {**session.translations, language: {"title": parsed.title[:400]}}
        session.save(update_fields=["translations"])
        _replace_blocks(session, parsed.blocks, reference_numbers, language=language)
        for question, text in zip(questions, parsed.questions):
            question.translations = {**question.translations, language: {
                "text": importer.plain_text(text.text), "html": importer.render_inline(text.text, reference_numbers=reference_numbers),
            }}
            question.save(update_fields=["translations"])
    return meeting


def _number_range(numbers: list[int]) -> str:
    return f"{numbers[0]}-{numbers[-1]} ({len(numbers)})" if numbers else "-"


@transaction.atomic
def ensure_delegations(*, codes: list[str]) -> list[Delegation]:
    """Create the delegations for these ISO 3166 codes where missing; return them all."""
    delegations = []
    for code in codes:
        delegation, _created = Delegation.objects.get_or_create(country=code)
        delegations.append(delegation)
    return delegations


@transaction.atomic
def ensure_user(
    *,
    username: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: str,
    delegation: Delegation | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Create a user with a participant role if missing; an existing account is left as it is.

    password_hash (from make_password) spares hashing one password again for many accounts.
    """
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "last_name": last_name, "email": email, "is_staff": is_staff},
    )
    if created:
        user.password = password_hash or make_password(password)
        user.save(update_fields=["password"])
    Participant.objects.get_or_create(user=user, defaults={"role": role, "delegation": delegation})
    return user


@transaction.atomic
def set_user_language(*, user: User, language: str) -> None:
    """Remember the interface language a signed-in user chose."""
    Participant.objects.filter(user=user).update(language=language)


# --- Live discussion -------------------------------------------------------------------------


class ActionRefused(Exception):
    """A request the user may not make now (closed question, wrong role, bad input); nothing was stored.

    The message is shown to the user as it is, so it is always translated.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def claim_key(*, key: str, user: User, action: str) -> Submission | None:
    """(Shared by every capability's writes.) The earlier submission with this client key, or None after reserving the key for this one."""
    _require_key(key)
    previous = Submission.objects.filter(key=key).first()
    if previous is not None:
        if previous.user_id != user.pk or previous.action != action:
            raise _form_reused()
        return previous
    return None


def _require_key(key: str) -> None:
    if not key or len(key) > 64:
        raise ActionRefused(_("The form is missing its submission key; reload the page and try again."))


def _form_reused() -> ActionRefused:
    return ActionRefused(_("This form was already used for something else; reload the page."))


def require_delegation(user: User) -> Delegation:
    """The delegation the user acts for, or a refusal for every other role."""
    delegation = access.delegation_of(user)
    if delegation is None:
        raise ActionRefused(_("Only a delegation's delegates can do this."))
    return delegation


def clean_text(text: str, *, limit: int, label: str, required: bool = True) -> str:
    """The text without control characters, stripped and within `limit`, or a refusal naming `label`."""
    # Control characters other than newlines and tabs break documents and screens alike.
    text = text or ""
    if not text.isprintable():  # most texts are one line of printable characters: no pass per character
        text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    text = text.replace("\r", "").strip()
    if required and not text:
        raise ActionRefused(_("%(label)s cannot be empty.") % {"label": label})
    if len(text) > limit:
        raise ActionRefused(
            _("%(label)s is %(count)s characters long; the limit is %(limit)s.")
            % {"label": label, "count": len(text), "limit": limit}
        )
    return text


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
    keys = {item.key for item in submissions if item.key and len(item.key) <= 64}
    earlier = {row.key: row for row in Submission.objects.filter(key__in=keys)} if keys else {}
    earlier_answers = Answer.objects.in_bulk([row.object_id for row in earlier.values() if row.action == "answer"]) if earlier else {}
    # Read inside the transaction: the chair may have closed a question since the callers read it.
    questions = Question.objects.select_related("session__meeting").in_bulk({item.question_id for item in submissions})
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
            _require_key(item.key)
            if item.key in first_with_key:  # the same form twice in this run: answered as the first
                results[index] = first_with_key[item.key]
                continue
            first_with_key[item.key] = index
            previous = earlier.get(item.key)
            if previous is not None:
                answer = earlier_answers.get(previous.object_id) if previous.action == "answer" else None
                if previous.user_id != item.user.pk or answer is None or answer.question_id != item.question_id:
                    raise _form_reused()
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
            results[index] = first if same else _form_reused()
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


@transaction.atomic
def update_meeting_settings(*, user: User, meeting: Meeting, attribution: str, answer_visibility: str) -> Meeting:
    """Change who sees answers and whether they are attributed; screens re-render accordingly."""
    access.require_secretariat(user)
    if attribution not in Meeting.Attribution.values or answer_visibility not in Meeting.AnswerVisibility.values:
        raise ActionRefused(_("Choose one of the offered settings."))
    meeting = Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)
    meeting.attribution, meeting.answer_visibility = attribution, answer_visibility
    meeting.save(update_fields=["attribution", "answer_visibility", "updated_at"])
    events.record(meeting=meeting, type=events.SETTINGS_CHANGED, payload={})
    return meeting
