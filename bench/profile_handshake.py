"""Where a WebSocket handshake's CPU goes, in-process: delegate sockets through the project's ASGI
application (Channels' WebsocketCommunicator: the origin check, cookies, the session, the user,
the consumer's checks, its groups), the process CPU per socket.

    .venv/bin/python bench/profile_handshake.py [--sockets 1000] [--pg postgresql://.../db] [--redis redis://.../n] [--profile 30]

Each socket does what a page does on (re)connecting: the handshake, then the resync every page
sends as soon as its socket opens (`after` the meeting's last event number, as a page that missed
nothing: the common case of a reconnect storm); once every socket is open, each disconnects (the
storm's other half, for the sockets that were cut). --batch handshakes run at once, as the bench's
client opens them. Two figures: CPU per socket until accepted (`handshake`), and for the resync and
disconnect (`resync_disconnect`). --profile N prints the N costliest functions of the second round
(cProfile of each thread's CPU time, the sockets' database thread included; the profiler about
doubles the figures). On SQLite and the in-memory layer (a file in a temporary directory, the
embedded default) unless --pg / --redis name servers (the scaled mode: a scratch database is
created and dropped, the Redis database's channel-layer keys are deleted). No HTTP server and no
real sockets: Uvicorn's and wsproto's share is bench/bench_live.py's (the storm's server CPU).
Compare with a run of the other code in the same window (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from profile_ingest import PLAIN_RUN, configure, profile_new_threads  # noqa: E402


def clear_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("asgi*"):
        client.delete(key)
    client.close()


async def open_sockets(application, data: dict, sockets: int, batch: int, after: int) -> list:
    """Every delegate's socket opened (batch at a time) and its resync sent; the communicators."""
    from channels.testing import WebsocketCommunicator

    path = f"/ws/meetings/{data['slug']}/sessions/1/delegate/"

    async def one(k: int):
        headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
                   (b"cookie", f"sessionid={data['delegates'][k]}".encode())]  # fmt: skip
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=60)
        assert connected, code
        await communicator.send_json_to({"type": "resync", "after": after})
        return communicator

    opened = []
    for start in range(0, sockets, batch):
        opened += await asyncio.gather(*[one(k) for k in range(start, min(start + batch, sockets))])
    return opened


async def close_sockets(communicators: list, batch: int) -> None:
    for start in range(0, len(communicators), batch):
        await asyncio.gather(*[c.disconnect(timeout=60) for c in communicators[start : start + batch]])


async def measure(options) -> dict:
    from django.db import connections

    from facilitation.asgi import application
    from sessions_app.live import fanout, quiet_check
    from sessions_app.middleware import socket_database

    import benchdata

    data = await asyncio.to_thread(benchdata.setup, label="handshake", delegates=options.sockets, delegations=min(options.sockets, 193),
                                   chairs=1, pairs=1)  # fmt: skip
    await asyncio.to_thread(connections.close_all)
    after = data["last_seq"]
    # Cold code paths, templates, translations, the hub's own channel: one round before the measured ones.
    await close_sockets(await open_sockets(application, data, min(options.sockets, options.batch), options.batch, after), options.batch)
    figures = []
    profiler = cProfile.Profile(time.thread_time) if options.profile else None
    # The sockets' database thread (middleware.socket_database: the session, the user, the consumer's
    # checks, the resync) exists since the warm-up: its profiler is switched on and off in it.
    database_profiler = cProfile.Profile(time.thread_time) if options.profile else None
    profiles = [profiler, database_profiler] if profiler else []
    for r in range(1, options.rounds + 1):
        quiet_check.forget()
        profiling = profiler is not None and r == options.rounds
        if profiling:
            profile_new_threads(profiles)
            await socket_database(database_profiler.enable)()
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        opened = await open_sockets(application, data, options.sockets, options.batch, after)
        cpu_open, wall_open = time.process_time() - cpu, time.perf_counter() - wall
        cpu = time.process_time()
        await close_sockets(opened, options.batch)
        cpu_close = time.process_time() - cpu
        if profiling:
            profiler.disable()
            await socket_database(database_profiler.disable)()
        n = options.sockets
        figures.append({"handshake_cpu_ms": round(cpu_open * 1000 / n, 3), "resync_disconnect_cpu_ms": round(cpu_close * 1000 / n, 3),
                        "open_wall_s": round(wall_open, 2)})  # fmt: skip
        print(f"round {r}: {figures[-1]}", flush=True)
    assert not fanout._hubs, "a hub outlived its sockets"
    if profiler is not None:
        threading_restore()
        merged = pstats.Stats(*profiles)
        print(f"{len(profiles)} threads profiled")
        merged.sort_stats("cumulative").print_stats(options.profile)
        merged.sort_stats("tottime").print_stats(options.profile)
        if options.dump:
            merged.dump_stats(options.dump)
    return {"sockets": options.sockets, "batch": options.batch, "rounds": figures, "load_average": [round(x, 2) for x in os.getloadavg()]}


def threading_restore() -> None:
    import threading

    threading.Thread.run = PLAIN_RUN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000, help="delegate sockets per round (1000)")
    parser.add_argument("--batch", type=int, default=100, help="handshakes at once (100)")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds, after one to warm up (2)")
    parser.add_argument("--pg", help="a PostgreSQL server's URL to create a scratch database on (else SQLite)")
    parser.add_argument("--redis", help="a Redis database for channels-redis (else the in-memory layer); its asgi* keys are deleted")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions of the last round")
    parser.add_argument("--dump", help="with --profile, also write the merged profile to this file (pstats)")
    options = parser.parse_args()
    scratch = configure(options.pg)
    if options.redis:
        os.environ["REDIS_URL"] = options.redis
        clear_redis(options.redis)
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="profile-handshake-"))
    import django
    from django.core.management import call_command

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        result = asyncio.run(measure(options))
        result["database"] = "postgresql" if options.pg else "sqlite"
        result["layer"] = "redis" if options.redis else "in-memory"
        print(json.dumps(result))
    finally:
        if options.redis:
            clear_redis(options.redis)
        if scratch:
            import psycopg
            from django.db import connections

            connections.close_all()
            with psycopg.connect(options.pg, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")


if __name__ == "__main__":
    main()
