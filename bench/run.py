"""`make bench`: the live benchmark's full matrix, then the exports and opinion benchmarks (never part of make test).

    .venv/bin/python bench/run.py                                # everything (about 20 minutes here)
    .venv/bin/python bench/run.py --n 200 --modes embedded       # one mode, one size
    .venv/bin/python bench/run.py --n 20 --quick --no-pages      # seconds: what the smoke test runs

Each mode also runs the opinion round's vote ladder (bench_votes.py: votes at 50 to 750 per second until
the chair's console shows them; --no-votes skips it). With BENCH_N5000=1 (or --n5000-only, that step
alone), then N = 5,000 on two processes, ours and the raw server: connect, memory, fan-out and the
storm, no ingest (not in CI: about 15 minutes here). Then bench_exports.py and bench_library.py (the
practice library at 1k/10k/50k practices on SQLite and PostgreSQL; BENCH_LIBRARY_SKIP_50K=1 skips the
50,000 size, for CI).
Writes bench/results/latest.json (or --out) and prints a table with the ratios ours/channels and
ours/raw. docs/performance.md explains every figure. Needs PostgreSQL and Redis on 127.0.0.1 for
the scaled mode (--modes embedded runs without them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import uvloop

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_live  # noqa: E402
import bench_votes  # noqa: E402
from harness import ROOT, Mode, raise_fd_limit  # noqa: E402

SERVERS = ("ours", "channels", "raw")
# The old design's ingest figures (answer posts batched by an ASGI layer in front of Django, removed
# in issue 22), printed and recorded beside this run's for comparison (docs/performance.md).
BEFORE = HERE / "results" / "ingest_before_issue22.json"
BEFORE_FIELDS = ("ingest_sustained_per_s", "ingest_p99_ms", "ingest_target_p99_ms", "ingest_server_cpu_ms_per_answer")
PACKAGES = ("django", "channels", "channels-redis", "redis", "uvicorn", "wsproto", "websockets", "uvloop", "psycopg")
QUICK = {"rounds": 2, "rates": (20,), "target_rate": 20, "step_s": 1.0, "consoles": 2, "drain_s": 5.0, "storm_s": 15.0, "page_answers": 200,
         "page_repeats": 3, "run_budget_s": 40.0, "run_timeout_s": 60.0, "connect_s": 30.0, "fanout_timeout_s": 10.0,
         "pause_s": 0.2, "settle_s": 0.3, "ingest_settle_s": 5.0, "burst_window_s": 15.0, "leftover_s": 10.0}  # fmt: skip


def csv(kind):
    return lambda text: [kind(item) for item in text.split(",") if item]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=csv(int), default=[200, 1000, 2000], help="delegate counts (200,1000,2000)")
    parser.add_argument("--modes", type=csv(str), default=["embedded", "scaled"], help="embedded,scaled")
    parser.add_argument("--servers", type=csv(str), default=list(SERVERS), help="ours,channels,raw")
    parser.add_argument("--rounds", type=int, help="fan-out rounds per run (5)")
    parser.add_argument("--rates", type=csv(int), help="ingest ladder, answers per second (2,5,10,25,50,100,250,350,500,750,1000,2000)")
    parser.add_argument("--step-s", type=float, help="seconds per ingest step (1.5)")
    parser.add_argument("--consoles", type=int, help="chair consoles (3)")
    parser.add_argument("--no-storm", action="store_true", help="skip the reconnect storm")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst of every delegate at once")
    parser.add_argument("--answers", choices=["ws", "http"], default="ws",
                        help="the ingest's answers over the delegates' sockets as the page sends them (ws), or as the form posts them (http)")
    parser.add_argument("--no-pages", action="store_true", help="skip the session page timing")
    parser.add_argument("--no-exports", action="store_true", help="skip bench_exports.py")
    parser.add_argument("--no-overrides", action="store_true", help="skip bench_overrides.py")
    parser.add_argument("--no-opinion", action="store_true", help="skip bench_opinion.py (round analysis, themes of answers)")
    parser.add_argument("--no-votes", action="store_true", help="skip the opinion round's vote ladder (bench_votes.py) in each mode")
    parser.add_argument("--no-library", action="store_true",
                        help="skip bench_library.py (BENCH_LIBRARY_SKIP_50K=1 keeps it to 1,000 and 10,000 practices)")
    parser.add_argument("--quick", action="store_true", help="tiny steps and rounds (the smoke test's settings)")
    parser.add_argument("--n5000-only", action="store_true", help="only the N = 5,000 step (BENCH_N5000=1 adds it to the matrix)")
    parser.add_argument("--max-minutes", type=float, default=30, help="runs not started by then are skipped (30)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="an existing database to connect to; the scaled mode creates and drops its own next to it")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
                        help="a Redis database number for the benchmark alone (its channel-layer keys are deleted)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra setting for every server, to try a change (e.g. CONN_MAX_AGE=60); recorded in the results")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    options = parser.parse_args(argv)
    unknown = (set(options.servers) - set(SERVERS)) | (set(options.modes) - {"embedded", "scaled"})
    if unknown:
        parser.error(f"unknown modes or servers: {sorted(unknown)}")
    return options


def plan_from(options: argparse.Namespace) -> bench_live.Plan:
    plan = replace(bench_live.Plan(), **QUICK) if options.quick else bench_live.Plan()
    chosen = {"rounds": options.rounds, "step_s": options.step_s, "consoles": options.consoles,
              "rates": tuple(options.rates) if options.rates else None}  # fmt: skip
    plan = replace(plan, **{name: value for name, value in chosen.items() if value is not None})
    return replace(plan, storm=not options.no_storm, burst=not options.no_burst, answer_transport=options.answers)


def machine() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()  # not strip(): porcelain lines start with a space

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        **{f"{name}-py" if name == "redis" else name: version(name) for name in PACKAGES},
        # The code measured: the commit, and whether the app had changes not yet committed.
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_uncommitted": [line[3:] for line in git("status", "--porcelain", "--", "sessions_app", "facilitation", "templates").splitlines()],
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def matrix(options: argparse.Namespace, plan: bench_live.Plan, info: dict) -> tuple[list[dict], list[dict], list[dict]]:
    runs, pages, votes = [], [], []
    vote_plan = replace(bench_votes.VotePlan(), **bench_votes.QUICK) if options.quick else bench_votes.VotePlan()
    deadline = time.monotonic() + options.max_minutes * 60
    for mode_name in options.modes:
        print(f"{mode_name} mode", flush=True)
        extra = dict(item.split("=", 1) for item in options.env)
        with Mode(mode_name, pg_url=options.pg_url, redis_url=options.redis_url, extra_env=extra) as mode:
            info.update({f"{name}_server": value for name, value in mode.versions.items()})
            if not options.no_pages and "ours" in options.servers:
                page = await bench_live.measure_pages(mode, plan)
                pages.append(page)
                print(f"  session page: {page['empty']['delegate_ms']} ms with 0 answers, {page['full']['delegate_ms']} ms with "
                      f"{page['answers'][1]:,} (console {page['empty']['console_ms']} / {page['full']['console_ms']} ms)", flush=True)
            if not options.no_votes and "ours" in options.servers:
                votes.append(await bench_votes.measure_votes(mode, vote_plan))
            shared: dict = {}
            for n in options.n:
                for server in options.servers:
                    run: dict = {"mode": mode_name, "server": server, "n": n}
                    if time.monotonic() > deadline:
                        run["error"] = f"not run: past --max-minutes {options.max_minutes:g}"
                    else:
                        try:
                            await asyncio.wait_for(bench_live.run_one(mode, server, n, plan, shared, run), plan.run_timeout_s)
                        except TimeoutError:
                            run["error"] = f"stopped after {plan.run_timeout_s:g} s"
                    if pages and server == "ours":
                        run["session_page_ms"] = pages[-1]["empty"]["delegate_ms"]
                        run["session_page_10k_ms"] = pages[-1]["full"]["delegate_ms"]
                    runs.append(run)
    return runs, pages, votes


# N = 5,000 on two processes, the next step towards consultations of 10,000: the phases that scale with
# N (connect, memory, fan-out, storm), each bound widened; ingest is measured at 2,000 by the matrix.
N5000 = {"ingest": False, "burst": False, "connect_s": 400.0, "storm_s": 180.0, "fanout_timeout_s": 30.0,
         "run_budget_s": 1200.0, "run_timeout_s": 1800.0, "settle_s": 3.0}  # fmt: skip
N5000_FIELDS = ("fanout_all_ms", "fanout_p99_ms", "fanout_server_cpu_ms_per_round", "fanout_client_cpu_ms_per_round",
                "fanout_redis_cpu_ms_per_round", "kb_per_socket", "connect_s", "reconnect_all_s", "storm_server_cpu_s")


async def n5000(options: argparse.Namespace, plan: bench_live.Plan, info: dict) -> dict:
    """The N = 5,000 step: ours and the raw server on two processes, and ours / raw per figure."""
    plan = replace(plan, **N5000)
    runs = []
    extra = dict(item.split("=", 1) for item in options.env)
    with Mode("scaled", pg_url=options.pg_url, redis_url=options.redis_url, extra_env=extra) as mode:
        info.update({f"{name}_server": value for name, value in mode.versions.items()})
        for server in ("ours", "raw"):
            run: dict = {"mode": "scaled", "server": server, "n": 5000}
            try:
                await asyncio.wait_for(bench_live.run_one(mode, server, 5000, plan, {}, run), plan.run_timeout_s)
            except TimeoutError:
                run["error"] = f"stopped after {plan.run_timeout_s:g} s"
            runs.append(run)
    ours, raw = runs
    ratio = {f"{name}_ours_over_raw": round(ours[name] / raw[name], 2) for name in N5000_FIELDS if ours.get(name) and raw.get(name)}
    return {"plan": asdict(plan), "runs": runs, "ratios": ratio}


def before(runs: list[dict]) -> list[dict]:
    """For each of our runs, the old design's ingest figures at the same mode and N (when recorded)."""
    if not BEFORE.exists():
        return []
    recorded = json.loads(BEFORE.read_text())
    old = {(row["mode"], row["n"]): row for row in recorded["runs"]}
    rows = []
    for run in runs:
        if run["server"] == "ours" and (run["mode"], run["n"]) in old:
            then = old[(run["mode"], run["n"])]
            rows.append({"mode": run["mode"], "n": run["n"], "processes": 1 if run["mode"] == "embedded" else 2,
                         "before_commit": recorded["git_commit"],
                         **{f"now_{name}": run.get(name) for name in BEFORE_FIELDS}, **{f"before_{name}": then.get(name) for name in BEFORE_FIELDS}})  # fmt: skip
    return rows


