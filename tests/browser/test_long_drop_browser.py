"""A long connection drop: more missed events than the server replays, so pages get a full render.

One scenario, shared by the tests of this module (it takes ~15 s to build): the chair's console (its
question 2 closed by the chair) and France's page of session 3 are open through a proxy whose
network is then cut; while they are
offline, Germany answers question 1 and the chair's "now discussing" changes more than
REPLAY_LIMIT times (the quickest way to make many events); then the network comes back. France had
typed a draft, not sent. Each test checks one thing the pages should show after the catch-up.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from . import helpers
from .helpers import (
    LIVE_TIMEOUT,
    RECONNECT_TIMEOUT,
    DroppableProxy,
    console_card,
    has_class,
    open_live_page,
    question_id,
    submit_answer,
    unique,
)

pytestmark = pytest.mark.browser

REPLAY_LIMIT = 200  # sessions_app.events.REPLAY_LIMIT: past that many missed events, a full render


@pytest.fixture(scope="module")
def long_drop(browser, app_server, meeting_slug):
    contexts = []

    def logged_in(user: str):
        context = browser.new_context(base_url=app_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        helpers.login(page, user)
        page.close()
        return context

    chair, france, germany = logged_in("chair"), logged_in("delegate-fr"), logged_in("delegate-de")
    session = f"/meetings/{meeting_slug}/sessions/3/"
    try:
        with DroppableProxy(app_server.port) as network:
            console = open_live_page(chair, f"{network.url}{session}console/")
            delegate = open_live_page(france, f"{network.url}{session}")
            qid = question_id(delegate, 1)
            draft = unique("A draft France has typed but not sent yet")
            delegate.locator(f"#answer-text-{qid}").fill(draft)
            german_page = germany.new_page()
            german_page.goto(session)
            german_text = unique("Germany answered while the chair was offline")
            control = chair.new_page()  # the chair's second window, on the server directly
            control.goto(f"{session}console/")
            token = control.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")

            closed = question_id(delegate, 2)  # the chair closes question 2 before the drop
            console.locator(f'button[aria-controls="answers-q{closed}"]').click()
            expect(console.locator(f"#answers-q{closed}")).to_be_hidden()

            network.cut()
            expect(console.locator("#connection-state")).to_have_attribute("data-state", "offline", timeout=LIVE_TIMEOUT)
            submit_answer(german_page, qid, german_text)
            for _ in range(REPLAY_LIMIT + 1):
                response = control.request.post(
                    f"/meetings/{meeting_slug}/discussion/", form={"csrfmiddlewaretoken": token, "question": qid}
                )
                assert response.ok, response.status
            network.restore()

            control.reload()
            current_seq = control.locator("#live-seq").get_attribute("data-seq")
            # A fresh render's tally (other tests answer this question too, before or after).
            tally = control.locator(f"#tally-q{qid} strong").first.inner_text()
            for page in (console, delegate):
                expect(page.locator("html")).to_have_attribute("data-ws-opens", "2", timeout=RECONNECT_TIMEOUT)
                expect(page.locator("#live-seq")).to_have_attribute("data-seq", current_seq, timeout=LIVE_TIMEOUT)
            yield SimpleNamespace(console=console, delegate=delegate, qid=qid, closed=closed, draft=draft, german_text=german_text, tally=tally)
    finally:
        for context in contexts:
            context.close()


def test_console_shows_answer_missed_during_long_drop(long_drop):
    card = console_card(long_drop.console, long_drop.qid, "Germany")
    expect(card).to_contain_text(long_drop.german_text)
    expect(long_drop.console.locator(f"#tally-q{long_drop.qid}")).to_contain_text(long_drop.tally)  # as a fresh render
    assert "delegations answered" in long_drop.tally
    expect(long_drop.console.locator("#connection-state")).to_have_attribute("data-state", "online")


def test_console_keeps_the_questions_the_chair_closed_after_the_full_render(long_drop):
    console = long_drop.console
    expect(console.locator(f'button[aria-controls="answers-q{long_drop.closed}"]')).to_have_attribute("aria-expanded", "false")
    expect(console.locator(f"#answers-q{long_drop.closed}")).to_be_hidden()
    expect(console.locator(f'button[aria-controls="answers-q{long_drop.qid}"]')).to_have_attribute("aria-expanded", "true")


def test_console_banner_follows_after_long_drop(long_drop):
    expect(long_drop.console.locator("#now-discussing")).to_contain_text("Session 3, question 1", timeout=2_000)


def test_delegate_banner_follows_after_long_drop(long_drop):
    expect(long_drop.delegate.locator("#now-discussing")).to_contain_text("Session 3, question 1", timeout=2_000)
    expect(long_drop.delegate.locator(f"#question-{long_drop.qid}")).to_have_class(has_class("is-discussing"))


def test_delegate_draft_survives_long_drop(long_drop):
    expect(long_drop.delegate.locator(f"#answer-text-{long_drop.qid}")).to_have_value(long_drop.draft, timeout=2_000)
