"""A live message that never reaches the console (the channel layer delivers at most once) is noticed
by the page's own script and repaired within seconds, without a reload.

The "drop": an answer stored by another process (manage.py shell, with its own in-memory channel
layer), whose broadcast no socket of the server ever receives, exactly as a message lost by Redis or
by a full channel. Session 1, questions 3 and 2, delegations Norway, Netherlands and Sweden.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from .helpers import LIVE_TIMEOUT, ROOT, console_card, open_live_page, question_id, server_env, submit_answer, unique

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


def test_console_repairs_a_dropped_answer_as_soon_as_the_next_message_shows_the_gap(new_context, app_server, meeting_slug):
    chair, norway = new_context("chair"), new_context("delegate-no")
    console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/1/console/")
    delegate = norway.new_page()
    delegate.goto(f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(delegate, 3)
    dropped = unique("Netherlands: stored, its live message lost <b>x</b>")
    store_without_broadcast(app_server, "delegate-nl", qid, dropped)
    time.sleep(0.5)
    expect(console_card(console, qid, "Netherlands")).to_have_count(0)  # the console never heard of it

    started = time.monotonic()
    after = unique("Norway answered after the drop")
    submit_answer(delegate, qid, after)
    expect(console_card(console, qid, "Norway")).to_contain_text(after, timeout=LIVE_TIMEOUT)
    expect(console_card(console, qid, "Netherlands")).to_contain_text(dropped, timeout=LIVE_TIMEOUT)
    repaired = time.monotonic() - started
    expect(console_card(console, qid, "Netherlands")).to_have_count(1)
    expect(console_card(console, qid, "Norway")).to_have_count(1)  # replayed, not shown twice
    assert console.evaluate("window.__notReloaded === true")
    assert repaired < 5, repaired


def test_console_repairs_a_dropped_answer_when_its_stream_goes_quiet(new_context, app_server, meeting_slug):
    chair, sweden = new_context("chair"), new_context("delegate-se")
    console = open_live_page(chair, f"/meetings/{meeting_slug}/sessions/1/console/")
    page = sweden.new_page()
    page.goto(f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(page, 2)
    dropped = unique("Sweden: stored, its live message lost, nothing after it")
    store_without_broadcast(app_server, "delegate-se", qid, dropped)
    # Nothing else happens: the console's periodic check (10 s of quiet) finds the missing event.
    expect(console_card(console, qid, "Sweden")).to_contain_text(dropped, timeout=15_000)
    expect(console_card(console, qid, "Sweden")).to_have_count(1)
    assert console.evaluate("window.__notReloaded === true")
