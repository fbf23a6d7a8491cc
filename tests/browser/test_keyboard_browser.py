"""Issue 5 in a real browser: everything a delegate and a chair do works from the keyboard alone.

No clicks: Tab, Shift+Tab, Space, Enter and typing. After every htmx swap the focus must still be
on a control (not dropped on <body>, where a keyboard user would have to start the page over), that
control must show the focus ring (:focus-visible with an outline or a box-shadow) and be on screen.
Every element Tab lands on on the way must show the ring as well.

The Netherlands answer question 3 of session 3 and Belgium answers question 2 for the chair to
moderate; neither delegation answers anywhere else in the browser tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from .helpers import (
    LIVE_TIMEOUT,
    answer_replied,
    console_card,
    console_errors_except_favicon,
    open_live_page,
    question_id,
    submit_answer,
    unique,
)

pytestmark = pytest.mark.browser

MAX_TABS = 400

# The focused element, described for the failure message, and whether its focus ring shows.
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
  return {
    element: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
             (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') +
             (el.getAttribute('value') ? '[value=' + el.getAttribute('value') + ']' : ''),
    text: (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 50),
    focusVisible: el.matches(':focus-visible'),
    ring: outline || shadow,
  };
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUS_JS)


def assert_focus_shown(page: Page, where: str) -> dict:
    """The focus is on an element, not <body>, with a visible ring, in the viewport."""
    state = focused(page)
    assert state is not None, f"{where}: the focus fell back to <body>"
    assert state["focusVisible"] and state["ring"], f"{where}: no visible focus ring on {state}"
    expect(page.locator(":focus")).to_be_in_viewport()
    return state


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until `target` has the focus; every stop on the way shows its ring."""
    expect(target).to_be_attached()
    trail = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        state = focused(page)
        trail.append(state)
        assert state is None or (state["focusVisible"] and state["ring"]), f"no visible focus ring on {state}"
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached in {MAX_TABS} presses; last stops: {trail[-8:]}")


