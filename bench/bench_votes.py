"""Votes of an opinion round at stepped rates, until the chair's console shows them (issue 25).

    .venv/bin/python bench/bench_votes.py [--modes embedded,scaled] [--quick]

One meeting of D delegations (193 by default), one delegate each, and an open round of S statements
(20) on session 1. Every delegate has its session page's socket open and each of three chairs its
console's; like the live benchmark's clients (clients.py) they send their resync on open. Delegates
vote as the page sends a vote: over its open socket ({"type": "vote", "key": ...}, answered with the
panel and an ack naming the key; `--transport ws`, the default) or through the real vote endpoint, as
the page's htmx form posts it without a socket (session cookie, CSRF token, HX-Request; `--transport
http`), open loop at each step's rate (50, 100, 250, 500, 750 votes/s, 1.5 s each). Every
delegation has already voted on the first 7 statements (so the round is mapped, and every analysis
finds groups and draws the map of 193 points); vote k is delegation k mod D's vote on statement
7 + k div D, so the delegations go through the statements side by side, as in a meeting. Choices come
from three blocs of opinion with 15 % noise (benchdata.choice_of).

"Shown" is what a chair sees: the console's "Votes per statement" table counting the vote. It is
pushed live with each run of committed votes, throttled to twenty per second per round and process (the
fragment `opinion-tally-<round>`; also inside each analysis panel, which follows the heavier, slower
recompute of the map: the analyses are counted apart). Votes commit in the order of their live event
numbers (the meeting's row is locked from numbering to commit), so an analysis always counts a prefix
of them: vote k, the r-th vote on its statement in that order, is shown on a console from the first
message whose table counts r votes or more on that statement. The event numbers are read from the
database after each step. Each vote is timed from its intended send until it is shown on each
console; a step is sustained, as in the live benchmark, when every vote sent was confirmed (HTTP 200 or the ack),
stored and shown on every console, with the p99 over (vote, console) pairs within 250 ms and every
vote within 1 s. The ladder stops after the first step not sustained.

Run by `make bench` (bench/run.py, a phase of each mode), or alone; writes bench/results/votes.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_live import Ours, wait_idle  # noqa: E402
from clients import Tab, ms, open_all, percentile  # noqa: E402
from benchdata import choice_of  # noqa: E402
from harness import Mode, server_cpu_s, stop  # noqa: E402

# A row of the console's "Votes per statement" table: the statement (marked vstmt<j>x), agree, disagree, pass.
BAR = re.compile(r"vstmt(\d+)x[^<]*</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>")
CHOICES = {-1: "agree", 0: "pass", 1: "disagree"}
ACK = re.compile(r'data-vote-ack="([A-Za-z0-9_-]+)"( data-vote-refused)?')
TRANSPORTS = ("ws", "http")


@dataclass
class VotePlan:
    """What the vote benchmark does; the defaults are `make bench`'s."""

    rates: tuple[int, ...] = (50, 100, 250, 500, 750)
    target_rate: int = 500  # issue 25: "votes sustained at 500 per second"
    step_s: float = 1.5
    delegations: int = 193
    statements: int = 20
    prevoted: int = 7  # statements every delegation voted on before the ladder: each analysis has groups and a map
    consoles: int = 3
    warmup: int = 10  # votes one by one before the ladder, so that no step pays for cold code paths
    http_per_process: int = 100
    drain_s: float = 8.0  # after a step's last send, how long its votes may take to show everywhere
    leftover_s: float = 10.0
    pause_s: float = 1.0  # between steps: the last analysis of a step is not charged to the next
    keep_up_p99_ms: float = 250.0
    keep_up_ms: float = 1000.0
    idle_s: float = 30.0

    def sustains(self, step: dict) -> bool:
        return (step["sent"] == step["ok"] == step["shown"] and step["not_sent"] == 0
                and step["p99_ms"] is not None and step["p99_ms"] <= self.keep_up_p99_ms
                and step["max_ms"] <= self.keep_up_ms)  # fmt: skip


QUICK = {"rates": (20,), "target_rate": 20, "step_s": 1.0, "delegations": 12, "statements": 8, "prevoted": 0, "consoles": 2, "warmup": 3,
         "drain_s": 5.0, "leftover_s": 5.0, "pause_s": 0.3, "idle_s": 5.0}  # fmt: skip


