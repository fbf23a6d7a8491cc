"""Plain helpers shared by the browser fixtures (conftest.py) and the screenshot script.

Nothing here imports Django: the application is only reached through a real server and a real browser.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from playwright.sync_api import BrowserContext, Page, expect

from ..servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-meeting-2023")
DELEGATION_COUNT = 38  # OECD members loaded by load_demo
SERVER_START_TIMEOUT = 20.0


class ServerError(RuntimeError):
    """The live server could not be prepared or did not start."""


# --- the server ---------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, max_chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""


def server_env(data_dir: Path) -> dict[str, str]:
    """os.environ, but on an isolated SQLite database and the in-memory channel layer."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env["DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "facilitation.settings"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise ServerError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_until_answering(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            with urllib.request.urlopen(server.url + "/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last_error = error
        time.sleep(0.1)
    _stop(server.process)
    state = f"exited with code {server.process.returncode}" if server.process.returncode not in (None, -15) else "did not answer"
    raise ServerError(
        f"Uvicorn {state} within {timeout:.0f} s at {server.url} (last error: {last_error!r}).\n"
        f"--- server stderr ---\n{server.log_tail(20000)}"
    )


_demo_made: list[Path] = []  # the data directory of this run's first demo, migrated and loaded


def _migrated_demo(data_dir: Path, env: dict[str, str]) -> None:
    """`migrate` and `load_demo` into data_dir: run once per test run, then copied (a server of its
    own starts from the same demo without paying the two commands again)."""
    if _demo_made and (_demo_made[0] / "db.sqlite3").exists():
        for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
            if (_demo_made[0] / name).exists():
                shutil.copy2(_demo_made[0] / name, data_dir / name)
        return
    manage(["migrate", "--noinput"], env)
    manage(["load_demo", "--quiet-accounts"], env)
    copy = Path(tempfile.mkdtemp(prefix="demo-db-"))
    atexit.register(shutil.rmtree, copy, True)
    for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
        if (data_dir / name).exists():
            shutil.copy2(data_dir / name, copy / name)
    _demo_made.append(copy)


@contextmanager
def live_server(data_dir: Path, timeout: float = SERVER_START_TIMEOUT) -> Iterator[LiveServer]:
    """Migrate, load the demo, serve it with Uvicorn as `make run` does; stop the server on exit."""
    env = server_env(data_dir)
    _migrated_demo(data_dir, env)
    port = free_port()
    uvicorn = Path(sys.executable).parent / "uvicorn"  # the venv's bin/ (sys.executable is not resolved)
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(uvicorn), "facilitation.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--ws", "wsproto", "--lifespan", "on"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, process=process, log_path=log_path)
    try:
        _wait_until_answering(server, timeout)
        yield server
    finally:
        _stop(process)


# --- pages --------------------------------------------------------------------------------------


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form; returns once the browser has left the login page."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.locator("#id_password").press("Enter")
    if "/accounts/login/" in page.url:
        errors = page.locator(".form-error").all_inner_texts()
        raise AssertionError(f"login as {username} failed: {errors}")


def meeting_slug_from_home(page: Page) -> str:
    """GET / redirects to /meetings/<slug>/ when there is one meeting."""
    page.goto("/")
    match = re.search(r"/meetings/([^/]+)/", page.url)
    if not match:
        raise AssertionError(f"/ did not redirect to a meeting: {page.url}")
    return match.group(1)


# --- a network drop -----------------------------------------------------------------------------


class DroppableProxy:
    """A TCP proxy in front of the live server whose "network" can be cut and restored.

    Why not something simpler: Chromium keeps open WebSockets through `context.set_offline(True)` and
    through DevTools' `Network.emulateNetworkConditions` offline (tried: neither closes them); and a
    page may only close its socket itself with 1000 or 3000-4999, after which the htmx ws extension
    does not reconnect (it does on 1006, 1011, 1012, 1013 only). Cutting the TCP connections under the
    browser is what a real drop looks like: the browser reports 1006 and the extension reconnects.

    cut(): every open connection is dropped (no WebSocket close frame: the page sees 1006), and new
    connections are held, unanswered, like packets into an unplugged cable. restore(): held
    connections go through at once, so the reconnect happens when the network is back rather than
    after the extension's growing back-off.

    Cookies are per host, not per port: a page opened at `proxy.url` keeps a login made on the server.
    """

    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.host, self.target_port = host, target_port
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: list[socket.socket] = []
        self._cut = False
        self._closed = False
        self.dropped = 0  # connections dropped by cut(), for the test's own checks
        threading.Thread(target=self._accept_loop, name="droppable-proxy", daemon=True).start()

    def __enter__(self) -> "DroppableProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:  # accepted while close() ran: nobody would ever close it
                    self._drop(client)
                    return
                if self._cut:
                    self._held.append(client)
                    continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((self.host, self.target_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            self._drop(client)
            return
        with self._lock:
            if self._cut or self._closed:  # cut while connecting: this connection is dropped too
                self._drop(client)
                self._drop(upstream)
                return
            self._open.update((client, upstream))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            self._drop(source)
            self._drop(sink)

    @staticmethod
    def _drop(sock: socket.socket) -> None:
        # shutdown() first: a bare close() does not wake the thread blocked in recv() on the socket,
        # and the connection would stay up.
        for action in (lambda: sock.shutdown(socket.SHUT_RDWR), sock.close):
            try:
                action()
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            sockets, self._open = list(self._open), set()
        self.dropped += len(sockets) // 2
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False
            held, self._held = self._held, []
        for client in held:
            self._forward(client)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cut()
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            self._drop(sock)
        self._listener.close()


def console_errors_except_favicon(context) -> list[str]:
    """The console errors a `new_context` context recorded, without the missing /favicon.ico."""
    return [line for line in getattr(context, "console_errors", []) if "/favicon.ico" not in line]


# --- live pages -----------------------------------------------------------------------------------

LIVE_TIMEOUT = 5_000  # ms: an update pushed over the WebSocket
RECONNECT_TIMEOUT = 10_000  # ms: a reconnection and its catch-up

# Counts the page's successful WebSocket openings (htmx ws extension event) on <html data-ws-opens>, so
# a test can wait for "live" with expect (wait_for_function would need eval, which the app's CSP refuses).
LIVE_PROBE = """
window.__wsOpens = 0;
document.addEventListener('htmx:wsOpen', () => {
  window.__wsOpens += 1;
  document.documentElement.dataset.wsOpens = String(window.__wsOpens);
});
"""


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def open_live_page(context: BrowserContext, url: str) -> Page:
    """Open a page with a ws-connect element and wait for its socket to be open."""
    page = context.new_page()
    page.add_init_script(LIVE_PROBE)
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-ws-opens", re.compile(r"^[1-9]"), timeout=LIVE_TIMEOUT)
    page.evaluate("window.__notReloaded = true")
    return page


def question_id(page: Page, position: int) -> str:
    """The id of the question at 1-based `position` on a delegate's page of a session."""
    return page.locator("li.question").nth(position - 1).get_attribute("data-question-id")


@contextmanager
def answer_replied(page: Page, qid: str) -> Iterator[None]:
    """Around what sends question `qid`'s answer form: returns once its reply has landed, whichever
    way it went (over the page's open socket, or posted over HTTP): every reply, saved or refused,
    brings the form's next submission key."""
    before = page.locator(f"#answer-key-{qid}").input_value()
    yield
    expect(page.locator(f"#answer-key-{qid}")).not_to_have_value(before, timeout=LIVE_TIMEOUT)
    page.wait_for_timeout(100)  # htmx settles 20 ms after the swap; the focus is restored then


def submit_answer(page: Page, qid: str, text: str) -> None:
    """Type and submit an answer on a delegate's page; returns once the server has stored it.

    Waits for the reply (over the socket, or the POST's response) and the status line it brings
    ("Saved by … at HH:MM."); the delegation's live update of the same line may land before or after
    it (app.js keeps the reply's "Your answer was saved." for the same save)."""
    card = page.locator(f"#question-{qid}")
    card.locator(f"#answer-text-{qid}").fill(text)
    with answer_replied(page, qid):
        card.locator("form.answer-form button[type=submit]").click()
    expect(page.locator(f"#answer-error-{qid}")).to_have_count(0)
    expect(page.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    expect(page.locator(f"#answer-text-{qid}")).to_have_value(text)


def has_class(name: str) -> re.Pattern:
    """For expect(...).to_have_class: the element has this class among others."""
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def console_card(console: Page, qid: str, delegation: str):
    return console.locator(f"#answers-q{qid} article.answer-card").filter(
        has=console.locator(".delegation-name", has_text=delegation)
    )


