"""Issue 5 in a real browser: axe-core finds nothing on any page, for any role, in English or French.

Every page type is checked as each role that can open it sees it, in both interface languages,
with axe-core's default rules (WCAG 2.x A and AA, and its best practices). A failure names the
page, the role and the language, and lists each violation with its impact and the elements.

The pages are checked with something on them: before the first check, Sweden and Norway answer
question 2 of session 1 and Sweden shares a practice; the chair stars and publishes Sweden's
answer, hides Norway's with a reason and puts the question on the room screen. Sweden and Norway
answer nowhere else in the browser tests, and no other test counts the answers to that question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from . import helpers
from .helpers import LIVE_TIMEOUT, console_card, open_live_page, question_id, submit_answer

pytestmark = pytest.mark.browser

# Django's default LANGUAGE_COOKIE_NAME; each check also asserts <html lang>, so a wrong name fails.
LANGUAGE_COOKIE = "django_language"
LANGUAGES = ("en", "fr")
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
USERS = {"delegate": "delegate-se", "chair": "chair", "secretariat": "secretariat"}
PARTICIPANTS_CSV = "name,e-mail,delegation,role\nLars Nilsson,lars.nilsson@example.org,SE,delegate\n"
# Two rows the preview refuses: an address that is not one, and a cell a spreadsheet would run.
BAD_PARTICIPANTS_CSV = (
    "name,e-mail,delegation,role\nLars Nilsson,not-an-address,SE,delegate\n=HYPERLINK(1),eva@example.org,SE,delegate\n"
)


@dataclass(frozen=True)
class Seeded:
    slug: str
    signin_link: str  # an unused personal link (GET only shows the confirmation page)


@dataclass(frozen=True)
class Target:
    roles: tuple[str, ...]
    open: Callable[[Page, Seeded, object], None]  # (page, seeded, tmp_path) -> the page is on screen


def _goto(path: str, ready: str = "main h1") -> Callable:
    def open_page(page: Page, seeded: Seeded, tmp_path) -> None:
        page.goto(path.format(slug=seeded.slug))
        expect(page.locator(ready).first).to_be_visible()
    return open_page


def _live(path: str, ready: str) -> Callable:
    """A page with a WebSocket: wait until it is connected and has had its catch-up."""
    def open_page(page: Page, seeded: Seeded, tmp_path) -> None:
        page.add_init_script(helpers.LIVE_PROBE)
        page.goto(path.format(slug=seeded.slug))
        expect(page.locator("html")).to_have_attribute("data-ws-opens", re.compile(r"^[1-9]"), timeout=LIVE_TIMEOUT)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_timeout(300)  # the catch-up after the socket opens may swap a fragment
    return open_page


def _import_preview(content: str) -> Callable:
    def open_page(page: Page, seeded: Seeded, tmp_path) -> None:
        csv_file = tmp_path / "participants.csv"
        csv_file.write_text(content, encoding="utf-8")
        page.goto(f"/meetings/{seeded.slug}/participants/import/")
        page.locator("#id_file").set_input_files(str(csv_file))
        page.locator("form.stack-form button[type=submit]").click()
        expect(page.locator(".outcome-table")).to_be_visible()
    return open_page


def _login_refused(page: Page, seeded: Seeded, tmp_path) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("chair")
    page.locator("#id_password").fill("not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main .form-error")).to_be_visible()


def _join_refused(page: Page, seeded: Seeded, tmp_path) -> None:
    page.goto("/join/")
    page.locator("#id_code").fill("ZZZZZZ")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#code-error")).to_be_visible()


def _participant_page(page: Page, seeded: Seeded, tmp_path) -> None:
    page.goto(f"/meetings/{seeded.slug}/participants/#delegation-se")
    page.locator("#delegation-se .participant-name").first.click()
    expect(page.locator(".participant-access")).to_be_visible()


def _sign_in_sheet(page: Page, seeded: Seeded, tmp_path) -> None:
    page.goto(f"/meetings/{seeded.slug}/participants/#delegation-se")
    page.locator("#delegation-se .participant-name").first.click()
    page.locator(".participant-access form[action$='/participants/sheet/'] button").click()
    expect(page.locator(".signin-badge")).to_have_count(1)


def _signin_confirm(page: Page, seeded: Seeded, tmp_path) -> None:
    page.goto(seeded.signin_link)
    expect(page.locator("main form button[type=submit]")).to_be_visible()


PAGES: dict[str, Target] = {
    "login": Target(("anonymous",), _goto("/accounts/login/")),
    "login-refused": Target(("anonymous",), _login_refused),
    "sign-in-request": Target(("anonymous",), _goto("/signin/?meeting={slug}")),
    "sign-in-confirm": Target(("anonymous",), _signin_confirm),
    "sign-in-invalid": Target(("anonymous",), _goto("/signin/not-a-real-token/?meeting={slug}")),
    "observer-join": Target(("anonymous",), _goto("/join/")),
    "observer-join-refused": Target(("anonymous",), _join_refused),
    "meeting-agenda": Target(("delegate", "observer", "chair", "secretariat"), _goto("/meetings/{slug}/")),
    "session-page": Target(
        ("delegate", "observer", "chair"), _live("/meetings/{slug}/sessions/1/", "li.question")
    ),
    # Session 2's questions hold no form or link for a chair: the scrolling column must take focus itself.
    "session-page-observing": Target(("chair",), _live("/meetings/{slug}/sessions/2/", "li.question")),
    "practice-form": Target(("delegate",), _goto("/meetings/{slug}/sessions/1/practices/new/")),
    "chair-console": Target(
        ("chair", "secretariat"), _live("/meetings/{slug}/sessions/1/console/", ".answer-card")
    ),
    "room-screen": Target(("chair",), _live("/meetings/{slug}/screen/", ".screen-points")),
    "records": Target(("chair", "secretariat"), _goto("/meetings/{slug}/records/")),
    "summary-record": Target(("secretariat",), _goto("/meetings/{slug}/records/summary/")),
    "compendium": Target(("secretariat",), _goto("/meetings/{slug}/records/compendium/")),
    "import-notes": Target(("secretariat",), _goto("/setup/import/")),
    "participants-list": Target(("secretariat",), _goto("/meetings/{slug}/participants/")),
    "participant-add": Target(("secretariat",), _goto("/meetings/{slug}/participants/add/")),
    "participant-edit": Target(("secretariat",), _participant_page),
    "participants-import": Target(("secretariat",), _goto("/meetings/{slug}/participants/import/")),
    "participants-preview": Target(("secretariat",), _import_preview(PARTICIPANTS_CSV)),
    "participants-preview-errors": Target(("secretariat",), _import_preview(BAD_PARTICIPANTS_CSV)),
    "sign-in-sheet": Target(("secretariat",), _sign_in_sheet),
    "forbidden": Target(("delegate",), _goto("/meetings/{slug}/records/")),
}

CASES = [
    pytest.param(name, role, language, id=f"{name}-{role}-{language}")
    for name, target in PAGES.items()
    for role in target.roles
    for language in LANGUAGES
]


# --- the meeting's state for the checks ----------------------------------------------------------


def _context(browser: Browser, base_url: str, states: dict, user: str | None = None, **kwargs):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},
                                  storage_state=states.get(user), **kwargs)
    context.set_default_timeout(10_000)
    if user and user not in states:
        page = context.new_page()
        helpers.login(page, user)
        states[user] = context.storage_state()
        page.close()
    return context


@pytest.fixture(scope="module")
def seeded(browser, live_server_url, meeting_slug, _storage_states) -> Seeded:
    contexts = []

    def context(user=None):
        contexts.append(_context(browser, live_server_url, _storage_states, user))
        return contexts[-1]

    try:
        chair = context("chair")
        console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/1/console/")
        for user, text in (
            ("delegate-se", "Sweden's Government Offices run a joint analysis unit across ministries."),
            ("delegate-no", "Norway pilots citizens' juries on climate policy in three municipalities."),
        ):
            page = context(user).new_page()
            page.goto(f"/meetings/{meeting_slug}/sessions/1/")
            qid = question_id(page, 2)
            submit_answer(page, qid, text)
        sweden, norway = console_card(console, qid, "Sweden"), console_card(console, qid, "Norway")
        expect(norway).to_be_visible(timeout=LIVE_TIMEOUT)
        sweden.get_by_role("button", name="★ Star as key point").click()
        expect(sweden.get_by_role("button", name="Unstar")).to_be_visible()
        sweden.get_by_role("button", name="Publish").click()
        expect(console_card(console, qid, "Sweden").locator(".badge-ok")).to_be_visible()
        norway.locator("summary").click()
        norway.get_by_label("Reason for hiding").fill("Off topic")
        norway.get_by_role("button", name="Hide", exact=True).click()
        expect(console_card(console, qid, "Norway")).to_contain_text("Hidden: Off topic")
        console.locator(f"#qcontrols-{qid}").get_by_role("button", name="Now discussing (put on screen)").click()
        expect(console.locator("#now-discussing")).not_to_have_class(re.compile(r"\bis-empty\b"), timeout=LIVE_TIMEOUT)

        form = context("delegate-se").new_page()
        form.goto(f"/meetings/{meeting_slug}/sessions/1/practices/new/")
        form.locator("#p-title").fill("Joint analysis unit")
        form.locator("#p-description").fill("Analysts from every ministry share one work programme.")
        form.locator("#p-themes").fill("co-ordination, analysis")
        form.locator("main form button[type=submit]").click()
        expect(form.locator("#practices-mine")).to_contain_text("Joint analysis unit")

        desk = context("secretariat").new_page()
        desk.goto(f"/meetings/{meeting_slug}/participants/#delegation-se")
        desk.locator("#delegation-se .participant-name").first.click()
        desk.locator(".participant-access form[action$='/participants/sheet/'] button").click()
        link = desk.locator(".signin-badge-url").inner_text().split()[-1]

        observer = context()
        join = observer.new_page()
        join.goto("/join/")
        desk.goto(f"/meetings/{meeting_slug}/participants/")
        join.locator("#id_code").fill(desk.locator(".join-code").inner_text())
        join.locator("#id_name").fill("Ingrid Observer")
        join.locator("main form button[type=submit]").click()
        expect(join).to_have_url(re.compile(rf"/meetings/{re.escape(meeting_slug)}/$"))
        _storage_states["observer (a11y)"] = observer.storage_state()
    finally:
        for made in contexts:
            made.close()
    return Seeded(slug=meeting_slug, signin_link=link)


# --- the checks ------------------------------------------------------------------------------------


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation["nodes"][:8]:
            summary = " ".join((node.get("failureSummary") or "").split())[:240]
            lines.append(f"    {node['target']}  {summary}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.mark.parametrize("name, role, language", CASES)
def test_page_has_no_axe_violations(name, role, language, seeded, axe, browser, live_server_url, _storage_states, tmp_path):
    user = "observer (a11y)" if role == "observer" else USERS.get(role)
    context = _context(browser, live_server_url, _storage_states, user, locale=LOCALES[language])
    try:
        context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": live_server_url}])
        page = context.new_page()
        PAGES[name].open(page, seeded, tmp_path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        # What is folded away (moderation forms, lists of missing delegations) is checked too.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")

        violations = axe.run(page).response["violations"]

        assert violations == [], f"{name} as {role} in {language} ({page.url}):\n{describe(violations)}"
    finally:
        context.close()
