"""The complete record of a meeting as one JSON document, and its restore into another database.

The format is described in docs/record-format.md. It holds no database ids: rows point at each
other by natural keys (a delegation by ISO code, a user by username, a question by session number
and position, an answer by question and delegation, a practice by its key in the document), so a
record restored into an empty database and exported again gives the same document.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django_countries import countries

from ..library.services import index_meeting_practices
from ..models import (
    Answer,
    AnswerRevision,
    Block,
    ConclusionRevision,
    Delegation,
    FloorRequest,
    LibraryAccess,
    LibraryTheme,
    Meeting,
    ModerationAction,
    Participant,
    Poll,
    PollOption,
    Practice,
    PracticeLevel,
    PracticeStatus,
    Question,
    Reference,
    Session,
    Theme,
    Visibility,
    Vote,
)

FORMAT = "facilitation.meeting-record"
VERSION = 1
BATCH = 500
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# The practice's library fields, exported and restored as they are (all optional in older records).
LIBRARY_FIELDS = (
    "level", "year_started", "status", "problem", "what_was_done", "results", "lessons", "links", "contact",
    "contact_consent", "language", "verified", "retired",
)  # fmt: skip


class RecordError(Exception):
    """A record that cannot be read or restored; the message says why and is shown as it is."""


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


# --- Restore -------------------------------------------------------------------------------------


def parse(data: bytes) -> dict:
    """The record in these bytes, or RecordError if they are not JSON or not a record this code reads."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise RecordError(_("The file is not valid JSON: %(error)s") % {"error": error}) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RecordError(_("The file is not a meeting record (its “format” is not “%(format)s”).") % {"format": FORMAT})
    if document.get("version") != VERSION:
        raise RecordError(
            _("Record version %(version)s cannot be read; this version of the application reads version %(expected)s.")
            % {"version": document.get("version"), "expected": VERSION}
        )
    return document


def restore_record(document: dict) -> Meeting:
    """Create the meeting a record describes, in one transaction; nothing is stored if anything is wrong.

    Delegations are matched by ISO code and users by username; missing users are created inactive,
    with an unusable password and their role. A meeting whose slug exists is refused.
    """
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise RecordError(_("The document is not a version %(version)s meeting record.") % {"version": VERSION})
    try:
        with transaction.atomic():
            meeting = _Restore(document).run()
            # Practices were bulk-created (no save signals): index them so they land in the library.
            index_meeting_practices(meeting)
            return meeting
    except RecordError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, InvalidOperation, IntegrityError, ValidationError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise RecordError(_("The record is malformed (%(detail)s); nothing was imported.") % {"detail": detail}) from error


