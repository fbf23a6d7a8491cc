"""Issue 25 in a real browser: a delegate on a phone votes on the demo round's statements with the
keyboard only, and the chair's console shows the new count of delegations on the map without a reload;
axe-core finds nothing on either page.

The demo round is in session 2; the United States are not among the 30 delegations that voted in the
demo, and vote nowhere else in the browser tests.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .helpers import LIVE_TIMEOUT, open_live_page

pytestmark = pytest.mark.browser


def test_a_phone_votes_by_keyboard_and_the_console_follows_live(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/2/"
    console = open_live_page(new_context("chair"), f"{session}console/")
    analysis = console.locator(".opinion-analysis").first
    expect(analysis).to_contain_text("30 delegations counted")
    expect(analysis.locator("svg[role=img] circle[r='7']")).to_have_count(30)

    phone = open_live_page(new_context("delegate-us", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True), session)
    panel = phone.locator(".opinion-vote").first
    expect(panel).to_contain_text("Statement 1 of 10")
    for number in range(1, 8):
        expect(panel).to_contain_text(f"Statement {number} of 10")
        panel.get_by_role("button", name="Agree", exact=True).focus()
        phone.keyboard.press("Enter")
        expect(panel).to_contain_text(f"Statement {number + 1} of 10")
    # The analysis waits 0.5 s after the last vote, then computes and renders: allow a loaded machine more.
    expect(analysis).to_contain_text("31 delegations counted", timeout=3 * LIVE_TIMEOUT)
    expect(analysis.locator("svg[role=img] circle[r='7']")).to_have_count(31)
    assert console.evaluate("window.__notReloaded") is True

    axe = Axe()
    for page in (phone, console):
        violations = axe.run(page).response["violations"]
        assert violations == [], [(v["id"], [node["target"] for node in v["nodes"]]) for v in violations]

    # The last three votes, then the delegation reviews and changes one, and proposes a statement (the panel
    # after the votes, swapped by htmx and pushed by the socket, must still post with the page's CSRF token).
    for number in range(8, 11):
        expect(panel).to_contain_text(f"Statement {number} of 10")
        panel.get_by_role("button", name="Disagree", exact=True).focus()
        phone.keyboard.press("Enter")
    expect(panel).to_contain_text("voted on all 10 statements")
    phone.wait_for_timeout(1500)  # the socket's copy of the panel follows the htmx answer
    review = panel.locator(".opinion-review li")
    expect(review).to_have_count(10)
    agreed = review.filter(has=phone.locator("button[value=agree][aria-pressed=true]"))
    expect(agreed).to_have_count(7)
    text = agreed.first.locator("legend").inner_text()
    agreed.first.get_by_role("button", name="Pass / unsure", exact=True).focus()
    phone.keyboard.press("Enter")
    changed = panel.locator(".opinion-review li").filter(has_text=text)
    expect(changed.get_by_role("button", name="Pass / unsure", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(agreed).to_have_count(6)
    phone.wait_for_timeout(1500)
    panel.get_by_text("Propose a statement").click()
    panel.get_by_label("Your statement").fill("Fact-checkers should publish their methods.")
    panel.get_by_role("button", name="Propose", exact=True).click()
    expect(panel).to_contain_text("the chair reviews your statement")
    violations = axe.run(phone).response["violations"]
    assert violations == [], [(v["id"], [node["target"] for node in v["nodes"]]) for v in violations]


def test_the_round_on_the_room_screen_is_full_width_and_fits_one_projector_screen(new_context, meeting_slug):
    import os

    screen = open_live_page(new_context("chair", viewport={"width": 1280, "height": 800}), f"/meetings/{meeting_slug}/screen/")
    console = new_context("chair").new_page()
    console.goto(f"/meetings/{meeting_slug}/sessions/2/console/")
    console.get_by_role("button", name="Show on the room screen").first.click()
    try:
        shown = screen.locator(".screen-opinion-round")
        expect(shown).to_contain_text(re.compile(r"3\d delegations counted"), timeout=LIVE_TIMEOUT)
        expect(shown.locator("svg[role=img] circle[r='7']").first).to_be_visible()
        expect(shown.locator("table")).to_have_count(0)
        box, question = shown.bounding_box(), screen.locator(".screen-main").bounding_box()
        map_box = shown.locator("svg[role=img]").bounding_box()
        assert box["width"] >= 0.85 * 1280 - 2 * 0.05 * 1280, box  # the whole width inside the screen's margins
        assert box["x"] <= question["x"] + 1
        assert map_box["x"] + map_box["width"] <= 1280 and map_box["height"] >= 300, map_box
        assert box["height"] <= 800, box
        if os.environ.get("SCREENSHOT_DIR"):
            screen.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/screen-opinion.png")
        violations = Axe().run(screen).response["violations"]
        assert violations == [], [(v["id"], [node["target"] for node in v["nodes"]]) for v in violations]
        assert screen.evaluate("window.__notReloaded") is True
    finally:
        console.get_by_role("button", name="Take off the room screen").first.click()
    expect(screen.locator(".screen-opinion-round")).to_have_count(0, timeout=LIVE_TIMEOUT)