MARKER = re.compile(r'<span id="live-seq" data-seq="(\d+)"( data-seqs="([\d,-]+)")?( data-through)?')
THROUGH = re.compile(r'<span id="live-seq" data-seq="(\d+)" data-through')
GAP_GRACE_S, RESYNC_SPACING_S = 0.7, 2.0  # static/js/app.js's GAP_GRACE_MS and RESYNC_SPACING_MS


class ConsoleView:
    """What each console shows: per statement, when its table first counted each number of votes.

    Like static/js/app.js on a console, each console tracks the event numbers its messages carry and
    resyncs when one is still missing 0.7 s later, at most every 2 s (before the votes reached the
    consoles as events, they resynced all through a stream of votes, and the server paid for it)."""

    def __init__(self, consoles: int, marker: str, analysis: str):
        self.tabs: list[Tab] = []
        # The tabs open with a resync from 0 (clients.resync): they have everything up to 0, and its reply the rest.
        self.complete: list[int] = [0] * consoles
        self.missing: list[set[int]] = [set() for _ in range(consoles)]
        self.last_resync = [0.0] * consoles
        self.checking = [False] * consoles
        self.resyncs = 0
        self.marker, self.analysis = marker, analysis
        self.analyses = [0] * consoles  # analysis panels that reached each console
        self.acks: dict[str, asyncio.Future] = {}  # vote key -> its ack (True) or refusal (False), over the socket
        self.counts: list[dict[int, int]] = [{} for _ in range(consoles)]
        self.reached: list[dict[int, list[float]]] = [{} for _ in range(consoles)]  # [c][j][r-1]: time r votes were first shown
        self.panels = [0] * consoles
        self.panel_bytes: list[int] = []
        self.expected: dict[int, int] = {}
        self.done = asyncio.Event()

    def on_console(self, index: int, message: str, now: float) -> None:
        self._track(index, message)
        if self.marker not in message:
            return
        self.panels[index] += 1
        self.analyses[index] += self.analysis in message
        if len(self.panel_bytes) < 200:
            self.panel_bytes.append(len(message))
        counts, reached = self.counts[index], self.reached[index]
        for j, agree, disagree, passed in BAR.findall(message):
            j, total = int(j), int(agree) + int(disagree) + int(passed)
            times = reached.setdefault(j, [])
            while len(times) < total:
                times.append(now)
            counts[j] = max(counts.get(j, 0), total)
        self._check()

    def _track(self, index: int, message: str) -> None:
        """app.js's onLiveMarker, for one console: the numbers past a missing one wait in `missing`."""
        seen = self.missing[index]
        through = THROUGH.findall(message)
        if through:  # a catch-up's reply: everything up to its closing number
            self.complete[index] = int(through[-1])
        else:
            found = MARKER.search(message)
            if found is None or not found.group(3):
                return
            for part in found.group(3).split(","):
                first, last = (int(x) for x in part.split("-"))
                seen.update(range(max(first, self.complete[index] + 1), last + 1))
        complete = self.complete[index]
        seen.difference_update([seq for seq in seen if seq <= complete])
        while complete + 1 in seen:
            complete += 1
            seen.discard(complete)
        self.complete[index] = complete
        if seen and not self.checking[index]:
            self.checking[index] = True
            asyncio.get_running_loop().call_later(GAP_GRACE_S, self._gap_check, index)

    def _gap_check(self, index: int) -> None:
        self.checking[index] = False
        if not self.missing[index] or index >= len(self.tabs):
            return
        wait = self.last_resync[index] + RESYNC_SPACING_S - time.perf_counter()
        if wait > 0:
            self.checking[index] = True
            asyncio.get_running_loop().call_later(wait, self._gap_check, index)
            return
        self.last_resync[index] = time.perf_counter()
        self.resyncs += 1
        asyncio.ensure_future(self.tabs[index].send(json.dumps({"type": "resync", "after": self.complete[index]})))

    def on_delegate(self, index: int, message: str, now: float) -> None:
        # The delegates' own panels: received and read, not timed; a vote's ack confirms it.
        for key, refused in ACK.findall(message):
            waiting = self.acks.pop(key, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(not refused)

    def expect(self, j: int, change: int) -> None:
        self.expected[j] = self.expected.get(j, 0) + change
        self._check()

    def _check(self) -> None:
        if all(counts.get(j, 0) >= n for counts in self.counts for j, n in self.expected.items()):
            self.done.set()
        else:
            self.done.clear()


def shown_times(votes: list[tuple[int, int]], seqs: dict[tuple[int, int], int], reached: list[dict[int, list[float]]],
                statement_index: dict[int, int]) -> list[list[float | None]]:  # fmt: skip
    """For each vote (statement id, delegation id), the time each console first showed it (None: never):
    the r-th vote on a statement in event-number order is shown once the console's table counts r."""
    by_statement: dict[int, list[int]] = {}
    for (statement, _delegation), seq in seqs.items():
        by_statement.setdefault(statement, []).append(seq)
    rank = {statement: {seq: r for r, seq in enumerate(sorted(found), start=1)} for statement, found in by_statement.items()}
    result = []
    for statement, delegation in votes:
        seq = seqs.get((statement, delegation))
        j = statement_index[statement]
        if seq is None:
            result.append([None] * len(reached))
            continue
        r = rank[statement][seq]
        result.append([times[j][r - 1] if len(times.get(j, [])) >= r else None for times in reached])
    return result


class VoteRun:
    """One mode's vote benchmark: its servers, its delegates and consoles, its ladder."""

    def __init__(self, mode: Mode, plan: VotePlan, transport: str = "ws"):
        self.mode, self.plan, self.transport = mode, plan, transport
        self.label = f"votes{secrets.token_hex(3)}"
        self.sent_at: dict[int, float] = {}
        self.confirmed_at: dict[int, float] = {}  # when the vote's ack (or HTTP 200) arrived
        self.votes: dict[int, tuple[int, int]] = {}  # k -> (statement id, delegation id)
        self.confirmed: set[int] = set()
        self.statuses: dict[int, int] = {}

    async def run(self) -> dict:
        plan, mode = self.plan, self.mode
        d = plan.delegations
        data = await asyncio.to_thread(mode.data, "setup", label=self.label, delegates=d, delegations=d, chairs=plan.consoles, pairs=1)
        rnd = await asyncio.to_thread(mode.data, "round", label=self.label, statements=plan.statements, prevoted=plan.prevoted)
        self.round, self.statements, self.delegation_of = rnd["round"], rnd["statements"], rnd["delegation_of"]
        self.statement_index = {pk: j for j, pk in enumerate(self.statements)}
        result: dict = {"mode": mode.name, "transport": self.transport, "processes": mode.processes, "delegations": d, "statements": plan.statements,
                        "consoles": plan.consoles, "analysis_delay_s": float(mode.env.get("OPINION_ANALYSIS_DELAY", "0.25"))}  # fmt: skip
        servers = mode.start("ours", token=self.label)
        self.servers = servers
        target = self.target = Ours(mode, servers, data, self.label, plan)
        view = self.view = ConsoleView(plan.consoles, f'id="opinion-tally-{self.round}"', f'id="opinion-analysis-{self.round}"')
        tabs: list[Tab] = []
        started = time.perf_counter()
        try:
            await target.prepare()
            tabs = [target.console_tab(view, c) for c in range(plan.consoles)] + [target.delegate_tab(view, i) for i in range(d)]
            view.tabs, self.delegate_tabs = tabs[: plan.consoles], tabs[plan.consoles:]
            _s, never, _failures = await open_all(tabs)
            if never:
                raise RuntimeError(f"{never} sockets could not connect")
            await wait_idle(servers, 10)
            k = 0
            warmup = await self.step(list(range(plan.warmup)), 5)
            k = plan.warmup
            cpu = server_cpu_s(servers)
            steps = []
            for rate in plan.rates:
                count = max(int(rate * plan.step_s), 10)
                if k + count > d * (plan.statements - plan.prevoted):
                    break
                # A step that fell behind leaves requests and analyses running: the next starts on an idle server.
                await wait_idle(servers, plan.idle_s)
                await asyncio.sleep(plan.pause_s)
                step = await self.step(list(range(k, k + count)), rate)
                k += count
                steps.append(step)
                print(f"    votes {rate:>4}/s: sent {step['sent']} ok {step['ok']} stored {step['stored']} shown {step['shown']}"
                      f" p50 {step['p50_ms']} p99 {step['p99_ms']} max {step['max_ms']} ms (ack p50 {step['ack_p50_ms']} p99 {step['ack_p99_ms']}), {step['panels']} tallies and"
                      f" {step['analyses']} analyses on a console"
                      f" {'sustained' if step['passed'] else 'NOT sustained'}", flush=True)  # fmt: skip
                # Every ladder runs up to the target rate, so that each run has its p99 there; past it, the
                # first step not sustained ends the ladder.
                if not step["passed"] and rate >= plan.target_rate:
                    break
            cpu = server_cpu_s(servers) - cpu
            result["idle_after_s"] = await wait_idle(servers, plan.idle_s)
            result["baseline"] = await self.answers_baseline(steps[0]["rate"] if steps else 50)
            final = await asyncio.to_thread(mode.data, "votes", label=self.label, round=self.round)
            best = max((s for s in steps if s["passed"]), key=lambda s: s["rate"], default=None)
            at_target = next((s for s in steps if s["rate"] == plan.target_rate), None)
            votes_sent = sum(s["sent"] for s in [warmup, *steps])
            result.update({
                "warmup": warmup, "steps": steps,
                "sustained_per_s": best["rate"] if best else 0,
                "target_per_s": plan.target_rate,
                "target_p50_ms": at_target["p50_ms"] if at_target else None,
                "target_p99_ms": at_target["p99_ms"] if at_target else None,
                "target_sustained": at_target["passed"] if at_target else None,
                # The round's stored votes less those bulk-created before the ladder.
                "sent": votes_sent, "ok": len(self.confirmed), "stored": final["stored"] - plan.prevoted * d,
                "shown": sum(s["shown"] for s in [warmup, *steps]),
                "lost": len(self.confirmed) - sum(s["shown"] for s in [warmup, *steps]),
                "http_statuses": {str(status): n for status, n in sorted(self.statuses.items())},
                "server_cpu_ms_per_vote": round(cpu * 1000 / max(votes_sent - warmup["sent"], 1), 2),
                "panel_bytes": int(np.median(view.panel_bytes)) if view.panel_bytes else None,
                "console_resyncs": view.resyncs,  # the consoles' resyncs on a gap in their event numbers, as app.js sends them
                # Server CPU per vote at the first step over CPU per answer at the same rate (same run, same servers).
                "vote_over_answer_cpu": round(steps[0]["server_cpu_ms_per_vote"] / result["baseline"]["server_cpu_ms_per_answer"], 2)
                if steps and result["baseline"]["server_cpu_ms_per_answer"] else None,
            })  # fmt: skip
        finally:
            for tab in tabs:
                await tab.finish()
            await target.close()
            result["server_errors"] = {line: n for server in servers for line, n in server.errors().items()}
            stop(*servers)
            result["duration_s"] = round(time.perf_counter() - started, 1)
        return result

    async def answers_baseline(self, rate: int) -> dict:
        """Answers posted by the same delegates at the ladder's first rate, through the answer endpoint
        (the project's ingest path, batched below the view): the server CPU per request beside a vote's,
        measured in the same run on the same servers, so that the ratio holds on a busy machine."""
        count = max(int(rate * self.plan.step_s), 10)
        written: set[int] = set()
        cpu = server_cpu_s(self.servers)
        start = time.perf_counter() + 0.05

        async def one(i: int) -> bool:
            await asyncio.sleep(max(start + i / rate - time.perf_counter(), 0))
            try:
                return await self.target.submit(i, i % self.plan.delegations, timeout=30, on_sent=lambda: written.add(i))
            except Exception:  # noqa: BLE001
                return False

        ok = sum(await asyncio.gather(*(one(i) for i in range(count))))
        await wait_idle(self.servers, self.plan.idle_s)
        cpu = server_cpu_s(self.servers) - cpu
        return {"what": "answers", "rate": rate, "sent": len(written), "ok": ok, "server_cpu_ms_per_answer": round(cpu * 1000 / count, 2)}

    async def vote(self, k: int, at: float, deadline: float, written: set[int]) -> bool:
        plan = self.plan
        d = plan.delegations
        delegate, j = k % d, plan.prevoted + k // d
        statement = self.statements[j]
        self.votes[k] = (statement, self.delegation_of[delegate])
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        self.sent_at[k] = at  # the intended time: a server that falls behind is charged for the queue
        self.view.expect(j, 1)
        target = self.target
        if self.transport == "ws":
            return await self.vote_over_socket(k, j, statement, delegate, deadline, written)
        try:
            status, _body = await asyncio.wait_for(target.http.request(
                target.ports[delegate % len(target.ports)], "POST", f"/meetings/{target.slug}/opinion/statements/{statement}/vote/",
                cookie=target._cookie(target.data["delegates"][delegate]), form={"choice": CHOICES[choice_of(delegate, j)]},
                headers={"X-CSRFToken": target.csrf, "HX-Request": "true"}, timeout=max(deadline - time.perf_counter(), 0.1),
                on_sent=lambda: written.add(k),
            ), max(deadline - time.perf_counter(), 0.1))  # fmt: skip
        except Exception:  # noqa: BLE001  not confirmed (a vote still queued in the client at the deadline is not sent)
            status = 0
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.confirmed_at[k] = time.perf_counter()
            self.confirmed.add(k)
            return True
        self.view.expect(j, -1)  # refused or failed: no console will count it
        return False

    async def vote_over_socket(self, k: int, j: int, statement: int, delegate: int, deadline: float, written: set[int]) -> bool:
        """Vote k as the page sends it over its open socket; confirmed by its ack."""
        key = f"{self.label}-{k}"
        acked = self.view.acks[key] = asyncio.get_running_loop().create_future()
        frame = json.dumps({"type": "vote", "key": key, "round": self.round, "statement": statement,
                            "choice": CHOICES[choice_of(delegate, j)]})
        try:
            await self.delegate_tabs[delegate].send(frame)
            written.add(k)
            ok = await asyncio.wait_for(acked, max(deadline - time.perf_counter(), 0.1))
        except Exception:  # noqa: BLE001  not acked by the deadline, or the socket closed
            ok = False
        self.view.acks.pop(key, None)
        status = "ack" if ok else "no ack"
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if ok:
            self.confirmed_at[k] = time.perf_counter()
            self.confirmed.add(k)
            return True
        self.view.expect(j, -1)
        return False

    async def step(self, numbers: list[int], rate: float) -> dict:
        """Send votes `numbers` at `rate` per second, wait for every console to show them, and time each."""
        plan = self.plan
        written: set[int] = set()
        start = time.perf_counter() + 0.05
        window = len(numbers) / rate + plan.drain_s
        deadline = start + window + plan.leftover_s
        cpu = server_cpu_s(self.servers)
        panels, analyses = self.view.panels[0], self.view.analyses[0]
        tasks = [asyncio.create_task(self.vote(k, start + i / rate, deadline, written)) for i, k in enumerate(numbers)]
        outcomes = await asyncio.gather(*tasks)
        try:
            await asyncio.wait_for(self.view.done.wait(), max(start + window - time.perf_counter(), 0.1))
        except TimeoutError:
            pass
        idle = await wait_idle(self.servers, plan.idle_s)  # the step's CPU includes the work it left queued
        cpu = server_cpu_s(self.servers) - cpu
        stored = await asyncio.to_thread(self.mode.data, "votes", label=self.label, round=self.round)
        seqs = {(statement, delegation): seq for statement, delegation, seq in stored["votes"]}
        mine = [self.votes[k] for k in numbers]
        times = shown_times(mine, seqs, self.view.reached, self.statement_index)
        latencies, everywhere = [], 0
        for k, per_console in zip(numbers, times):
            if k not in self.confirmed:
                continue
            latencies += [t - self.sent_at[k] for t in per_console if t is not None]
            everywhere += all(t is not None for t in per_console)
        acks = [self.confirmed_at[k] - self.sent_at[k] for k in numbers if k in self.confirmed_at]
        result = {
            "rate": rate, "sent": len(written), "not_sent": len(numbers) - len(written), "ok": sum(outcomes),
            "stored": sum(1 for vote in mine if vote in seqs), "shown": everywhere,
            "p50_ms": ms(percentile(latencies, 0.5)), "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(max(latencies)) if latencies else None,
            # Until the delegate's own confirmation (stored, its panel back): the rest of "shown" is the consoles' path.
            "ack_p50_ms": ms(percentile(acks, 0.5)), "ack_p99_ms": ms(percentile(acks, 0.99)),
            "panels": self.view.panels[0] - panels,  # tallies (analyses included) that reached the first console during the step
            "analyses": self.view.analyses[0] - analyses,  # analysis panels among them
            "server_cpu_ms_per_vote": round(cpu * 1000 / len(numbers), 2),
            "idle_after_s": idle,
        }  # fmt: skip
        result["passed"] = self.plan.sustains(result)
        return result


async def measure_votes(mode: Mode, plan: VotePlan, transport: str = "ws") -> dict:
    """The vote ladder on this mode's servers (one process embedded, two scaled); a failure is reported, not raised."""
    print(f"  votes ({mode.name}, over {transport}): {plan.delegations} delegations, {plan.statements} statements,"
          f" {plan.consoles} consoles", flush=True)
    try:
        return await VoteRun(mode, plan, transport).run()
    except Exception as error:  # noqa: BLE001  the benchmark goes on with the next mode
        print(f"  votes ({mode.name}, over {transport}): FAILED {type(error).__name__}: {error}", flush=True)
        return {"mode": mode.name, "transport": transport, "error": f"{type(error).__name__}: {error}"}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="embedded,scaled")
    parser.add_argument("--quick", action="store_true", help="one small step (what the smoke test runs)")
    parser.add_argument("--rates", help="the ladder, votes per second (50,100,250,500,750)")
    parser.add_argument("--transport", default="ws", help="how delegates vote: ws (over the page's socket, as the page"
                        " does), http (the form's post), or both, comma-separated, each on its own servers in turn")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="an extra setting for the servers")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "votes.json")
    options = parser.parse_args(argv)
    plan = replace(VotePlan(), **QUICK) if options.quick else VotePlan()
    if options.rates:
        plan = replace(plan, rates=tuple(int(rate) for rate in options.rates.split(",")))
    extra = dict(item.split("=", 1) for item in options.env)
    transports = options.transport.split(",")
    if not set(transports) <= set(TRANSPORTS):
        parser.error(f"--transport: one or more of {', '.join(TRANSPORTS)}")

    async def every_mode() -> list[dict]:
        results = []
        for name in options.modes.split(","):
            for transport in transports:
                with Mode(name, pg_url=options.pg_url, redis_url=options.redis_url, extra_env=extra) as mode:
                    results.append(await measure_votes(mode, plan, transport))
        return results

    from harness import raise_fd_limit

    raise_fd_limit()
    load = [round(value, 2) for value in os.getloadavg()]
    results = asyncio.run(every_mode())
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"load_average_at_start": load, "plan": asdict(plan), "extra_env": options.env,
                                       "runs": results}, indent=2) + "\n")
    print(table(results))
    return results


