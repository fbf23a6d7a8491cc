"""Answer posts on PostgreSQL through a real server: more delegations posting at once than the
process has pooled connections all get their answer stored once (a request waiting for another's
batch holds no connection: sessions_app/answer_batch.py)."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx
import psycopg
from psycopg import sql
import pytest

from .servers import ROOT, free_port, manage, project_env, start_server, stop_servers

pytestmark = pytest.mark.services

POSTS = 40
POOL = 5  # far fewer connections than posts waiting at once
CSRF = secrets.token_hex(16)
COUNTRIES = ["FR", "DE", "JP", "IT", "ES", "CA", "MX", "KR", "NO", "SE", "FI", "DK", "PL", "PT", "NL", "BE", "AT", "CH", "IE", "NZ",
             "AU", "BR", "AR", "CL", "CO", "PE", "ZA", "KE", "NG", "EG", "MA", "TN", "SN", "GH", "IN", "ID", "TH", "VN", "PH", "MY"]  # fmt: skip

SETUP = """
import json
from asgiref.sync import async_to_sync
from tests.factories import DelegationFactory, QuestionFactory, make_delegate
from tests.live_helpers import session_cookie
question = QuestionFactory(status="open")
meeting = question.session.meeting
countries = [DelegationFactory(country=code) for code in json.loads(%r)]
meeting.delegations.add(*countries)
print(json.dumps({"path": f"/meetings/{meeting.slug}/questions/{question.pk}/answer/", "meeting": meeting.pk,
                  "cookies": [async_to_sync(session_cookie)(make_delegate(country)) for country in countries]}))
"""


def _admin_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url.replace("postgres://", "postgresql://", 1) if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture(scope="module")
def server_on_postgresql():
    admin_url = _admin_url()
    if admin_url is None:  # the SQLite pass; make test-services runs it (and fails without PostgreSQL under REQUIRE_SERVICES=1)
        pytest.skip("PostgreSQL only (the PostgreSQL + Redis pass of make test)")
    # One per worktree / test database, quoted: a test database may be named with a hyphen.
    name = admin_url.rsplit("/", 1)[1].split("?")[0] + "_answer_pool"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = admin_url.rsplit("/", 1)[0] + "/" + name
    env = project_env(DATABASE_URL=database_url, DB_POOL_SIZE=str(POOL), DB_POOL_TIMEOUT="5")
    manage(env, "migrate", "--noinput")
    made = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP % json.dumps(COUNTRIES)],
                          cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    world = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    server = start_server(env, port)
    yield {"port": port, "database_url": database_url, **world}
    stop_servers(server)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def _post(client: httpx.AsyncClient, path: str, cookie: str, key: str, origin: str) -> httpx.Response:
    return await client.post(
        path, content=urlencode({"kind": "answer", "text": f"Answer {key}", "key": key}),
        headers={"Cookie": f"csrftoken={CSRF}; {cookie}", "X-CSRFToken": CSRF, "HX-Request": "true",
                 "Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
    )  # fmt: skip


def test_more_posts_at_once_than_pooled_connections_are_all_stored_once(server_on_postgresql):
    world = server_on_postgresql
    base = f"http://127.0.0.1:{world['port']}"
    meeting_table = "sessions_app_meeting"
    with psycopg.connect(world["database_url"]) as holder:
        # Another process numbering the meeting's events holds its row: the first batch waits on it
        # while every other post arrives and waits for the next batch (longer than a pool wait may last
        # would fail them all, were a waiting post holding its connection).
        holder.execute(f"UPDATE {meeting_table} SET last_seq = last_seq WHERE id = %s", [world["meeting"]])

        async def room() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=POSTS + 5)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
                posting = [asyncio.create_task(_post(client, world["path"], cookie, f"pool-{i}", base)) for i, cookie in enumerate(world["cookies"])]
                await asyncio.sleep(6)  # past the pool's 5 s wait
                holder.commit()  # the first batch goes on
                return await asyncio.gather(*posting)

        started = time.monotonic()
        responses = asyncio.run(room())
        took = time.monotonic() - started

    assert [response.status_code for response in responses] == [200] * POSTS, [r.text[:300] for r in responses if r.status_code != 200]
    assert all("Your answer was saved." in response.text for response in responses)
    with psycopg.connect(world["database_url"]) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM sessions_app_answer), (SELECT count(*) FROM sessions_app_submission),"
            " (SELECT count(*) FROM sessions_app_event), (SELECT last_seq FROM sessions_app_meeting WHERE id = %s)", [world["meeting"]]
        ).fetchone()  # fmt: skip
    assert counts == (POSTS, POSTS, POSTS, POSTS)
    assert took < 30
