"""The live benchmark's data, written with the project's own settings (run as a subprocess).

    python bench/benchdata.py setup --label L --delegates N --delegations D --chairs C --pairs P
    python bench/benchdata.py count --label L --marker bnch
    python bench/benchdata.py fill --label L --answers 10000
    python bench/benchdata.py round --label L --statements S --prevoted P
    python bench/benchdata.py votes --label L --round R

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
                session_data=store.encode({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
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


def choice_of(delegation: int, statement: int) -> int:
    """The vote of delegation index d on statement index j: three blocs (d mod 3) with their own stance
    on each statement, 10 % voting the other way and 5 % passing; fixed seeds."""
    import numpy as np

    stance = np.random.default_rng(statement).choice([-1, 1], size=3)
    noise = np.random.default_rng(10_000 + statement * 1_000 + delegation).random()
    if noise < 0.1:
        return int(-stance[delegation % 3])
    if noise < 0.15:
        return 0
    return int(stance[delegation % 3])


def opinion_round(*, label: str, statements: int, prevoted: int = 0) -> dict:
    """An open opinion round on session 1 with this many approved statements, each text marked
    "vstmt<j>x" (the vote benchmark finds its row in the console's table of votes by it), and each
    delegate's delegation id (delegate i votes for it). Every delegation has already voted on the
    first `prevoted` statements, and the round is analysed: the console starts with groups and a map."""
    from sessions_app.models import OpinionRound, Participant, Statement, StatementVote
    from sessions_app.opinion.services import analyse_round, fold

    meeting = meeting_of(label)
    round = OpinionRound.objects.create(session=meeting.sessions.get(number=1), title=f"Benchmark round {label}")
    texts = [f"vstmt{j}x Our delegation supports measure {j} of the draft conclusions." for j in range(statements)]
    rows = Statement.objects.bulk_create([Statement(round=round, text=text, folded=fold(text), position=j + 1) for j, text in enumerate(texts)])
    delegates = Participant.objects.filter(user__username__startswith=f"{label}-delegate-", role="delegate")
    by_name = dict(delegates.values_list("user__username", "delegation_id"))
    delegation_of = [by_name[f"{label}-delegate-{i}"] for i in range(len(by_name))]
    StatementVote.objects.bulk_create([StatementVote(statement=rows[j], delegation_id=delegation, choice=choice_of(i, j))
                                       for j in range(prevoted) for i, delegation in enumerate(delegation_of)], batch_size=1000)
    if prevoted:
        analyse_round(round.pk)
    return {"round": round.pk, "statements": [row.pk for row in rows], "delegation_of": delegation_of}


def vote_events(*, label: str, round: int) -> dict:
    """The round's stored votes and the live event number each was stored with: [statement, delegation, seq]."""
    from sessions_app.models import Event, StatementVote

    meeting = meeting_of(label)
    rows = Event.objects.filter(meeting=meeting, type="opinion.voted", payload__round=round).values_list("seq", "payload")
    return {"votes": [[payload["statement"], payload["delegation"], seq] for seq, payload in rows],
            "stored": StatementVote.objects.filter(statement__round_id=round).count()}


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
    four = commands.add_parser("round")
    four.add_argument("--label", required=True)
    four.add_argument("--statements", type=int, required=True)
    four.add_argument("--prevoted", type=int, default=0)
    five = commands.add_parser("votes")
    five.add_argument("--label", required=True)
    five.add_argument("--round", type=int, required=True)
    options = vars(parser.parse_args())
    command = options.pop("command")
    setup_django()
    commands = {"setup": setup, "count": count, "fill": fill, "round": opinion_round, "votes": vote_events}
    result = commands[command](**options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
