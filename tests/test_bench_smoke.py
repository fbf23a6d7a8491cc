"""A tiny run of the live benchmark (N = 20, embedded, all three servers), so that `make bench` keeps working.

Figures are not asserted (they depend on the machine and on what else runs on it); what must hold
is the shape of bench/results/latest.json and that no answer is lost on the way.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import run as bench  # noqa: E402
from bench_live import Plan  # noqa: E402

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

RUN_KEYS = {
    "mode", "server", "n", "fanout_all_ms", "fanout_p99_ms", "ingest_sustained_per_s", "ingest_p99_ms",
    "ingest_target_per_s", "ingest_target_p99_ms", "sent", "stored", "shown", "kb_per_socket", "reconnect_all_s",
}  # fmt: skip


def test_live_benchmark_smoke_has_every_figure_and_loses_no_answer(tmp_path):
    out = tmp_path / "latest.json"
    bench.main(["--n", "20", "--modes", "embedded", "--quick", "--no-pages", "--no-exports", "--no-overrides", "--no-opinion", "--no-votes", "--out", str(out)])

    result = json.loads(out.read_text())
    assert {"cpus", "python", "django", "channels", "uvicorn"} <= set(result["machine"])
    runs = {run["server"]: run for run in result["runs"]}
    assert sorted(runs) == ["channels", "ours", "raw"]
    for run in runs.values():
        assert RUN_KEYS - set(run) == set()
        assert (run["mode"], run["n"], run.get("error")) == ("embedded", 20, None)
        assert run["fanout_all_ms"] > 0
    ours = runs["ours"]
    # 3 warm-up answers, 20 at 20/s for 1 s, then a burst of 20: each stored once and on every console
    assert ours["sent"] == ours["ok"] == ours["stored"] == ours["shown"] == 43
    assert ours["confirmed_not_shown"] == 0
    assert ours["ingest_target_per_s"] == 20 and ours["ingest_target_p99_ms"] > 0  # the target step ran, in every ladder
    assert runs["raw"]["received"] == runs["raw"]["sent"] == 43
    assert [row["n"] for row in result["ratios"]] == [20]


def test_an_ingest_step_is_sustained_only_within_the_targets_p99_and_with_nothing_lost():
    plan = Plan()
    kept_up = {"ok": 750, "shown": 750, "p99_ms": 82.2, "max_ms": 189.7}
    assert plan.sustains(kept_up, 750)
    assert not plan.sustains(kept_up | {"p99_ms": 480.5, "max_ms": 495.5}, 750)  # every answer within 1 s, p99 over 250 ms
    assert not plan.sustains(kept_up | {"max_ms": 1200.0}, 750)  # one answer late
    assert not plan.sustains(kept_up | {"shown": 749}, 750)  # one answer missing on a console
    assert not plan.sustains(kept_up | {"ok": 749, "shown": 749}, 750)  # one answer refused


def test_the_old_designs_ingest_figures_are_printed_beside_this_runs():
    run = {"mode": "scaled", "server": "ours", "n": 1000, "ingest_sustained_per_s": 750, "ingest_p99_ms": 120.5,
           "ingest_target_p99_ms": 90.1, "ingest_server_cpu_ms_per_answer": 2.4}  # fmt: skip
    rows = bench.before([run, {**run, "server": "channels"}, {**run, "n": 20}])
    assert len(rows) == 1  # ours only, and only where the old design was measured
    row = rows[0]
    assert (row["processes"], row["now_ingest_sustained_per_s"], row["before_ingest_sustained_per_s"]) == (2, 750, 1000)
    assert "sustained 750 / 1000 per s" in bench.table([run], [], [], Plan(), rows)


def test_a_vote_is_shown_once_the_consoles_table_counts_it_in_event_number_order():
    from bench_votes import shown_times

    # Statement 7 (index 0) got three votes, committed as events 12, 15 and 20 (delegations 1, 2, 3).
    seqs = {(7, 1): 12, (7, 2): 20, (7, 3): 15}
    # Console 0 counted 1 vote at t=1.0, 3 at t=2.0; console 1 counted 2 at t=1.5 and never 3.
    reached = [{0: [1.0, 2.0, 2.0]}, {0: [1.5, 1.5]}]
    times = shown_times([(7, 1), (7, 2), (7, 3), (7, 4)], seqs, reached, {7: 0})
    # Delegation 2's vote is the third in event order: shown when a table counts 3; delegation 4's was never stored.
    assert times == [[1.0, 1.5], [2.0, None], [2.0, 1.5], [None, None]]


def test_a_vote_step_is_sustained_only_with_nothing_lost_and_its_p99_within_250_ms():
    from bench_votes import VotePlan

    plan = VotePlan()
    kept_up = {"sent": 750, "ok": 750, "shown": 750, "not_sent": 0, "p99_ms": 180.0, "max_ms": 400.0}
    assert plan.sustains(kept_up)
    assert not plan.sustains(kept_up | {"p99_ms": 260.0})
    assert not plan.sustains(kept_up | {"shown": 749})  # one vote confirmed, never counted on a console
    assert not plan.sustains(kept_up | {"not_sent": 3})  # the client could not even send them in time


def test_a_vote_sent_over_the_socket_is_confirmed_by_its_ack_and_not_by_a_refusal():
    import asyncio

    from bench_votes import ConsoleView

    async def acks():
        view = ConsoleView(1, 'id="opinion-tally-1"', 'id="opinion-analysis-1"')
        loop = asyncio.get_running_loop()
        stored, refused, other = (view.acks.setdefault(key, loop.create_future()) for key in ("run-1", "run-2", "run-3"))
        view.on_delegate(0, '<section id="opinion-vote-1"></section><span class="vote-ack" data-vote-ack="run-1" hidden></span>', 0.0)
        view.on_delegate(0, '<p id="live-notice">No</p><span class="vote-ack" data-vote-ack="run-2" data-vote-refused hidden></span>', 0.0)
        return stored.result(), refused.result(), other.done()

    assert asyncio.run(acks()) == (True, False, False)
