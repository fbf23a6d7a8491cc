"""Issue 6 in a real browser: the speakers' list with its countdown, and a live poll with its benchmark.

The floor works on session 1 and the poll on session 3, so that these tests leave the other
modules' session 2 alone. Set SCREENSHOT_DIR to keep screenshots of the pages at each step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .helpers import LIVE_TIMEOUT, console_errors_except_favicon, open_live_page, unique

pytestmark = pytest.mark.browser


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png")


def test_delegate_requests_the_floor_and_the_chair_gives_it_with_a_countdown(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/1/"
    chair = new_context("chair")
    console = open_live_page(chair, f"{session}console/")
    expect(console.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=LIVE_TIMEOUT)
    delegate = open_live_page(new_context("delegate-fr"), session)
    phone = open_live_page(new_context("delegate-de", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True), session)

    room = delegate.locator("#room")
    room.get_by_label("On").select_option(label="question 2")
    room.get_by_role("button", name="Request the floor").click()
    expect(room).to_contain_text("Your delegation is number 1 on the list.")

    floor_panel = console.locator(".floor-console")
    waiting = floor_panel.locator(".floor-item").filter(has_text="France")
    expect(waiting).to_contain_text("question 2", timeout=LIVE_TIMEOUT)
    expect(phone.locator("#room")).to_contain_text("1 delegation waiting", timeout=LIVE_TIMEOUT)

    waiting.get_by_label("Speaking time for France, in seconds").select_option("120")
    waiting.get_by_role("button", name=re.compile("Give the floor")).click()

    expect(room).to_contain_text("Your delegation has the floor.", timeout=LIVE_TIMEOUT)
    countdown = delegate.locator("#room [role=timer]")
    expect(countdown).to_contain_text(re.compile(r"^\s*[12]:\d\d left\s*$"), timeout=LIVE_TIMEOUT)
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks
    expect(phone.locator("#room")).to_contain_text("France has the floor", timeout=LIVE_TIMEOUT)
    expect(floor_panel.locator("[role=timer]")).to_contain_text("left")
    shot(delegate, "floor-delegate-desktop")
    shot(phone, "floor-delegate-phone")
    shot(console, "floor-console")

    floor_panel.get_by_role("button", name=re.compile("End France's intervention")).click()
    expect(room).to_contain_text("Nobody has the floor.", timeout=LIVE_TIMEOUT)
    expect(room.get_by_role("button", name="Request the floor")).to_be_visible()
    expect(floor_panel.locator(".floor-spoken")).to_contain_text("1 intervention so far")
    assert console_errors_except_favicon(chair) == []


def test_a_poll_answered_by_two_delegations_shows_on_the_screen_beside_its_benchmark(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/3/"
    prompt = unique("Is tackling mis- and disinformation a priority of your centre of government?")
    chair = new_context("chair")
    console = open_live_page(chair, f"{session}console/")
    screen = open_live_page(chair, f"/meetings/{meeting_slug}/screen/")
    france = open_live_page(new_context("delegate-fr"), session)
    germany = open_live_page(new_context("delegate-de", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True), session)

    panel = console.locator(".polls-console")
    panel.locator("summary", has_text="Prepare a poll").click()
    panel.get_by_label("Question to the room").fill(prompt)
    panel.get_by_label("Option 1", exact=True).fill("Top priority")
    panel.get_by_label("Option 2", exact=True).fill("Significant priority")
    panel.get_by_label("Option 3", exact=True).fill("Not a priority")
    panel.locator("input[name=benchmark]").nth(0).fill("23")
    panel.locator("input[name=benchmark]").nth(1).fill("27")
    panel.get_by_label(re.compile("Source of the benchmark")).fill("OECD survey of 26 CoGs (Figure 4)")
    panel.get_by_role("button", name="Prepare the poll").click()
    console.wait_for_load_state()
    card = console.locator(".polls-console .poll-card").filter(has_text=prompt)
    card.get_by_role("button", name="Launch the poll").click()
    expect(card).to_contain_text("0 of 38 delegations voted", timeout=LIVE_TIMEOUT)

    for page, choice in ((france, "Top priority"), (germany, "Significant priority")):
        poll = page.locator(".poll-card").filter(has_text=prompt)
        expect(poll).to_be_visible(timeout=LIVE_TIMEOUT)
        poll.get_by_label(choice).check()
        poll.get_by_role("button", name="Vote for my delegation").click()
        expect(poll).to_contain_text("Your delegation has voted.", timeout=LIVE_TIMEOUT)

    expect(card).to_contain_text("2 of 38 delegations voted", timeout=LIVE_TIMEOUT)
    expect(screen.locator("#screen-poll")).to_contain_text("2 votes so far", timeout=LIVE_TIMEOUT)
    expect(screen.locator("#screen-poll")).not_to_contain_text("23%")

    card = console.locator(".polls-console .poll-card").filter(has_text=prompt)
    card.get_by_role("button", name="Show the results to delegates and the screen").click()
    results = screen.locator("#screen-poll table")
    expect(results).to_contain_text("OECD survey of 26 CoGs (Figure 4)", timeout=LIVE_TIMEOUT)
    top = results.locator("tr").filter(has_text="Top priority")
    expect(top).to_contain_text("50%")
    expect(top).to_contain_text("23%")
    expect(results.locator("tr").filter(has_text="Significant priority")).to_contain_text("27%")
    expect(germany.locator(".poll-card").filter(has_text=prompt)).to_contain_text("2 of 38 delegations voted", timeout=LIVE_TIMEOUT)
    screen.set_viewport_size({"width": 1280, "height": 720})
    shot(screen, "poll-screen")
    shot(console, "poll-console")
    shot(germany, "poll-delegate-phone")
    assert console_errors_except_favicon(chair) == []
