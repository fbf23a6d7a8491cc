"""Issue 3 in a real browser: the chair's console, the delegates' pages and the room screen stay live.

Every test opens its own pages (a delegate of France, the chair, sometimes Germany) on the one
server of the run, and works on its own question of session 2 so that the tests do not depend on
their order:

    question 1: France's first answer and the tally; closing (reopened afterwards)
    question 2: "now discussing"; Germany's answer during a connection drop; France's answer
                updated, and starred from one of two consoles
    question 3: starring France's answer for the room screen
    question 4: double click on "Submit the answer"

What the database holds is read through pages only (a freshly loaded console), never the ORM.

Live updates are awaited with Playwright's expect and bounded timeouts, never with reloads: each
page carries a marker set in JavaScript, and the tests check it is still there (a reload would drop it).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .helpers import (
    DELEGATION_COUNT,
    LIVE_TIMEOUT,
    RECONNECT_TIMEOUT,
    DroppableProxy,
    answer_replied,
    console_card,
    console_errors_except_favicon,
    has_class,
    open_live_page,
    question_id,
    submit_answer,
    unique,
)

pytestmark = pytest.mark.browser


# --- pages ------------------------------------------------------------------------------------


def open_console(context: BrowserContext, slug: str, base: str = "", number: int = 2) -> Page:
    page = open_live_page(context, f"{base}/meetings/{slug}/sessions/{number}/console/")
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=LIVE_TIMEOUT)
    return page


def open_delegate_page(context: BrowserContext, slug: str) -> Page:
    return open_live_page(context, f"/meetings/{slug}/sessions/2/")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), f"{page.url} was reloaded"


def assert_no_console_errors(*contexts: BrowserContext) -> None:
    """No console error or uncaught exception (CSP violations and htmx swap errors included)."""
    errors = [line for context in contexts for line in console_errors_except_favicon(context)]
    assert errors == []


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def chair(new_context) -> BrowserContext:
    return new_context(user="chair")


@pytest.fixture
def france(new_context) -> BrowserContext:
    return new_context(user="delegate-fr")


@pytest.fixture
def console(chair, meeting_slug) -> Page:
    return open_console(chair, meeting_slug)


@pytest.fixture
def delegate(france, meeting_slug) -> Page:
    return open_delegate_page(france, meeting_slug)


# --- a. answers arrive on the console -------------------------------------------------------------


def test_answer_appears_on_console_without_reload(console, delegate, chair, france):
    qid = question_id(delegate, 1)
    text = unique("France co-ordinates through an inter-ministerial task force")

    submit_answer(delegate, qid, text)

    expect(console.locator(f"#answers-q{qid}")).to_contain_text(text, timeout=LIVE_TIMEOUT)
    expect(console_card(console, qid, "France")).to_have_count(1)
    expect(console.locator(f"#tally-q{qid}")).to_contain_text(
        f"1 of {DELEGATION_COUNT} delegations answered", timeout=LIVE_TIMEOUT
    )
    assert_not_reloaded(console)
    assert_no_console_errors(chair, france)


# --- b. "now discussing" follows the chair ----------------------------------------------------------


def test_now_discussing_follows_chair_on_delegate_page(console, delegate, chair, france):
    qid = question_id(delegate, 2)
    question_text = delegate.locator(f"#question-{qid}-text").inner_text()

    console.locator(f"#qcontrols-{qid}").get_by_role("button", name="Now discussing (put on screen)").click()

    banner = delegate.locator("#now-discussing")
    expect(banner).to_contain_text("Now discussing", timeout=LIVE_TIMEOUT)
    expect(banner).to_contain_text(question_text[:60])
    expect(delegate.locator(f"#question-{qid}")).to_have_class(has_class("is-discussing"), timeout=LIVE_TIMEOUT)
    expect(delegate.locator("li.question.is-discussing")).to_have_count(1)
    # The chair's own console follows too.
    expect(console.locator("#now-discussing")).to_contain_text(question_text[:60], timeout=LIVE_TIMEOUT)
    assert_not_reloaded(delegate)
    assert_no_console_errors(chair, france)


# --- c. starred answers on the room screen ----------------------------------------------------------


def test_starred_answer_shows_on_room_screen(console, delegate, chair, france, meeting_slug):
    qid = question_id(delegate, 3)
    text = unique("We co-chair a network with civil society and platforms")
    submit_answer(delegate, qid, text)
    card = console_card(console, qid, "France")
    expect(card).to_contain_text(text, timeout=LIVE_TIMEOUT)

    screen = open_live_page(chair, f"/meetings/{meeting_slug}/screen/")
    console.locator(f"#qcontrols-{qid}").get_by_role("button", name="Now discussing (put on screen)").click()
    expect(screen.locator("#screen-main .screen-question")).to_contain_text(
        delegate.locator(f"#question-{qid}-text").inner_text()[:60], timeout=LIVE_TIMEOUT
    )

    card.get_by_role("button", name="★ Star as key point").click()
    expect(card).to_have_class(has_class("is-starred"), timeout=LIVE_TIMEOUT)
    expect(card.get_by_role("button", name="Unstar")).to_be_visible()

    # The open room screen follows without a reload...
    points = screen.locator(".screen-points")
    expect(points).to_contain_text(text, timeout=LIVE_TIMEOUT)
    expect(points).to_contain_text("France")  # the demo meeting is attributed, not Chatham House
    assert_not_reloaded(screen)
    # ...and a screen opened now shows the same.
    fresh = chair.new_page()
    fresh.goto(f"/meetings/{meeting_slug}/screen/")
    expect(fresh.locator(".screen-point").filter(has_text=text)).to_contain_text("— France")
    assert_no_console_errors(chair, france)


# --- d. closing a question --------------------------------------------------------------------------


def test_closing_question_disables_delegate_form(console, delegate, chair, france):
    qid = question_id(delegate, 1)
    controls = console.locator(f"#qcontrols-{qid}")
    fieldset = delegate.locator(f"#answer-fieldset-{qid}")
    expect(fieldset).to_have_js_property("disabled", False)
    try:
        controls.get_by_role("button", name="Close the question").click()
        expect(controls.get_by_role("button", name="Reopen the question")).to_be_visible(timeout=LIVE_TIMEOUT)

        expect(delegate.locator(f"#qstatus-{qid}")).to_contain_text("Closed", timeout=LIVE_TIMEOUT)
        expect(fieldset).to_have_js_property("disabled", True, timeout=LIVE_TIMEOUT)
        expect(delegate.locator(f"#answer-text-{qid}")).to_be_disabled()
        expect(delegate.locator(f"#question-{qid} form.answer-form button[type=submit]")).to_be_disabled()

        # Reopening gives the delegate the form back, live as well.
        controls.get_by_role("button", name="Reopen the question").click()
        expect(delegate.locator(f"#qstatus-{qid}")).to_contain_text("Open", timeout=LIVE_TIMEOUT)
        expect(fieldset).to_have_js_property("disabled", False, timeout=LIVE_TIMEOUT)
        expect(delegate.locator(f"#answer-text-{qid}")).to_be_editable()
        assert_not_reloaded(delegate)
        assert_no_console_errors(chair, france)
    finally:
        # Leave question 1 open for the tests that run after this one, whatever failed above.
        reopen = controls.get_by_role("button", name="Reopen the question")
        if reopen.is_visible():
            reopen.click()
            expect(controls.get_by_role("button", name="Close the question")).to_be_visible(timeout=LIVE_TIMEOUT)


# --- e. double click --------------------------------------------------------------------------------


def test_double_click_on_submit_stores_one_answer(console, delegate, meeting_slug, chair, france):
    qid = question_id(delegate, 4)
    text = unique("AI tools help us detect coordinated inauthentic behaviour")
    posts: list = []
    delegate.on("request", lambda request: request.method == "POST" and "/answer/" in request.url and posts.append(request))
    delegate.locator(f"#answer-text-{qid}").fill(text)

    with answer_replied(delegate, qid):  # over the socket: the button waits for the ack
        delegate.locator(f"#question-{qid} form.answer-form button[type=submit]").dblclick()

    expect(delegate.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    for request in posts:  # every request the double click sent has had its answer
        assert request.response() is not None
    expect(console_card(console, qid, "France")).to_contain_text(text, timeout=LIVE_TIMEOUT)
    console.wait_for_timeout(500)  # a second card, if any, would arrive right behind the first
    expect(console_card(console, qid, "France")).to_have_count(1)
    # The database agrees: a fresh console shows one card, and one delegation counted.
    fresh = chair.new_page()
    fresh.goto(f"/meetings/{meeting_slug}/sessions/2/console/")
    expect(console_card(fresh, qid, "France")).to_have_count(1)
    expect(fresh.locator(f"#tally-q{qid}")).to_contain_text(f"1 of {DELEGATION_COUNT} delegations answered")
    assert_no_console_errors(chair, france)


# --- f. reconnect and catch up ----------------------------------------------------------------------


def test_console_catches_up_after_connection_drop(chair, new_context, app_server, meeting_slug):
    germany = new_context(user="delegate-de")
    german_page = germany.new_page()
    german_page.goto(f"/meetings/{meeting_slug}/sessions/2/")
    qid = question_id(german_page, 2)
    text = unique("Germany set up a cross-government unit on disinformation")

    with DroppableProxy(app_server.port) as network:
        console = open_console(chair, meeting_slug, base=network.url)
        state = console.locator("#connection-state")

        network.cut()
        expect(state).to_have_attribute("data-state", "offline", timeout=LIVE_TIMEOUT)
        expect(state).to_contain_text("Connection lost")

        submit_answer(german_page, qid, text)  # while the chair's console is offline
        console.wait_for_timeout(300)
        expect(console.locator(f"#answers-q{qid}")).not_to_contain_text(text)

        network.restore()
        expect(state).to_have_attribute("data-state", "online", timeout=RECONNECT_TIMEOUT)
        expect(console.locator(f"#answers-q{qid}")).to_contain_text(text, timeout=LIVE_TIMEOUT)
        expect(console_card(console, qid, "Germany")).to_have_count(1)
        assert console.evaluate("window.__wsOpens") >= 2
        assert_not_reloaded(console)
        # The page now knows the latest sequence number, as a fresh load would.
        seq = int(console.locator("#live-seq").get_attribute("data-seq"))
        fresh = chair.new_page()
        fresh.goto(f"/meetings/{meeting_slug}/sessions/2/console/")
        assert seq == int(fresh.locator("#live-seq").get_attribute("data-seq"))


# --- answers that change after they arrived ------------------------------------------------------------


def test_answer_update_replaces_card_on_open_console(console, delegate, chair, france):
    qid = question_id(delegate, 2)
    first, second = unique("First draft from France"), unique("Revised answer from France")
    submit_answer(delegate, qid, first)
    card = console_card(console, qid, "France")
    expect(card).to_contain_text(first, timeout=LIVE_TIMEOUT)

    submit_answer(delegate, qid, second)  # "Update the answer"

    expect(card).to_contain_text(second, timeout=LIVE_TIMEOUT)
    expect(card).to_have_count(1)
    assert_no_console_errors(chair, france)


def test_star_on_one_console_shows_on_other_console(console, delegate, chair, new_context, meeting_slug):
    qid = question_id(delegate, 2)
    text = unique("France's answer for two chairs")
    submit_answer(delegate, qid, text)
    co_chair = new_context(user="chair")  # a second laptop at the chair's table
    other_console = open_console(co_chair, meeting_slug)
    expect(console_card(other_console, qid, "France")).to_contain_text(text)
    expect(console_card(console, qid, "France")).to_contain_text(text, timeout=LIVE_TIMEOUT)

    console_card(console, qid, "France").get_by_role("button", name="★ Star as key point").click()
    expect(console_card(console, qid, "France")).to_have_class(has_class("is-starred"), timeout=LIVE_TIMEOUT)

    expect(console_card(other_console, qid, "France")).to_have_class(has_class("is-starred"), timeout=LIVE_TIMEOUT)
    expect(console_card(other_console, qid, "France").get_by_role("button", name="Unstar")).to_be_visible()
    assert_no_console_errors(chair, co_chair)



# --- g. a change of the meeting's settings re-renders what is open ------------------------------------


def test_settings_change_reaches_open_pages_of_another_session_without_reload_or_errors(chair, new_context, meeting_slug):
    """Session 3's console and a delegate's session 3 page get the meeting-wide re-render (session 2's
    theme panels, every question's published answers) and keep only what they show: the notice says
    nothing to reload, and htmx reports no fragment without a place in the page."""
    console = open_console(chair, meeting_slug, number=3)
    sweden = new_context(user="delegate-se")
    page = open_live_page(sweden, f"/meetings/{meeting_slug}/sessions/3/")
    secretariat = new_context(user="secretariat").new_page()

    def answers_seen_by(visibility: str) -> None:
        secretariat.goto(f"/meetings/{meeting_slug}/settings/")
        secretariat.locator(f"#answer_visibility-{visibility}").check()
        secretariat.get_by_role("button", name="Save the settings").click()
        expect(secretariat.locator(".message-success, [role=status]").first).to_be_visible()

    answers_seen_by("published")
    try:
        for live in (console, page):
            expect(live.locator("#live-notice")).to_have_text(
                "The meeting's settings changed. This page already follows them: answers are shown as the new settings say.",
                timeout=LIVE_TIMEOUT)
        assert_not_reloaded(page)
    finally:
        answers_seen_by("chair")
    assert_no_console_errors(chair, sweden)
