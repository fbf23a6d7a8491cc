"""Issue 25 in a real browser: the chair's console shows the themes of the demo's answers to question 1
of session 1 (New Zealand's and Iceland's), the chair renames the theme with the keyboard only and the
panel changes without a reload; axe-core finds nothing on the console, on a desktop and on a phone.

Only this test renames that theme; no other browser test reads the themes panel.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .helpers import LIVE_TIMEOUT, open_live_page

pytestmark = pytest.mark.browser


def test_the_chair_renames_a_theme_by_keyboard_and_the_console_has_no_axe_violation(new_context, meeting_slug):
    console = open_live_page(new_context("chair"), f"/meetings/{meeting_slug}/sessions/1/console/")
    panel = console.locator(".synthesis-question").first
    expect(panel).to_contain_text("1 theme.")
    theme = panel.locator(".synthesis-theme").first
    expect(theme).to_contain_text("2 delegations: Iceland, New Zealand")
    expect(theme.locator("h4")).to_contain_text("trust")

    name = theme.get_by_label("Name of the theme")
    name.focus()
    console.keyboard.type("Trust measured every year <em>")
    console.keyboard.press("Tab")  # to "Rename"
    expect(theme.get_by_role("button", name="Rename")).to_be_focused()
    console.keyboard.press("Enter")
    # Said by the panel itself: the live update of the panel may reach the page before the reply does.
    # The server's first themes import scikit-learn (seconds on a loaded machine): allow it more.
    panel = console.locator(".synthesis-question").first
    expect(panel).to_contain_text("The theme was renamed.", timeout=4 * LIVE_TIMEOUT)
    expect(panel.locator(".synthesis-theme h4").first).to_have_text("Trust measured every year <em>")
    assert console.evaluate("window.__notReloaded") is True
    # The keyboard stays where it was: on the renamed theme's "Rename".
    expect(panel.locator(".synthesis-theme").first.get_by_role("button", name="Rename")).to_be_focused()

    axe = Axe()
    violations = axe.run(console).response["violations"]
    assert violations == [], [(v["id"], [node["target"] for node in v["nodes"]]) for v in violations]
    console.set_viewport_size({"width": 390, "height": 844})
    violations = axe.run(console).response["violations"]
    assert violations == [], [(v["id"], [node["target"] for node in v["nodes"]]) for v in violations]
    assert console.evaluate("document.documentElement.scrollWidth") <= 390
