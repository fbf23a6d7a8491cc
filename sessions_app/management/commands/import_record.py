from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...exports import record


class Command(BaseCommand):
    help = (
        "Restore a meeting from its JSON record (made by export_meeting --format json) into this database. "
        "Refused, with nothing changed, if the meeting's slug already exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        try:
            meeting = record.restore_record(record.parse(data))
        except record.RecordError as error:
            raise CommandError(f"{path}: {error}") from error
        sessions = meeting.sessions.count()
        self.stdout.write(self.style.SUCCESS(f"Restored “{meeting.title}” ({meeting.slug}): {sessions} sessions."))
