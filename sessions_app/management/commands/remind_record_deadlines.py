from django.core.management.base import BaseCommand, CommandError

from ...records import notices


class Command(BaseCommand):
    help = ("Remind the delegations of each draft summary record whose deadline for comments is near: once "
            "48 hours and once 24 hours before it (by default), on their pages and by e-mail. Run it every "
            "hour or so (a systemd timer or cron: docs/deploy.md); a reminder is never sent twice.")

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, action="append",
                            help="Hours before the deadline to remind at; repeat it for several (default 48 and 24).")

    def handle(self, *args, hours: list[int] | None, **options):
        if hours and any(h <= 0 for h in hours):
            raise CommandError("--hours must be a positive number of hours.")
        reminded = notices.remind_deadlines(hours=tuple(hours or notices.REMINDER_HOURS))
        self.stdout.write(self.style.SUCCESS(f"Reminded the delegations of {len(reminded)} draft(s)."))
