"""Issue 24 in a real browser: a delegate finds a practice by country and theme with the keyboard only,
on a desktop and on a phone, and axe-core finds nothing on the library's pages.

The test runs its own server (the shared one holds one meeting, which the home redirect relies on),
loaded as `make run` loads it: the demo meeting plus the earlier demo meeting of the library."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from . import helpers
from .test_controls_browser import assert_app_button, box
from .test_review_browser import no_axe_violations

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("library-server")
    try:
        with helpers.live_server(data_dir) as server:
            helpers.manage(["load_demo", "--library-demo", "--quiet-accounts"], helpers.server_env(data_dir))
            yield server
    except helpers.ServerError as error:
        pytest.fail(str(error), pytrace=False)


def tab_to(page: Page, element_id: str, limit: int = 250, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until the element with this id has the focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never got the focus with Tab")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_delegate_finds_a_practice_by_country_and_theme_with_the_keyboard(browser, library_server, device):
    context = browser.new_context(base_url=library_server.url, **VIEWPORTS[device])
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        helpers.login(page, "delegate-no")
        page.goto("/practices/")
        count = page.locator("#library-count")
        expect(count).to_have_text("12 practices")
        tab_to(page, "facet-theme-mis-disinformation")
        page.keyboard.press("Space")
        expect(count).to_have_text("5 practices")
        # The results were swapped in by htmx: the focus stays on the box just ticked.
        assert page.evaluate("document.activeElement.id") == "facet-theme-mis-disinformation"
        tab_to(page, "facet-country-fr", key="Shift+Tab")
        page.keyboard.press("Space")
        expect(count).to_have_text("1 practice")
        assert "country=FR" in page.url and "theme=mis-disinformation" in page.url
        # Back and forward through the filters (htmx restores them): the whole page each time, top bar
        # with the way back to the meeting included.
        page.go_back()
        expect(count).to_have_text("5 practices")
        nav = page.get_by_role("navigation", name="Main")
        menu = nav.locator("summary.nav-menu-button")  # on a phone the links are in the folded menu
        folded = menu.is_visible()
        if folded:
            menu.click()
        expect(nav.get_by_role("link", name="Meeting", exact=True)).to_be_visible()
        if folded:
            menu.click()
        page.go_forward()
        expect(count).to_have_text("1 practice")
        link = page.get_by_role("link", name="Cellule de veille contre la désinformation")
        for _ in range(100):
            page.keyboard.press("Tab")
            if link.evaluate("el => el === document.activeElement"):
                break
        page.keyboard.press("Enter")
        expect(page.locator("main h1")).to_have_text("Cellule de veille contre la désinformation")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        violations = Axe().run(page).response["violations"]
        assert violations == []
        page.goto("/practices/?country=FR")
        assert Axe().run(page).response["violations"] == []
    finally:
        context.close()


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_secretariat_imports_a_spreadsheet_with_the_keyboard(browser, library_server, device, tmp_path):
    """Upload, map in the preview, confirm: keyboard only (the file itself is chosen in the system's
    dialog, which a test sets directly), no horizontal scroll of the page on a phone, 0 axe violations."""
    sheet = tmp_path / "compendium.csv"
    title = f"Imported citizens' jury ({device})"
    sheet.write_text(f"Titre,Pays,Description,Année,Commentaire\n{title},Chile,A jury of citizens.,2020,{'long text ' * 30}\n", "utf-8")
    context = browser.new_context(base_url=library_server.url, **VIEWPORTS[device])
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        helpers.login(page, "secretariat")
        page.goto("/practices/import/")
        assert Axe().run(page).response["violations"] == []
        page.set_input_files("#import-file", str(sheet))
        tab_to(page, "import-file")
        page.keyboard.press("Tab")  # to "Read the file"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#column-0")).to_have_value("title")
        expect(page.locator("#column-4")).to_have_value("")
        expect(page.get_by_role("status")).to_contain_text("1 practice is ready to import.")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert Axe().run(page).response["violations"] == []
        confirm = page.get_by_role("button", name="Import the practices")
        for _ in range(60):
            page.keyboard.press("Tab")
            if confirm.evaluate("el => el === document.activeElement"):
                break
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("link", name=title)).to_be_visible()
    finally:
        context.close()


def test_library_search_and_curation_use_the_apps_controls(browser, library_server):
    context = browser.new_context(base_url=library_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        helpers.login(page, "secretariat")
        page.goto("/practices/")
        search = page.get_by_role("searchbox", name="Search the practices")
        assert box(search)["height"] >= 36 and box(search)["radius"] == "6px"
        search_button = page.locator("form.library-search").get_by_role("button", name="Search")
        assert_app_button(search_button)
        assert box(search_button)["height"] == pytest.approx(box(search)["height"], abs=8)  # one row, not mismatched
        no_axe_violations(page)

        page.locator("#library-results a[href^='/practices/']:not([href*='export'])").first.click()
        expect(page.get_by_role("heading", name="Curation")).to_be_visible()
        for name in (re.compile("Mark as verified|Remove the verified mark"), "Find"):
            assert_app_button(page.get_by_role("button", name=name, exact=True))
        retire = box(page.get_by_role("button", name="Retire from the library"))
        assert retire["radius"] == "6px" and retire["height"] >= 36 and retire["border"] == "rgb(163, 34, 27)"  # --danger
        # The practice to merge into is found and chosen with the keyboard, no number to type.
        find = page.get_by_role("searchbox", name=re.compile("Find the practice this one duplicates"))
        assert box(find)["height"] >= 36 and box(find)["radius"] == "6px"
        find.fill("citizen")
        with page.expect_navigation():
            find.press("Enter")
        choice = page.locator("input[name=into]").first
        choice.focus()
        page.keyboard.press("Space")
        expect(choice).to_be_checked()
        assert_app_button(page.get_by_role("button", name="Merge this practice into the one chosen"))
        no_axe_violations(page)
    finally:
        context.close()
