"""Keyboard only (issue 5) for the room tools: request the floor, give it, vote. No mouse click.

Each step moves focus with Tab until the wanted control has it, then presses Enter or Space, and
checks that focus is still on a control of the page after the htmx swap (not lost to <body>).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .helpers import LIVE_TIMEOUT, open_live_page, unique

pytestmark = pytest.mark.browser

MAX_TABS = 400


def tab_to(page: Page, matches, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element satisfies `matches(description)`."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return {tag: e.tagName, text: (e.innerText || e.value || '').trim(),"
            " label: e.labels && e.labels[0] ? e.labels[0].innerText.trim() : '', name: e.name || ''}; }"
        )
        if matches(focused):
            return
    raise AssertionError("no focusable control matched after pressing Tab")


def focus_kept(page: Page) -> None:
    expect(page.locator("body")).not_to_be_focused()
    assert page.evaluate("document.activeElement !== document.body"), "focus was lost to <body> after the swap"


def test_floor_request_give_and_vote_with_the_keyboard(new_context, meeting_slug):
    session = f"/meetings/{meeting_slug}/sessions/2/"
    delegate = open_live_page(new_context("delegate-jp"), session)
    chair = new_context("chair")
    console = open_live_page(chair, f"{session}console/")
    expect(console.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=LIVE_TIMEOUT)

    # The delegate asks for the floor.
    tab_to(delegate, lambda f: f["tag"] == "BUTTON" and f["text"] == "Request the floor")
    delegate.keyboard.press("Enter")
    expect(delegate.locator("#room")).to_contain_text("Your delegation is number", timeout=LIVE_TIMEOUT)
    focus_kept(delegate)
    expect(delegate.get_by_role("button", name="Withdraw the request")).to_be_focused()

    # The chair gives Japan the floor.
    japan = console.locator(".floor-item").filter(has_text="Japan")
    expect(japan).to_be_visible(timeout=LIVE_TIMEOUT)
    tab_to(console, lambda f: f["tag"] == "BUTTON" and f["text"].startswith("Give the floor") and "Japan" in f["text"])
    console.keyboard.press("Enter")
    expect(console.locator(".floor-console")).to_contain_text("Japan has the floor", timeout=LIVE_TIMEOUT)
    focus_kept(console)
    expect(delegate.locator("#room")).to_contain_text("Your delegation has the floor.", timeout=LIVE_TIMEOUT)
    tab_to(console, lambda f: f["tag"] == "BUTTON" and f["text"].startswith("End Japan"), backwards=True)
    console.keyboard.press("Enter")
    expect(console.locator(".floor-console")).to_contain_text("Nobody has the floor.", timeout=LIVE_TIMEOUT)
    focus_kept(console)

    # A scale poll, prepared without the keyboard test's help, voted with the keyboard.
    prompt = unique("How resilient is your centre of government to disinformation?")
    prepare = chair.new_page()
    prepare.goto(f"{session}console/")
    panel = prepare.locator(".polls-console")
    panel.locator("summary", has_text="Prepare a poll").click()
    panel.get_by_label("Question to the room").fill(prompt)
    panel.get_by_label("Type").select_option("scale")
    panel.get_by_role("button", name="Prepare the poll").click()
    prepare.locator(".poll-card").filter(has_text=prompt).get_by_role("button", name="Launch the poll").click()

    poll = delegate.locator(".poll-card").filter(has_text=prompt)
    expect(poll).to_be_visible(timeout=LIVE_TIMEOUT)
    tab_to(delegate, lambda f: f["tag"] == "INPUT" and f["name"] == "scale")
    for _ in range(7):
        delegate.keyboard.press("ArrowRight")  # radio group: arrows move the choice
    expect(poll.locator("input[name=scale]:checked")).to_have_value("7")
    tab_to(delegate, lambda f: f["tag"] == "BUTTON" and f["text"] == "Vote for my delegation")
    delegate.keyboard.press("Enter")
    expect(poll).to_contain_text("Your delegation has voted.", timeout=LIVE_TIMEOUT)
    focus_kept(delegate)
    expect(console.locator(".polls-console .poll-card").filter(has_text=prompt)).to_contain_text(
        re.compile(r"1 of \d+ delegations voted"), timeout=LIVE_TIMEOUT
    )
