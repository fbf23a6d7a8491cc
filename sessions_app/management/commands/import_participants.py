from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ... import participants
from ...models import Meeting
from ...services import ActionRefused


class Command(BaseCommand):
    help = (
        "Import participants (CSV or XLSX: name, e-mail, delegation, role[, language]) into a meeting. "
        "Prints each row's outcome; saves nothing if any row has an error. "
        "Importing the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("meeting", help="The meeting's slug.")
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Show the outcome of each row; save nothing.")

    def handle(self, *args, meeting: str, path: Path, dry_run: bool, **options):
        found = Meeting.objects.filter(slug=meeting).first()
        if found is None:
            raise CommandError(f"No meeting with the slug {meeting!r}.")
        try:
            rows = participants.read_participant_file(path.read_bytes(), filename=path.name)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        except participants.ParticipantFileError as error:
            raise CommandError(f"{path}: {error}") from error

        preview = participants.preview_import(meeting=found, raw_rows=rows)
        for outcome in preview.outcomes:
            detail = "; ".join(
                outcome.errors + [f"{c.field}: {c.old} → {c.new}" for c in outcome.changes] + outcome.notes
            )
            line = f"row {outcome.row.line:>4}  {outcome.status:<9}  {outcome.row.email or '-'}"
            self.stdout.write(f"{line}  {detail}" if detail else line)
        counts = preview.counts
        summary = ", ".join(f"{count} {status}" for status, count in counts.items())
        if preview.has_errors:
            raise CommandError(f"{summary}. Nothing was saved: fix the rows with errors and run the command again.")
        if dry_run:
            self.stdout.write(f"{summary}. Dry run: nothing was saved.")
            return
        try:
            participants.import_participants(meeting=found, raw_rows=rows, expected_digest=preview.digest)
        except ActionRefused as refusal:
            raise CommandError(refusal.message) from refusal
        self.stdout.write(self.style.SUCCESS(f"Saved: {summary}."))
