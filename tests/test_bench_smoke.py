"""A tiny run of the live benchmark, so that `make bench` keeps working (figures are not asserted)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_live  # noqa: E402


def test_live_benchmark_smoke_loses_no_answer():
    (run,) = bench_live.main([20])
    assert (run["n"], run["sent"], run["stored"], run["shown"]) == (20, 20, 20, 20)
    assert run["fanout_all_ms"] > 0
