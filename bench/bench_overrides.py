"""What the two remaining overrides of the stack buy, in-process, each against the stack's own class in
the same run (docs/performance.md, "Overrides"):

- facilitation.layers.InMemoryChannelLayer (Channels' in-memory layer, sweeping expired entries at
  most once a second): a broadcast's group_send and its receive by the process's hub, with the hub's
  channel in N users' groups (one per socket's user), as in the embedded server.
- facilitation.sqlite (Django's SQLite backend with the writers of a process queued on a lock):
  W threads each storing T small transactions at once, as a burst of answers does.

Run: .venv/bin/python bench/bench_overrides.py [--sockets 2000] [--writers 8] [--transactions 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facilitation.settings")


async def layer_broadcast_ms(layer_class, sockets: int, rounds: int) -> float:
    """Median ms of one group_send to a group the hub's channel is in, plus the hub's receive of it."""
    layer = layer_class(capacity=2000)
    hub = await layer.new_channel()
    for i in range(sockets):  # each socket's user's group (its own fragments and its revocation)
        await layer.group_add(f"user.{i}", hub)
    await layer.group_add("meeting.1.bundle", hub)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await layer.group_send("meeting.1.bundle", {"type": "live.bundle", "fragments": []})
        await layer.receive(hub)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 3)


def sqlite_burst_s(alias: str, writers: int, transactions: int) -> float:
    """Seconds until W threads have each committed T one-row transactions on one SQLite file."""
    from django.db import connections, transaction

    with connections[alias].cursor() as cursor:
        cursor.execute("CREATE TABLE answer (id INTEGER PRIMARY KEY, text TEXT)")
    connections[alias].close()
    start = threading.Barrier(writers + 1)

    def write(n: int) -> None:  # one connection per thread, as under the server
        start.wait()
        for i in range(transactions):
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute("INSERT INTO answer (text) VALUES (%s)", [f"answer {n}.{i}"])
                cursor.execute("SELECT count(*) FROM answer")  # some work while holding the write lock
        connections[alias].close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return round(time.perf_counter() - started, 3)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each pair")
    options = parser.parse_args(argv)

    import django
    from django.conf import settings
    from channels import layers

    directory = Path(tempfile.mkdtemp(prefix="bench-overrides-"))
    options_ = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    settings.configure(INSTALLED_APPS=[], DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "default.sqlite3")},
    } | {f"{engine}{i}": {"ENGINE": module, "NAME": str(directory / f"{engine}{i}.sqlite3"), "OPTIONS": options_}
         for i in range(options.repeats) for engine, module in (("django", "django.db.backends.sqlite3"), ("ours", "facilitation.sqlite"))})  # fmt: skip
    django.setup()
    from facilitation.layers import InMemoryChannelLayer

    result = {"sockets": options.sockets, "writers": options.writers, "transactions": options.transactions,
              "layer_broadcast_ms": {"channels": [], "ours": []}, "sqlite_burst_s": {"django": [], "ours": []}}  # fmt: skip
    for i in range(options.repeats):  # alternating, so that a slower minute of the machine hits both
        for name, layer_class in (("channels", layers.InMemoryChannelLayer), ("ours", InMemoryChannelLayer)):
            result["layer_broadcast_ms"][name].append(asyncio.run(layer_broadcast_ms(layer_class, options.sockets, options.rounds)))
        for engine in ("django", "ours"):
            result["sqlite_burst_s"][engine].append(sqlite_burst_s(f"{engine}{i}", options.writers, options.transactions))
    for key in ("layer_broadcast_ms", "sqlite_burst_s"):
        medians = {name: statistics.median(values) for name, values in result[key].items()}
        first, second = medians
        result[key]["ratio_stack_over_ours"] = round(medians[first] / medians["ours"], 2) if medians["ours"] else None
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
