"""The top bar on a phone: one row, its links behind a keyboard-operable menu button; on a desktop
the same links stand in the bar. Checked for every role, in English and French."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LIBRARY = {"en": "Practice library", "fr": "Bibliothèque des pratiques"}
LOG_OUT = {"en": "Log out", "fr": "Se déconnecter"}
ROLES = ("delegate-fr", "chair", "secretariat")


def _switch(page, language):
    """Through the top bar's language form (clicked by script: on a phone it sits in the folded menu)."""
    with page.expect_navigation():
        page.locator(f".lang-form button[value={language}]").evaluate("button => button.click()")
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.fixture
def open_page(new_context, live_server_url, meeting_slug):
    """open_page(user, language, size): session 1 in that language. The language an account chose last
    overrides the cookie (other tests switch some accounts and back): it is switched here only then,
    and switched back after the test."""
    restore = []

    def make(user, language, size):
        context = new_context(user=user, **size)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server_url}])
        page = context.new_page()
        page.goto(f"/meetings/{meeting_slug}/sessions/1/")
        chosen = page.locator("html").get_attribute("lang")
        if chosen != language:
            _switch(page, language)
            restore.append((page, chosen))
        return page

    yield make
    for page, language in restore:
        _switch(page, language)


def _bar_height(page) -> float:
    return page.locator("header.topbar").bounding_box()["height"]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("user", ROLES)
def test_topbar_on_phone_is_one_row_with_a_menu_opened_by_keyboard(user, language, open_page):
    page = open_page(user, language, PHONE)
    button = page.locator("summary.nav-menu-button")
    library = page.get_by_role("link", name=LIBRARY[language], exact=True)

    # Was three to five rows (up to 252 px for the secretariat in French) before the menu.
    assert _bar_height(page) < 80
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(library).to_be_hidden()

    button.focus()
    page.keyboard.press("Enter")

    expect(button).to_have_attribute("aria-expanded", "true")
    expect(library).to_be_visible()
    expect(page.get_by_role("button", name=LOG_OUT[language])).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Tab")  # into the menu: its first link
    expect(page.locator(".nav-links a").first).to_be_focused()

    page.keyboard.press("Escape")

    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(library).to_be_hidden()


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("user", ROLES)
def test_topbar_on_desktop_shows_its_links_without_the_menu(user, language, open_page):
    page = open_page(user, language, DESKTOP)

    expect(page.locator("summary.nav-menu-button")).to_be_hidden()
    expect(page.get_by_role("link", name=LIBRARY[language], exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=LOG_OUT[language])).to_be_visible()
    # The secretariat's eleven links took three rows in French (167 px); two at most now.
    assert _bar_height(page) < 90


def test_topbar_without_an_account_has_no_menu_and_keeps_the_language_switch(new_context):
    page = new_context(**PHONE).new_page()
    page.goto("/accounts/login/")

    expect(page.locator("summary.nav-menu-button")).to_have_count(0)
    expect(page.locator(".lang-form").get_by_role("button", name="Français")).to_be_visible()
    assert _bar_height(page) < 80
