"""Scale-out: two real Uvicorn processes sharing PostgreSQL and Redis serve one meeting."""

import asyncio
import json
import os
import re

import httpx
import psycopg
import pytest
import websockets

from .servers import free_port, manage, project_env, start_server, stop_servers

pytestmark = pytest.mark.services

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "facilitation_scale_out_test"
PASSWORD = "demo-meeting-2023"


@pytest.fixture(scope="module")
def two_servers():
    if not os.environ.get("REDIS_URL"):
        if os.environ.get("REQUIRE_SERVICES") == "1" and not os.environ.get("DATABASE_URL"):
            pytest.skip("runs in the PostgreSQL + Redis pass of make test (REDIS_URL set)")
        pytest.skip("needs Redis and PostgreSQL: set REDIS_URL and DATABASE_URL (make test-services does)")
    redis_url = os.environ["REDIS_URL"]
    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
    env = project_env(DATABASE_URL=database_url, REDIS_URL=redis_url, DEMO_PASSWORD=PASSWORD)
    manage(env, "migrate", "--noinput")
    manage(env, "load_demo", "--quiet-accounts")
    ports = [free_port(), free_port()]
    servers = [start_server(env, port) for port in ports]
    yield ports
    stop_servers(*servers)
    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")  # leave the server as we found it


def login(port: int, username: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/accounts/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.text[:500]
    return client


def test_answer_posted_to_one_process_reaches_a_console_on_the_other(two_servers):
    port_a, port_b = two_servers
    chair = login(port_b, "chair")
    slug = chair.get("/").headers["location"].strip("/").split("/")[-1]

    async def scenario():
        headers = {"Cookie": f"sessionid={chair.cookies['sessionid']}"}
        uri = f"ws://127.0.0.1:{port_b}/ws/meetings/{slug}/sessions/1/console/"
        async with websockets.connect(uri, additional_headers=headers, origin=f"http://127.0.0.1:{port_b}") as console:
            await console.send(json.dumps({"type": "resync", "after": 10**9}))
            delegate = login(port_a, "delegate-fr")
            page = delegate.get(f"/meetings/{slug}/sessions/1/").text
            question_id = re.search(r'id="question-(\d+)"', page).group(1)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            posted = await asyncio.to_thread(
                delegate.post, f"/meetings/{slug}/questions/{question_id}/answer/",
                data={"kind": "answer", "text": "Posted to process A", "key": "scale-out-1", "csrfmiddlewaretoken": token},
            )
            delegate.close()
            assert posted.status_code == 302
            message = await asyncio.wait_for(console.recv(), timeout=5)
            return question_id, message

    question_id, message = asyncio.run(scenario())
    chair.close()
    assert "Posted to process A" in message
    assert f"#answers-q{question_id}" in message


def test_refused_sign_in_links_are_counted_across_processes(two_servers):
    """A client that spreads its guesses of sign-in links over the processes is throttled after the
    same number of refusals as on one: the counts live in Redis, not in each process."""
    import random

    import redis

    from sessions_app.participants import FAILURE_LIMIT

    address = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"  # reserved for tests (RFC 2544)
    headers = {"X-Forwarded-For": address}  # Uvicorn takes it from 127.0.0.1
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) for port in two_servers]
    try:
        statuses = [clients[number % 2].get(f"/signin/not-a-link-{number}/").status_code for number in range(FAILURE_LIMIT)]
        assert statuses == [404] * FAILURE_LIMIT
        assert [client.get("/signin/not-a-link-last/").status_code for client in clients] == [429, 429]
        other = httpx.get(f"http://127.0.0.1:{two_servers[0]}/signin/not-a-link/", headers={"X-Forwarded-For": "198.19.0.1"})
        assert other.status_code == 404  # another address keeps its own count
    finally:
        for client in clients:
            client.close()
        connection = redis.Redis.from_url(os.environ["REDIS_URL"])
        for key in [*connection.scan_iter(f"*failures:signin:{address}"), *connection.scan_iter("*failures:signin:198.19.0.1")]:
            connection.delete(key)
        connection.close()