def ratios(runs: list[dict]) -> list[dict]:
    """ours / baseline for the same mode and N: fan-out time until all N had it, and sustained ingest."""
    by_key = {(run["mode"], run["server"], run["n"]): run for run in runs}
    out = []
    for (mode, server, n), run in by_key.items():
        if server != "ours":
            continue
        row = {"mode": mode, "n": n}
        for baseline in ("channels", "raw"):
            other = by_key.get((mode, baseline, n), {})
            if run.get("fanout_all_ms") and other.get("fanout_all_ms"):
                row[f"fanout_ours_over_{baseline}"] = round(run["fanout_all_ms"] / other["fanout_all_ms"], 2)
            if run.get("ingest_sustained_per_s") is not None and other.get("ingest_sustained_per_s"):
                row[f"ingest_ours_over_{baseline}"] = round(run["ingest_sustained_per_s"] / other["ingest_sustained_per_s"], 3)
        out.append(row)
    return out


COLUMNS = [
    ("mode", "mode", 8), ("server", "server", 8), ("n", "n", 5), ("connect_s", "conn s", 7), ("kb_per_socket", "kB/sock", 7),
    ("fanout_all_ms", "fan all", 8), ("fanout_p50_ms", "fan p50", 8), ("fanout_p99_ms", "fan p99", 8), ("fanout_max_ms", "fan max", 8),
    ("reconnect_all_s", "recon s", 7), ("ingest_sustained_per_s", "ingest/s", 8), ("ingest_p99_ms", "ing p99", 8),
    ("ingest_target_p99_ms", "p99@500", 8),
    ("burst_shown_in_window", "burst in", 8), ("burst_all_ms", "burst ms", 9),
    ("sent", "sent", 6), ("ok", "ok", 6), ("stored", "stored", 6), ("shown", "shown", 6),
]  # fmt: skip