def press_and_wait_for_swap(page: Page, key: str, url_end: str) -> None:
    """Press `key` on the focused control; return once htmx has swapped the POST's response in."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(url_end)) as response:
        page.keyboard.press(key)
    assert response.value.ok, f"{url_end}: {response.value.status}"
    page.wait_for_timeout(100)  # htmx settles 20 ms after the swap; the focus is restored then


def test_delegate_answers_and_shares_a_practice_by_keyboard(new_context, meeting_slug):
    context = new_context(user="delegate-nl")
    page = context.new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/3/")
    qid = question_id(page, 3)
    card = page.locator(f"#question-{qid}")
    first, second = unique("Our Cabinet Office trains civil servants"), unique("in deliberative methods")

    # The jump link to the questions; from there the third question's text box.
    tab_to(page, page.locator(".jump-links a[href='#questions']"))
    page.keyboard.press("Enter")
    tab_to(page, page.locator(f"#answer-text-{qid}"))
    page.keyboard.type(first)
    tab_to(page, card.locator("button[type=submit]"))
    expect(page.locator(":focus")).to_have_text("Submit the answer")
    with answer_replied(page, qid):
        page.keyboard.press("Enter")

    expect(page.locator(f"#answer-status-q{qid}")).to_contain_text("Saved by", timeout=LIVE_TIMEOUT)
    assert_focus_shown(page, "after the answer was saved")
    expect(page.locator(":focus")).to_have_text("Update the answer")

    # Back into the text with Shift+Tab, add to it, send it again with Space.
    tab_to(page, page.locator(f"#answer-text-{qid}"), backwards=True)
    page.keyboard.press("End")
    page.keyboard.type(" " + second)
    tab_to(page, page.locator(f"#question-{qid} button[type=submit]"))
    with answer_replied(page, qid):
        page.keyboard.press("Space")
    expect(page.locator(f"#answer-text-{qid}")).to_have_value(f"{first} {second}")
    assert_focus_shown(page, "after the answer was updated")

    # A country practice, through its own page.
    tab_to(page, page.locator("#practices-mine a.button"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    title = unique("Deliberation academy")
    tab_to(page, page.locator("#p-title"))
    page.keyboard.type(title)
    tab_to(page, page.locator("#p-description"))
    page.keyboard.type("A two-week course on citizens' assemblies for policy officers.")
    tab_to(page, page.locator("#p-themes"))
    page.keyboard.type("training, citizen participation")
    tab_to(page, page.locator("main form button[type=submit]"))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    mine = page.locator("#practices-mine")
    expect(mine).to_contain_text(title)
    assert sorted(mine.locator(".practice-card", has_text=title).locator(".tag").all_inner_texts()) == [
        "citizen participation", "training",
    ]
    assert console_errors_except_favicon(context) == []


def test_chair_moderates_an_answer_by_keyboard(new_context, meeting_slug):
    belgium = new_context(user="delegate-be").new_page()
    belgium.goto(f"/meetings/{meeting_slug}/sessions/3/")
    qid = question_id(belgium, 2)
    text = unique("Belgium's federal chancellery funds citizen panels in each region")
    submit_answer(belgium, qid, text)

    chair = new_context(user="chair")
    console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/3/console/")
    expect(console.locator("#connection-state")).to_have_attribute("data-state", "online", timeout=LIVE_TIMEOUT)
    card = console_card(console, qid, "Belgium")
    expect(card).to_contain_text(text)
    answer_url = card.locator("form.mod-form").first.get_attribute("action")

    # Publish.
    tab_to(console, card.get_by_role("button", name="Publish"))
    press_and_wait_for_swap(console, "Enter", answer_url)
    expect(card.locator(".badges")).to_contain_text("Published")
    state = assert_focus_shown(console, "after publishing")
    assert console.locator(":focus").evaluate("(el, id) => !!el.closest('#' + id)", card.get_attribute("id")), (
        f"the focus left the answer's card: {state}"
    )

    # Star as a key point, with Space.
    tab_to(console, card.get_by_role("button", name="★ Star as key point"))
    press_and_wait_for_swap(console, "Space", answer_url)
    expect(card.locator(".badges")).to_contain_text("Key point")
    assert_focus_shown(console, "after starring")
    expect(console.locator(":focus")).to_have_text("Unstar")

    # Hide, with a reason: open the folded form with Space, type the reason, Enter on "Hide".
    tab_to(console, card.locator("details.mod-more summary"))
    console.keyboard.press("Space")
    expect(card.locator("details.mod-more")).to_have_attribute("open", "")
    tab_to(console, card.get_by_label("Reason for hiding"))
    console.keyboard.type("Repeats the answer to question 1")
    tab_to(console, card.get_by_role("button", name="Hide", exact=True))
    press_and_wait_for_swap(console, "Enter", answer_url)
    expect(card).to_have_class(re.compile(r"\bis-hidden\b"))
    expect(card).to_contain_text("Hidden: Repeats the answer to question 1")
    assert_focus_shown(console, "after hiding")

    # The live copy of the card that follows over the WebSocket must not take the focus away.
    console.wait_for_timeout(500)
    assert_focus_shown(console, "after the live update of the hidden card")
    assert console_errors_except_favicon(chair) == []


def test_a_resized_answer_box_refused_answer_keeps_the_content_security_policy(new_context, meeting_slug):
    """A delegate drags the answer box taller (the browser writes style="height: …" on it) and sends
    it empty: the refused answer's card comes back with its error, and htmx does not copy the old
    inline style onto the new box (which the CSP refuses, an error in the console)."""
    context = new_context(user="delegate-hu")
    page = context.new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/2/")
    qid = question_id(page, 2)
    box = page.locator(f"#answer-text-{qid}")
    box.scroll_into_view_if_needed()
    corner = box.bounding_box()
    page.mouse.move(corner["x"] + corner["width"] - 3, corner["y"] + corner["height"] - 3)
    page.mouse.down()
    page.mouse.move(corner["x"] + corner["width"] - 3, corner["y"] + corner["height"] + 90, steps=4)
    page.mouse.up()
    assert "height" in (box.get_attribute("style") or "")

    box.fill("   ")
    with answer_replied(page, qid):
        page.locator(f"#question-{qid} button[type=submit]").click()

    expect(page.locator(f"#answer-error-{qid}")).to_have_text("The answer cannot be empty.")
    refused = [line for line in console_errors_except_favicon(context) if "status of 422" not in line]
    assert refused == []
