"""make chaos: faults on the real stack. Two Uvicorn processes on PostgreSQL (a database of their
own) and a redis-server this test starts on its own port; simulated delegates post answers over HTTP
to both processes; the chair's console is the real page in Chromium, on process A, so that its own
script does the repairing. Each scenario compares what was acknowledged, stored and shown, and
records how long the console took to show everything (bench/results/chaos.json).

Run: make chaos (full) or make chaos-ci (reduced: fewer answers). Marked `chaos`, outside `make test`'s default run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from .servers import ROOT, manage, project_env, start_server, stop_servers

pytestmark = pytest.mark.chaos

PASSWORD = "demo-meeting-2023"
ADMIN_URL = os.environ.get("CHAOS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wt_22a")
DB_NAME = os.environ.get("CHAOS_DB_NAME", "wt_22a_chaos")
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "8192"))
PORTS = (int(os.environ.get("CHAOS_PORT_A", "8110")), int(os.environ.get("CHAOS_PORT_B", "8111")))
REDUCED = os.environ.get("CHAOS_SCALE", "full") == "ci"
DELEGATIONS = ["fr", "de", "it", "jp", "ca", "se", "fi", "nl", "no", "be", "at", "dk"][: 6 if REDUCED else 12]
ROUNDS = 2 if REDUCED else 4
RESULTS = ROOT / "bench" / "results" / "chaos.json"
CONVERGE_TIMEOUT_S = 30


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


class OwnRedis:
    def __init__(self, port: int):
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def stack():
    psycopg = pytest.importorskip("psycopg")
    _require(shutil.which("redis-server") is not None, "redis-server is not installed")
    _require(Path("/usr/bin/chromium").exists(), "/usr/bin/chromium is not installed")
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as error:
        _require(False, f"PostgreSQL is not reachable at {ADMIN_URL}: {error}")
    admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {DB_NAME}")
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
    redis = OwnRedis(REDIS_PORT)
    redis.start()
    env = project_env(DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0", DEMO_PASSWORD=PASSWORD)
    manage(env, "migrate", "--noinput")
    manage(env, "load_demo", "--quiet-accounts")
    servers = [start_server(env, port) for port in PORTS]
    db = psycopg.connect(database_url, autocommit=True)
    try:
        yield {"redis": redis, "servers": servers, "db": db}
    finally:
        db.close()
        stop_servers(*servers)
        redis.kill()
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def console(stack):
    from playwright.sync_api import expect, sync_playwright

    from .browser.helpers import CHROMIUM, CHROMIUM_ARGS, LIVE_PROBE, login

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=f"http://127.0.0.1:{PORTS[0]}")
        context.set_default_timeout(15_000)
        page = context.new_page()
        login(page, "chair", PASSWORD)
        slug = page.url.rstrip("/").split("/")[-1]
        page.add_init_script(LIVE_PROBE)
        page.goto(f"/meetings/{slug}/sessions/1/console/")
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=10_000)
        page.evaluate("window.__notReloaded = true")
        yield {"page": page, "slug": slug}
        browser.close()


class Delegate:
    def __init__(self, port: int, code: str, slug: str):
        self.code = code
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        page = self.client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post("/accounts/login/", data={"username": f"delegate-{code}", "password": PASSWORD, "csrfmiddlewaretoken": token})
        page = self.client.get(f"/meetings/{slug}/sessions/1/").text
        self.questions = re.findall(r'id="question-(\d+)"', page)
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        self.slug = slug

    def answer(self, qid: str, text: str) -> bool:
        try:
            response = self.client.post(f"/meetings/{self.slug}/questions/{qid}/answer/",
                                        data={"kind": "answer", "text": text, "key": uuid.uuid4().hex, "csrfmiddlewaretoken": self.token})
        except httpx.HTTPError:
            return False
        return response.status_code in (200, 302)


def shown_texts(page) -> str:
    return "\n".join(page.locator("#console-live article.answer-card").all_inner_texts())


def run_scenario(name: str, stack, console, fault=None) -> dict:
    """Post every delegation's answers (ROUNDS edits of each question), alternating the processes,
    with `fault(posted_fraction)` called as posting goes; then wait for the console to show the last
    acknowledged text of each answer."""
    page, slug = console["page"], console["slug"]
    delegates = [Delegate(PORTS[number % 2], code, slug) for number, code in enumerate(DELEGATIONS)]
    plan = [(d, qid, rnd) for rnd in range(ROUNDS) for d in delegates for qid in d.questions]
    latest, acknowledged, refused = {}, 0, 0
    started = time.monotonic()
    for index, (delegate, qid, rnd) in enumerate(plan):
        if fault is not None:
            fault(index / len(plan))
        text = f"chaos {name} {delegate.code} q{qid} r{rnd} {uuid.uuid4().hex[:6]}"
        if delegate.answer(qid, text):
            acknowledged += 1
            latest[(delegate.code, qid)] = text
        else:
            refused += 1
    posted = time.monotonic()
    stored = {row[0] for row in stack["db"].execute("SELECT text FROM sessions_app_answer WHERE text LIKE %s", [f"chaos {name} %"])}
    missing = set(latest.values())
    while missing and time.monotonic() - posted < CONVERGE_TIMEOUT_S:
        shown = shown_texts(page)
        missing = {text for text in missing if text not in shown}
        if missing:
            time.sleep(0.25)
    converged = time.monotonic() - posted
    for delegate in delegates:
        delegate.client.close()
    return {
        "scenario": name, "posts": len(plan), "acknowledged": acknowledged, "refused": refused,
        "stored_latest": len(set(latest.values()) & stored), "answers": len(latest),
        "shown": len(latest) - len(missing), "lost": len(missing), "not_stored": len(set(latest.values()) - stored),
        "seconds_posting": round(posted - started, 2), "seconds_until_console_equal": round(converged, 2),
        "console_reloaded": not page.evaluate("window.__notReloaded === true"),
    }


def tracebacks(stack) -> int:
    count = 0
    for number, server in enumerate(stack["servers"]):
        server.log.seek(0)
        text = server.log.read()
        Path(f"/tmp/chaos-{os.getpid()}-{number}.log").write_text(text)
        count += text.count("Traceback")
    return count


def record(result: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[result["scenario"] + ("-ci" if REDUCED else "")] = {**result, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_chaos_baseline_no_fault(stack, console):
    result = run_scenario("baseline", stack, console)
    record(result)
    assert result["lost"] == 0 and result["shown"] == result["answers"], result


def test_chaos_redis_killed_and_restarted_after_3_s(stack, console):
    redis, state = stack["redis"], {"killed": None, "back": None}

    def restart_later():
        time.sleep(3)
        redis.start()
        state["back"] = time.monotonic()

    def fault(fraction):
        if fraction >= 0.3 and state["killed"] is None:
            redis.kill()
            state["killed"] = time.monotonic()
            threading.Thread(target=restart_later, daemon=True).start()

    result = run_scenario("redis-restart-3s", stack, console, fault)
    while state["back"] is None:
        time.sleep(0.1)
    result["server_tracebacks"] = tracebacks(stack)
    record(result)
    assert result["lost"] == 0 and result["shown"] == result["answers"], result
    assert result["seconds_until_console_equal"] <= 10, result
