"""A meeting's record read back into a database: checked first (format, version, every value and every
piece of markup), then restored all or nothing (restore_record)."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_countries import countries

from ...library.services import index_meeting_practices
from .. import record_images
from .rounds import restore_rounds
from .themes import restore_themes
from ...models import (
    Answer,
    AnswerRevision,
    Block,
    ConclusionRevision,
    Delegation,
    FigureImage,
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
from .format import BATCH, FORMAT, JOIN_CODE_ALPHABET, LIBRARY_FIELDS, VERSION, RecordError, parse_time

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


# What the notes importer writes into stored HTML (markup.render_block_html, render_inline), which
# the pages show as it is. A record is restored only if its HTML holds nothing else.
_MARKUP_TAGS = {"a", "aside", "cite", "em", "figcaption", "figure", "h3", "h4", "li", "p", "span", "strong", "sup", "ul"}
_MARKUP_ATTRIBUTES = {"id", "class", "rel", "href", "aria-hidden", "aria-label", "aria-labelledby"}


# A figure's image (meetings.services.store_figure_images): only in a block, only pointing at one of
# the record's own images.
_IMAGE_ATTRIBUTES = {"class", "src", "alt"}


class _MarkupCheck(HTMLParser):
    def __init__(self, images: set[str] = frozenset()):
        super().__init__(convert_charrefs=True)
        self.problem: str | None = None
        self.images = images  # the image addresses an <img> may show

    def handle_starttag(self, tag, attrs):
        if tag == "img" and self.images:
            if not dict(attrs).get("src"):
                self.problem = self.problem or "an <img> without an image"
            for name, value in attrs:
                if name not in _IMAGE_ATTRIBUTES:
                    self.problem = self.problem or f"the attribute {name} on <img>"
                elif name == "src" and value not in self.images:
                    self.problem = self.problem or f"the image {value!r}, which is not one of the record's images"
            return
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


def _markup(value: object, where: str, *, images: set[str] = frozenset()) -> str:
    """Stored HTML from a record, refused (ValueError: nothing is restored) unless it is made of what the
    notes importer writes: a record's HTML is shown as it is, so a script in it would run on every page.
    `images`: the addresses of the record's figure images, which a block's <img> may show."""
    text = _text(value)
    check = _MarkupCheck(images)
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
        self.images: list[FigureImage] = []
        self.image_srcs: set[str] = set()

    def run(self) -> Meeting:
        document = self.document
        data = document["meeting"]
        slug = _text(data["slug"])
        if Meeting.objects.filter(slug=slug).exists():
            raise RecordError(
                _("A meeting with the slug “%(slug)s” already exists; nothing was imported.") % {"slug": slug}
            )
        try:
            self.images = record_images.read_images(document.get("figure_images", []))
        except record_images.ImageError as error:
            raise RecordError(str(error)) from error
        # The meeting keeps its slug, so the addresses its blocks show its images at stay true.
        self.image_srcs = {reverse("figure_image", args=[slug, image.position]) for image in self.images}
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
        for image in self.images:
            image.meeting = meeting
        FigureImage.objects.bulk_create(self.images)
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
            # Records written before opinion rounds were kept have none.
            restore_rounds(session, entry.get("rounds", []), question=self._question, delegation=self.delegation, user=self.user,
                           answer=lambda ref: None if ref is None else self.answers[tuple(ref)])
        self._restore_moderation(meeting, document["moderation"])
        # The themes of answers last: they are computed from the answers as moderated (hidden ones left out).
        for entry in document["sessions"]:
            for question_entry in entry["questions"]:
                # Records written before the themes were kept have none: computed again on the console's demand.
                restore_themes(self.questions[(entry["number"], question_entry["position"])], question_entry.get("themes"),
                               answer=lambda ref: self.answers[tuple(ref)])

        current_question = data["current_question"]
        Meeting.objects.filter(pk=meeting.pk).update(
            current_session=self.sessions[data["current_session"]] if data["current_session"] is not None else None,
            current_question=self.questions[tuple(current_question)] if current_question is not None else None,
            created_at=parse_time(data["created_at"]),
            updated_at=parse_time(data["updated_at"]),
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
            scheduled_start=parse_time(entry["scheduled_start"]),
            duration_minutes=entry["duration_minutes"],
            started_at=parse_time(entry["started_at"]),
            ended_at=parse_time(entry["ended_at"]),
            floor_closed=bool(entry["floor_closed"]),
        )
        self.sessions[number] = session
        blocks = Block.objects.bulk_create(
            [
                Block(session=session, language=_text(row.get("language", ""))[:10], position=row["position"],
                      kind=_choice(row["kind"], Block.Kind), number=row["number"], title=row["title"], text=row["text"],
                      html=_markup(row["html"], f"session {number}, block {row['position']}", images=self.image_srcs))
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
                    rows.append((answer, {"created_at": parse_time(entry["created_at"]), "updated_at": parse_time(entry["updated_at"])}))
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
                        {"created_at": parse_time(revision["created_at"])},
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
                rows.append((practice, {"created_at": parse_time(entry["created_at"]), "updated_at": parse_time(entry["updated_at"])}))
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
                 {"created_at": parse_time(entry["created_at"])})
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
                        started_at=parse_time(entry["started_at"]),
                        ended_at=parse_time(entry["ended_at"]),
                    ),
                    {"requested_at": parse_time(entry["requested_at"])},
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
                opened_at=parse_time(entry["opened_at"]),
                closed_at=parse_time(entry["closed_at"]),
            )
            Poll.objects.filter(pk=poll.pk).update(created_at=parse_time(entry["created_at"]))
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
                        {"created_at": parse_time(vote["created_at"])},
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
                    {"created_at": parse_time(entry["created_at"])},
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
