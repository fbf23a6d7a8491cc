"""make chaos: faults on the real stack (docs/reliability.md).

Two Uvicorn processes (A and B) on PostgreSQL (a database of their own) and a redis-server this test
starts on its own port without persistence. Every client goes through a TCP proxy that plays the
deploy's load balancer (a connection goes to the first worker of its list that takes it): two
consoles, real console pages in Chromium whose own script does the repairing, the first preferring
A and the second B; simulated delegates, half preferring each worker, half of them (on each worker)
sending answers and votes over their session page's socket as the page does (ack within 3 s, else
the same key over HTTP), the others posting them over HTTP.

Each scenario sends answers (and, where it matters, votes of the open opinion round of session 1)
under its fault and then compares, on every console, what was acknowledged, stored and shown, and
how long until the console equals a fresh render of the page (its answer cards, answers' tallies and
the round's votes per statement, fetched and parsed in the page). Figures: bench/results/chaos.json.

Run: make chaos (full) or make chaos-ci (reduced). Marked `chaos`, outside `make test`'s default run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from .chaos_tools import (Delegate, OwnRedis, Proxy, SimulatedConsole, SimulatedConsoles, SocketDelegate, open_sockets, signed_in_cookie,
                          wait_for_fragment)
from .servers import ROOT, manage, project_env, start_server, stop_servers

pytestmark = pytest.mark.chaos

PASSWORD = "demo-meeting-2023"
ADMIN_URL = os.environ.get("CHAOS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("CHAOS_DB_NAME", "facilitation_chaos")
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "8192"))
PORTS = (int(os.environ.get("CHAOS_PORT_A", "8110")), int(os.environ.get("CHAOS_PORT_B", "8111")))
REDUCED = os.environ.get("CHAOS_SCALE", "full") == "ci"
DELEGATIONS = ["fr", "de", "it", "jp", "ca", "se", "fi", "nl", "no", "be", "at", "dk"][: 6 if REDUCED else 12]
ROUNDS = 2 if REDUCED else 4
STATEMENTS = 3 if REDUCED else 5  # of the opinion round open on session 1; every delegation votes on each, every round
ROUND_TITLE = "Chaos round"
CHOICES = ("agree", "disagree", "pass")
STORM_SOCKETS = 200 if REDUCED else 1000
SIMULATED_CONSOLES = 4 if REDUCED else 8
OFFLINE_S = (5, 60) if REDUCED else (5, 60, 600)
RESULTS = ROOT / "bench" / "results" / "chaos.json"
CONVERGE_TIMEOUT_S = 30
GRACEFUL_TIMEOUT_S = 10  # the workers' --timeout-graceful-shutdown (tests/servers.py): a stop that hangs ends there

# In the page: its answer cards, answers' tallies and opinion rounds' panels (votes per statement, analysis)
# against a fresh render of the same page (fetched now).
COMPARE_WITH_FRESH_RENDER = """async () => {
  const response = await fetch(location.pathname, {credentials: "same-origin", cache: "no-store"});
  if (!response.ok) return {differ: -1, status: response.status};
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const parts = (root) => {
    const found = {};
    root.querySelectorAll("#console-live article.answer-card, #console-live [id^=tally-q], [id^=opinion-analysis-]").forEach((el) => {
      found[el.id] = el.textContent.replace(/\\s+/g, " ").trim();
    });
    return found;
  };
  const mine = parts(document), theirs = parts(fresh);
  const differ = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].filter((id) => mine[id] !== theirs[id]);
  return {differ: differ.length, sample: differ.slice(0, 3).map((id) => [id, mine[id] || null, theirs[id] || null])};
}"""
# In the page: the round's "Votes per statement" table, {statement: [agree, disagree, pass]}.
VOTES_SHOWN = """(round) => {
  const table = document.getElementById("opinion-tally-" + round);
  if (!table) return null;
  const rows = {};
  table.querySelectorAll("tbody tr").forEach((tr) => {
    rows[tr.querySelector("th").textContent.trim()] = [...tr.querySelectorAll("td")].map((td) => parseInt(td.textContent, 10));
  });
  return rows;
}"""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


class Stack:
    """The two workers (restartable, each log kept), Redis, the database and the proxies."""

    def __init__(self, env: dict, db, redis: OwnRedis):
        self.env, self.db, self.redis = env, db, redis
        self.servers = [start_server(env, port) for port in PORTS]
        self.logs = [server.log for server in self.servers]
        self.consoles = (Proxy((PORTS[0], PORTS[1])), Proxy((PORTS[1], PORTS[0])))
        self.delegates = (Proxy((PORTS[0], PORTS[1])), Proxy((PORTS[1], PORTS[0])))

    def stop(self, index: int) -> float:
        """A deploy's graceful stop of one worker (SIGTERM, as systemd sends): seconds until it exited."""
        started = time.monotonic()
        self.servers[index].send_signal(signal.SIGTERM)
        self.servers[index].wait(timeout=60)
        return time.monotonic() - started

    def kill(self, index: int) -> None:
        self.servers[index].kill()  # SIGKILL: no graceful stop, nothing flushed
        self.servers[index].wait()

    def start(self, index: int, **env: str) -> None:
        self.servers[index] = start_server({**self.env, **env}, PORTS[index])
        self.logs.append(self.servers[index].log)

    def restart_all(self, **env: str) -> None:
        """A deploy: both workers stopped (SIGTERM: Uvicorn closes the sockets with 1012) and started again."""
        for server in self.servers:
            server.terminate()
        for server in self.servers:
            server.wait(timeout=20)
        for index in range(len(PORTS)):
            self.start(index, **env)

    def rebalance(self, pages: list) -> None:
        """Once both workers run: each console back on its own worker (a worker that was down sent
        its console to the other), by a blink of the console's network."""
        for proxy in self.consoles:
            proxy.cut()
            proxy.restore()
        wait_online(pages)

    def log_marks(self) -> list[int]:
        marks = []
        for log in self.logs:
            log.seek(0, os.SEEK_END)
            marks.append(log.tell())
        return marks

    def tracebacks_since(self, marks: list[int]) -> int:
        count = 0
        for number, log in enumerate(self.logs):
            log.seek(marks[number] if number < len(marks) else 0)
            text = log.read()
            count += text.count("Traceback")
        return count

    def save_logs(self, name: str) -> None:
        for number, log in enumerate(self.logs):
            log.seek(0)
            Path(f"/tmp/chaos-{os.getpid()}-{name}-{number}.log").write_text(log.read())

    def close(self) -> None:
        for proxy in (*self.consoles, *self.delegates):
            proxy.close()
        live = [server for server in self.servers if server.poll() is None]
        stop_servers(*live)
        for log in self.logs:
            if not log.closed:
                log.close()


