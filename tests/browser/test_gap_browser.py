"""A live message that never reaches the console (the channel layer delivers at most once) is noticed
by the page's own script and repaired within seconds, without a reload.

The "drop": the server's message taken out on the way to the page (Playwright's WebSocket route), or
an answer stored by another process (manage.py shell, with its own in-memory channel layer), whose
broadcast no socket of the server ever receives, exactly as a message lost by Redis or by a full
channel. Session 1, questions 3, 2 and 1, delegations Norway, Netherlands, Sweden and Denmark.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import LIVE_PROBE, LIVE_TIMEOUT, ROOT, console_card, open_live_page, question_id, server_env, submit_answer, unique

pytestmark = pytest.mark.browser


def store_without_broadcast(app_server, username: str, qid: str, text: str) -> None:
    code = (
        "from django.contrib.auth import get_user_model; from sessions_app import services; from sessions_app.models import Question; "
        f"services.submit_answer(user=get_user_model().objects.get(username={username!r}), question=Question.objects.get(pk={int(qid)}), "
        f"kind='answer', text={text!r}, key={unique('k')!r})"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=server_env(app_server.data_dir),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def open_console_through(chair, meeting_slug: str, route):
    """The console with its socket routed through `route` (Playwright's WebSocketRoute): the test
    decides what of the server's messages reaches the page."""
    console = chair.new_page()
    console.add_init_script(LIVE_PROBE)
    console.route_web_socket(re.compile(r"/ws/"), route)
    console.goto(f"/meetings/{meeting_slug}/sessions/1/console/")
    expect(console.locator("html")).to_have_attribute("data-ws-opens", re.compile(r"^[1-9]"), timeout=LIVE_TIMEOUT)
    console.evaluate("window.__notReloaded = true")
    return console


def test_console_repairs_a_dropped_answer_as_soon_as_the_next_message_shows_the_gap(new_context, app_server, meeting_slug):
    chair, norway, netherlands = new_context("chair"), new_context("delegate-no"), new_context("delegate-nl")
    tag = uuid.uuid4().hex
    dropped, lost = f"Netherlands: stored, its live message lost <b>x</b> {tag}", []

    def route(socket):  # the server's live message carrying the Netherlands' answer never reaches the page
        server = socket.connect_to_server()
        server.on_message(lambda message: lost.append(message) if tag in message and "data-through" not in message else socket.send(message))

    console = open_console_through(chair, meeting_slug, route)
    delegate, other = norway.new_page(), netherlands.new_page()
    delegate.goto(f"/meetings/{meeting_slug}/sessions/1/")
    other.goto(f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(delegate, 3)
    submit_answer(other, qid, dropped)
    started = time.monotonic()
    after = unique("Norway answered after the drop")
    submit_answer(delegate, qid, after)
    expect(console_card(console, qid, "Norway")).to_contain_text(after, timeout=LIVE_TIMEOUT)
    expect(console_card(console, qid, "Netherlands")).to_contain_text(dropped, timeout=LIVE_TIMEOUT)
    repaired = time.monotonic() - started
    assert len(lost) == 1  # dropped on the way; shown by the resync
    expect(console_card(console, qid, "Netherlands")).to_have_count(1)
    expect(console_card(console, qid, "Norway")).to_have_count(1)  # replayed, not shown twice
    assert console.evaluate("window.__notReloaded === true")
    assert repaired < 2.5, repaired  # the gap check (0.7 s), not the quiet one (3 s)


def test_console_repairs_a_dropped_answer_when_its_stream_goes_quiet(new_context, app_server, meeting_slug):
    chair, sweden = new_context("chair"), new_context("delegate-se")
    console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/1/console/")
    page = sweden.new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(page, 2)
    dropped = unique("Sweden: stored, its live message lost, nothing after it")
    store_without_broadcast(app_server, "delegate-se", qid, dropped)
    # Nothing else happens: the console's periodic check (3 s of quiet) finds the missing event.
    expect(console_card(console, qid, "Sweden")).to_contain_text(dropped, timeout=15_000)
    expect(console_card(console, qid, "Sweden")).to_have_count(1)
    assert console.evaluate("window.__notReloaded === true")


def test_console_ignores_a_live_message_held_back_until_after_its_catch_up(new_context, app_server, meeting_slug):
    """A message rendered before a resync's reply and delivered after it (Redis or the other process
    held it back) must not put the older text back: the page has that event already."""
    chair, denmark = new_context("chair"), new_context("delegate-dk")
    held, state = [], {"hold": False}

    def route(socket):
        state["socket"] = socket
        server = socket.connect_to_server()
        # Live messages are held back; a resync's reply (data-through) goes on.
        server.on_message(lambda message: held.append(message) if state["hold"] and "data-through" not in message else socket.send(message))

    console = open_console_through(chair, meeting_slug, route)
    delegate = denmark.new_page()
    delegate.goto(f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(delegate, 1)

    state["hold"] = True
    older, newer = unique("Denmark, first text"), unique("Denmark, edited text")
    submit_answer(delegate, qid, older)
    submit_answer(delegate, qid, newer)
    console.wait_for_timeout(300)
    state["hold"] = False
    assert len(held) == 2 and older in held[0] and newer in held[1], held
    # The edit's message is lost; the page's quiet check resyncs and the reply brings the edit.
    expect(console_card(console, qid, "Denmark")).to_contain_text(newer, timeout=10_000)
    state["socket"].send(held[0])  # the first text's message, delivered only now
    console.wait_for_timeout(1000)
    expect(console_card(console, qid, "Denmark")).to_contain_text(newer)
    expect(console_card(console, qid, "Denmark")).to_have_count(1)
    assert console.evaluate("window.__notReloaded === true")
