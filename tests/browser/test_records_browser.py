"""Issue 4 in a real browser: the secretariat downloads the summary record from the console.

Italy answers question 1 of session 1 first (no other browser test counts the answers to that
question, and Italy answers nowhere else), so that the record has a contribution to carry.
The secretariat then goes as a person would: the session's console, the top bar's "Records" link,
the "Word (.docx)" button. The file is opened with python-docx, as Word would open it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pytest
from playwright.sync_api import Page, expect

from .helpers import console_errors_except_favicon, question_id, submit_answer, unique

pytestmark = pytest.mark.browser

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_text(path: Path) -> str:
    """Every paragraph and table cell of a Word file, one per line."""
    document = docx.Document(str(path))
    lines = [paragraph.text for paragraph in document.paragraphs]
    lines += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def open_records_from_console(page: Page, slug: str) -> None:
    page.goto(f"/meetings/{slug}/sessions/3/console/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session 3")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Records", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/meetings/{re.escape(slug)}/records/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Records")


def download(page: Page, section, tmp_path: Path) -> Path:
    """Click the summary record's Word button in `section`; the saved file's path."""
    row = section.locator("dt", has_text="Summary record").locator("xpath=following-sibling::dd[1]")
    with page.expect_download() as info:
        row.get_by_role("link", name="Word (.docx)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert info.value.failure() is None
    return path


def test_secretariat_downloads_summary_record_from_console(new_context, meeting_slug, tmp_path):
    italy = new_context(user="delegate-it").new_page()
    italy.goto(f"/meetings/{meeting_slug}/sessions/1/")
    answer = unique("Italy's Presidency of the Council runs a citizens' panel on every major reform")
    submit_answer(italy, question_id(italy, 1), answer)

    secretariat = new_context(user="secretariat")
    page = secretariat.new_page()
    open_records_from_console(page, meeting_slug)
    meeting_title = page.locator(".page-header .eyebrow").inner_text().strip()
    session_titles = [
        page.locator(f"#scope-session-{number} [lang]").inner_text().strip() for number in (1, 2, 3)
    ]

    path = download(page, page.locator("section.records-scope", has=page.locator("#scope-meeting")), tmp_path)

    assert path.name == f"{meeting_slug}-summary.docx"
    with zipfile.ZipFile(path) as archive:  # a real Office Open XML package, not an HTML error page
        assert "word/document.xml" in archive.namelist()
        assert DOCX_TYPE in archive.read("[Content_Types].xml").decode()
    document = docx.Document(str(path))
    assert document.paragraphs[0].text == meeting_title
    assert document.paragraphs[0].style.name == "Title"
    text = docx_text(path)
    for number, title in enumerate(session_titles, start=1):
        assert f"Session {number}. {title}" in text
    assert f"Italy: {answer}" in text  # attributed: the demo meeting is not under the Chatham House rule

    # The download is in the log the secretariat sees, with who made it.
    page.reload()
    latest = page.locator(".records-table tbody tr").first
    expect(latest).to_contain_text("Summary record")
    expect(latest).to_contain_text("docx")
    expect(latest).to_contain_text("Demo Secretariat")
    assert console_errors_except_favicon(secretariat) == []


def test_summary_record_of_one_session_holds_that_session_only(new_context, meeting_slug, tmp_path):
    page = new_context(user="secretariat").new_page()
    open_records_from_console(page, meeting_slug)
    titles = {number: page.locator(f"#scope-session-{number} [lang]").inner_text().strip() for number in (1, 2, 3)}

    path = download(page, page.locator("section.records-scope", has=page.locator("#scope-session-3")), tmp_path)

    assert path.name == f"{meeting_slug}-session-3-summary.docx"
    text = docx_text(path)
    assert "Summary record of session 3" in text
    assert f"Session 3. {titles[3]}" in text
    assert f"Session 1. {titles[1]}" not in text
    assert f"Session 2. {titles[2]}" not in text