# The chair opens a round of STATEMENTS statements on session 1 (what the console's form does).
OPEN_ROUND = f"""
from django.contrib.auth.models import User
from sessions_app.models import Session
from sessions_app.opinion import services
session = Session.objects.get(number=1)
chair = User.objects.get(username="chair")
round = services.open_round(user=chair, session=session, title="{ROUND_TITLE}")
for number in range(1, {STATEMENTS} + 1):
    services.add_statement(user=chair, round=round, text=f"Chaos statement {{number}}")
"""


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
    manage(env, "shell", "-c", OPEN_ROUND)
    db = psycopg.connect(database_url, autocommit=True)
    built = Stack(env, db, redis)
    built.round = db.execute("SELECT id FROM sessions_app_opinionround WHERE title = %s", [ROUND_TITLE]).fetchone()[0]
    built.statements = [row[0] for row in db.execute(
        "SELECT id FROM sessions_app_statement WHERE round_id = %s ORDER BY position", [built.round])]
    try:
        yield built
    finally:
        built.close()
        db.close()
        redis.kill()
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def consoles(stack):
    """The chair's console, twice (two browsers' worth: separate contexts), one through each console proxy."""
    from playwright.sync_api import expect, sync_playwright

    from .browser.helpers import CHROMIUM, CHROMIUM_ARGS, LIVE_PROBE, login

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        pages = []
        for proxy in stack.consoles:
            context = browser.new_context(base_url=f"http://127.0.0.1:{proxy.port}")
            context.set_default_timeout(20_000)
            page = context.new_page()
            # The resyncs the page's script asks for (what it repaired) and its quiet checks, counted as they leave.
            page.resyncs, page.checks = [0], [0]

            def sent(payload, page=page):
                page.resyncs[0] += '"resync"' in str(payload)
                page.checks[0] += '"check"' in str(payload)

            page.on("websocket", lambda socket, sent=sent: socket.on("framesent", sent))
            login(page, "chair", PASSWORD)
            slug = page.url.rstrip("/").split("/")[-1]
            page.add_init_script(LIVE_PROBE)
            page.goto(f"/meetings/{slug}/sessions/1/console/")
            expect(page.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=15_000)
            page.evaluate("window.__notReloaded = true")
            pages.append(page)
        yield {"pages": pages, "slug": slug}
        browser.close()


