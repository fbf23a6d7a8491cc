"""A small run of bench/bench_opinion.py, so that `make bench` keeps working: the shape of its
results and that its made-up answers give themes (figures are not asserted: they depend on the machine)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_opinion  # noqa: E402

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)


def test_opinion_benchmark_reports_each_step_against_its_baseline(tmp_path):
    out = tmp_path / "opinion.json"
    bench_opinion.main(["--quick", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [row["baseline"] for row in result["steps"]] == ["PCA alone", "PCA alone", "TF-IDF alone"]
    for row in result["steps"]:
        assert row["ms"] > 0 and row["baseline_ms"] > 0 and row["ratio"] > 0
    assert result["themes_found"] == 4  # one per made-up topic


def test_the_benchmarks_votes_form_the_blocs_they_were_drawn_from():
    votes, statements = bench_opinion.votes_matrix(60, 20, seen=0.9)
    from sessions_app.opinion import analysis

    result = analysis.analyse(votes, statements)
    # Three groups, each nearly one bloc (participant p is in bloc p % 3; 15 % of votes are noise).
    assert len(result["groups"]) == 3
    for group in result["groups"]:
        blocs = [member % 3 for member in group["members"]]
        assert max(blocs.count(b) for b in range(3)) >= 0.9 * len(blocs)
