"""A country practice shared by one delegate shows at once on a colleague's page of the same session.

Uses session 3 and Canada, which no other browser test touches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import LIVE_TIMEOUT, open_live_page, unique

pytestmark = pytest.mark.browser


def test_a_colleagues_new_practice_joins_the_list_on_my_page_without_reloading(new_context, meeting_slug):
    mine = open_live_page(new_context(user="delegate-ca"), f"/meetings/{meeting_slug}/sessions/3/")
    colleague = new_context(user="delegate-ca").new_page()
    title = unique("Digital democracy lab")

    colleague.goto(f"/meetings/{meeting_slug}/sessions/3/practices/new/")
    colleague.locator("#p-title").fill(title)
    colleague.locator("#p-description").fill("A team that tests consultation tools with citizens.")
    colleague.locator("main form button[type=submit]").click()
    expect(colleague.locator("#practices-mine")).to_contain_text(title)

    expect(mine.locator("#practices-mine")).to_contain_text(title, timeout=LIVE_TIMEOUT)
    expect(mine.locator("#practices-mine")).to_contain_text("Practices shared by Canada")
    assert mine.evaluate("window.__notReloaded === true")