@pytest.fixture(autouse=True)
def count_resyncs_per_scenario(consoles):
    for page in consoles["pages"]:
        page.resyncs_mark, page.checks_mark = page.resyncs[0], page.checks[0]


def console_state(page) -> dict:
    try:
        return page.evaluate(COMPARE_WITH_FRESH_RENDER)
    except Exception as error:  # the page's fetch failed (its worker went away meanwhile): not equal yet
        return {"differ": -1, "error": str(error)[:200]}


def shown_texts(page) -> str:
    return "\n".join(page.locator("#console-live article.answer-card").all_inner_texts())


def make_delegates(stack: Stack, slug: str) -> list[Delegate]:
    """One delegate per delegation, number n through delegate proxy n % 2 (preferring A, or B); those
    with n % 4 in (1, 2), half of them and half of each proxy's, send over their page's socket."""
    delegates = []
    for number, code in enumerate(DELEGATIONS):
        base = f"http://127.0.0.1:{stack.delegates[number % 2].port}"
        if number % 4 in (1, 2):
            delegates.append(SocketDelegate(base, code, slug, PASSWORD, f"ws{base[4:]}/ws/meetings/{slug}/sessions/1/delegate/"))
        else:
            delegates.append(Delegate(base, code, slug, PASSWORD))
    return delegates


def stored_votes(stack: Stack) -> dict[tuple[str, int], str]:
    """The round's votes in the database: (delegation's code, statement id) -> choice."""
    names = {-1: "agree", 1: "disagree", 0: "pass"}
    rows = stack.db.execute("SELECT u.username, v.statement_id, v.choice FROM sessions_app_statementvote v JOIN auth_user u ON u.id = v.user_id"
                            " JOIN sessions_app_statement s ON s.id = v.statement_id WHERE s.round_id = %s", [stack.round])
    return {(username.removeprefix("delegate-"), statement): names[choice] for username, statement, choice in rows}


def post_answers(name: str, stack: Stack, slug: str, *, rounds: int = ROUNDS, concurrent: bool = False, progress=None,
                 votes: bool = False, stop=None) -> dict:
    """Every delegation answers every question of session 1 `rounds` times (each round edits the
    answer) and, with `votes`, votes on every statement of the round each time (each round another
    choice); half of them through each delegate proxy, half of each over their page's socket; in
    turn, or all delegations at once (`concurrent`); in turn, the rest is left out once `stop()` is
    true. Returns what was acknowledged."""
    delegates = make_delegates(stack, slug)
    plans = {}
    for number, delegate in enumerate(delegates):
        plans[delegate] = []
        for rnd in range(rounds):
            plans[delegate] += [("answer", qid, rnd) for qid in delegate.questions]
            if votes:
                plans[delegate] += [("vote", statement, CHOICES[(number + index + rnd + len(name)) % 3])
                                    for index, statement in enumerate(stack.statements)]
    total = sum(len(plan) for plan in plans.values())
    state = {"done": 0, "acknowledged": 0, "refused": 0, "latest": {}, "acknowledged_at": {},
             "votes_acknowledged": 0, "votes_refused": 0, "latest_votes": {}, "vote_changes": 0}
    previous = stored_votes(stack) if votes else {}
    seq_before = stack.db.execute("SELECT last_seq FROM sessions_app_meeting").fetchone()[0]
    lock = threading.Lock()

    def post(delegate: Delegate, what: str, subject, detail) -> None:
        """One change: ("vote", statement id, choice) or ("answer", question id, round)."""
        if what == "vote":
            statement, choice = subject, detail
            ok = delegate.vote(stack.round, statement, choice)
            with lock:
                state["done"] += 1
                if ok:
                    state["votes_acknowledged"] += 1
                    before = state["latest_votes"].get((delegate.code, statement), previous.get((delegate.code, statement)))
                    state["vote_changes"] += before != choice  # a vote that changes something: one event
                    state["latest_votes"][(delegate.code, statement)] = choice
                else:
                    state["votes_refused"] += 1
                if progress is not None:
                    progress(state["done"] / total)
            return
        text = f"chaos {name} {delegate.code} q{subject} r{detail} {uuid.uuid4().hex[:6]}"
        ok = delegate.answer(subject, text)
        with lock:
            state["done"] += 1
            if ok:
                state["acknowledged"] += 1
                state["latest"][(delegate.code, subject)] = text
                state["acknowledged_at"][text] = time.monotonic()
            else:
                state["refused"] += 1
            if progress is not None:  # under the lock: a fault starts once
                progress(state["done"] / total)

    started = time.monotonic()
    if concurrent:
        threads = [threading.Thread(target=lambda d=d: [post(d, *step) for step in plans[d]]) for d in delegates]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for index in range(max(len(plan) for plan in plans.values())):
            if stop is not None and stop(state["done"] / total):
                break
            for delegate in delegates:
                if index < len(plans[delegate]):
                    post(delegate, *plans[delegate][index])
    by = {}
    for delegate in delegates:
        for (what, how), count in delegate.acknowledged.items():
            by.setdefault(what, {}).setdefault(how, 0)
            by[what][how] += count
        delegate.close()
    answers = state["done"] - state["votes_acknowledged"] - state["votes_refused"]  # posted: all, unless stopped
    return {**state, "posts": answers, "votes_posts": state["done"] - answers, "seconds_posting": round(time.monotonic() - started, 2), "votes": votes, "seq_before": seq_before,
            "answers_acknowledged_by": by.get("answer", {}), "votes_acknowledged_by": by.get("vote", {}),
            "socket_reopens": sum(max(getattr(delegate, "opens", 1) - 1, 0) for delegate in delegates)}


