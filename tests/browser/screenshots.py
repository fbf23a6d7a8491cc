"""Screenshots of the main pages at desktop and phone sizes, for a visual review.

    .venv/bin/python -m tests.browser.screenshots OUTDIR            # starts its own isolated server
    .venv/bin/python -m tests.browser.screenshots OUTDIR --url http://127.0.0.1:8000   # a running one

With its own server (the default) the script works on a fresh demo database: France answers the first
question of session 2 (Germany and Japan too, so that the console has several cards), the chair puts
that question on screen and stars France's answer. Then it captures, for each page, the desktop
viewport (1280×900) and the whole page on a phone (390×844):

    01-login, 02-agenda, 03-session2-delegate, 04-session2-console, 05-room-screen

Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from . import helpers

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
SIZES = {"desktop": DESKTOP, "phone": PHONE}

ANSWERS = {
    "delegate-fr": "France co-ordinates through an inter-ministerial task force chaired by the Prime Minister's "
                   "office (SGG), with a weekly meeting of the ministries' communication directors.",
    "delegate-de": "The Federal Chancellery hosts a working group on hybrid threats; ministries report "
                   "disinformation campaigns to a shared situation centre.",
    "delegate-jp": "A cabinet-level liaison council meets monthly.",
}


def shoot(page: Page, outdir: Path, name: str, size: str) -> Path:
    path = outdir / f"{name}-{size}.png"
    page.screenshot(path=str(path), full_page=(size == "phone"))
    print(f"  {path}")
    return path


def settle(page: Page) -> None:
    """Fonts loaded and the live connection, if the page has one, open."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    state = page.locator("#connection-state")
    if state.count():
        expect(state).to_have_attribute("data-state", "online", timeout=10_000)


def prepare_meeting(browser: Browser, base_url: str, slug: str) -> None:
    """One answer per delegation on session 2, question 1; it is on screen and France's is starred."""
    for user, text in ANSWERS.items():
        context = browser.new_context(base_url=base_url, **DESKTOP)
        page = context.new_page()
        helpers.login(page, user)
        page.goto(f"/meetings/{slug}/sessions/2/")
        card = page.locator("li.question").first
        card.locator("textarea[name=text]").fill(text)
        with helpers.answer_replied(page, card.get_attribute("data-question-id")):
            card.locator("form.answer-form button[type=submit]").click()
        expect(page.locator(".answer-saved").first).to_contain_text("Saved by")
        context.close()

    context = browser.new_context(base_url=base_url, **DESKTOP)
    page = context.new_page()
    helpers.login(page, "chair")
    page.goto(f"/meetings/{slug}/sessions/2/console/")
    first = page.locator(".console-question").first
    first.get_by_role("button", name="Now discussing (put on screen)").click()
    expect(page.locator("#now-discussing")).to_contain_text("Now discussing")
    france = first.locator("article.answer-card").filter(has=page.locator(".delegation-name", has_text="France"))
    france.get_by_role("button", name="★ Star as key point").click()
    expect(france.get_by_role("button", name="Unstar")).to_be_visible()
    context.close()


def capture(browser: Browser, base_url: str, outdir: Path, prepare: bool) -> list[Path]:
    shots: list[Path] = []
    for size, options in SIZES.items():
        context = browser.new_context(base_url=base_url, **options)
        page = context.new_page()
        page.goto("/accounts/login/")
        settle(page)
        shots.append(shoot(page, outdir, "01-login", size))
        context.close()

    probe = browser.new_context(base_url=base_url)
    page = probe.new_page()
    helpers.login(page, "delegate-fr")
    slug = helpers.meeting_slug_from_home(page)
    probe.close()
    if prepare:
        prepare_meeting(browser, base_url, slug)

    pages = {
        "delegate-fr": [("02-agenda", f"/meetings/{slug}/"), ("03-session2-delegate", f"/meetings/{slug}/sessions/2/")],
        "chair": [("04-session2-console", f"/meetings/{slug}/sessions/2/console/"), ("05-room-screen", f"/meetings/{slug}/screen/")],
    }
    for user, targets in pages.items():
        for size, options in SIZES.items():
            context = browser.new_context(base_url=base_url, **options)
            page = context.new_page()
            helpers.login(page, user)
            for name, url in targets:
                page.goto(url)
                settle(page)
                shots.append(shoot(page, outdir, name, size))
            context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--url", help="use this running server (its data as it is) instead of starting one")
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        if args.url:
            base_url, prepare = args.url.rstrip("/"), False
        else:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="facilitation-shots-")))
            print("Starting an isolated server (migrate, load_demo, uvicorn)…")
            base_url, prepare = stack.enter_context(helpers.live_server(data_dir)).url, True
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        print(f"Capturing {base_url} into {args.outdir}:")
        shots = capture(browser, base_url, args.outdir, prepare)
    print(f"{len(shots)} screenshots.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
