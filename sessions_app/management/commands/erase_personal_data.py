from django.core.management.base import BaseCommand, CommandError

from ...models import Meeting
from ...personal_data import services


class Command(BaseCommand):
    help = (
        "Erase the personal data of a meeting's people (names, e-mail addresses, sign-in links, sign-in records, "
        "authorship of its rows), keeping its anonymised record: answers, practices and votes stay, attributed to "
        "their delegation. Shows what it would do; --yes does it. Backups taken before keep what they held."
    )

    def add_arguments(self, parser):
        parser.add_argument("--meeting", metavar="SLUG", required=True)
        parser.add_argument("--yes", action="store_true", help="Erase (without it, only show the counts).")

    def handle(self, *args, meeting: str, yes: bool, **options):
        target = Meeting.objects.filter(slug=meeting).first()
        if target is None:
            raise CommandError(f"No meeting with the slug “{meeting}”.")
        plan = services.erase_personal_data(target) if yes else services.plan_erasure(target)
        heading = "Erased" if yes else "Dry run (nothing changed; add --yes to erase)"
        self.stdout.write(f"{heading}: “{target.slug}”")
        width = max(len(label) for label in plan.counts)
        for label, count in plan.counts.items():
            self.stdout.write(f"  {label.ljust(width)}  {count:>6}")
        if yes:
            self.stdout.write(self.style.SUCCESS("Done; logged in the meeting's audit log (counts only)."))