def votes_shown(page, round_id: int) -> dict | None:
    try:
        return page.evaluate(VOTES_SHOWN, round_id)
    except Exception:  # the page is being swapped or its worker went away: not shown yet
        return None


def vote_counts(votes: dict[tuple[str, int], str], statements: list[int]) -> dict[str, list[int]]:
    """The round's table as it should read, {statement text: [agree, disagree, pass]}."""
    counts = {f"Chaos statement {number}": [0, 0, 0] for number in range(1, len(statements) + 1)}
    for (_code, statement), choice in votes.items():
        counts[f"Chaos statement {statements.index(statement) + 1}"][("agree", "disagree", "pass").index(choice)] += 1
    return counts


def converge(name: str, stack: Stack, pages: list, posted: dict, since: float) -> dict:
    """Wait until every console shows the last acknowledged text of every answer (and, where the
    scenario voted, counts the round's votes as the database holds them) and equals a fresh render;
    the figures of the scenario (seconds counted from `since`)."""
    latest = set(posted["latest"].values())
    stored = {row[0] for row in stack.db.execute("SELECT text FROM sessions_app_answer WHERE text LIKE %s", [f"chaos {name} %"])}
    # A change sent over the socket and then over HTTP (no ack in time) is one change: one revision per text.
    stored_twice = stack.db.execute("SELECT count(*) FROM (SELECT text FROM sessions_app_answerrevision WHERE text LIKE %s"
                                    " GROUP BY text HAVING count(*) > 1) AS twice", [f"chaos {name} %"]).fetchone()[0]
    voting = posted.get("votes", False)
    votes = stored_votes(stack) if voting else {}
    expected_votes = vote_counts(votes, stack.statements)
    missing = {index: set(latest) for index in range(len(pages))}
    tallies: dict[int, dict | None] = {}
    equal_at: dict[int, float] = {}
    resyncs_before = [getattr(page, "resyncs_mark", 0) for page in pages]
    states: dict[int, dict] = {}
    deadline = time.monotonic() + CONVERGE_TIMEOUT_S
    while len(equal_at) < len(pages) and time.monotonic() < deadline:
        for index, page in enumerate(pages):
            if index in equal_at:
                continue
            shown = shown_texts(page)
            missing[index] = {text for text in missing[index] if text not in shown}
            if voting:
                tallies[index] = votes_shown(page, stack.round)
            if not missing[index] and (not voting or tallies[index] == expected_votes):
                states[index] = console_state(page)
                if states[index]["differ"] == 0:
                    equal_at[index] = time.monotonic()
        if len(equal_at) < len(pages):
            time.sleep(0.25)
    for index, page in enumerate(pages):
        if index not in equal_at:
            states[index] = console_state(page)
    result = {
        "scenario": name, "posts": posted["posts"], "acknowledged": posted["acknowledged"], "refused": posted["refused"],
        "acknowledged_by": posted["answers_acknowledged_by"],
        "answers": len(latest), "stored_latest": len(latest & stored), "not_stored": len(latest - stored), "stored_twice": stored_twice,
        "shown_per_console": [len(latest) - len(missing[index]) for index in range(len(pages))],
        "lost": max(len(missing[index]) for index in range(len(pages))) + len(latest - stored),
        "consoles_equal_fresh_render": len(equal_at), "consoles": len(pages),
        "differences": {str(index): states[index] for index in range(len(pages)) if index not in equal_at},
        "seconds_posting": posted["seconds_posting"],
        "seconds_until_every_console_equal": round(max(equal_at.values()) - since, 2) if len(equal_at) == len(pages) else None,
        "resyncs_per_console": [page.resyncs[0] - before for page, before in zip(pages, resyncs_before)],
        "quiet_checks_per_console": [page.checks[0] - getattr(page, "checks_mark", 0) for page in pages],
        "consoles_reloaded": sum(not page.evaluate("window.__notReloaded === true") for page in pages),
        "delegate_socket_reopens": posted["socket_reopens"],
    }
    if voting:
        result.update(vote_figures(stack, posted, votes, expected_votes, tallies))
    return result


