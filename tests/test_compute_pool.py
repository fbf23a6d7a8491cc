"""The maps and themes are computed in a process of the server's own (sessions_app/compute_pool.py):
the same result as in the server's thread, still computed when that process died, and no process
left behind when the server is gone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sessions_app import compute_pool
from sessions_app.opinion import analysis
from sessions_app.opinion.analysis import AGREE, DISAGREE

pytestmark = pytest.mark.embedded_pass  # no database: the services pass leaves it out (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent


def blocs() -> dict[int, dict[int, int]]:
    """Two blocs of four voting opposite ways on eight statements."""
    return {d: {s: (AGREE if (s <= 4) == (d <= 4) else DISAGREE) for s in range(1, 9)} for d in range(1, 9)}


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_map_is_computed_in_another_process_with_the_same_result():
    assert compute_pool.run(os.getpid) != os.getpid()
    pooled = compute_pool.run(analysis.analyse, blocs(), list(range(1, 9)))
    assert pooled == analysis.analyse(blocs(), list(range(1, 9)))
    assert [group["members"] for group in pooled["groups"]] == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_the_cpu_of_the_work_done_in_the_child_is_counted_for_the_calling_thread():
    before = compute_pool.spent_in_this_thread()
    compute_pool.run(analysis.analyse, blocs(), list(range(1, 9)))
    assert compute_pool.spent_in_this_thread() > before


def test_a_killed_compute_process_is_replaced_and_the_map_still_computed():
    child = compute_pool.run(os.getpid)
    os.kill(child, signal.SIGKILL)
    assert gone(child)
    result = compute_pool.run(analysis.analyse, blocs(), list(range(1, 9)))
    assert [group["members"] for group in result["groups"]] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert compute_pool.run(os.getpid) not in (child, os.getpid())


def test_an_error_of_the_computation_reaches_the_caller():
    with pytest.raises(ValueError):
        compute_pool.run(int, "not a number")
    assert compute_pool.run(int, "12") == 12  # the child is still there


def test_without_compute_processes_the_work_runs_in_the_calling_thread(settings):
    settings.FACILITATION = {**settings.FACILITATION, "COMPUTE_PROCESSES": 0}
    assert compute_pool.run(os.getpid) == os.getpid()


def test_the_compute_process_exits_when_its_server_is_killed():
    # A server killed with kill -9 tells its child nothing: the child notices and exits.
    script = (
        "import os, signal, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'facilitation.settings')\n"
        "import django; django.setup()\n"
        "from sessions_app import compute_pool\n"
        "print(compute_pool.run(os.getpid), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    server = subprocess.run([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, timeout=60, env={**os.environ, "COMPUTE_PROCESSES": "1"})
    assert server.returncode == -signal.SIGKILL
    child = int(server.stdout.split()[0])
    assert gone(child, within=compute_pool.PARENT_CHECK_S * 5)
