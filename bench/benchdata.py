"""The live benchmark's data, written with the project's own settings (run as a subprocess).

    python bench/benchdata.py setup --label L --delegates N --delegations D --chairs C --pairs P
    python bench/benchdata.py count --label L --marker bnch
    python bench/benchdata.py fill --label L --answers 10000

`setup` imports the demo meeting's notes, its three sessions repeated until there are at least P
(question, delegation) pairs (so that every benchmark answer is a new answer, as in a meeting),
adds D delegations, N delegate and C chair accounts with sessions already signed in, and prints
what the client needs as JSON.
Signing 2,000 accounts in over HTTP would cost 2,000 password hashes (minutes) and measure the
hasher, not the live loop; the client still signs one chair in through the real login form.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-2026"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facilitation.settings")
    import django

    django.setup()


def meeting_of(label: str):
    from sessions_app.models import Meeting

    return Meeting.objects.get(title=f"Benchmark meeting {label}")


def setup(*, label: str, delegates: int, delegations: int, chairs: int, pairs: int) -> dict:
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session as WebSession
    from django.utils import timezone
    from django_countries import countries

    from sessions_app import importer, services
    from sessions_app.management.commands.load_demo import DEFAULT_NOTES
    from sessions_app.models import Delegation, Participant, Question

    codes = [code for code, _name in countries][:delegations]
    Delegation.objects.bulk_create([Delegation(country=code) for code in codes], ignore_conflicts=True)
    rows = list(Delegation.objects.filter(country__in=codes).order_by("country"))

    notes = importer.parse_notes_bytes(DEFAULT_NOTES.read_bytes())
    per_copy = max(s.number for s in notes.sessions)
    questions_per_copy = sum(len(s.questions) for s in notes.sessions)
    copies = max(1, -(-pairs // (questions_per_copy * len(rows))))
    sessions = [dataclasses.replace(s, number=s.number + k * per_copy) for k in range(copies) for s in notes.sessions]
    meeting = services.import_meeting_notes(dataclasses.replace(notes, title=f"Benchmark meeting {label}", sessions=sessions))
    meeting.delegations.set(rows)

    hashed = make_password(PASSWORD)  # one hash for every account: hashing is not what is measured
    users = User.objects.bulk_create(
        [User(username=f"{label}-delegate-{i}", password=hashed, first_name="Delegate", last_name=str(i)) for i in range(delegates)]
        + [User(username=f"{label}-chair-{i}", password=hashed, first_name="Chair", last_name=str(i)) for i in range(chairs)]
    )
    Participant.objects.bulk_create(
        [Participant(user=user, role="delegate", delegation=rows[i % len(rows)]) for i, user in enumerate(users[:delegates])]
        + [Participant(user=user, role="chair") for user in users[delegates:]]
    )
    # Sessions as django.contrib.auth.login() would store them, without a password check each.
    store = SessionStore()
    expiry = timezone.now() + timedelta(days=1)
    keys = [store._get_new_session_key() for _ in users]
    WebSession.objects.bulk_create(
        [
            WebSession(
                session_key=key, expire_date=expiry,
                session_data=store.encode({"_auth_user_id": str(user.pk), "_auth_user_backend": settings.SIGN_IN_BACKEND,
                                           "_auth_user_hash": user.get_session_auth_hash()}),
            )
            for key, user in zip(keys, users)
        ],
        batch_size=1000,
    )  # fmt: skip
    questions = Question.objects.filter(session__meeting=meeting).order_by("session__number", "position")
    return {
        "slug": meeting.slug,
        "meeting_id": meeting.pk,
        "questions": [[q.pk, q.session.number] for q in questions.select_related("session")],
        "delegations": len(rows),
        # delegate i belongs to delegation i % delegations
        "delegates": keys[:delegates],
        "chairs": keys[delegates:],
        "chair_usernames": [user.username for user in users[delegates:]],
        "password": PASSWORD,
        "last_seq": meeting.last_seq,
    }


def count(*, label: str, marker: str) -> dict:
    from sessions_app.models import Answer

    meeting = meeting_of(label)
    answers = Answer.objects.filter(question__session__meeting=meeting, text__startswith=marker)
    return {"stored": answers.count()}


def fill(*, label: str, answers: int) -> dict:
    """Bulk-create this many answers (one revision each), question by question, every delegation."""
    from django.contrib.auth.models import User

    from sessions_app.models import Answer, AnswerRevision, Question

    meeting = meeting_of(label)
    delegations = list(meeting.delegations.order_by("country"))
    author = User.objects.filter(participant__delegation=delegations[0]).first()
    body = "Our centre of government publishes its plans, consults citizens and reports on progress every year. "
    rows = []
    for question in Question.objects.filter(session__meeting=meeting).order_by("session__number", "position"):
        for n, delegation in enumerate(delegations):
            if len(rows) == answers:
                break
            rows.append(Answer(question=question, delegation=delegation, text=body * (1 + n % 6), created_by=author, updated_by=author,
                               visibility="published" if n % 3 else "pending"))  # fmt: skip
    created = Answer.objects.bulk_create(rows, batch_size=1000)
    AnswerRevision.objects.bulk_create([AnswerRevision(answer=a, kind=a.kind, text=a.text, author=author) for a in created], batch_size=1000)
    return {"answers": Answer.objects.filter(question__session__meeting=meeting).count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("setup")
    one.add_argument("--label", required=True)
    one.add_argument("--delegates", type=int, required=True)
    one.add_argument("--delegations", type=int, required=True)
    one.add_argument("--chairs", type=int, default=3)
    one.add_argument("--pairs", type=int, default=1)
    two = commands.add_parser("count")
    two.add_argument("--label", required=True)
    two.add_argument("--marker", required=True)
    three = commands.add_parser("fill")
    three.add_argument("--label", required=True)
    three.add_argument("--answers", type=int, required=True)
    options = vars(parser.parse_args())
    command = options.pop("command")
    setup_django()
    result = {"setup": setup, "count": count, "fill": fill}[command](**options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
