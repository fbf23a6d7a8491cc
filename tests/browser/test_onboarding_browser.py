"""Issue 27 in a real browser: the kiosk screen link and the delegate's page on a phone and a desktop."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEVICES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def assert_no_axe_violations(axe, page):
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = axe.run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in violations]


def make_screen_link(new_context, meeting_slug, label) -> str:
    page = new_context(user="secretariat").new_page()
    page.goto(f"/meetings/{meeting_slug}/settings/")
    page.get_by_label("Label (for example: Room 1 projector)").fill(label)
    page.get_by_role("button", name="Make a screen link").click()
    return page.locator("#new-screen-link").get_attribute("href")


@pytest.mark.parametrize("device", DEVICES)
def test_kiosk_link_shows_the_live_screen_to_a_browser_signed_in_as_nobody(device, new_context, meeting_slug, axe):
    url = make_screen_link(new_context, meeting_slug, f"Projector {device}")
    projector = new_context(**DEVICES[device]).new_page()
    with projector.expect_websocket(lambda ws: "/ws/screen-link/" in ws.url) as socket_info:
        projector.goto(url)
    socket = socket_info.value
    expect(projector.locator(".join-code")).to_be_visible()
    expect(projector.locator(".topbar")).to_have_count(0)  # only the screen: no menu, no account
    assert not socket.is_closed()
    assert projector.evaluate("document.documentElement.scrollWidth") <= DEVICES[device]["viewport"]["width"]
    assert_no_axe_violations(axe, projector)
    # The projector reboots: a fresh browser with only the URL shows the screen again.
    again = new_context(**DEVICES[device]).new_page()
    again.goto(url)
    expect(again.locator(".join-code")).to_be_visible()


def test_revoked_kiosk_link_stops_the_screen_and_delegates_have_no_screen(new_context, meeting_slug):
    url = make_screen_link(new_context, meeting_slug, "To revoke")
    projector = new_context().new_page()
    with projector.expect_websocket(lambda ws: "/ws/screen-link/" in ws.url) as socket_info:
        projector.goto(url)
    socket = socket_info.value
    secretariat = new_context(user="secretariat").new_page()
    secretariat.goto(f"/meetings/{meeting_slug}/settings/")
    secretariat.get_by_role("button", name="Revoke To revoke").click()
    expect(secretariat.get_by_text("The screen link was revoked")).to_be_visible()
    # The projector's open socket is closed at once (it may have closed before we look).
    for _ in range(50):
        if socket.is_closed():
            break
        projector.wait_for_timeout(100)
    assert socket.is_closed()
    assert projector.goto(url).status == 404
    delegate = new_context(user="delegate-fr").new_page()
    assert delegate.goto(f"/meetings/{meeting_slug}/screen/").status == 403


FIRST_FORM_JS = """() => {
  const form = document.querySelector('#questions form, #questions textarea');
  const briefing = document.querySelector('#briefing');
  const discussion = document.querySelector('#questions');
  const b = briefing.getBoundingClientRect(), d = discussion.getBoundingClientRect();
  return {form: form.getBoundingClientRect().top + scrollY, briefingLeft: b.left, discussionLeft: d.left,
          briefingTop: b.top + scrollY, discussionTop: d.top + scrollY};
}"""


@pytest.mark.parametrize("device", DEVICES)
def test_delegate_page_puts_what_is_live_first_and_the_briefing_one_tap_away(device, new_context, meeting_slug, axe):
    page = new_context(user="delegate-fr", **DEVICES[device]).new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/2/")
    expect(page.locator("#questions li.question").first).to_be_visible()
    box = page.evaluate(FIRST_FORM_JS)
    height = DEVICES[device]["viewport"]["height"]
    if device == "phone":
        # The first answer form within the first two screens (it was 12.5 screens down), the briefing after.
        assert box["form"] < 2 * height, box
        assert box["discussionTop"] < box["briefingTop"], box
    else:
        assert box["briefingLeft"] < box["discussionLeft"], box  # the briefing on the left, the questions beside
        assert box["form"] < height, box
    page.get_by_role("link", name="Go to the briefing").click()
    expect(page.locator("#briefing-title")).to_be_in_viewport()
    # A paragraph link of the contents still lands on its paragraph.
    toc_link = page.locator(".toc a[href^='#']").first
    target = toc_link.get_attribute("href")
    toc_link.click()
    expect(page.locator(target)).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= DEVICES[device]["viewport"]["width"]
    assert_no_axe_violations(axe, page)


@pytest.mark.parametrize("user", ["secretariat", "chair"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_settings_page_has_no_axe_violations(user, language, new_context, live_server_url, meeting_slug, axe):
    context = new_context(user=user, **PHONE)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server_url}])
    page = context.new_page()
    page.goto(f"/meetings/{meeting_slug}/settings/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text("Meeting settings" if language == "en" else "Paramètres de la réunion")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_no_axe_violations(axe, page)
