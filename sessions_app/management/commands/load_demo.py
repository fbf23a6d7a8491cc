import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from ... import events, importer, polls, services
from ...library.demo import load_demo_library
from ...models import Meeting, Participant
from ...records.demo import ensure_demo_review
from ...opinion.demo import load_demo_round
from ...synthesis.demo import load_demo_themes

# The 38 OECD member countries (ISO 3166-1 alpha-2).
OECD_MEMBERS = (
    "AU AT BE CA CL CO CR CZ DK EE FI FR DE GR HU IS IE IL IT JP KR LV LT LU MX "
    "NL NZ NO PL PT SK SI ES SE CH TR GB US"
).split()
DEFAULT_NOTES = settings.BASE_DIR / "meetings" / "oecd-cog-2023.txt"


class Command(BaseCommand):
    help = "Load the demo meeting, the 38 OECD delegations and demo accounts. Safe to run again: keeps what exists."

    def add_arguments(self, parser):
        parser.add_argument("--notes", type=Path, default=DEFAULT_NOTES)
        parser.add_argument("--quiet-accounts", action="store_true", help="Do not print the account list.")
        parser.add_argument(
            "--library-demo", action="store_true",
            help="Also an earlier demo meeting (2022) with published practices, for the practice library.",
        )

    def handle(self, *args, notes: Path, quiet_accounts: bool, library_demo: bool = False, **options):
        # Built before the server serves it: its live events are stored, not rendered for sockets
        # that do not exist (rendering them for 38 delegations took nine tenths of the load).
        with events.stored_only():
            self._load(notes=notes, quiet_accounts=quiet_accounts, library_demo=library_demo)

    def _load(self, *, notes: Path, quiet_accounts: bool, library_demo: bool):
        password = settings.FACILITATION["DEMO_PASSWORD"]
        hashed = make_password(password)  # hashed once for the 40 demo accounts, not 40 times
        delegations = services.ensure_delegations(codes=OECD_MEMBERS)
        parsed = importer.parse_notes_bytes(notes.read_bytes())
        meeting = Meeting.objects.filter(title=parsed.title).first()
        if meeting is None:
            meeting = services.import_meeting_notes(parsed, source_name=notes.name)
        meeting.delegations.add(*delegations)
        if library_demo:
            load_demo_library(delegations)  # an earlier meeting's practices, for the practice library

        secretariat_group = self._secretariat_group()
        chair = services.ensure_user(username="chair", password_hash=hashed, role=Participant.Role.CHAIR, first_name="Demo", last_name="Chair")
        secretariat = services.ensure_user(
            username="secretariat", password_hash=hashed, role=Participant.Role.SECRETARIAT,
            first_name="Demo", last_name="Secretariat", is_staff=True,
        )
        secretariat.groups.add(secretariat_group)
        for delegation in delegations:
            services.ensure_user(
                username=f"delegate-{delegation.code.lower()}", password_hash=hashed,
                role=Participant.Role.DELEGATE, delegation=delegation,
                first_name="Delegate", last_name=delegation.name,
            )
        polls_file = notes.with_suffix(".polls.json")
        if polls_file.exists():
            polls.import_polls(user=chair, meeting=meeting, data=json.loads(polls_file.read_text(encoding="utf-8")))
        ensure_demo_review(meeting=meeting, secretariat=secretariat, chair=chair)
        load_demo_round(chair=chair, meeting=meeting)
        load_demo_themes(meeting=meeting)
        if quiet_accounts:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo meeting: {meeting.title} — room code {meeting.join_code}"))
        self.stdout.write(f"Demo accounts (password for all: {password}):")
        self.stdout.write("  chair          the chair's console")
        self.stdout.write("  secretariat    set-up, records and the admin (/admin/)")
        self.stdout.write("  delegate-fr, delegate-de, delegate-jp, … one delegate per OECD member (ISO code)")

    @staticmethod
    def _secretariat_group() -> Group:
        """Admin permissions for the secretariat: everything in this app, and user accounts."""
        group, _created = Group.objects.get_or_create(name="Secretariat")
        group.permissions.set(Permission.objects.filter(content_type__app_label__in=["sessions_app", "auth"]))
        return group
