"""The console's closed questions in a real browser: opening one loads its cards, answers to it still
count while it is closed and appear once it is open, and a fresh render keeps what the chair opened.

Its own server with CONSOLE_OPEN_CARDS=0, so that every question renders closed (the run's shared
server opens every question of the demo meeting: their answers fit in the default budget).
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from . import helpers
from .helpers import DELEGATION_COUNT, LIVE_TIMEOUT, console_card, open_live_page, question_id, submit_answer, unique

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    previous = os.environ.get("CONSOLE_OPEN_CARDS")
    os.environ["CONSOLE_OPEN_CARDS"] = "0"
    try:
        with helpers.live_server(tmp_path_factory.mktemp("closed-console")) as server:
            yield server
    except helpers.ServerError as error:
        pytest.fail(str(error), pytrace=False)
    finally:
        if previous is None:
            os.environ.pop("CONSOLE_OPEN_CARDS", None)
        else:
            os.environ["CONSOLE_OPEN_CARDS"] = previous


@pytest.fixture(scope="module")
def live_server_url(app_server) -> str:
    return app_server.url


@pytest.fixture(scope="module")
def _storage_states() -> dict[str, dict]:
    return {}  # cookies of this server's accounts, not the shared server's


@pytest.fixture(scope="module")
def meeting_slug(browser, live_server_url, _storage_states) -> str:
    context = browser.new_context(base_url=live_server_url)
    try:
        page = context.new_page()
        helpers.login(page, "delegate-fr")
        _storage_states.setdefault("delegate-fr", context.storage_state())
        return helpers.meeting_slug_from_home(page)
    finally:
        context.close()


def test_a_closed_question_counts_answers_live_and_shows_them_when_opened(new_context, meeting_slug):
    chair, france, germany = new_context(user="chair"), new_context(user="delegate-fr"), new_context(user="delegate-de")
    delegate = open_live_page(france, f"/meetings/{meeting_slug}/sessions/2/")
    qid = question_id(delegate, 1)
    first = unique("France answers before the console opens")
    submit_answer(delegate, qid, first)
    console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/2/console/")
    expect(console.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=LIVE_TIMEOUT)
    toggle = console.locator(f'button[aria-controls="answers-q{qid}"]')
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(console.locator(f"#answers-q{qid}")).to_be_hidden()

    second = unique("Germany answers while the question is closed")
    submit_answer(open_live_page(germany, f"/meetings/{meeting_slug}/sessions/2/"), qid, second)
    expect(console.locator(f"#tally-q{qid}")).to_contain_text(f"2 of {DELEGATION_COUNT} delegations answered", timeout=LIVE_TIMEOUT)
    expect(console.locator(f"#answers-q{qid} article.answer-card")).to_have_count(0)  # not kept in the page

    toggle.focus()
    console.keyboard.press("Enter")  # the keyboard opens it like a click
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(console_card(console, qid, "France")).to_contain_text(first, timeout=LIVE_TIMEOUT)
    expect(console_card(console, qid, "Germany")).to_contain_text(second)
    expect(console.locator("#live-announcer")).to_contain_text("Answers shown: 2", timeout=LIVE_TIMEOUT)
    expect(toggle).to_be_focused()

    edited = unique("France updates its answer once it is open")
    submit_answer(delegate, qid, edited)
    expect(console_card(console, qid, "France")).to_contain_text(edited, timeout=LIVE_TIMEOUT)
    expect(console.locator(f"#answers-q{qid} article.answer-card")).to_have_count(2)

    console.keyboard.press("Enter")  # closed again: hidden, kept, nothing loaded twice
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(console.locator(f"#answers-q{qid}")).to_be_hidden()
    console.keyboard.press("Enter")
    expect(console.locator(f"#answers-q{qid}")).to_be_visible()
    expect(console.locator(f"#answers-q{qid} article.answer-card")).to_have_count(2)
    assert helpers.console_errors_except_favicon(chair) == []
