"""How long each export takes, and how much memory it needs, for a large meeting.

    .venv/bin/python bench/bench_exports.py [--sessions 25] [--practices 1000]

Standalone: it sets DJANGO_SETTINGS_MODULE, builds a temporary SQLite database, creates a meeting
of 40 delegations answering 10 questions in each of 25 sessions (10,000 answers, each with one
revision) and 1,000 country practices with bulk_create, then runs every export format twice: once
for the time and query count, once under tracemalloc for the peak of Python memory (tracemalloc
slows code down, so it is not timed). Prints a table and writes bench/results/exports.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "exports.json"
DELEGATIONS = 40
QUESTIONS_PER_SESSION = 10


def setup_django(directory: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "facilitation.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ["DATA_DIR"] = directory
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_meeting(*, sessions: int, practices: int):
    """The benchmark meeting, written with bulk_create (minutes with save(), seconds this way)."""
    from django.contrib.auth.models import User
    from django_countries import countries

    from sessions_app.models import (
        Answer, AnswerRevision, Block, ConclusionRevision, Delegation, FloorRequest, Meeting, ModerationAction,
        Participant, Poll, PollOption, Practice, Question, Session, Theme, Vote,
    )  # fmt: skip

    codes = [code for code, _name in countries][:DELEGATIONS]
    delegations = Delegation.objects.bulk_create([Delegation(country=code) for code in codes])
    meeting = Meeting.objects.create(title="Benchmark meeting of centres of government", slug="bench", place="Paris", join_code="BENCH1")
    meeting.delegations.set(delegations)
    users = User.objects.bulk_create([User(username=f"delegate-{code.lower()}", first_name="Delegate", last_name=code) for code in codes])
    chair = User.objects.create(username="chair", first_name="Bench", last_name="Chair")
    Participant.objects.bulk_create(
        [Participant(user=user, role="delegate", delegation=delegation) for user, delegation in zip(users, delegations)]
        + [Participant(user=chair, role="chair")]
    )
    session_rows = Session.objects.bulk_create(
        [Session(meeting=meeting, number=n, title=f"Session {n}: resilience, trust and foresight") for n in range(1, sessions + 1)]
    )
    paragraph = "Centres of government co-ordinate policy across ministries and steer long-term priorities. " * 4
    blocks = Block.objects.bulk_create(
        [
            Block(session=session, position=p, kind="paragraph", number=p, text=paragraph, html=f"<p>{paragraph}</p>")
            for session in session_rows
            for p in range(1, 6)
        ]
    )
    questions = Question.objects.bulk_create(
        [
            Question(session=session, position=p, text=f"Question {p}: how does your centre of government act?", html="q")
            for session in session_rows
            for p in range(1, QUESTIONS_PER_SESSION + 1)
        ]
    )
    body = "Our centre of government publishes its plans, consults citizens and reports on progress every year. "
    answers = []
    for q_index, question in enumerate(questions):
        for d_index, (delegation, user) in enumerate(zip(delegations, users)):
            n = q_index * DELEGATIONS + d_index
            kind = "none" if n % 41 == 0 else "writing" if n % 43 == 0 else "answer"
            answers.append(
                Answer(
                    question=question, delegation=delegation, kind=kind, text=(body * (1 + n % 8)) if kind == "answer" else "",
                    visibility="hidden" if n % 37 == 0 else "published", hidden_reason="Off topic" if n % 37 == 0 else "",
                    starred=n % 50 == 0 and n % 37 != 0, created_by=user, updated_by=user,
                )
            )  # fmt: skip
    answers = Answer.objects.bulk_create(answers, batch_size=2000)
    AnswerRevision.objects.bulk_create(
        [AnswerRevision(answer=answer, kind=answer.kind, text=answer.text, author=answer.created_by) for answer in answers],
        batch_size=2000,
    )
    themes = Theme.objects.bulk_create([Theme(meeting=meeting, name=f"Theme {n}") for n in range(1, 9)])
    practice_rows = Practice.objects.bulk_create(
        [
            Practice(
                session=session_rows[n % sessions], delegation=delegations[n % DELEGATIONS], title=f"Practice {n}: a national strategy",
                description=body * (1 + n % 5), link=f"https://example.org/practice/{n}",
                question=questions[(n % sessions) * QUESTIONS_PER_SESSION], paragraph=blocks[(n % sessions) * 5],
                visibility="hidden" if n % 29 == 0 else "published", created_by=users[n % DELEGATIONS],
            )
            for n in range(practices)
        ],
        batch_size=1000,
    )  # fmt: skip
    Practice.themes.through.objects.bulk_create(
        [
            Practice.themes.through(practice=practice, theme=themes[(n + k) % len(themes)])
            for n, practice in enumerate(practice_rows)
            for k in range(n % 3)
        ],
        batch_size=2000,
    )
    ConclusionRevision.objects.bulk_create(
        [ConclusionRevision(session=session, text=paragraph * 3, author=chair) for session in session_rows for _ in range(2)]
    )
    FloorRequest.objects.bulk_create(
        [
            FloorRequest(session=session, delegation=delegations[k], status="done", position=k, started_at=datetime.now(UTC),
                         ended_at=datetime.now(UTC), speaking_seconds=120)
            for session in session_rows
            for k in range(10)
        ]
    )  # fmt: skip
    polls = Poll.objects.bulk_create([Poll(session=session, prompt="Is trust rising?", status="closed") for session in session_rows])
    options = PollOption.objects.bulk_create(
        [PollOption(poll=poll, position=p, label=label) for poll in polls for p, label in ((1, "Yes"), (2, "No"))]
    )
    votes = Vote.objects.bulk_create(
        [Vote(poll=poll, voter_key=f"d{delegation.pk}", delegation=delegation) for poll in polls for delegation in delegations]
    )
    Vote.options.through.objects.bulk_create(
        [Vote.options.through(vote=vote, polloption=options[2 * (n // DELEGATIONS) + n % 2]) for n, vote in enumerate(votes)],
        batch_size=2000,
    )
    ModerationAction.objects.bulk_create(
        [ModerationAction(meeting=meeting, actor=chair, action="publish", answer=answer) for answer in answers[::20]]
    )
    return meeting, chair


def consume(result) -> int:
    """Size in bytes of an export, reading a stream piece by piece as a server would."""
    if isinstance(result, bytes | str):
        return len(result)
    return sum(len(piece) for piece in result)


def measure(run) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    gc.collect()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        size = run()
        seconds = time.perf_counter() - started
    # Read now: the next request through the test client clears the connection's query log.
    query_count = len(queries.captured_queries)
    gc.collect()
    tracemalloc.start()
    try:
        run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 2), "bytes": size, "queries": query_count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--practices", type=int, default=1000)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-exports-") as directory:
        setup_django(directory)
        from django.test import Client
        from django.urls import reverse
        from django.utils import translation

        from sessions_app.exports import FORMATS, record
        from sessions_app.models import Answer, Meeting, Practice

        translation.activate("en")
        started = time.perf_counter()
        meeting, chair = create_meeting(sessions=options.sessions, practices=options.practices)
        created = time.perf_counter() - started
        answers = Answer.objects.filter(question__session__meeting=meeting).count()
        practices = Practice.objects.filter(session__meeting=meeting).count()
        print(f"Created {answers:,} answers and {practices:,} practices in {options.sessions} sessions ({created:.1f} s).\n")

        client = Client()
        client.force_login(chair)
        results = {}
        for name, export in FORMATS.items():
            results[name] = measure(lambda export=export: consume(export.build(meeting)))
        for name, url_name in (("summary-html", "records_summary"), ("compendium-html", "records_compendium")):
            url = reverse(url_name, args=[meeting.slug])
            results[name] = measure(lambda url=url: consume(client.get(url).content))
        document = record.export_record(meeting)
        copies = iter(range(1, 10))

        def restore() -> int:
            copy = json.loads(json.dumps(document))
            copy["meeting"]["slug"] = f"bench-copy-{next(copies)}"
            return record.restore_record(copy).pk

        results["json-restore"] = measure(restore)
        results["json-restore"]["bytes"] = len(record.dumps(document))
        Meeting.objects.filter(slug__startswith="bench-copy-").delete()

    header = f"{'format':<17} {'size':>10} {'time (s)':>9} {'peak (MiB)':>11} {'queries':>8}"
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        print(f"{name:<17} {row['bytes'] / 2**20:>8.2f}MB {row['seconds']:>9.3f} {row['peak_mib']:>11.2f} {row['queries']:>8}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "exports",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
                "data": {"delegations": DELEGATIONS, "sessions": options.sessions, "questions_per_session": QUESTIONS_PER_SESSION,
                         "answers": answers, "practices": practices},
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    print(f"\nWrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
