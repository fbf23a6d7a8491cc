"""Issue 26 in a real browser: the summary record reviewed by a delegation before it is final.

France answers question 1 of session 1 first (other tests act as France only on the floor in
session 1, so its answer there surprises none), so that the meeting's record reports a France
passage. The secretariat issues a draft of the whole meeting's record; France proposes a
correction to its passage; the secretariat accepts it and issues the final record, whose Word file
holds the corrected text and says "version 2". France's open session page shows the draft's notice
live, and its meeting page the final's. axe-core checks each review page as it is seen.
(The demo's own draft is session 1's, so the meeting's record starts at version 1 here.)
"""

from __future__ import annotations

import re

import docx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .helpers import console_errors_except_favicon, question_id, submit_answer, unique
from .test_a11y_browser import describe

pytestmark = pytest.mark.browser


def no_axe_violations(page: Page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = Axe().run(page).response["violations"]
    assert violations == [], f"{page.url}:\n{describe(violations)}"
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = false; })")


def test_france_corrects_the_draft_and_the_final_record_carries_it(new_context, meeting_slug, tmp_path):
    france_context = new_context(user="delegate-fr")
    france = france_context.new_page()
    france.goto(f"/meetings/{meeting_slug}/sessions/1/")
    answer = unique("France's General Secretariat of the Government tracks trust every quarter")
    submit_answer(france, question_id(france, 1), answer)
    review_link = france.locator("#record_review_notice").get_by_role("link", name="Review the draft")
    expect(review_link).to_have_count(1)  # the demo's draft of session 1
    demo_draft = review_link.get_attribute("href")

    secretariat = new_context(user="secretariat").new_page()
    secretariat.goto(f"/meetings/{meeting_slug}/")
    secretariat.get_by_role("navigation", name="Main").get_by_role("link", name="Record review").click()
    expect(secretariat.get_by_role("heading", level=1)).to_have_text("Record review")
    no_axe_violations(secretariat)
    secretariat.get_by_label("Record of").select_option(label="The whole meeting")
    secretariat.get_by_role("button", name="Issue the draft").click()
    expect(secretariat.get_by_role("heading", level=1)).to_contain_text("version 1 (Draft for comments)")
    no_axe_violations(secretariat)

    # France's session page, open all along, is told live (over its socket, no reload): the notice
    # now points at the meeting's new draft instead of the demo's.
    draft_path = re.search(r"/meetings/.*$", secretariat.url).group(0)
    assert draft_path != demo_draft
    expect(review_link).to_have_attribute("href", draft_path, timeout=10000)
    live_notice = france.locator("#record_review_notice")
    expect(live_notice).to_contain_text("A draft summary record (version 1) is open for corrections")
    expect(live_notice).to_have_attribute("role", "status")
    no_axe_violations(france)

    france.goto(f"/meetings/{meeting_slug}/")
    notice = france.locator("#record_review_notice")
    expect(notice).to_contain_text("is open for corrections")
    notice.get_by_role("link", name="Review the draft").click()
    passage = france.locator("li.record-passage", has_text=answer)
    expect(passage.locator(".badge")).to_have_text("Your delegation")
    no_axe_violations(france)
    passage.locator("summary").click()
    corrected = unique("France's General Secretariat of the Government tracks trust every month")
    passage.get_by_label("Corrected text, or your comment").fill(f"France: {corrected}")
    passage.get_by_role("button", name="Propose this correction").click()
    expect(france.locator(".messages")).to_contain_text("Your correction was sent")
    expect(france.locator("li.record-passage", has_text=answer)).to_contain_text("Awaiting the secretariat")

    secretariat.reload()
    proposal = secretariat.locator("li.record-passage", has_text=answer).locator(".record-proposal")
    expect(proposal).to_contain_text(corrected)
    expect(proposal).to_contain_text("France")
    no_axe_violations(secretariat)
    proposal.get_by_label("Accept", exact=True).check()
    proposal.get_by_role("button", name="Record the decision").click()
    expect(secretariat.locator("li.record-passage", has_text=answer)).to_contain_text("Accepted")
    secretariat.get_by_role("button", name="Issue the final record").click()
    expect(secretariat.get_by_role("heading", level=1)).to_contain_text("version 2 (Final)")
    expect(secretariat.locator("ol.record-passages")).to_contain_text(f"France: {corrected}")
    no_axe_violations(secretariat)

    with secretariat.expect_download() as info:
        secretariat.get_by_role("link", name="Word (.docx)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert f"France: {corrected}" in text
    assert re.search(r"version 2 \(Final\)", text)
    assert f"France: {answer}" in text.split("Changes from version 1")[1]  # what it was, in the list of changes

    france.goto(f"/meetings/{meeting_slug}/")
    expect(france.locator("#record_review_notice")).to_contain_text("final summary record (version 2) is out")
    assert console_errors_except_favicon(france_context) == []

    # The same pages in French, for each side (the choice is kept per person: switched back after).
    for page in (france, secretariat):
        page.goto(f"/meetings/{meeting_slug}/record-review/")
        page.locator("form.lang-form").get_by_role("button", name="Français").click()
        try:
            expect(page.locator("html")).to_have_attribute("lang", "fr")
            expect(page.get_by_role("heading", level=1)).to_have_text("Relecture du compte rendu")
            no_axe_violations(page)
            page.get_by_role("link", name=re.compile("Version 2")).first.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("version 2 (Final)")
            no_axe_violations(page)
        finally:
            page.locator("form.lang-form").get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
