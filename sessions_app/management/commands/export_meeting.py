import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from ...exports import FORMATS, audit
from ...zones import activate_meeting_zone
from ...models import Meeting, Session


class Command(BaseCommand):
    help = (
        "Export a meeting's records: summary record or compendium (.docx), answers or practices (CSV, XLSX), "
        "or the complete JSON record. Logged in the meeting's export log."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--format", dest="fmt", required=True, choices=sorted(FORMATS))
        parser.add_argument("--session", type=int, help="Only this session (by number); not for the JSON record.")
        parser.add_argument("-o", "--output", help="File to write; '-' for standard output. Default: a name made from the meeting.")
        parser.add_argument("--language", help="Language of the document's labels, e.g. en or fr (default: the site's).")

    def handle(self, *args, slug, fmt, session, output, language, **options):
        export = FORMATS[fmt]
        meeting = Meeting.objects.filter(slug=slug).first()
        if meeting is None:
            raise CommandError(f"No meeting with the slug “{slug}”.")
        activate_meeting_zone(meeting)  # the record's times in the meeting's zone, as on its pages
        scope = None
        if session is not None:
            if not export.per_session:
                raise CommandError(f"--session does not apply to the {fmt} format: it always holds the whole meeting.")
            scope = Session.objects.filter(meeting=meeting, number=session).first()
            if scope is None:
                raise CommandError(f"The meeting “{slug}” has no session {session}.")
        with translation.override(language or settings.LANGUAGE_CODE):
            content = export.build(meeting, session=scope)
            pieces = content if export.streamed else [content]
            if output == "-":
                target = sys.stdout.buffer
                for piece in pieces:
                    target.write(piece)
                target.flush()
            else:
                path = Path(output or export.filename(meeting, scope))
                try:
                    with path.open("wb") as target:
                        for piece in pieces:
                            target.write(piece)
                except OSError as error:
                    raise CommandError(f"Cannot write {path}: {error.strerror}") from error
        audit.log_export(meeting=meeting, user=None, kind=export.kind, fmt=export.extension)
        if output != "-":
            self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({path.stat().st_size:,} bytes)."))
