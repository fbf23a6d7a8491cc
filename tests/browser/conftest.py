"""Real-browser fixtures: the real ASGI app under Uvicorn (HTTP + WebSocket) and Debian's Chromium.

The server runs as `make run` runs it, but isolated: its own SQLite database in a temporary DATA_DIR,
the in-memory channel layer (DATABASE_URL and REDIS_URL removed), the demo meeting and the demo
accounts loaded by `load_demo`. Tests reach the application through the browser and HTTP only.

Run with: .venv/bin/python -m pytest -m browser -p no:cacheprovider tests/browser
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from . import helpers


# Not called `live_server`: that name would wake pytest-django's autouse `_live_server_helper`,
# which sets up a test database inside Playwright's event loop and fails.
@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> helpers.LiveServer:
    try:
        with helpers.live_server(tmp_path_factory.mktemp("live-server")) as server:
            yield server
    except helpers.ServerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def live_server_url(app_server) -> str:
    return app_server.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test's report ends with the tail of the server's log."""
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("app_server")
    if report.when == "call" and report.failed and server is not None:
        report.sections.append(("live server log (tail)", server.log_tail()))


@pytest.fixture(scope="session")
def browser():
    if not Path(helpers.CHROMIUM).exists():
        pytest.skip(f"{helpers.CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _storage_states() -> dict[str, dict]:
    """Logged-in cookies per user name: each user goes through the login form once per run."""
    return {}


@pytest.fixture
def new_context(browser, live_server_url, _storage_states):
    """Factory new_context(user=None, **playwright_kwargs) -> BrowserContext; closed after the test.

    user="delegate-fr" gives a logged-in context (the first time by the login form, then by its
    cookies). Pages of the context record console errors and uncaught exceptions in
    `context.console_errors`.
    """
    contexts: list[BrowserContext] = []

    def make(user: str | None = None, **kwargs) -> BrowserContext:
        kwargs.setdefault("base_url", live_server_url)
        kwargs.setdefault("viewport", {"width": 1280, "height": 900})
        if user is not None and user in _storage_states:
            kwargs["storage_state"] = _storage_states[user]
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        context.console_errors = []

        def watch(page: Page) -> None:
            def on_console(msg) -> None:
                if msg.type == "error":
                    source = (msg.location or {}).get("url") or page.url
                    context.console_errors.append(f"{source}: {msg.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda exc: context.console_errors.append(f"{page.url}: uncaught {exc}"))

        context.on("page", watch)
        contexts.append(context)
        if user is not None and user not in _storage_states:
            page = context.new_page()
            helpers.login(page, user)
            _storage_states[user] = context.storage_state()
            page.close()
        return context

    yield make
    for context in contexts:
        try:
            context.close()
        except Exception:  # the browser may be gone already after a crash
            pass


@pytest.fixture
def login():
    """login(page, username, password=DEMO_PASSWORD): log in through /accounts/login/."""
    return helpers.login


@pytest.fixture(scope="session")
def meeting_slug(browser, live_server_url, _storage_states) -> str:
    """The demo meeting's slug, from where GET / redirects a logged-in delegate."""
    context = browser.new_context(base_url=live_server_url)
    try:
        page = context.new_page()
        helpers.login(page, "delegate-fr")
        _storage_states.setdefault("delegate-fr", context.storage_state())
        return helpers.meeting_slug_from_home(page)
    finally:
        context.close()
