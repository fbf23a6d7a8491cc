"""Live-loop benchmark (a first cut of issue 7): fan-out of "now discussing" and an answer burst.

Starts the real server (Uvicorn, real settings, embedded mode: SQLite + in-memory layer) on
127.0.0.1, connects N delegate sockets and one console, then measures:
- fan-out: from the chair's POST until every delegate socket has the fragment (median of 5);
- ingest: every delegate's answer posted at once over HTTP; stored vs sent vs shown on the console.
Bounded in count and time; nothing leaves 127.0.0.1.

    python bench/bench_live.py [N ...]
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, manage, project_env, start_server, stop_servers  # noqa: E402

PASSWORD = "bench-password"
CODES = "AU AT BE CA CL CO CR CZ DK EE FI FR DE GR HU IS IE IL IT JP KR LV LT LU MX NL NZ NO PL PT SK SI ES SE CH TR GB US".split()


async def login(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = await client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = await client.post("/accounts/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302, f"login {username}: {response.status_code}"
    return client


async def run(n: int, port: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    chair = await login(base, "chair")
    slug = (await chair.get("/")).headers["location"].strip("/").split("/")[-1]
    console_page = (await chair.get(f"/meetings/{slug}/sessions/1/console/")).text
    question_ids = re.findall(r'id="console-q(\d+)"', console_page)
    chair_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', console_page).group(1)
    origin = base

    # Delegates: one socket each, in batches, on session 1's delegate page.
    users = [f"delegate-{CODES[i % len(CODES)].lower()}" for i in range(n)]
    clients = await asyncio.gather(*(login(base, user) for user in sorted(set(users))))
    by_user = dict(zip(sorted(set(users)), clients))
    sockets = []
    t0 = time.perf_counter()
    for start in range(0, n, 100):
        batch = users[start:start + 100]
        sockets += await asyncio.gather(*(
            websockets.connect(f"ws://127.0.0.1:{port}/ws/meetings/{slug}/sessions/1/delegate/",
                               additional_headers={"Cookie": f"sessionid={by_user[u].cookies['sessionid']}"}, origin=origin)
            for u in batch
        ))
    connect_s = time.perf_counter() - t0
    console = await websockets.connect(f"ws://127.0.0.1:{port}/ws/meetings/{slug}/sessions/1/console/",
                                       additional_headers={"Cookie": f"sessionid={chair.cookies['sessionid']}"}, origin=origin)

    async def wait_all(marker: str) -> list[float]:
        async def one(sock):
            while True:
                message = await sock.recv()
                if marker in message:
                    return time.perf_counter()
        return await asyncio.wait_for(asyncio.gather(*(one(s) for s in sockets)), timeout=60)

    fanouts = []
    for round_ in range(5):
        question = question_ids[round_ % len(question_ids)]
        waiter = asyncio.create_task(wait_all(f'data-question-id="{question}"'))
        start = time.perf_counter()
        await chair.post(f"/meetings/{slug}/discussion/", data={"question": question, "csrfmiddlewaretoken": chair_token})
        arrivals = await waiter
        fanouts.append((max(arrivals) - start) * 1000)

    # Ingest: each delegation answers question 1 once, all at once (one answer per delegation).
    delegations = sorted(set(users))
    pages = {u: (await by_user[u].get(f"/meetings/{slug}/sessions/1/")).text for u in delegations}
    shown: set[str] = set()

    async def watch_console():
        while len(shown) < len(delegations):
            message = await console.recv()
            shown.update(re.findall(r'Bench answer from ([a-z-]+)', message))

    watcher = asyncio.create_task(watch_console())
    start = time.perf_counter()

    async def post(u):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', pages[u]).group(1)
        r = await by_user[u].post(f"/meetings/{slug}/questions/{question_ids[0]}/answer/",
                                  data={"kind": "answer", "text": f"Bench answer from {u}", "key": f"bench-{u}", "csrfmiddlewaretoken": token})
        return r.status_code in (200, 302)

    results = await asyncio.gather(*(post(u) for u in delegations))
    try:
        await asyncio.wait_for(watcher, timeout=30)
    except asyncio.TimeoutError:
        pass
    ingest_s = time.perf_counter() - start
    for sock in sockets + [console]:
        await sock.close()
    for client in clients + [chair]:
        await client.aclose()
    return {
        "mode": "embedded", "server": "ours", "n": n,
        "connect_s": round(connect_s, 3),
        "fanout_all_ms": round(statistics.median(fanouts), 1), "fanout_max_ms": round(max(fanouts), 1),
        "sent": len(delegations), "stored": sum(results), "shown": len(shown),
        "ingest_burst_s": round(ingest_s, 3),
    }


def main(ns: list[int]) -> list[dict]:
    runs = []
    for n in ns:
        with tempfile.TemporaryDirectory() as data_dir:
            env = project_env(DATA_DIR=data_dir, DEMO_PASSWORD=PASSWORD)
            manage(env, "migrate", "--noinput")
            manage(env, "load_demo", "--quiet-accounts")
            port = free_port()
            server = start_server(env, port, "--backlog", "4096")
            try:
                runs.append(asyncio.run(run(n, port)))
            finally:
                stop_servers(server)
        print(json.dumps(runs[-1]))
    return runs


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [20, 200])