def table(results: list[dict]) -> str:
    lines = ["mode      over  rate/s   sent     ok stored  shown  lost  p50 ms  p99 ms  max ms  tallies analyses  CPU ms/vote"]
    for run in results:
        over = run.get("transport", "http")
        if run.get("error"):
            lines.append(f"{run['mode']:9} {over:5} ERROR {run['error']}")
            continue
        for step in run["steps"]:
            lines.append(f"{run['mode']:9} {over:5} {step['rate']:>6} {step['sent']:>6} {step['ok']:>6} {step['stored']:>6} {step['shown']:>6}"
                         f" {step['ok'] - step['shown']:>5} {step['p50_ms']!s:>7} {step['p99_ms']!s:>7} {step['max_ms']!s:>7}"
                         f" {step['panels']:>8} {step.get('analyses', '')!s:>8} {step['server_cpu_ms_per_vote']:>12}"
                         f"{'' if step['passed'] else '  NOT sustained'}")  # fmt: skip
        lines.append(f"{run['mode']:9} {over:5} sustained {run['sustained_per_s']}/s; at {run['target_per_s']}/s p99 {run['target_p99_ms']} ms;"
                     f" {run['sent']} sent, {run['ok']} ok, {run['stored']} stored, {run['shown']} shown, {run['lost']} lost;"
                     f" server CPU per vote / per answer at {run['baseline']['rate']}/s: {run['vote_over_answer_cpu']}")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
