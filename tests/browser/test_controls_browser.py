"""Controls drawn with the app's styles, not as browser defaults: the record review's decision form, the
the record's notice box kept compact (the library's controls: test_library_browser.py). axe-core checks each page.

Reads the shared demo server only (nothing is submitted), so it disturbs no other browser test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from .test_review_browser import no_axe_violations

pytestmark = pytest.mark.browser


def box(locator: Locator) -> dict:
    return locator.evaluate("e => { const s = getComputedStyle(e), r = e.getBoundingClientRect();"
                            " return {height: r.height, width: r.width, border: s.borderTopColor, radius: s.borderTopLeftRadius,"
                            " paddingTop: parseFloat(s.paddingTop), paddingBottom: parseFloat(s.paddingBottom)}; }")


ACCENT = "rgb(11, 79, 138)"  # --accent in app.css


def assert_app_button(button: Locator) -> None:
    drawn = box(button)
    assert (drawn["border"], drawn["radius"]) == (ACCENT, "6px") and drawn["height"] >= 36, drawn


def open_pending_review(page: Page, meeting_slug: str) -> None:
    """The first version of the record with a proposal still awaiting the secretariat (the demo leaves one)."""
    page.goto(f"/meetings/{meeting_slug}/record-review/")
    hrefs = page.eval_on_selector_all("main a[href*='/record-review/']", "links => links.map(a => a.getAttribute('href'))")
    for href in dict.fromkeys(h for h in hrefs if re.search(r"/record-review/\d+/$", h)):
        page.goto(href)
        if page.locator("input[name=reason]").count():
            return
    pytest.fail("no version of the record has a pending proposal")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_decline_reason_is_a_full_text_field(new_context, meeting_slug, width):
    page = new_context(user="secretariat", viewport={"width": width, "height": 900}).new_page()
    open_pending_review(page, meeting_slug)
    reason = page.locator("input[name=reason]").first
    expect(page.get_by_label("Reason (decline)").first).to_be_visible()
    drawn = box(reason)
    assert drawn["height"] >= 36 and drawn["radius"] == "6px", drawn  # was a 12 px sliver
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    no_axe_violations(page)


def test_the_records_notice_on_the_session_page_is_compact(new_context, meeting_slug):
    page = new_context(user="delegate-fr").new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/1/")
    notice = page.locator(".record-review-notice")
    expect(notice).to_be_visible()
    drawn, text = box(notice), box(notice.locator("p").first)
    assert drawn["height"] - text["height"] <= 24, (drawn, text)  # was ~100 px of box around one line