def table(runs: list[dict], ratio_rows: list[dict], pages: list[dict], plan: bench_live.Plan, before_rows: list[dict] = ()) -> str:
    lines = [" ".join(f"{title:>{width}}" for _key, title, width in COLUMNS)]
    for run in runs:
        cells = [f"{'-' if run.get(key) is None else run[key]:>{width}}" for key, _title, width in COLUMNS]
        lines.append(" ".join(cells) + (f"  ERROR {run['error']}" if run.get("error") else ""))
    lines.append(f"(burst in: answers of the burst on every console within {plan.burst_window_s:g} s; ms: time in milliseconds)")
    if ratio_rows:
        lines.append("")
        lines.append("ours / baseline: fan-out time until all N have it (lower is better for ours), sustained ingest rate")
        for row in ratio_rows:
            lines.append(f"  {row['mode']:8} n={row['n']:<5} fan-out ours/channels {row.get('fanout_ours_over_channels', '-'):>5}"
                         f"  ours/raw {row.get('fanout_ours_over_raw', '-'):>5}   ingest ours/channels"
                         f" {row.get('ingest_ours_over_channels', '-'):>6}  ours/raw {row.get('ingest_ours_over_raw', '-'):>6}")  # fmt: skip
    if before_rows:
        lines.append("")
        lines.append(f"ingest, now (answers batched below Django's view) / before (ASGI layer in front of Django, {before_rows[0]['before_commit']}):")
        for row in before_rows:
            lines.append(f"  {row['mode']:8} n={row['n']:<5} {row['processes']} process(es): sustained {row['now_ingest_sustained_per_s']} / "
                         f"{row['before_ingest_sustained_per_s']} per s, p99 {row['now_ingest_p99_ms']} / {row['before_ingest_p99_ms']} ms, "
                         f"p99 at the target {row['now_ingest_target_p99_ms']} / {row['before_ingest_target_p99_ms']} ms, "
                         f"CPU per answer {row['now_ingest_server_cpu_ms_per_answer']} / {row['before_ingest_server_cpu_ms_per_answer']} ms")  # fmt: skip
    for page in pages:
        lines.append(f"session page ({page['mode']}): delegate {page['empty']['delegate_ms']} ms with 0 answers, {page['full']['delegate_ms']} ms"
                     f" with {page['answers'][1]:,}; console {page['empty']['console_ms']} / {page['full']['console_ms']} ms"
                     f" ({page['empty']['console_bytes'] // 1000} / {page['full']['console_bytes'] // 1000} kB, {page['ratios']['console_full_over_empty']}x);"
                     f" opening question 1 {page['full'].get('console_question_ms')} ms, {page['full'].get('console_question_bytes', 0) // 1000} kB")  # fmt: skip
    return "\n".join(lines)


