"""Issue 8 in a real browser: from a participants file to an answer on the chair's console.

The secretariat uploads a small CSV, checks the preview and saves it; prints the personal sign-in
badge of one new participant and reads the link on it, as the desk would hand it over. That link is
opened in a fresh browser (no cookies), the participant signs in and answers question 2 of session 3
for Portugal; the chair's open console shows it. Portugal and Greece answer nowhere else in the
browser tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import (
    LIVE_TIMEOUT,
    console_card,
    console_errors_except_favicon,
    open_live_page,
    question_id,
    submit_answer,
    unique,
)

pytestmark = pytest.mark.browser

PARTICIPANTS_CSV = (
    "name,e-mail,delegation,role,language\n"
    "Ana Costa,ana.costa@example.org,PT,delegate,en\n"
    "Nikos Papadopoulos,nikos.papadopoulos@example.org,Greece,head of delegation,\n"
)


def test_imported_participant_signs_in_with_their_link_and_answers(new_context, meeting_slug, tmp_path):
    csv_file = tmp_path / "participants.csv"
    csv_file.write_text(PARTICIPANTS_CSV, encoding="utf-8")
    desk = new_context(user="secretariat")
    page = desk.new_page()

    # Upload and preview: nothing is saved yet.
    page.goto(f"/meetings/{meeting_slug}/participants/")
    page.get_by_role("navigation", name="Participants").get_by_role("link", name="Import a list").click()
    page.get_by_label("Participants file (CSV or Excel .xlsx)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import preview")
    rows = page.locator(".outcome-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="ana.costa@example.org")).to_contain_text("New")
    expect(rows.filter(has_text="ana.costa@example.org")).to_contain_text("Portugal")
    expect(rows.filter(has_text="nikos.papadopoulos@example.org")).to_contain_text("Greece")
    expect(rows.filter(has_text="nikos.papadopoulos@example.org")).to_contain_text("Head of delegation")

    # Confirm: the list has them, each under their delegation.
    page.get_by_role("button", name="Save: 2 new, 0 updated").click()
    expect(page.locator(".messages")).to_contain_text("Import saved: 2 new, 0 updated, 0 unchanged.")
    portugal = page.locator("section.participant-group").filter(has=page.get_by_role("heading", name=re.compile("^Portugal")))
    expect(portugal.locator(".participant-item", has_text="Ana Costa")).to_contain_text("never signed in")
    expect(page.locator("section.participant-group", has_text="Nikos Papadopoulos")).to_have_id("delegation-gr")

    # One participant's personal link, from the badge the desk prints for her.
    portugal.get_by_role("link", name="Ana Costa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Costa")
    page.get_by_role("button", name="Print a sign-in badge").click()
    badge = page.locator(".signin-badge")
    expect(badge).to_have_count(1)
    expect(badge).to_contain_text("Ana Costa")
    expect(badge.get_by_role("img", name="QR code: personal sign-in link of Ana Costa")).to_be_visible()
    link = badge.locator(".signin-badge-url").inner_text().replace("Link:", "").strip()
    assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/signin/[^/?\s]+/\?meeting={re.escape(meeting_slug)}", link), link

    # A fresh browser: the link asks before it signs in (mail scanners must not use it up).
    ana = new_context()
    ana_page = ana.new_page()
    ana_page.goto(link)
    expect(ana_page.locator("main")).to_contain_text("This personal link signs you in as Ana Costa.")
    ana_page.get_by_role("button", name="Sign in and open the meeting").click()
    expect(ana_page).to_have_url(re.compile(rf"/meetings/{re.escape(meeting_slug)}/$"))
    expect(ana_page.locator(".account-name")).to_contain_text("Ana Costa · Portugal")

    # She answers a question; the chair's open console shows it, attributed to Portugal.
    console = open_live_page(new_context(user="chair"), f"/meetings/{meeting_slug}/sessions/3/console/")
    ana_page.get_by_role("link", name=re.compile("^Centres of Government at the centre of fostering")).click()
    qid = question_id(ana_page, 2)
    text = unique("Portugal's Council of Ministers publishes every draft decree for comment")
    submit_answer(ana_page, qid, text)
    expect(ana_page.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by Ana Costa")
    card = console_card(console, qid, "Portugal")
    expect(card).to_contain_text(text, timeout=LIVE_TIMEOUT)
    expect(card).to_contain_text("Last saved by Ana Costa")

    # The link worked once: opened again elsewhere, it signs nobody in.
    stranger = new_context().new_page()
    stranger.goto(link)
    expect(stranger.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    # And the secretariat now sees that she has signed in.
    page.goto(f"/meetings/{meeting_slug}/participants/")
    expect(page.locator(".participant-item", has_text="Ana Costa")).to_contain_text("last signed in")
    assert console_errors_except_favicon(ana) == []
