from datetime import timedelta

from django.core.management.base import BaseCommand

from ...records import services


class Command(BaseCommand):
    help = "E-mail the delegations once about each draft summary record whose deadline for comments is near."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="How near the deadline is (default 24 hours).")

    def handle(self, *args, hours: int, **options):
        due = services.remind_deadlines(within=timedelta(hours=hours))
        self.stdout.write(self.style.SUCCESS(f"Reminded the delegations of {len(due)} draft(s)."))
