"""Layout on a phone (390×844): no page scrolls sideways; the room screen's join box stays readable."""

import pytest
from playwright.sync_api import expect

from .test_briefing_browser import OVERFLOWING_ELEMENTS_JS

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# (user, path under the meeting, an element that is there once the page is rendered)
PAGES = {
    "login": (None, "/accounts/login/", "#id_username"),
    "agenda": ("delegate-fr", "/meetings/{slug}/", "h1"),
    "session-1": ("delegate-fr", "/meetings/{slug}/sessions/1/", "li.question"),
    "session-3": ("delegate-fr", "/meetings/{slug}/sessions/3/", "li.question"),
    "console": ("chair", "/meetings/{slug}/sessions/2/console/", ".console-question"),
    "room-screen": ("chair", "/meetings/{slug}/screen/", ".join-code"),
}


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_horizontal_scroll_on_phone(name, new_context, meeting_slug):
    user, path, ready = PAGES[name]
    page = new_context(user=user, **PHONE).new_page()
    page.goto(path.format(slug=meeting_slug))
    expect(page.locator(ready).first).to_be_attached()

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"scrollWidth={scroll_width}; overflowing: {page.evaluate(OVERFLOWING_ELEMENTS_JS, 390)}"


ROOM_CODE_BOX_JS = """() => {
  const code = document.querySelector('.join-code');
  const box = code.getBoundingClientRect();
  return {width: box.width, height: box.height, fontSize: parseFloat(getComputedStyle(code).fontSize)};
}"""


# Was broken below ~700 px (the room code printed one letter per line); fixed in app.css.
@pytest.mark.parametrize("width", [1280, 640, 390])
def test_room_screen_join_code_stays_on_one_line(width, new_context, meeting_slug):
    page = new_context(user="chair", viewport={"width": width, "height": 844}).new_page()
    page.goto(f"/meetings/{meeting_slug}/screen/")
    expect(page.locator(".join-code")).to_be_visible()

    box = page.evaluate(ROOM_CODE_BOX_JS)
    assert box["height"] < 2 * box["fontSize"], f"the room code wraps: {box}"
