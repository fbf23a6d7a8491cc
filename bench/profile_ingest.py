"""Where an answer post's CPU goes, in-process: bursts of answer posts through the project's ASGI
application (Channels' HttpCommunicator, Django's whole request path), the process CPU per answer.

    .venv/bin/python bench/profile_ingest.py [--posts 200] [--rounds 2] [--pg postgresql://.../db] [--profile 25]

Each round is a burst of --posts new answers, one per delegation, sent at once as a room of delegates
would (the view batches them: answer_batch). On SQLite (a file in a temporary directory, the
embedded default) unless --pg names a server to create a scratch database on. --profile N prints the
N costliest functions of the last round (cProfile of each thread's CPU time, every thread: the
request threads are where Django's path runs; the profiler about triples the figures). No sockets are open: what is
measured is the post, its batch and the live render that every answer costs; bench/bench_live.py
measures the whole loop over real sockets. Figures are CPU of this process only, so compare them
with a run of the other code in the same window (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def configure(pg: str | None) -> str | None:
    """Settings as the server gets them (a temporary SQLite file, or a scratch PostgreSQL database)."""
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="profile-ingest-")
    os.environ["SYNTHESIS_DELAY"] = "-1"  # the themes of answers are bench_opinion.py's
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facilitation.settings")
    scratch = None
    if pg:
        import psycopg

        scratch = f"profile_ingest_{os.getpid()}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {scratch}")
        os.environ["DATABASE_URL"] = pg.rsplit("/", 1)[0] + "/" + scratch
    else:
        os.environ.pop("DATABASE_URL", None)
    return scratch


async def burst(application, data: dict, numbers: range, csrf: str) -> list[int]:
    """Answers `numbers` posted at once, answer k by the delegate of delegation k % D; their statuses."""
    from channels.testing import HttpCommunicator

    d = data["delegations"]

    async def one(k: int) -> int:
        question = data["questions"][k // d][0]
        form = {"kind": "answer", "text": f"Profile answer {k}: our centre of government co-ordinates.", "key": f"profile-{k}"}
        headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
                   (b"content-type", b"application/x-www-form-urlencoded"), (b"hx-request", b"true"), (b"x-csrftoken", csrf.encode()),
                   (b"cookie", f"sessionid={data['delegates'][k % d]}; csrftoken={csrf}".encode())]  # fmt: skip
        communicator = HttpCommunicator(application, "POST", f"/meetings/{data['slug']}/questions/{question}/answer/",
                                        body=urlencode(form).encode(), headers=headers)  # fmt: skip
        response = await communicator.get_response(timeout=120)
        await communicator.wait(timeout=120)  # until Django has closed the request (its connection)
        return response["status"]

    return await asyncio.gather(*[one(k) for k in numbers])


PLAIN_RUN = threading.Thread.run


def profile_new_threads(profiles: list) -> None:
    """Each thread started from now on runs under a profiler of its own CPU time, added to `profiles`."""

    def run(self):
        profiler = cProfile.Profile(time.thread_time)
        profiles.append(profiler)
        profiler.enable()
        try:
            PLAIN_RUN(self)
        finally:
            profiler.disable()

    threading.Thread.run = run


async def measure(options) -> dict:
    from facilitation.asgi import application
    from sessions_app import answer_batch

    import benchdata

    posts, rounds = options.posts, options.rounds
    data = await asyncio.to_thread(benchdata.setup, label="profile", delegates=posts, delegations=posts, chairs=1,
                                   pairs=posts * (rounds + 1))  # fmt: skip
    csrf = secrets.token_hex(16)
    batches = answer_batch.batcher().stats
    warm = await burst(application, data, range(0, posts), csrf)  # cold code paths, templates, translations
    assert warm == [200] * posts, warm
    figures = []
    # CPU time per thread (time.thread_time), in every thread started during the round as well: the
    # request threads, where Django's path runs (C code such as SQLite's included).
    profiler = cProfile.Profile(time.thread_time) if options.profile else None
    profiles = [profiler] if profiler else []
    for r in range(1, rounds + 1):
        before = batches["batches"]
        if profiler is not None and r == rounds:
            profile_new_threads(profiles)
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        statuses = await burst(application, data, range(r * posts, (r + 1) * posts), csrf)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None and r == rounds:
            profiler.disable()
        assert statuses == [200] * posts, sorted(set(statuses))
        figures.append({"cpu_ms_per_answer": round(cpu * 1000 / posts, 2), "wall_s": round(wall, 2), "batches": batches["batches"] - before})
        print(f"round {r}: {figures[-1]}", flush=True)
    if profiler is not None:
        threading.Thread.run = PLAIN_RUN
        merged = pstats.Stats(*profiles)
        print(f"{len(profiles)} threads profiled")
        merged.sort_stats("cumulative").print_stats(options.profile)
        merged.sort_stats("tottime").print_stats(options.profile)
    return {"posts": posts, "rounds": figures, "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200, help="answers per burst (200)")
    parser.add_argument("--rounds", type=int, default=2, help="measured bursts, after one to warm up (2)")
    parser.add_argument("--pg", help="a PostgreSQL server's URL to create a scratch database on (else SQLite)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions of the last round")
    options = parser.parse_args()
    scratch = configure(options.pg)
    import django
    from django.core.management import call_command

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        result = asyncio.run(measure(options))
        result["database"] = "postgresql" if options.pg else "sqlite"
        print(json.dumps(result))
    finally:
        if scratch:
            import psycopg
            from django.db import connections

            connections.close_all()
            with psycopg.connect(options.pg, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")


if __name__ == "__main__":
    main()
