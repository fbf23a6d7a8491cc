"""Reads shared by views, consumers and exports. Each returns what a page needs in a fixed number of queries."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language

from . import floor, polls
from .models import Answer, Block, Meeting, Practice, Question, Session, country_name, name_key


def meetings_for_home() -> QuerySet[Meeting]:
    return Meeting.objects.annotate(session_count=Count("sessions"))


def get_meeting(slug: str) -> Meeting:
    return get_object_or_404(Meeting, slug=slug)


def get_session(meeting_slug: str, number: int) -> Session:
    return get_object_or_404(Session.objects.select_related("meeting"), meeting__slug=meeting_slug, number=number)


def agenda_sessions(meeting: Meeting) -> QuerySet[Session]:
    return meeting.sessions.annotate(
        question_count=Count("questions", distinct=True),
        open_count=Count("questions", filter=Q(questions__status=Question.Status.OPEN), distinct=True),
    )


def unanswered_questions(meeting: Meeting, delegation) -> QuerySet[Question]:
    """The delegation's to-do: open questions of the meeting it has not answered yet."""
    return (
        Question.objects.filter(session__meeting=meeting, status=Question.Status.OPEN)
        .exclude(answers__delegation=delegation)
        .select_related("session")
    )


def briefing_blocks(session: Session, language: str = "") -> list[Block]:
    """The briefing as imported ("") or in a translation imported beside it."""
    return list(session.blocks.filter(language=language))


def notes_languages(session: Session) -> list[str]:
    """The languages this session's briefing can be read in: the notes' own first."""
    translated = session.blocks.exclude(language="").values_list("language", flat=True).distinct()
    return [session.meeting.language, *sorted(set(translated))]


def session_questions(session: Session) -> list[Question]:
    return list(session.questions.all())


def delegation_answers(session: Session, delegation) -> dict[int, Answer]:
    """The delegation's answers in this session, by question id."""
    if delegation is None:
        return {}
    answers = Answer.objects.filter(question__session=session, delegation=delegation).select_related("updated_by")
    return {answer.question_id: answer for answer in answers}


def delegation_practices(session: Session, delegation) -> list[Practice]:
    if delegation is None:
        return []
    return list(
        Practice.objects.filter(session=session, delegation=delegation)
        .select_related("question", "paragraph")
        .prefetch_related("themes")
    )


def published_answers(session: Session | None = None, *, question_ids: list[int] | None = None) -> dict[int, list[Answer]]:
    """Answers the chair published, by question id (every one of `question_ids` a key), of a
    session or of these questions, for meetings that show them to delegates (a "no contribution"
    has nothing to show)."""
    answers = Answer.objects.filter(visibility="published")
    answers = answers.filter(question__session=session) if session is not None else answers.filter(question_id__in=question_ids)
    grouped: dict[int, list[Answer]] = {pk: [] for pk in question_ids or ()}
    for answer in answers.exclude(kind=Answer.Kind.NO_CONTRIBUTION).select_related("delegation").order_by("question_id", "created_at"):
        grouped.setdefault(answer.question_id, []).append(answer)
    return grouped


def published_answers_of(question_id: int) -> list[Answer]:
    """One question's answers the chair published."""
    return published_answers(question_ids=[question_id])[question_id]


def session_with_prefetched_questions(session: Session) -> Session:
    return Session.objects.prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("position"))
    ).get(pk=session.pk)


CARD_RELATED = ("delegation", "updated_by", "duplicate_of__delegation")  # what an answer's card shows


def answer_for_console(answer_id: int) -> Answer | None:
    return next(iter(answers_for_console([answer_id])), None)


def answers_for_console(answer_ids: list[int]) -> list[Answer]:
    """These answers as the console's cards show them, in the order given (missing ones left out).
    Without their questions: a question row carries its text, HTML and translations, and a run of
    answers needs only their ids."""
    found = {answer.pk: answer for answer in Answer.objects.select_related(*CARD_RELATED).filter(pk__in=answer_ids).order_by()}
    return [found[pk] for pk in answer_ids if pk in found]


def practice_for_console(practice_id: int) -> Practice | None:
    return (
        Practice.objects.select_related("session", "delegation", "question", "paragraph", "updated_by")
        .prefetch_related("themes")
        .filter(pk=practice_id)
        .first()
    )


def console_questions(session: Session, *, open_ids: set[int] = frozenset(), current_question_id: int | None = None) -> list[Question]:
    """The session's questions, each with .answered_ids and .console_answers: every answer
    (moderation included) for a question shown open, None for one whose cards load when opened.

    Open are the questions of `open_ids`, then those whose answers fit in the setting
    FACILITATION["CONSOLE_OPEN_CARDS"] (the current question first, then in order), so that the
    first render stays small: at 10,000 answers every card was 906 kB and 74-133 ms to render.
    Three queries, whatever the number of answers."""
    questions = list(session.questions.all())
    answered: dict[int, set[int]] = {question.pk: set() for question in questions}
    for question_id, delegation_id in Answer.objects.filter(question__session=session).values_list("question_id", "delegation_id"):
        answered[question_id].add(delegation_id)
    budget, opened = settings.FACILITATION["CONSOLE_OPEN_CARDS"], set()
    for question in sorted(questions, key=lambda q: (q.pk != current_question_id, q.position)):
        count = len(answered[question.pk])
        if question.pk in open_ids or count <= budget:
            opened.add(question.pk)
            budget = max(0, budget - count)
    cards: dict[int, list[Answer]] = {pk: [] for pk in opened}
    if opened:
        for answer in Answer.objects.select_related(*CARD_RELATED).filter(question_id__in=opened).order_by("created_at"):
            cards[answer.question_id].append(answer)
    for question in questions:
        question.answered_ids = answered[question.pk]
        question.console_answers = cards.get(question.pk)
    return questions


