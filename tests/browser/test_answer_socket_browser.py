"""A delegate's answer over the page's socket, in a real browser: no HTTP post, the status line and the
button's new label shown, and the chair's console showing the answer without a reload; and when the
socket closes before the ack, the page posts the same answer over HTTP with its key: stored once,
shown once.

Session 3, question 1; Austria and Switzerland answer nowhere else in the browser tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import LIVE_PROBE, LIVE_TIMEOUT, console_card, open_live_page, question_id, unique

pytestmark = pytest.mark.browser


def answer_posts(page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" and "/answer/" in request.url else None)
    return posts


def test_an_answer_goes_over_the_socket_and_the_console_shows_it_live(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/3/"
    console = open_live_page(new_context("chair"), f"{session}console/")
    phone = open_live_page(new_context("delegate-at", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True), session)
    posts = answer_posts(phone)
    qid = question_id(phone, 1)
    text = unique("Austria's Federal Chancellery <b>pilots</b> citizen juries")
    phone.locator(f"#answer-text-{qid}").fill(text)
    phone.locator(f"#answer-submit-{qid}").focus()
    phone.keyboard.press("Enter")
    expect(phone.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    expect(phone.locator(f"#answer-submit-{qid}")).to_have_text("Update the answer")
    expect(phone.locator(f"#answer-submit-{qid}")).to_be_enabled()
    expect(console_card(console, qid, "Austria")).to_contain_text(text, timeout=LIVE_TIMEOUT)  # as text: escaped
    assert posts == []  # over the socket, not HTTP
    assert console.evaluate("window.__notReloaded") is True
    assert phone.evaluate("window.__notReloaded") is True


def test_an_answer_whose_socket_closes_before_the_ack_is_posted_over_http_and_stored_once(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/3/"
    console = open_live_page(new_context("chair"), f"{session}console/")
    delegate = new_context("delegate-ch").new_page()
    posts = answer_posts(delegate)
    reached: list[str] = []

    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if '"type":"answer"' in message:
                reached.append(message)
            server.send(message)

        def to_page(message):
            if "data-vote-ack" in message:  # the answer was stored; its ack is lost with the socket
                ws.close()
                return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    delegate.route_web_socket(re.compile(r"/ws/meetings/"), route)
    delegate.add_init_script(LIVE_PROBE)
    delegate.goto(session)
    expect(delegate.locator("html")).to_have_attribute("data-ws-opens", re.compile(r"^[1-9]"), timeout=LIVE_TIMEOUT)
    qid = question_id(delegate, 1)
    text = unique("Switzerland's cantons share their consultation practice")
    delegate.locator(f"#answer-text-{qid}").fill(text)
    with delegate.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/questions/{qid}/answer/"), timeout=LIVE_TIMEOUT):
        delegate.locator(f"#answer-submit-{qid}").click()
    expect(delegate.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    assert len(reached) == 1 and len(posts) == 1  # sent over the socket, then once over HTTP
    expect(console_card(console, qid, "Switzerland")).to_contain_text(text, timeout=LIVE_TIMEOUT)
    console.wait_for_timeout(1000)  # a second card, if any, would arrive right behind the first
    expect(console_card(console, qid, "Switzerland")).to_have_count(1)
    delegate.reload()
    expect(delegate.locator(f"#answer-text-{qid}")).to_have_value(text)
    fresh = new_context("chair").new_page()
    fresh.goto(f"{session}console/")
    expect(console_card(fresh, qid, "Switzerland")).to_have_count(1)
    assert console.evaluate("window.__notReloaded") is True
