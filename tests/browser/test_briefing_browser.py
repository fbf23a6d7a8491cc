"""Issue 2 in a real browser: a delegate reads a session's briefing, follows citations, reads the questions."""

import pytest
from playwright.sync_api import expect

from .helpers import console_errors_except_favicon

pytestmark = pytest.mark.browser

QUESTION_START = "What kind of co-ordination mechanisms have been put in place in your administration"

# Which elements stick out past the right edge of a narrow viewport (for a readable failure message).
OVERFLOWING_ELEMENTS_JS = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) {
      const parentOverflows = el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5;
      if (!parentOverflows) {
        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                 (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                 ' right=' + Math.round(box.right));
      }
    }
  }
  return out.slice(0, 15);
}"""


@pytest.fixture
def session_url(meeting_slug):
    return f"/meetings/{meeting_slug}/sessions/2/"


def test_citation_link_scrolls_to_reference(new_context, session_url):
    context = new_context(user="delegate-fr")
    page = context.new_page()
    page.goto(session_url)

    citation = page.locator('#para-7 a.citation[href="#ref-5"]')
    expect(citation).to_be_visible()
    expect(page.locator("#ref-5")).not_to_be_in_viewport()  # else the click would prove nothing
    citation.click()

    expect(page).to_have_url(f"{page.url.split('#')[0]}#ref-5")
    assert page.evaluate("location.hash") == "#ref-5"
    expect(page.locator("#ref-5")).to_be_in_viewport()
    expect(page.locator("#ref-5")).to_contain_text("Building Trust and Reinforcing Democracy")
    assert console_errors_except_favicon(context) == []


def test_discussion_question_is_visible(new_context, session_url):
    context = new_context(user="delegate-fr")
    page = context.new_page()
    page.goto(session_url)

    card = page.locator("li.question").filter(has_text=QUESTION_START)
    question = card.locator(".question-text")
    expect(question).to_be_visible()
    question.scroll_into_view_if_needed()
    expect(question).to_be_in_viewport()
    # The delegate can answer it: the form is there, labelled with the delegation's name.
    expect(card.get_by_role("textbox", name="Answer of France")).to_be_editable()


def test_session_page_has_no_horizontal_scroll_on_phone(new_context, session_url):
    context = new_context(user="delegate-fr", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(session_url)
    expect(page.locator("li.question").first).to_be_attached()

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, (
        f"horizontal scroll at 390 px: scrollWidth={scroll_width}; overflowing: {page.evaluate(OVERFLOWING_ELEMENTS_JS, 390)}"
    )
