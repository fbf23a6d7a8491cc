"""Importing a meeting's notes from an upload, text or Word: one entry for the command and the page."""
from __future__ import annotations

import html

from django.db import transaction
from django.urls import reverse

from .. import importer, services
from ..models import Block, FigureImage, Meeting
from . import word

_PLACEHOLDER = '<p class="figure-placeholder">(figure not reproduced)</p>'


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
    meeting = services.import_meeting_notes(notes, source_name=source_name)
    store_figure_images(meeting=meeting, images=images)
    return meeting, notes


@transaction.atomic
def import_notes_translation_file(data: bytes, *, meeting: Meeting, language: str, source_name: str = "") -> importer.MeetingNotes:
    """Attach a translation read from a text or Word file (its images are the original's: not stored)."""
    notes, _images = read_notes_file(data, name=source_name)
    services.import_notes_translation(notes, meeting=meeting, language=language)
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
