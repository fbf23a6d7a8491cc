"""The servers under test and the two modes they run in, on 127.0.0.1 only.

embedded: one process, SQLite in a temporary directory, the in-memory channel layer.
scaled:   two processes, PostgreSQL (a database created here and dropped afterwards) and
          channels-redis on a Redis database number of its own.
Servers: ours (the project, real settings), channels (bare_channels.py), raw (raw_ws.py).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, manage, project_env  # noqa: E402

PR_SET_PDEATHSIG = 1  # prctl(2)
NOISE = re.compile(r'"WebSocket /|connection (open|closed)')
UVICORN_FLAGS = ["--host", "127.0.0.1", "--ws", "wsproto", "--ws-per-message-deflate", "false", "--no-access-log", "--backlog", "4096"]
# Ours sends its pending live messages at a graceful stop (sessions_app/live/lifespan.py); the bare Channels app has no lifespan.
LIFESPAN = {"ours": ["--lifespan", "on", "--timeout-graceful-shutdown", "10"], "channels": ["--lifespan", "off"]}


def server_port() -> int:
    """A free port for a server: in BENCH_PORTS ("8300-8399") when set, so that engineers sharing a
    machine keep to their own ranges; else any free port."""
    span = os.environ.get("BENCH_PORTS", "")
    if not span:
        return free_port()
    first, last = (int(part) for part in span.split("-"))
    # Round the range, not from its start each time: a server just started may not listen yet.
    for offset in range(last - first + 1):
        port = first + (_cursor[0] + offset) % (last - first + 1)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _cursor[0] = port - first + 1
        return port
    raise RuntimeError(f"no free port left in BENCH_PORTS={span}")


_cursor = [0]


def raise_fd_limit() -> int:
    """2,000 sockets on each side plus HTTP and Redis connections: lift the soft limit to the hard one
    (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: object = field(repr=False)

    def tail(self, lines: int = 30) -> str:
        """The end of the server's log, without Uvicorn's line per WebSocket opened and closed."""
        self.log.seek(0)
        kept = [line for line in self.log if not NOISE.search(line)]
        return "".join(kept[-lines:])

    def errors(self) -> Counter:
        """How often each exception (the last line of a traceback) appears in the log so far."""
        self.log.seek(0)
        found = Counter()
        for line in self.log:
            if EXCEPTION_LINE.match(line):
                found[re.sub(r"\d+", "N", line.strip())[:200]] += 1
        return found


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Disconnected|Refused)\b.*|^Local fan-out could not deliver.*")


def die_with_parent() -> None:
    """In the child: get SIGTERM when the benchmark dies, so that no server outlives a killed run."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(argv: list[str], *, env: dict, port: int, probe: str) -> Server:
    """Start one server; return once it answers HTTP on `probe` (or raise with its log)."""
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server must never block on it
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent)
    server = Server(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited: {server.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2):
                return server
        except urllib.error.HTTPError:
            return server  # it answers HTTP: up
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"server on port {port} did not answer within 30 s")


def stop(*servers: Server) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        server.log.close()


def process_tree(pid: int) -> list[int]:
    """A server process and its descendants (its compute process, sessions_app/compute_pool.py, and
    multiprocessing's resource tracker), which the server's figures include."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except OSError:  # exited meanwhile
            continue
    return found


def rss_kb(servers: list[Server]) -> int:
    """Resident memory of the server processes and their descendants, summed (kB, from /proc)."""
    total = 0
    for server in servers:
        for pid in process_tree(server.process.pid):
            try:
                with open(f"/proc/{pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                continue
    return total


def client_cpu_s() -> float:
    """User + system CPU seconds the benchmark's own process (every simulated tab) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def redis_cpu_s(redis_url: str | None) -> float | None:
    """CPU seconds the Redis server has used so far (its INFO; the whole server's, so only meaningful
    on a Redis of the benchmark's own), or None without one."""
    if not redis_url:
        return None
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        cpu = client.info("cpu")
    finally:
        client.close()
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def server_cpu_s(servers: list[Server]) -> float:
    """User + system CPU seconds the server processes and their descendants have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for server in servers:
        for pid in process_tree(server.process.pid):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Mode:
    """A mode's environment (database, channel layer) for every server of a benchmark run."""

    def __init__(self, name: str, *, pg_url: str, redis_url: str, extra_env: dict | None = None):
        if name not in ("embedded", "scaled"):
            raise ValueError(f"unknown mode {name!r}")
        self.name = name
        self.processes = 1 if name == "embedded" else 2
        self.pg_url = pg_url.replace("postgres://", "postgresql://", 1)
        self.redis_url = redis_url
        self.db_name = f"facilitation_bench_{os.getpid()}"
        self.directory = tempfile.mkdtemp(prefix="bench-live-")
        self.env: dict = {}
        self.extra_env = extra_env or {}
        self.versions: dict = {}

    def __enter__(self) -> Mode:
        # The themes of answers (a few seconds after answers, off the request path) are measured by
        # bench_opinion.py; here they would add a varying load to the transport figures.
        overrides = {"DATA_DIR": self.directory, "SYNTHESIS_DELAY": "-1"}
        if self.name == "scaled":
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {self.db_name}")
                self.versions["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            self._clean_redis()
            overrides.update(DATABASE_URL=self.pg_url.rsplit("/", 1)[0] + "/" + self.db_name, REDIS_URL=self.redis_url)
        self.env = project_env(**{**overrides, **self.extra_env})  # --env may switch the themes back on
        manage(self.env, "migrate", "--noinput")
        return self

    def __exit__(self, *exc) -> None:
        if self.name == "scaled":
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            self._clean_redis()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _clean_redis(self) -> None:
        """Channel-layer keys (channels, groups) left in this Redis database by earlier runs: a stale
        group member would receive, and slow, every broadcast (group_expiry is a day)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        self.versions["redis"] = client.info("server")["redis_version"]
        keys = list(client.scan_iter("asgi*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
        client.close()

    def data(self, command: str, **options) -> dict:
        """Run bench/benchdata.py with this mode's settings; its JSON answer."""
        argv = [sys.executable, str(HERE / "benchdata.py"), command]
        for name, value in options.items():
            argv += [f"--{name}", str(value)]
        done = subprocess.run(argv, cwd=ROOT, env=self.env, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, server: str, *, token: str, processes: int | None = None) -> list[Server]:
        """This mode's processes (or `processes` of them) of one server kind, each on its own port."""
        servers = []
        try:
            for _ in range(processes or self.processes):
                port = server_port()
                if server == "ours":
                    argv, probe = [str(BIN / "uvicorn"), "facilitation.asgi:application", "--port", str(port), *UVICORN_FLAGS, *LIFESPAN["ours"]], "/accounts/login/"
                elif server == "channels":
                    argv, probe = [str(BIN / "uvicorn"), "bare_channels:application", "--app-dir", str(HERE), "--port", str(port), *UVICORN_FLAGS, *LIFESPAN["channels"]], "/"
                elif server == "raw":
                    argv, probe = [sys.executable, str(HERE / "raw_ws.py"), "--port", str(port)], "/"
                    if self.name == "scaled":
                        argv += ["--redis", self.redis_url, "--prefix", f"bench-raw-{token}."]
                else:
                    raise ValueError(f"unknown server {server!r}")
                servers.append(start(argv, env=self.env, port=port, probe=probe))
        except BaseException:
            stop(*servers)
            raise
        return servers