def stop_on_sigterm(signum, frame) -> None:
    """SIGTERM ends the run as Ctrl+C does: servers stopped, the scaled mode's database dropped."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> dict:
    options = parse(argv)
    plan = plan_from(options)
    raise_fd_limit()
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        started = time.perf_counter()
        info = machine()
        runs, pages, votes = ([], [], []) if options.n5000_only else uvloop.run(matrix(options, plan, info))
        step = uvloop.run(n5000(options, plan, info)) if options.n5000_only or os.environ.get("BENCH_N5000") == "1" else None
        info["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
        info["live_duration_s"] = round(time.perf_counter() - started, 1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    ratio_rows, before_rows = ratios(runs), before(runs)
    result = {"machine": info, "plan": asdict(plan), "extra_env": options.env, "runs": runs, "ratios": ratio_rows, "pages": pages,
              "ingest_before": before_rows, "votes": votes, **({"n5000": step} if step else {})}  # fmt: skip
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(runs + (step["runs"] if step else []), ratio_rows, pages, plan, before_rows))
    if votes:
        print("\nopinion round, votes until the console shows them:")
        print(bench_votes.table(votes))
    if step:
        print("N = 5,000, two processes, ours / raw: " + ", ".join(f"{name} {value}" for name, value in step["ratios"].items()))
    if options.n5000_only:
        return result
    print(f"\nlive benchmark: {info['live_duration_s']} s, written to {options.out}")
    exports = HERE / "bench_exports.py"
    if not options.no_exports and exports.exists():
        subprocess.run([sys.executable, str(exports)], check=True)
    if not options.no_overrides:  # what the overrides of Channels' layer and Django's SQLite backend buy
        overrides = subprocess.run([sys.executable, str(HERE / "bench_overrides.py")], check=True, capture_output=True, text=True)
        result["overrides"] = json.loads(overrides.stdout)
        options.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"overrides: layer broadcast at {result['overrides']['sockets']} sockets {result['overrides']['layer_broadcast_ms']['ratio_stack_over_ours']}x"
              f" faster than Channels' own, SQLite burst {result['overrides']['sqlite_burst_s']['ratio_stack_over_ours']}x faster than Django's")  # fmt: skip
    if not options.no_opinion:
        subprocess.run([sys.executable, str(HERE / "bench_opinion.py")], check=True)
    library = HERE / "bench_library.py"
    # --quick (the smoke test) never builds libraries of 50,000 practices.
    if not options.no_library and not options.quick and library.exists():
        subprocess.run([sys.executable, str(library), "--pg-url", options.pg_url], check=True)
    return result


if __name__ == "__main__":
    main()
