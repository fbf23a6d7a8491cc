from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...backups import services
from ...backups.archive import BackupError


class Command(BaseCommand):
    help = (
        "Restore a file made by `manage.py backup`. A whole-instance backup replaces the database's content "
        "(refused over a database that holds meetings or accounts unless --force; stop the server first); a "
        "meeting's backup adds that meeting (refused if it exists unless --force, which replaces it). The file "
        "is checked whole before anything is changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--force", action="store_true", help="Replace the database's content, or the existing meeting.")
        parser.add_argument("--check", action="store_true", help="Only check the file and say what it holds; change nothing.")

    def handle(self, *args, path: Path, force: bool, check: bool, **options):
        try:
            if check:
                manifest = services.describe(path)
                what = f"the meeting “{manifest.get('meeting')}”" if manifest["scope"] == "meeting" else "the whole instance"
                self.stdout.write(
                    f"{path} is a whole, readable backup of {what} ({manifest.get('engine')}), "
                    f"taken {manifest.get('created_at')}, {len(manifest['files'])} files."
                )
                return
            summary = services.restore_backup(path, force=force)
        except BackupError as error:
            raise CommandError(f"Nothing was restored: {error}") from error
        if summary.scope == "meeting":
            self.stdout.write(self.style.SUCCESS(f"Restored the meeting “{summary.meeting}” from {path} (taken {summary.created_at})."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Restored the whole instance from {path} (taken {summary.created_at}, {summary.media_files} uploaded files). "
                    "Run `manage.py migrate` if this version of the application is newer than the backup's."
                )
            )
