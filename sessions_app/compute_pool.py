"""Numeric work (a round's map, a question's themes) in a process of its own, off the server's GIL.

A round's analysis is k-means and silhouettes over the delegations' positions: about 50 ms of CPU at
193 delegations x 20 statements, 1-2 s for a consultation of 1,000 x 200. Run in a thread of the
server's process it holds the process's one interpreter lock most of that time, so no socket of the
process is read or written meanwhile, and under a stream of votes the analyses took a quarter of the
process (docs/performance.md, "Votes"). The functions run here are pure (numbers and strings in, a dict
out: no database, no Django), so each server process hands them to one child process of its own,
started with the server (live/lifespan.py loads scikit-learn in it) or, elsewhere, on first use (a
management command that analyses nothing starts none).

`FACILITATION["COMPUTE_PROCESSES"]`: 1 (the default) runs them in the child; 0 in the calling thread.
A child that died (killed, out of memory) is replaced and the work run once more in the new one; an
error of the function itself is raised to the caller as it would have been in the thread. The child
is started with multiprocessing's "spawn" (never fork: the server has threads), which imports the
program's main module in the child: Uvicorn's, manage.py and pytest guard theirs with
`if __name__ == "__main__"`, as a script of one's own must; where a child cannot start, the work is
done in the calling thread and an error logged.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

log = logging.getLogger(__name__)

PARENT_CHECK_S = 1.0
TIMEOUT_S = 120.0  # far above the largest analysis benchmarked (1,000 x 200: under 2 s)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_spent = threading.local()


def _timed(function: Callable, args: tuple, kwargs: dict):
    """In the child: the function's result and the CPU seconds it took there."""
    started = time.thread_time()
    return function(*args, **kwargs), time.thread_time() - started


def _start_child(parent: int) -> None:
    """In the child, first: one thread per numeric library, and an exit as soon as the server is gone."""
    # On a few hundred points OpenMP's and BLAS's start-up cost more than the work (as in the server).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    # A server killed (kill -9) or stopped never tells its child; the child would wait for work forever.
    threading.Thread(target=_exit_without, args=(parent,), daemon=True, name="compute-parent-watch").start()


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the server has threads (and a fork of a thread holding a lock deadlocks).
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_child,
                                        initargs=(os.getpid(),))
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def run(function: Callable, /, *args, **kwargs):
    """`function(*args, **kwargs)`, computed in this process's compute child (or in this thread when
    COMPUTE_PROCESSES is 0). `function` is a module-level function; its arguments and result pickle."""
    if not settings.FACILITATION.get("COMPUTE_PROCESSES", 1):
        return _here(function, args, kwargs)
    for attempt in (1, 2):
        pool = _executor()
        try:
            result, cpu = pool.submit(_timed, function, args, kwargs).result(timeout=TIMEOUT_S)
        except BrokenProcessPool:
            _discard(pool)
            log.warning("The compute process died (attempt %s of 2)", attempt)
            continue
        _add_spent(cpu)
        return result
    # Twice no child (one that cannot start: see the module's docstring): the work is done here, not lost.
    log.error("No compute process could run %s; computed in the server's process", getattr(function, "__name__", function))
    return _here(function, args, kwargs)


def _here(function: Callable, args: tuple, kwargs: dict):
    started = time.thread_time()
    try:
        return function(*args, **kwargs)
    finally:
        _add_spent(time.thread_time() - started)


def _add_spent(seconds: float) -> None:
    _spent.seconds = getattr(_spent, "seconds", 0.0) + seconds


def spent_in_this_thread() -> float:
    """CPU seconds that the work this thread ran through `run` took (in the child or here), so far."""
    return getattr(_spent, "seconds", 0.0)


def shutdown() -> None:
    """Stop the child (at the server's exit); the next `run` starts another."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)
