"""Importing a meeting's notes from an upload, text or Word: one entry for the command and the page,
and the storing of what the parser made (the meeting, its sessions, briefing and questions, translations)."""
from __future__ import annotations

import html
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .. import importer, oplog
from ..models import Block, Delegation, FigureImage, Meeting, Question, Reference, Session
from . import word

_PLACEHOLDER = '<p class="figure-placeholder">(figure not reproduced)</p>'


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


def read_notes_file(data: bytes, *, name: str = "") -> tuple[importer.MeetingNotes, tuple[word.Image, ...]]:
    """Parse an upload as Word (by its content or name) or as UTF-8 text; NotesError when refused."""
    if word.is_word(data, name):
        parsed = word.parse_docx(data)
        return parsed.notes, parsed.images
    return importer.parse_notes_bytes(data), ()


@transaction.atomic
def import_notes_file(data: bytes, *, source_name: str = "") -> tuple[Meeting, importer.MeetingNotes]:
    """Import (or re-import) a meeting from a notes file; all or nothing, images included."""
    notes, images = read_notes_file(data, name=source_name)
    meeting = import_meeting_notes(notes, source_name=source_name)
    store_figure_images(meeting=meeting, images=images)
    return meeting, notes


@transaction.atomic
def import_notes_translation_file(data: bytes, *, meeting: Meeting, language: str, source_name: str = "") -> importer.MeetingNotes:
    """Attach a translation read from a text or Word file (its images are the original's: not stored)."""
    notes, _images = read_notes_file(data, name=source_name)
    import_notes_translation(notes, meeting=meeting, language=language)
    return notes


def store_figure_images(*, meeting: Meeting, images: tuple[word.Image, ...]) -> None:
    """Replace the meeting's figure images and show each in its figure's block."""
    FigureImage.objects.filter(meeting=meeting).delete()
    if not images:
        return
    rows = FigureImage.objects.bulk_create(
        FigureImage(meeting=meeting, position=i, figure=image.figure, name=image.name[:255],
                    content_type=image.content_type, data=image.data)
        for i, image in enumerate(images, start=1))
    by_figure: dict[int, list[FigureImage]] = {}
    for row in rows:
        if row.figure is not None:
            by_figure.setdefault(row.figure, []).append(row)
    for block in Block.objects.filter(session__meeting=meeting, kind=Block.Kind.FIGURE, number__in=by_figure):
        alt = html.escape(f"Figure {block.number}. {block.title}")
        tags = "".join(
            f'<img class="figure-image" src="{reverse("figure_image", args=[meeting.slug, row.position])}" alt="{alt}">'
            for row in by_figure[block.number])
        block.html = block.html.replace(_PLACEHOLDER, tags, 1)
        block.save(update_fields=["html"])
