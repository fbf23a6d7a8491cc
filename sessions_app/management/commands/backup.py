from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...backups import services
from ...backups.archive import BackupError
from ...models import Meeting


class Command(BaseCommand):
    help = (
        "Back up the whole instance (the database with SQLite's online backup or pg_dump, and MEDIA_ROOT) or, "
        "with --meeting, one meeting (its JSON record and its notes' images). Safe while the server is serving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--meeting", metavar="SLUG", help="Back up only this meeting.")
        parser.add_argument(
            "-o", "--output", type=Path,
            help="File to write (refused if it exists). Default: facilitation[-SLUG]-<UTC time>.tar.gz here.",
        )  # fmt: skip

    def handle(self, *args, meeting: str | None, output: Path | None, **options):
        scope = None
        if meeting is not None:
            scope = Meeting.objects.filter(slug=meeting).first()
            if scope is None:
                raise CommandError(f"No meeting with the slug “{meeting}”.")
        target = output or Path(services.default_filename(scope))
        try:
            if scope is None:
                summary = services.backup_instance(target=target)
            else:
                summary = services.backup_meeting(scope, target=target)
        except BackupError as error:
            raise CommandError(f"Backup not written: {error}") from error
        what = "the whole instance" if scope is None else f"the meeting “{scope.slug}”"
        self.stdout.write(self.style.SUCCESS(f"Wrote {summary.path} ({summary.size:,} bytes, {summary.files} files): {what}."))