def console_answers(session: Session, question_id: int) -> tuple[Question, list[Answer]]:
    """One question of the session and its answers as the console's cards show them (the chair opened
    it); Http404 for a question of another session."""
    question = get_object_or_404(Question, pk=question_id, session=session)
    answers = list(Answer.objects.select_related(*CARD_RELATED).filter(question=question).order_by("created_at"))
    return question, answers


def other_answers(answer: Answer) -> list[Answer]:
    """The other delegations' answers to the same question (what an answer may duplicate), by name."""
    others = Answer.objects.filter(question_id=answer.question_id).exclude(pk=answer.pk).select_related("delegation")
    language = get_language()
    return sorted(others, key=lambda other: name_key(country_name(other.delegation.code, language)))


def console_practices(session: Session) -> list[Practice]:
    return list(
        Practice.objects.filter(session=session)
        .select_related("delegation", "question", "paragraph", "updated_by")
        .prefetch_related("themes")
        .order_by("-created_at")
    )


def starred_answers(question: Question | None) -> list[Answer]:
    if question is None:
        return []
    return list(
        question.answers.filter(starred=True).exclude(visibility="hidden").select_related("delegation").order_by("updated_at")
    )


def delegate_context(session: Session, delegation) -> dict:
    """What the live part of a delegate's session page shows: questions, own answers and practices."""
    meeting = session.meeting
    questions = session_questions(session)
    answers = delegation_answers(session, delegation)
    for question in questions:
        question.own_answer = answers.get(question.pk)
    published = published_answers(session) if meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED else {}
    for question in questions:
        question.published = published.get(question.pk, [])
    return {
        "questions": questions,
        "delegation": delegation,
        "practices": delegation_practices(session, delegation),
        "show_published": meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED,
    }


def answer_card_context(question: Question, delegation, *, error: str | None, submitted_text: str) -> dict:
    """The reply to a refused answer (over HTTP or the socket): the question's card with the error and the text that was sent."""
    return {
        **question_card_context(question, delegation),
        "answer_max": settings.FACILITATION["ANSWER_MAX_CHARS"],
        "form_key": uuid.uuid4().hex,  # the next submission of this form is a new one
        "error": error, "submitted_text": submitted_text,
    }


def question_card_context(question: Question, delegation) -> dict:
    """One question of a delegate's page, as delegate_context shows it (the answer view's re-render
    of a refused answer).

    Its queries do not depend on the size of the session (briefing, other questions, answers)."""
    meeting = question.session.meeting
    show_published = meeting.answer_visibility == Meeting.AnswerVisibility.PUBLISHED
    question.own_answer = (
        Answer.objects.filter(question=question, delegation=delegation).select_related("updated_by").first() if delegation is not None else None
    )
    question.published = published_answers_of(question.pk) if show_published else []
    return {"meeting": meeting, "session": question.session, "question": question, "delegation": delegation, "show_published": show_published}


class DelegationCode(NamedTuple):
    """A delegation as a tally's list of names needs it (the |names filter): 193 model instances per
    live update cost a twentieth of a server's CPU under a room answering at once."""

    pk: int
    code: str


def delegation_codes(meeting: Meeting) -> list[DelegationCode]:
    return [DelegationCode(*row) for row in meeting.delegations.values_list("pk", "country")]


def tally(answered: set[int], delegations: list[DelegationCode]) -> dict:
    """A question's tally (tally.html): how many of the delegations answered (`answered`: the ids of
    those that did), how many there are, and which have not answered yet."""
    missing = [delegation for delegation in delegations if delegation.pk not in answered]
    return {"answered": len(delegations) - len(missing), "total": len(delegations), "missing": missing}


def console_context(session: Session, *, open_ids: set[int] = frozenset()) -> dict:
    """What the live part of the chair's console shows for a session (`open_ids`: questions the
    chair asked to see open, see console_questions)."""
    delegations = delegation_codes(session.meeting)
    questions = console_questions(session, open_ids=open_ids, current_question_id=session.meeting.current_question_id)
    for question in questions:
        question.tally = tally(question.answered_ids, delegations)
    return {
        "questions": questions,
        "practices": console_practices(session),
        "conclusions": session.conclusions.select_related("author").first(),
    }


def room_context(session: Session, *, user, delegation) -> dict:
    """The room around a delegate's session page: the speakers' list, their place on it, the polls."""
    return {
        "floor_state": floor.floor_state(session),
        "polls": polls.launched_polls(session),
        "voted": polls.voted_polls(session, user=user, delegation=delegation),
    }


def console_room_context(session: Session) -> dict:
    """The chair's tools for a session: the clock, the speakers' list and the polls."""
    return {
        "floor_state": floor.floor_state(session, with_not_spoken=True),
        "next_session": session.meeting.sessions.filter(number__gt=session.number).first(),
        **polls.console_polls(session),
    }
