from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ... import importer, services


class Command(BaseCommand):
    help = "Import a meeting from session notes (UTF-8 text). Importing the same notes again updates it in place."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        try:
            notes = importer.parse_notes_bytes(data)
            meeting = services.import_meeting_notes(notes, source_name=path.name)
        except importer.NotesError as error:
            raise CommandError(f"{path}: {error}") from error
        blocks = sum(len(session.blocks) for session in notes.sessions)
        questions = sum(len(session.questions) for session in notes.sessions)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{meeting.title}” ({meeting.slug}): {len(notes.sessions)} sessions, "
                f"{blocks} briefing blocks, {questions} questions, {len(notes.references)} references."
            )
        )
