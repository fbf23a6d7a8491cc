"""`make bench`: run every benchmark and write bench/results/latest.json (never part of make test)."""

import json
import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import bench_live  # noqa: E402


def main() -> None:
    ns = [int(n) for n in os.environ.get("BENCH_N", "200,1000").split(",")]
    runs = bench_live.main(ns)
    exports = HERE / "bench_exports.py"
    if exports.exists():
        subprocess.run([sys.executable, str(exports)], check=True)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **{name: version(name) for name in ("django", "channels", "uvicorn", "channels-redis")},
    }
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2) + "\n")
    print(f"\n{'mode':9} {'server':7} {'n':>5} {'connect s':>10} {'fan-out ms':>11} {'sent':>5} {'stored':>7} {'shown':>6} {'burst s':>8}")
    for run in runs:
        print(f"{run['mode']:9} {run['server']:7} {run['n']:>5} {run['connect_s']:>10} {run['fanout_all_ms']:>11} "
              f"{run['sent']:>5} {run['stored']:>7} {run['shown']:>6} {run['ingest_burst_s']:>8}")
    print(f"written to {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