def _parse_dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a time zone: {value}")
    return parsed


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _choice(value: str, choices: type[models.TextChoices]) -> str:
    if value not in choices.values:
        raise ValueError(f"unknown value {value!r} for {choices.__name__}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


# What the notes importer writes into stored HTML (importer.render_block_html, render_inline), which
# the pages show as it is. A record is restored only if its HTML holds nothing else.
_MARKUP_TAGS = {"a", "aside", "cite", "em", "figcaption", "figure", "h3", "h4", "li", "p", "span", "strong", "sup", "ul"}
_MARKUP_ATTRIBUTES = {"id", "class", "rel", "href", "aria-hidden", "aria-label", "aria-labelledby"}


class _MarkupCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problem: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag not in _MARKUP_TAGS:
            self.problem = self.problem or f"<{tag}>"
        for name, value in attrs:
            if name not in _MARKUP_ATTRIBUTES:
                self.problem = self.problem or f"the attribute {name} on <{tag}>"
            elif name == "href" and not (value or "").startswith(("https://", "http://", "#")):
                self.problem = self.problem or f"the link {value!r}"

    handle_startendtag = handle_starttag

    def handle_decl(self, decl):
        self.problem = self.problem or f"<!{decl}>"

    def handle_pi(self, data):
        self.problem = self.problem or f"<?{data}>"

    unknown_decl = handle_decl


def _markup(value: object, where: str) -> str:
    """Stored HTML from a record, refused (ValueError: nothing is restored) unless it is made of what the
    notes importer writes: a record's HTML is shown as it is, so a script in it would run on every page."""
    text = _text(value)
    check = _MarkupCheck()
    check.feed(text)
    check.close()
    if check.problem:
        raise ValueError(f"{where} holds HTML the importer never writes: {check.problem}")
    return text


class _Restore:
    """One restore: the document, and maps from its natural keys to the rows created for them."""

    def __init__(self, document: dict):
        self.document = document
        self.delegations: dict[str, Delegation] = {}
        self.users: dict[str, User] = {}
        self.sessions: dict[int, Session] = {}
        self.questions: dict[tuple[int, int], Question] = {}
        self.blocks: dict[tuple[int, int], Block] = {}
        self.answers: dict[tuple[int, int, str], Answer] = {}
        self.practices: dict[int, Practice] = {}
        self.themes: dict[str, Theme] = {}
        self.library_themes: dict[str, LibraryTheme] = {}

    def run(self) -> Meeting:
        document = self.document
        data = document["meeting"]
        slug = _text(data["slug"])
        if Meeting.objects.filter(slug=slug).exists():
            raise RecordError(
                _("A meeting with the slug “%(slug)s” already exists; nothing was imported.") % {"slug": slug}
            )
        for code in document["delegations"]:
            self.delegation(code)
        for entry in document["users"]:
            self._restore_user(entry)

        join_code = data.get("join_code")
        if join_code and Meeting.objects.filter(join_code=join_code).exists():
            join_code = self._free_join_code()
        meeting = Meeting.objects.create(
            title=_text(data["title"]),
            slug=slug,
            place=data["place"],
            dates_text=data["dates_text"],
            start_date=_parse_date(data["start_date"]),
            end_date=_parse_date(data["end_date"]),
            language=data["language"],
            attribution=_choice(data["attribution"], Meeting.Attribution),
            answer_visibility=_choice(data["answer_visibility"], Meeting.AnswerVisibility),
            join_code=join_code or None,
            source_name=data["source_name"],
            library=_choice(data.get("library", LibraryAccess.MEMBERS), LibraryAccess),
        )
        meeting.delegations.set([self.delegation(code) for code in document["delegations"]])
        Reference.objects.bulk_create(
            [Reference(meeting=meeting, number=row["number"], text=row["text"], html=_markup(row["html"], f"reference {row['number']}"))
             for row in document["references"]]
        )
        self.themes = {
            theme.name: theme
            for theme in Theme.objects.bulk_create([Theme(meeting=meeting, name=name) for name in document["themes"]])
        }
        for entry in document["sessions"]:
            self._restore_session(meeting, entry)
        self._restore_answers(document["sessions"])
        self._restore_practices(document["sessions"])
        for entry in document["sessions"]:
            session = self.sessions[entry["number"]]
            self._restore_conclusions(session, entry["conclusions"])
            self._restore_floor(session, entry["floor"])
            self._restore_polls(session, entry["polls"])
        self._restore_moderation(meeting, document["moderation"])

        current_question = data["current_question"]
        Meeting.objects.filter(pk=meeting.pk).update(
            current_session=self.sessions[data["current_session"]] if data["current_session"] is not None else None,
            current_question=self.questions[tuple(current_question)] if current_question is not None else None,
            created_at=_parse_dt(data["created_at"]),
            updated_at=_parse_dt(data["updated_at"]),
        )
        meeting.refresh_from_db()
        return meeting

    # Natural keys

    def delegation(self, code: str) -> Delegation:
        if code not in self.delegations:
            if not isinstance(code, str) or not countries.alpha2(code):
                raise ValueError(f"unknown country code {code!r}")
            self.delegations[code] = Delegation.objects.get_or_create(country=code)[0]
        return self.delegations[code]

    def user(self, username: str | None) -> User | None:
        if username is None:
            return None
        if username not in self.users:
            self._restore_user({"username": username, "first_name": "", "last_name": "", "role": None, "delegation": None})
        return self.users[username]

    def _restore_user(self, entry: dict) -> None:
        username = _text(entry["username"])
        account = User.objects.filter(username=username).first()
        if account is None:
            # Someone from the record, not someone who may sign in: an administrator activates them if needed.
            account = User(username=username, first_name=entry["first_name"], last_name=entry["last_name"], is_active=False)
            account.set_unusable_password()
            account.full_clean(exclude=["password"])
            account.save()
            if entry["role"] is not None:
                Participant.objects.create(
                    user=account,
                    role=_choice(entry["role"], Participant.Role),
                    delegation=self.delegation(entry["delegation"]) if entry["delegation"] else None,
                )
        self.users[username] = account

    @staticmethod
    def _free_join_code() -> str:
        while True:
            code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(6))
            if not Meeting.objects.filter(join_code=code).exists():
                return code

    @staticmethod
    def _create(model: type[models.Model], rows: list[tuple[models.Model, dict]]) -> list[models.Model]:
        """Insert rows in order, then put back the times that auto_now/auto_now_add overwrote."""
        created = model.objects.bulk_create([row for row, _stamps in rows], batch_size=BATCH)
        fields: set[str] = set()
        for row, (_same, stamps) in zip(created, rows):
            for name, value in stamps.items():
                setattr(row, name, value)
                fields.add(name)
        if created and fields:
            model.objects.bulk_update(created, sorted(fields), batch_size=BATCH)
        return created

    # Sections

    def _restore_session(self, meeting: Meeting, entry: dict) -> None:
        number = entry["number"]
        if number in self.sessions:
            raise ValueError(f"session {number} appears twice")
        session = Session.objects.create(
            meeting=meeting,
            number=number,
            title=_text(entry["title"]),
            translations=_translations(entry.get("translations"), f"session {number}"),
            scheduled_start=_parse_dt(entry["scheduled_start"]),
            duration_minutes=entry["duration_minutes"],
            started_at=_parse_dt(entry["started_at"]),
            ended_at=_parse_dt(entry["ended_at"]),
            floor_closed=bool(entry["floor_closed"]),
        )
        self.sessions[number] = session
        blocks = Block.objects.bulk_create(
            [
                Block(session=session, language=_text(row.get("language", ""))[:10], position=row["position"],
                      kind=_choice(row["kind"], Block.Kind), number=row["number"], title=row["title"], text=row["text"],
                      html=_markup(row["html"], f"session {number}, block {row['position']}"))
                for row in entry["blocks"]
            ]
        )  # fmt: skip
        self.blocks.update({(number, block.position): block for block in blocks if not block.language})
        questions = Question.objects.bulk_create(
            [
                Question(session=session, position=row["position"], text=_text(row["text"]),
                         html=_markup(row["html"], f"session {number}, question {row['position']}"),
                         translations=_translations(row.get("translations"), f"session {number}, question {row['position']}"),
                         status=_choice(row["status"], Question.Status))
                for row in entry["questions"]
            ]
        )  # fmt: skip
        self.questions.update({(number, question.position): question for question in questions})

    def _question(self, ref: list | None) -> Question | None:
        return None if ref is None else self.questions[tuple(ref)]

    def _restore_answers(self, sessions: list[dict]) -> None:
        rows, entries = [], []
        for session in sessions:
            for question_entry in session["questions"]:
                question = self.questions[(session["number"], question_entry["position"])]
                for entry in question_entry["answers"]:
                    answer = Answer(
                        question=question,
                        delegation=self.delegation(entry["delegation"]),
                        kind=_choice(entry["kind"], Answer.Kind),
                        text=_text(entry["text"]),
                        visibility=_choice(entry["visibility"], Visibility),
                        hidden_reason=entry["hidden_reason"],
                        starred=bool(entry["starred"]),
                        created_by=self.user(entry["created_by"]),
                        updated_by=self.user(entry["updated_by"]),
                    )
                    rows.append((answer, {"created_at": _parse_dt(entry["created_at"]), "updated_at": _parse_dt(entry["updated_at"])}))
                    entries.append(entry)
        created = self._create(Answer, rows)
        for answer in created:
            self.answers[(answer.question.session.number, answer.question.position, answer.delegation.code)] = answer
        duplicates = []
        revisions = []
        for answer, entry in zip(created, entries):
            if entry["duplicate_of"] is not None:
                answer.duplicate_of = self.answers[tuple(entry["duplicate_of"])]
                duplicates.append(answer)
            for revision in entry["revisions"]:
                revisions.append(
                    (
                        AnswerRevision(answer=answer, kind=_choice(revision["kind"], Answer.Kind), text=_text(revision["text"]),
                                       author=self.user(revision["author"])),
                        {"created_at": _parse_dt(revision["created_at"])},
                    )
                )  # fmt: skip
        if duplicates:
            Answer.objects.bulk_update(duplicates, ["duplicate_of"], batch_size=BATCH)
        self._create(AnswerRevision, revisions)

    def _restore_practices(self, sessions: list[dict]) -> None:
        rows, entries = [], []
        for session_entry in sessions:
            session = self.sessions[session_entry["number"]]
            for entry in session_entry["practices"]:
                paragraph = entry["paragraph"]
                practice = Practice(
                    session=session,
                    delegation=self.delegation(entry["delegation"]),
                    question=self._question(entry["question"]),
                    paragraph=self.blocks[tuple(paragraph)] if paragraph is not None else None,
                    title=_text(entry["title"]),
                    description=_text(entry["description"]),
                    link=entry["link"],
                    visibility=_choice(entry["visibility"], Visibility),
                    hidden_reason=entry["hidden_reason"],
                    starred=bool(entry["starred"]),
                    created_by=self.user(entry["created_by"]),
                    updated_by=self.user(entry["updated_by"]),
                    answer=self.answers[tuple(entry["answer"])] if entry.get("answer") is not None else None,
                    **self._library_fields(entry),
                )
                rows.append((practice, {"created_at": _parse_dt(entry["created_at"]), "updated_at": _parse_dt(entry["updated_at"])}))
                entries.append(entry)
        links = []
        created = self._create(Practice, rows)
        for practice, entry in zip(created, entries):
            if entry["key"] in self.practices:
                raise ValueError(f"practice key {entry['key']} appears twice")
            self.practices[entry["key"]] = practice
            links += [Practice.themes.through(practice=practice, theme=self.themes[name]) for name in entry["themes"]]
        Practice.themes.through.objects.bulk_create(links, batch_size=BATCH)
        merged = []
        library_links = []
        for practice, entry in zip(created, entries):
            if entry.get("merged_into") is not None:
                practice.merged_into = self.practices[entry["merged_into"]]
                merged.append(practice)
            for theme in entry.get("library_themes", []):
                library_links.append(Practice.library_themes.through(practice=practice, librarytheme=self.library_theme(theme)))
        Practice.objects.bulk_update(merged, ["merged_into"], batch_size=BATCH)
        Practice.library_themes.through.objects.bulk_create(library_links, batch_size=BATCH)

    def library_theme(self, theme: dict) -> LibraryTheme:
        """The vocabulary's theme by slug; one the vocabulary lacks is added with the record's labels."""
        slug = _text(theme["slug"])[:80]
        if slug not in self.library_themes:
            self.library_themes[slug], _made = LibraryTheme.objects.get_or_create(
                slug=slug, defaults={"name_en": _text(theme["en"])[:120], "name_fr": _text(theme.get("fr") or "")[:120]}
            )
        return self.library_themes[slug]

    @staticmethod
    def _library_fields(entry: dict) -> dict:
        fields = {name: entry[name] for name in LIBRARY_FIELDS if entry.get(name) is not None}
        for name in ("level", "status"):
            if fields.get(name):
                fields[name] = _choice(fields[name], PracticeLevel if name == "level" else PracticeStatus)
        for name in ("problem", "what_was_done", "results", "lessons", "links", "contact", "language"):
            if name in fields:
                fields[name] = _text(fields[name])
        if "year_started" in fields:
            fields["year_started"] = int(fields["year_started"])
        for name in ("contact_consent", "verified", "retired"):
            if name in fields:
                fields[name] = bool(fields[name])
        return fields

    def _restore_conclusions(self, session: Session, entries: list[dict]) -> None:
        self._create(
            ConclusionRevision,
            [
                (ConclusionRevision(session=session, text=_text(entry["text"]), author=self.user(entry["author"])),
                 {"created_at": _parse_dt(entry["created_at"])})
                for entry in entries
            ],
        )  # fmt: skip

    def _restore_floor(self, session: Session, entries: list[dict]) -> None:
        self._create(
            FloorRequest,
            [
                (
                    FloorRequest(
                        session=session,
                        delegation=self.delegation(entry["delegation"]),
                        question=self._question(entry["question"]),
                        status=_choice(entry["status"], FloorRequest.Status),
                        position=entry["position"],
                        requested_by=self.user(entry["requested_by"]),
                        speaking_seconds=entry["speaking_seconds"],
                        started_at=_parse_dt(entry["started_at"]),
                        ended_at=_parse_dt(entry["ended_at"]),
                    ),
                    {"requested_at": _parse_dt(entry["requested_at"])},
                )
                for entry in entries
            ],
        )

    def _restore_polls(self, session: Session, entries: list[dict]) -> None:
        for entry in entries:
            poll = Poll.objects.create(
                session=session,
                prompt=_text(entry["prompt"]),
                kind=_choice(entry["kind"], Poll.Kind),
                status=_choice(entry["status"], Poll.Status),
                scope=_choice(entry["scope"], Poll.Scope),
                results_visible=bool(entry["results_visible"]),
                open_to_observers=bool(entry["open_to_observers"]),
                benchmark_label=entry["benchmark_label"],
                benchmark_scale=None if entry.get("benchmark_scale") is None else Decimal(entry["benchmark_scale"]),
                opened_at=_parse_dt(entry["opened_at"]),
                closed_at=_parse_dt(entry["closed_at"]),
            )
            Poll.objects.filter(pk=poll.pk).update(created_at=_parse_dt(entry["created_at"]))
            options = {
                option.position: option
                for option in PollOption.objects.bulk_create(
                    [
                        PollOption(
                            poll=poll,
                            position=row["position"],
                            label=_text(row["label"]),
                            benchmark_percent=None if row["benchmark_percent"] is None else Decimal(row["benchmark_percent"]),
                        )
                        for row in entry["options"]
                    ]
                )
            }
            rows = []
            for index, vote in enumerate(entry["votes"], start=1):
                delegation = self.delegation(vote["delegation"]) if vote["delegation"] else None
                voter = self.user(vote["user"])
                if vote["voter"] == "delegation":
                    key = f"d{delegation.pk}"
                elif voter is not None:
                    key = f"u{voter.pk}"
                else:
                    key = f"u-restored-{index}"  # the voter's account was deleted before the export
                ranking = [options[position].pk for position in vote["ranking"]] if "ranking" in vote else vote["ranking_raw"]
                rows.append(
                    (
                        Vote(poll=poll, voter_key=key, delegation=delegation, user=voter, ranking=ranking,
                             scale_value=vote["scale_value"], text=vote["text"]),
                        {"created_at": _parse_dt(vote["created_at"])},
                    )
                )  # fmt: skip
            votes = self._create(Vote, rows)
            Vote.options.through.objects.bulk_create(
                [
                    Vote.options.through(vote=vote, polloption=options[position])
                    for vote, entry_vote in zip(votes, entry["votes"])
                    for position in entry_vote["options"]
                ]
            )

    def _restore_moderation(self, meeting: Meeting, entries: list[dict]) -> None:
        self._create(
            ModerationAction,
            [
                (
                    ModerationAction(
                        meeting=meeting,
                        actor=self.user(entry["actor"]),
                        action=_choice(entry["action"], ModerationAction.Action),
                        answer=self.answers[tuple(entry["answer"])] if entry["answer"] is not None else None,
                        practice=self.practices[entry["practice"]] if entry["practice"] is not None else None,
                        question=self._question(entry["question"]),
                        reason=entry["reason"],
                    ),
                    {"created_at": _parse_dt(entry["created_at"])},
                )
                for entry in entries
            ],
        )


def _translations(value, where: str) -> dict:
    """{"fr": {"title" or "text"/"html": str}} from a record; anything else is dropped, and "html" must
    be what the importer writes (see _markup)."""
    if not isinstance(value, dict):
        return {}
    return {
        str(language)[:10]: {
            str(key): _markup(text, f"{where} ({language})") if key == "html" else str(text) for key, text in fields.items() if isinstance(text, str)
        }
        for language, fields in value.items()
        if isinstance(fields, dict)
    }