def vote_figures(stack: Stack, posted: dict, votes: dict, expected: dict, tallies: dict) -> dict:
    """Votes acknowledged, stored (the last acknowledged choice of each delegation and statement, in
    one row), shown (counted on each console as stored) and lost; the round's vote events, one per
    acknowledged change (a change sent twice, over the socket and over HTTP, is one event)."""
    latest = posted["latest_votes"]
    stored = sum(votes.get(pair) == choice for pair, choice in latest.items())
    now = stored_votes(stack)  # read again: a vote stored late (after its fallback) would have changed them
    events = stack.db.execute("SELECT count(*) FROM sessions_app_event WHERE type = 'opinion.voted' AND seq > %s"
                              " AND (payload->>'round')::int = %s", [posted["seq_before"], stack.round]).fetchone()[0]
    total = sum(sum(row) for row in expected.values())

    def shown(tally: dict | None) -> int:  # the votes of the rows that count as the database does
        return sum(sum(row) for text, row in (tally or {}).items() if expected.get(text) == row)

    shown_per_console = [shown(tallies.get(index)) for index in range(len(stack.consoles))]
    return {
        "votes_posts": posted["votes_posts"], "votes_acknowledged": posted["votes_acknowledged"], "votes_refused": posted["votes_refused"],
        "votes_acknowledged_by": posted["votes_acknowledged_by"], "votes": len(latest), "votes_stored_latest": stored,
        "votes_in_the_round": total, "votes_shown_per_console": shown_per_console,
        "votes_changed_after_the_posts": sum(now.get(pair) != choice for pair, choice in votes.items()),
        "vote_events": events, "vote_changes_acknowledged": posted["vote_changes"],
        "votes_lost": len(latest) - stored + max(total - count for count in shown_per_console),
    }


