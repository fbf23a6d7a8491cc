"""A country practice shared by one delegate shows at once on a colleague's page of the same session.

Also: the "Your answer was saved." confirmation on the page that saved, against the live status line.

Uses session 3 and Canada, which no other browser test touches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import LIVE_TIMEOUT, open_live_page, question_id, submit_answer, unique

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


def test_my_saved_confirmation_outlasts_my_own_live_update_and_goes_on_a_colleagues_save(new_context, meeting_slug):
    """The status line comes twice to the page that saved: in the reply ("Your answer was saved.") and
    in the delegation's live update (for every colleague), in either order."""
    mine = open_live_page(new_context(user="delegate-ca"), f"/meetings/{meeting_slug}/sessions/3/")
    colleague = open_live_page(new_context(user="delegate-ca"), f"/meetings/{meeting_slug}/sessions/3/")
    qid = question_id(mine, 1)
    status, theirs = mine.locator(f"#answer-status-q{qid}"), colleague.locator(f"#answer-status-q{qid}")
    seen = mine.locator("#live-seq").get_attribute("data-seq")

    submit_answer(mine, qid, unique("The centre of government sets the agenda"))
    expect(mine.locator("#live-seq")).not_to_have_attribute("data-seq", seen, timeout=LIVE_TIMEOUT)  # the live update is in
    expect(status).to_contain_text("Your answer was saved.")
    expect(theirs).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    expect(theirs).not_to_contain_text("Your answer was saved.")

    submit_answer(colleague, qid, unique("A colleague's better wording"))
    expect(theirs).to_contain_text("Your answer was saved.")
    expect(status).not_to_contain_text("Your answer was saved.", timeout=LIVE_TIMEOUT)
    expect(status).to_contain_text("Saved by")
    assert mine.evaluate("window.__notReloaded === true")


def test_the_consoles_empty_practices_note_goes_when_a_practice_arrives(new_context, meeting_slug):
    console = open_live_page(new_context(user="chair"), f"/meetings/{meeting_slug}/sessions/3/console/")
    empty_note = console.locator("#practices-feed + .practices-empty")
    if console.locator("#practices-feed li").count() == 0:  # another test may have shared one in session 3 already
        expect(empty_note).to_be_visible()
    delegate = new_context(user="delegate-ca").new_page()
    title = unique("Citizens' panel on budget priorities")
    delegate.goto(f"/meetings/{meeting_slug}/sessions/3/practices/new/")
    delegate.locator("#p-title").fill(title)
    delegate.locator("#p-description").fill("Randomly selected residents advise on the budget.")
    delegate.locator("main form button[type=submit]").click()

    expect(console.locator("#practices-feed")).to_contain_text(title, timeout=LIVE_TIMEOUT)
    expect(console.locator("text=Practices shared by delegations appear here.")).to_be_hidden()
    assert console.evaluate("window.__notReloaded === true")
