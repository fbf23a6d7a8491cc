"""Start real ASGI servers (Uvicorn) of this project for tests and benchmarks, on 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


_handed_out: set[int] = set()  # ports already given in this process, maybe not bound yet


def free_port() -> int:
    """A free port on 127.0.0.1: one the system picks, or one of FREE_PORTS ("8400-8499") where
    several people share the machine and each has a range. Never one given before in this process:
    two asked for in a row, before either is bound, must differ (the system may pick a port again
    once the probing socket is closed)."""
    first, _, last = os.environ.get("FREE_PORTS", "").partition("-")
    candidates = range(int(first), int(last or first) + 1) if first else [0] * 50
    for port in candidates:
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            found = sock.getsockname()[1]
        if found not in _handed_out:
            _handed_out.add(found)
            return found
    where = f"in FREE_PORTS={os.environ['FREE_PORTS']}" if first else "that the system gave and was not handed out before"
    raise RuntimeError(f"no free port {where}")


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def start_server(env: dict, port: int, *extra: str) -> subprocess.Popen:
    """Uvicorn with the project's real settings; returns once it answers HTTP (or raises with its log)."""
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server must never block on it
    process = subprocess.Popen(
        [str(BIN / "uvicorn"), "facilitation.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "wsproto", "--ws-per-message-deflate", "false", "--lifespan", "on", "--no-access-log", "--timeout-graceful-shutdown", "10", *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )
    process.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server on port {port} exited: {log.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"server on port {port} did not answer within 30 s")


def stop_servers(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.log.close()


def project_env(**overrides: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="facilitation.settings", **overrides)
    return env
