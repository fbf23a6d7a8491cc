"""A meeting's complete record as one JSON document (docs/record-format.md).

It holds no database ids: rows point at each other by natural keys (a delegation by ISO code, a user by
username, a question by session number and position, an answer by question and delegation, a practice by
its key in the document), so a record restored into an empty database and exported again gives the same
document."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from django.contrib.auth.models import User

from ...models import (
    Answer,
    AnswerRevision,
    Block,
    ConclusionRevision,
    FloorRequest,
    Meeting,
    ModerationAction,
    Poll,
    PollOption,
    Practice,
    Question,
    Session,
    Vote,
)
from .. import record_images
from .rounds import export_rounds
from .themes import export_themes
from .format import FORMAT, LIBRARY_FIELDS, VERSION

# --- Export --------------------------------------------------------------------------------------


def _dt(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _group(rows, key: str) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row.pop(key), []).append(row)
    return grouped


def export_record(meeting: Meeting) -> dict:
    """The meeting and everything said and decided in it, as a JSON-ready dict (a fixed number of queries)."""
    usernames: set[str] = set()

    def user(name: str | None) -> str | None:
        if name:
            usernames.add(name)
        return name

    sessions = list(meeting.sessions.order_by("number"))
    session_number = {session.pk: session.number for session in sessions}

    blocks = list(
        Block.objects.filter(session__meeting=meeting)
        .order_by("session__number", "language", "position")
        .values("id", "session_id", "language", "position", "kind", "number", "title", "text", "html")
    )
    # Practices point at paragraphs of the notes as imported, not of a translation.
    block_ref = {row["id"]: [session_number[row["session_id"]], row["position"]] for row in blocks if not row["language"]}
    questions = list(
        Question.objects.filter(session__meeting=meeting)
        .order_by("session__number", "position")
        .values("id", "session_id", "position", "text", "html", "translations", "status")
    )
    question_ref = {row["id"]: [session_number[row["session_id"]], row["position"]] for row in questions}

    answers = list(
        Answer.objects.filter(question__session__meeting=meeting)
        .order_by("question__session__number", "question__position", "delegation__country")
        .values(
            "id", "question_id", "delegation__country", "kind", "text", "visibility", "hidden_reason", "starred",
            "duplicate_of_id", "created_by__username", "updated_by__username", "created_at", "updated_at",
        )
    )  # fmt: skip
    answer_ref = {row["id"]: [*question_ref[row["question_id"]], row["delegation__country"]] for row in answers}
    revisions = _group(
        [
            {"answer_id": row["answer_id"], "kind": row["kind"], "text": row["text"],
             "author": user(row["author__username"]), "created_at": _dt(row["created_at"])}
            for row in AnswerRevision.objects.filter(answer__question__session__meeting=meeting)
            .order_by("answer_id", "created_at", "id")
            .values("answer_id", "kind", "text", "author__username", "created_at")
        ],
        "answer_id",
    )  # fmt: skip
    answers_by_question: dict[int, list[dict]] = {}
    for row in answers:
        answers_by_question.setdefault(row["question_id"], []).append(
            {
                "delegation": row["delegation__country"],
                "kind": row["kind"],
                "text": row["text"],
                "visibility": row["visibility"],
                "hidden_reason": row["hidden_reason"],
                "starred": row["starred"],
                "duplicate_of": answer_ref.get(row["duplicate_of_id"]),
                "created_by": user(row["created_by__username"]),
                "updated_by": user(row["updated_by__username"]),
                "created_at": _dt(row["created_at"]),
                "updated_at": _dt(row["updated_at"]),
                "revisions": revisions.get(row["id"], []),
            }
        )

    practices = list(
        Practice.objects.filter(session__meeting=meeting)
        .order_by("session__number", "created_at", "id")
        .values(
            "id", "session_id", "delegation__country", "question_id", "paragraph_id", "title", "description", "link",
            "visibility", "hidden_reason", "starred", "created_by__username", "updated_by__username", "created_at",
            "updated_at", *LIBRARY_FIELDS, "answer_id", "merged_into_id",
        )
    )  # fmt: skip
    practice_key = {row["id"]: key for key, row in enumerate(practices, start=1)}
    practice_themes: dict[int, list[str]] = {}
    for practice_id, name in Practice.themes.through.objects.filter(practice__session__meeting=meeting).values_list(
        "practice_id", "theme__name"
    ):
        practice_themes.setdefault(practice_id, []).append(name)
    library_themes: dict[int, list[dict]] = {}
    for practice_id, slug, name_en, name_fr in Practice.library_themes.through.objects.filter(
        practice__session__meeting=meeting
    ).values_list("practice_id", "librarytheme__slug", "librarytheme__name_en", "librarytheme__name_fr"):
        library_themes.setdefault(practice_id, []).append({"slug": slug, "en": name_en, "fr": name_fr})
    practices_by_session = _group(
        [
            {
                "session_id": row["session_id"],
                "key": practice_key[row["id"]],
                "delegation": row["delegation__country"],
                "question": question_ref.get(row["question_id"]),
                "paragraph": block_ref.get(row["paragraph_id"]),
                "title": row["title"],
                "description": row["description"],
                "link": row["link"],
                "themes": sorted(practice_themes.get(row["id"], [])),
                "visibility": row["visibility"],
                "hidden_reason": row["hidden_reason"],
                "starred": row["starred"],
                "created_by": user(row["created_by__username"]),
                "updated_by": user(row["updated_by__username"]),
                "created_at": _dt(row["created_at"]),
                "updated_at": _dt(row["updated_at"]),
                # The library's fields (issue 24): a restored practice lands in the library as it was.
                **{name: row[name] for name in LIBRARY_FIELDS},
                "library_themes": sorted(library_themes.get(row["id"], []), key=lambda theme: theme["slug"]),
                "answer": answer_ref.get(row["answer_id"]),
                # A duplicate merged into another practice of the same meeting; other meetings' keepers are not in the record.
                "merged_into": practice_key.get(row["merged_into_id"]),
            }
            for row in practices
        ],
        "session_id",
    )

    conclusions = _group(
        [
            {"session_id": row["session_id"], "text": row["text"], "author": user(row["author__username"]),
             "created_at": _dt(row["created_at"])}
            for row in ConclusionRevision.objects.filter(session__meeting=meeting)
            .order_by("session__number", "created_at", "id")
            .values("session_id", "text", "author__username", "created_at")
        ],
        "session_id",
    )  # fmt: skip
    floor = _group(
        [
            {
                "session_id": row["session_id"],
                "delegation": row["delegation__country"],
                "question": question_ref.get(row["question_id"]),
                "status": row["status"],
                "position": row["position"],
                "requested_by": user(row["requested_by__username"]),
                "requested_at": _dt(row["requested_at"]),
                "speaking_seconds": row["speaking_seconds"],
                "started_at": _dt(row["started_at"]),
                "ended_at": _dt(row["ended_at"]),
            }
            for row in FloorRequest.objects.filter(session__meeting=meeting)
            .order_by("session__number", "position", "requested_at", "id")
            .values(
                "session_id", "delegation__country", "question_id", "status", "position", "requested_by__username",
                "requested_at", "speaking_seconds", "started_at", "ended_at",
            )
        ],
        "session_id",
    )  # fmt: skip
    polls_by_session = _export_polls(meeting, user)
    rounds_by_session = export_rounds(meeting, question_ref=question_ref, answer_ref=answer_ref, user=user)
    themes_by_question = export_themes(meeting, answer_ref=answer_ref)

    moderation = [
        {
            "action": row["action"],
            "actor": user(row["actor__username"]),
            "answer": answer_ref.get(row["answer_id"]),
            "practice": practice_key.get(row["practice_id"]),
            "question": question_ref.get(row["question_id"]),
            "reason": row["reason"],
            "created_at": _dt(row["created_at"]),
        }
        for row in ModerationAction.objects.filter(meeting=meeting)
        .order_by("created_at", "id")
        .values("action", "actor__username", "answer_id", "practice_id", "question_id", "reason", "created_at")
    ]

    blocks_by_session = _group(blocks, "session_id")
    questions_by_session = _group(questions, "session_id")
    session_entries = []
    for session in sessions:
        session_questions = []
        for row in questions_by_session.get(session.pk, []):
            session_questions.append(
                {
                    "position": row["position"],
                    "text": row["text"],
                    "html": row["html"],
                    "translations": row["translations"],
                    "status": row["status"],
                    "answers": answers_by_question.get(row["id"], []),
                    "themes": themes_by_question.get(row["id"]),
                }
            )
        session_entries.append(
            {
                "number": session.number,
                "title": session.title,
                "translations": session.translations,
                "scheduled_start": _dt(session.scheduled_start),
                "duration_minutes": session.duration_minutes,
                "started_at": _dt(session.started_at),
                "ended_at": _dt(session.ended_at),
                "floor_closed": session.floor_closed,
                "blocks": [{key: value for key, value in row.items() if key != "id"} for row in blocks_by_session.get(session.pk, [])],
                "questions": session_questions,
                "practices": practices_by_session.get(session.pk, []),
                "conclusions": conclusions.get(session.pk, []),
                "floor": floor.get(session.pk, []),
                "polls": polls_by_session.get(session.pk, []),
                "rounds": rounds_by_session.get(session.pk, []),
            }
        )

    users = [
        {
            "username": account.username,
            "first_name": account.first_name,
            "last_name": account.last_name,
            "role": account.participant.role if hasattr(account, "participant") else None,
            "delegation": account.participant.delegation.code
            if hasattr(account, "participant") and account.participant.delegation_id
            else None,
        }
        for account in User.objects.filter(username__in=usernames)
        .select_related("participant__delegation")
        .order_by("username")
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "meeting": {
            "title": meeting.title,
            "slug": meeting.slug,
            "place": meeting.place,
            "dates_text": meeting.dates_text,
            "start_date": _date(meeting.start_date),
            "end_date": _date(meeting.end_date),
            "language": meeting.language,
            "attribution": meeting.attribution,
            "answer_visibility": meeting.answer_visibility,
            "join_code": meeting.join_code,
            "source_name": meeting.source_name,
            "library": meeting.library,
            "current_session": session_number.get(meeting.current_session_id),
            "current_question": question_ref.get(meeting.current_question_id),
            "created_at": _dt(meeting.created_at),
            "updated_at": _dt(meeting.updated_at),
        },
        "delegations": sorted(meeting.delegations.values_list("country", flat=True)),
        "users": users,
        "themes": sorted(meeting.themes.values_list("name", flat=True)),
        "references": list(meeting.references.order_by("number").values("number", "text", "html")),
        "sessions": session_entries,
        "moderation": moderation,
        "figure_images": record_images.export_images(meeting),
    }


def _export_polls(meeting: Meeting, user) -> dict[int, list[dict]]:
    polls = list(Poll.objects.filter(session__meeting=meeting).order_by("session__number", "created_at", "id"))
    options = list(PollOption.objects.filter(poll__session__meeting=meeting).order_by("poll_id", "position"))
    option_position = {option.pk: option.position for option in options}
    options_by_poll: dict[int, list[PollOption]] = {}
    for option in options:
        options_by_poll.setdefault(option.poll_id, []).append(option)
    chosen: dict[int, list[int]] = {}
    for vote_id, option_id in Vote.options.through.objects.filter(vote__poll__session__meeting=meeting).values_list(
        "vote_id", "polloption_id"
    ):
        chosen.setdefault(vote_id, []).append(option_position[option_id])
    votes_by_poll: dict[int, list[dict]] = {}
    for vote in (
        Vote.objects.filter(poll__session__meeting=meeting)
        .select_related("delegation", "user")
        .order_by("poll_id", "created_at", "id")
    ):
        poll_option_ids = {option.pk for option in options_by_poll.get(vote.poll_id, [])}
        entry = {
            "voter": "delegation" if vote.voter_key.startswith("d") else "user",
            "delegation": vote.delegation.code if vote.delegation_id else None,
            "user": user(vote.user.username) if vote.user_id else None,
            "options": sorted(chosen.get(vote.pk, [])),
        }
        # A ranking lists PollOption ids, best first: written as option positions so it survives a restore.
        ranking = vote.ranking if isinstance(vote.ranking, list) else []
        if all(isinstance(item, int) and item in poll_option_ids for item in ranking):
            entry["ranking"] = [option_position[item] for item in ranking]
        else:
            entry["ranking_raw"] = vote.ranking
        entry.update(scale_value=vote.scale_value, text=vote.text, created_at=_dt(vote.created_at))
        votes_by_poll.setdefault(vote.poll_id, []).append(entry)
    result: dict[int, list[dict]] = {}
    for poll in polls:
        result.setdefault(poll.session_id, []).append(
            {
                "prompt": poll.prompt,
                "kind": poll.kind,
                "status": poll.status,
                "scope": poll.scope,
                "results_visible": poll.results_visible,
                "open_to_observers": poll.open_to_observers,
                "benchmark_label": poll.benchmark_label,
                "benchmark_scale": None if poll.benchmark_scale is None else str(poll.benchmark_scale),
                "created_at": _dt(poll.created_at),
                "opened_at": _dt(poll.opened_at),
                "closed_at": _dt(poll.closed_at),
                "options": [
                    {
                        "position": option.position,
                        "label": option.label,
                        "benchmark_percent": None if option.benchmark_percent is None else str(option.benchmark_percent),
                    }
                    for option in options_by_poll.get(poll.pk, [])
                ],
                "votes": votes_by_poll.get(poll.pk, []),
            }
        )
    return result


def dumps(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def build(meeting: Meeting, *, session: Session | None = None) -> bytes:
    """The meeting's complete record as UTF-8 JSON bytes (always the whole meeting)."""
    return dumps(export_record(meeting))
