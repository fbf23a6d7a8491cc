from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ... import importer
from ...meetings import services as notes_services
from ...models import Meeting


class Command(BaseCommand):
    help = "Import a meeting from session notes (UTF-8 text or a Word .docx). Importing the same notes again updates it in place."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--translation-of", metavar="SLUG",
            help="Attach the file as a translation of this meeting's notes (same sessions, paragraph numbers, questions).",
        )
        parser.add_argument("--language", help="The translation's language code, e.g. fr (with --translation-of).")

    def handle(self, *args, path: Path, translation_of: str | None = None, language: str | None = None, **options):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        meeting = None
        if translation_of:
            meeting = Meeting.objects.filter(slug=translation_of).first()
            if meeting is None:
                raise CommandError(f"No meeting with the slug {translation_of!r}.")
            if not language:
                raise CommandError("--translation-of needs --language (e.g. --language fr).")
        try:
            if meeting is not None:
                notes = notes_services.import_notes_translation_file(
                    data, meeting=meeting, language=language, source_name=path.name)
            else:
                meeting, notes = notes_services.import_notes_file(data, source_name=path.name)
        except importer.NotesError as error:
            raise CommandError(f"{path}: {error}") from error
        if translation_of:
            self.stdout.write(self.style.SUCCESS(
                f"Attached the {language} notes to “{meeting.title}” ({meeting.slug}): {len(notes.sessions)} sessions."
            ))
            return
        blocks = sum(len(session.blocks) for session in notes.sessions)
        questions = sum(len(session.questions) for session in notes.sessions)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{meeting.title}” ({meeting.slug}): {len(notes.sessions)} sessions, "
                f"{blocks} briefing blocks, {questions} questions, {len(notes.references)} references."
            )
        )