def record(result: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[result["scenario"] + ("-ci" if REDUCED else "")] = {**result, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def assert_repaired(result: dict, within_s: float) -> None:
    figures = json.dumps(result, sort_keys=True)
    assert result["lost"] == 0 and result["not_stored"] == 0 and result["stored_twice"] == 0, figures
    if "votes" in result:
        assert result["votes_lost"] == 0 and result["votes_stored_latest"] == result["votes"] == len(DELEGATIONS) * STATEMENTS, figures
        assert result["votes_changed_after_the_posts"] == 0, figures
        # Every acknowledged change one event; a vote not acknowledged (its posts failed) may have been stored.
        changes, unacknowledged = result["vote_changes_acknowledged"], result["votes_refused"]
        assert changes - unacknowledged <= result["vote_events"] <= changes + unacknowledged, figures
    assert result["consoles_equal_fresh_render"] == result["consoles"], figures
    assert result["seconds_until_every_console_equal"] <= within_s, figures
    assert result["consoles_reloaded"] == 0, figures
    assert result["server_tracebacks"] == 0, figures


def wait_online(pages: list, timeout_s: float = 20) -> None:
    from playwright.sync_api import expect

    for page in pages:
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=timeout_s * 1000)


def test_chaos_baseline_no_fault(stack, consoles):
    marks = stack.log_marks()
    posted = post_answers("baseline", stack, consoles["slug"], votes=True)
    result = converge("baseline", stack, consoles["pages"], posted, since=time.monotonic())
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    record(result)
    assert_repaired(result, within_s=5)


def test_chaos_redis_killed_and_restarted_after_3_s(stack, consoles):
    """Redis killed at 30 % of the posts and started again (empty) 3 s later; the posts go on for a
    second more (and at least through every delegation's first round, which votes on every statement),
    so that what is timed from Redis being back is the repair, not how long the posts last: consoles
    equal a fresh render within 10 s of Redis being back, and the outage logs warnings, no traceback."""
    marks, state = stack.log_marks(), {"killed": None, "back": None}

    def restart_later():
        time.sleep(3)
        stack.redis.start()
        state["back"] = time.monotonic()

    def progress(fraction):
        if fraction >= 0.3 and state["killed"] is None:
            state["killed"] = time.monotonic()
            stack.redis.kill()
            threading.Thread(target=restart_later, daemon=True).start()

    def stop(fraction):
        return state["back"] is not None and time.monotonic() - state["back"] >= 1 and fraction >= 1 / ROUNDS

    posted = post_answers("redis-restart-3s", stack, consoles["slug"], progress=progress, votes=True, stop=stop)
    while state["back"] is None:
        time.sleep(0.1)
    since = max(state["back"], time.monotonic())  # the posts' end, or Redis back if later
    result = converge("redis-restart-3s", stack, consoles["pages"], posted, since=since)
    if result["seconds_until_every_console_equal"] is not None:  # Redis came back while posts went on
        result["seconds_after_redis_back"] = round(result["seconds_until_every_console_equal"] + since - state["back"], 2)
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    stack.save_logs("redis")
    record(result)
    assert_repaired(result, within_s=10)


def test_chaos_worker_killed_under_load(stack, consoles):
    """kill -9 of worker B while every delegation posts at once: B's console moves to A (through
    its proxy), delegates' retries go to A; everything acknowledged is stored and shown."""
    marks, state = stack.log_marks(), {"killed": None}

    def progress(fraction):
        if fraction >= 0.4 and state["killed"] is None:
            state["killed"] = time.monotonic()
            stack.kill(1)

    opens_before = consoles["pages"][1].evaluate("window.__wsOpens")
    posted = post_answers("worker-killed", stack, consoles["slug"], concurrent=True, progress=progress, votes=True)
    acknowledged_before = {text for text, at in posted["acknowledged_at"].items() if at <= state["killed"]}
    result = converge("worker-killed", stack, consoles["pages"], posted, since=time.monotonic())
    stored = {row[0] for row in stack.db.execute("SELECT text FROM sessions_app_answer WHERE text LIKE %s", ["chaos worker-killed %"])}
    result["acknowledged_before_kill"] = len(acknowledged_before)
    result["console_b_reconnected"] = consoles["pages"][1].evaluate("window.__wsOpens") > opens_before  # to A: B is dead
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    stack.start(1)
    stack.rebalance(consoles["pages"])
    record(result)
    # An answer acknowledged before the kill and edited after is shown in its later text (lost counts those).
    assert {text for text in acknowledged_before if text in posted["latest"].values()} <= stored, result
    assert result["console_b_reconnected"], result
    assert_repaired(result, within_s=10)


def test_chaos_worker_stopped_gracefully_under_load(stack, consoles):
    """A deploy's graceful stop (SIGTERM) of worker B while every delegation posts at once, then B
    started again: B closes its sockets with 1012 and finishes its requests; its consoles (the real
    page and simulated ones) reconnect to A and resync; the live messages B still had pending are
    sent before it exits (sessions_app/live/lifespan.py), so A's consoles get every answer live."""
    marks, state = stack.log_marks(), {"stopping": None, "back": None}
    slug, pages = consoles["slug"], consoles["pages"]
    start_seq = stack.db.execute("SELECT last_seq FROM sessions_app_meeting").fetchone()[0]
    cookie = signed_in_cookie(f"http://127.0.0.1:{PORTS[0]}", "chair", PASSWORD)
    needle = re.compile(r"chaos graceful-stop \S+ q\d+ r\d+ [0-9a-f]{6}")
    simulated = SimulatedConsoles([
        SimulatedConsole(f"ws://127.0.0.1:{stack.delegates[number % 2].port}/ws/meetings/{slug}/sessions/1/console/",
                         cookie, stack.delegates[number % 2].port, start_seq, needle)
        for number in range(SIMULATED_CONSOLES)])  # even ones prefer A, odd ones B
    assert simulated.wait_open()
    time.sleep(1)  # every simulated console's own resync answered (nothing to replay)
    old_log = stack.servers[1].log

    def stop_and_start():
        state["stop_s"] = stack.stop(1)
        stack.start(1)
        state["back"] = time.monotonic()

    def progress(fraction):
        if fraction >= 0.4 and state["stopping"] is None:
            state["stopping"] = time.monotonic()
            threading.Thread(target=stop_and_start, daemon=True).start()

    opens_before = pages[1].evaluate("window.__wsOpens")
    try:
        posted = post_answers("graceful-stop", stack, slug, concurrent=True, progress=progress, votes=True)
        while state["back"] is None:
            time.sleep(0.1)
        since = max(state["back"], time.monotonic())
        result = converge("graceful-stop", stack, pages, posted, since=since)
        latest = set(posted["latest"].values())
        # The simulated consoles: what reached them without a resync of their own beyond the one on
        # reconnecting, then what a last resync (everything since the scenario began) brings.
        figures = []
        for number, console in enumerate(simulated.consoles):
            missed_live = len(latest - console.received)
            replied = simulated.call(console.resync_from(start_seq))
            figures.append({"prefers": "AB"[number % 2], "opens": console.opens, "missed_live": missed_live,
                            "answered_final_resync": replied, "lost": len(latest - set(console.shown.values()))})
    finally:
        simulated.close()
    old_log.seek(0)
    drained = [(int(sent), int(ms)) for sent, ms in re.findall(r"Graceful stop: (\d+) pending live events sent in (\d+) ms", old_log.read())]
    result.update({
        "seconds_sigterm_to_exit": round(state["stop_s"], 2), "seconds_stopped_to_back": round(state["back"] - state["stopping"], 2),
        "pending_events_sent_at_stop": drained[0][0] if drained else 0, "ms_sending_them": drained[0][1] if drained else 0,
        "console_b_reconnected": pages[1].evaluate("window.__wsOpens") > opens_before,
        "simulated_consoles": figures, "lost": result["lost"] + max(figure["lost"] for figure in figures),
        "simulated_missed_live_on_a": max(figure["missed_live"] for figure in figures if figure["prefers"] == "A"),
        "server_tracebacks": stack.tracebacks_since(marks),
    })
    stack.save_logs("graceful")
    stack.rebalance(pages)
    record(result)
    assert result["console_b_reconnected"], result
    assert all(figure["answered_final_resync"] and figure["opens"] >= 1 for figure in figures), result
    assert all(figure["opens"] >= 2 for figure in figures if figure["prefers"] == "B"), result  # moved to A, then stayed
    assert result["seconds_sigterm_to_exit"] < GRACEFUL_TIMEOUT_S, result  # every socket's channel read ended
    assert_repaired(result, within_s=10)


def test_chaos_worker_stopped_gracefully_while_redis_is_down(stack, consoles):
    """Redis killed at 40 % of the posts, worker B stopped (SIGTERM) while it is down: B still exits
    before Uvicorn's graceful bound (its sockets' channel reads and the hub's fail or end, nothing
    waits for Redis); Redis and B back, every console equals a fresh render within 10 s."""
    marks, state = stack.log_marks(), {"stopping": None, "back": None}

    def stop_and_start():
        time.sleep(0.5)  # the workers have met the outage
        state["stop_s"] = stack.stop(1)
        stack.redis.start()
        stack.start(1)
        state["back"] = time.monotonic()

    def progress(fraction):
        if fraction >= 0.4 and state["stopping"] is None:
            state["stopping"] = time.monotonic()
            stack.redis.kill()
            threading.Thread(target=stop_and_start, daemon=True).start()

    posted = post_answers("graceful-stop-redis-down", stack, consoles["slug"], concurrent=True, progress=progress)
    while state["back"] is None:
        time.sleep(0.1)
    since = max(state["back"], time.monotonic())
    result = converge("graceful-stop-redis-down", stack, consoles["pages"], posted, since=since)
    result.update({"seconds_sigterm_to_exit": round(state["stop_s"], 2), "server_tracebacks": stack.tracebacks_since(marks)})
    stack.save_logs("graceful-redis-down")
    stack.rebalance(consoles["pages"])
    record(result)
    assert result["seconds_sigterm_to_exit"] < GRACEFUL_TIMEOUT_S, result
    assert_repaired(result, within_s=10)


def test_chaos_channel_capacity_1_under_a_flood(stack, consoles):
    """Both workers on a channel layer that holds 1 message per channel, every delegation posting at
    once: messages are dropped; every console is repaired within 5 s of the flood's end."""
    stack.restart_all(CHANNEL_CAPACITY="1")
    stack.rebalance(consoles["pages"])
    marks = stack.log_marks()
    posted = post_answers("capacity-1", stack, consoles["slug"], concurrent=True, votes=True)
    result = converge("capacity-1", stack, consoles["pages"], posted, since=time.monotonic())
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    stack.restart_all()
    stack.rebalance(consoles["pages"])
    record(result)
    assert_repaired(result, within_s=5)


@pytest.mark.parametrize("seconds", OFFLINE_S)
def test_chaos_console_offline(stack, consoles, seconds):
    """The first console's network gone for `seconds` (its connections cut, new ones refused) while
    answers arrive: back, it reconnects and equals a fresh render within 10 s, without a reload."""
    marks, state = stack.log_marks(), {"cut": None, "back": None}
    page = consoles["pages"][0]

    def offline():
        stack.consoles[0].cut()
        state["cut"] = time.monotonic()
        time.sleep(seconds)
        stack.consoles[0].restore()
        state["back"] = time.monotonic()

    def progress(fraction):
        if fraction >= 0.1 and state["cut"] is None:
            state["cut"] = -1.0
            threading.Thread(target=offline, daemon=True).start()

    name = f"console-offline-{seconds}s"
    posted = post_answers(name, stack, consoles["slug"], rounds=max(1, ROUNDS // 2), progress=progress)
    while state["back"] is None:
        time.sleep(0.2)
    result = converge(name, stack, [page, consoles["pages"][1]], posted, since=max(state["back"], time.monotonic()))
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    result["seconds_offline"] = seconds
    record(result)
    assert_repaired(result, within_s=10)


def run_catching(coroutine_function) -> list[BaseException]:
    try:
        asyncio.run(coroutine_function())
    except BaseException as error:  # reported by the test's own thread
        return [error]
    return []


def test_chaos_reconnect_storm(stack, consoles):
    """STORM_SOCKETS delegate sockets, half on each worker, all dropped and reopened at once while
    answers arrive (a venue's Wi-Fi blinking): no handshake fails, every socket then receives its
    delegation's next update, and the consoles equal a fresh render."""
    slug = consoles["slug"]
    delegates = [Delegate(f"http://127.0.0.1:{PORTS[number % 2]}", code, slug, PASSWORD) for number, code in enumerate(DELEGATIONS)]
    specs = []
    for number in range(STORM_SOCKETS):
        delegate, port = delegates[number % len(delegates)], PORTS[number % 2]
        specs.append((f"ws://127.0.0.1:{port}/ws/meetings/{slug}/sessions/1/delegate/", delegate.cookie_header(), port))
    seq = lambda: stack.db.execute("SELECT last_seq FROM sessions_app_meeting").fetchone()[0]  # noqa: E731
    marks = stack.log_marks()
    result = {"scenario": "reconnect-storm", "sockets": STORM_SOCKETS}

    async def storm() -> None:
        sockets, outcomes = await open_sockets(specs, seq(), batch=100)  # the meeting's sockets, opened over a minute in real life
        result["opened_before"] = outcomes
        before = seq()
        for sock in sockets:  # every client's network blinks at once: the server sees them all drop
            sock.transport.abort()
        await asyncio.sleep(0.5)
        poster = asyncio.get_running_loop().run_in_executor(None, lambda: post_answers("reconnect-storm", stack, slug, rounds=1))
        started = time.monotonic()
        sockets, outcomes = await open_sockets(specs, before, batch=len(specs))  # and all come back at once
        result["seconds_all_reopened"] = round(time.monotonic() - started, 2)
        result["reopened"] = outcomes
        result["posted"] = posted = await poster
        after = seq()
        # Then one more answer per delegation: each socket must get its delegation's status line.
        question = delegates[0].questions[0]
        for delegate in delegates:
            text = f"chaos reconnect-storm final {delegate.code} {uuid.uuid4().hex[:6]}"
            assert delegate.answer(question, text)
            posted["latest"][(delegate.code, question)] = text
        needles = [f'id="answer-status-q{question}"'] * len(sockets)
        delivered = await wait_for_fragment(sockets, needles, after, timeout=15)
        result["sockets_missing_the_next_update"] = len(sockets) - delivered
        for sock in sockets:
            await sock.close()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    failure = []
    runner = threading.Thread(target=lambda: failure.extend(run_catching(storm)))
    runner.start()
    runner.join()
    assert not failure, failure
    posted = result.pop("posted")
    figures = converge("reconnect-storm", stack, consoles["pages"], posted, since=time.monotonic())
    for delegate in delegates:
        delegate.close()
    result.update({key: value for key, value in figures.items() if key not in result})
    result["server_tracebacks"] = stack.tracebacks_since(marks)
    record(result)
    assert result["reopened"] == {"open": STORM_SOCKETS}, json.dumps(result, sort_keys=True)
    assert result["sockets_missing_the_next_update"] == 0, json.dumps(result, sort_keys=True)
    assert_repaired(result, within_s=10)
