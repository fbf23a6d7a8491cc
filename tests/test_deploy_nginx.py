"""The production recipe run for real: Debian's nginx with TLS (a self-signed certificate) in front of
two Uvicorn workers sharing PostgreSQL and Redis, with deploy/nginx/facilitation.conf as shipped
(only ports and paths changed). A delegate's answer posted through nginx reaches consoles on both
workers. Install nginx with deploy/install-nginx.sh."""

import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import time

import httpx
import psycopg
import pytest
import websockets

from .servers import ROOT, free_port, manage, project_env, start_server, stop_servers

pytestmark = pytest.mark.services

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "facilitation_nginx_test"
PASSWORD = "demo-meeting-2023"
HOST = "meeting.example.org"


def _nginx_config(tmp, *, https_port: int, http_port: int, workers: list[int]) -> str:
    site = (ROOT / "deploy/nginx/facilitation.conf").read_text()
    site = site.replace("server 127.0.0.1:8001;", f"server 127.0.0.1:{workers[0]};")
    site = site.replace("server 127.0.0.1:8002;", f"server 127.0.0.1:{workers[1]};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;").replace("listen [::]:443 ssl http2;", "")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:80;", "")
    site = site.replace("/etc/ssl/certs/facilitation.pem", str(tmp / "cert.pem"))
    site = site.replace("/etc/ssl/private/facilitation.key", str(tmp / "key.pem"))
    site = site.replace("/var/lib/facilitation/static/", str(ROOT / "static") + "/")
    (tmp / "site.conf").write_text(site)
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    return f"""
worker_processes 1;  # one worker: round-robin sends successive connections to each Uvicorn in turn
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {tmp}/site.conf;
}}
"""


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory):
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        pytest.skip("nginx is not installed (deploy/install-nginx.sh installs Debian's package)")
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis and PostgreSQL: set REDIS_URL and DATABASE_URL (make test-services does)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
         "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True,
    )
    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    https_port, http_port = free_port(), free_port()
    env = project_env(
        DATABASE_URL=ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, REDIS_URL=os.environ["REDIS_URL"], DEMO_PASSWORD=PASSWORD,
        # The redirect to HTTPS is nginx's (port 80); 127.0.0.1 is the servers' own readiness check.
        HTTPS="1", SECURE_SSL_REDIRECT="0", ALLOWED_HOSTS=f"{HOST},127.0.0.1", CSRF_TRUSTED_ORIGINS=f"https://{HOST}:{https_port}",
        SECRET_KEY="nginx-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "load_demo", "--quiet-accounts")
    workers = [free_port(), free_port()]
    (tmp / "nginx.conf").write_text(_nginx_config(tmp, https_port=https_port, http_port=http_port, workers=workers))
    servers = []
    proxy = None
    try:
        servers = [start_server(env, port) for port in workers]
        check = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proxy = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"https://127.0.0.1:{https_port}/healthz/", verify=False, headers={"Host": HOST}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield {"https_port": https_port, "http_port": http_port, "cert": str(tmp / "cert.pem")}
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
        stop_servers(*servers)
        with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def _client(port: int) -> httpx.Client:
    # The certificate is self-signed for HOST; connect to loopback and name the host in the header.
    return httpx.Client(base_url=f"https://127.0.0.1:{port}", headers={"Host": f"{HOST}:{port}"}, verify=False, timeout=10)


def _login(client: httpx.Client, username: str) -> None:
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/accounts/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                           headers={"Referer": f"https://{HOST}:{client.base_url.port}/accounts/login/"})
    assert response.status_code == 302, response.text[:300]


def test_plain_http_is_redirected_to_https(behind_nginx):
    response = httpx.get(f"http://127.0.0.1:{behind_nginx['http_port']}/", headers={"Host": HOST})
    assert response.status_code == 301 and response.headers["location"].startswith(f"https://{HOST}")


def test_static_files_come_from_nginx_with_cache_headers(behind_nginx):
    with _client(behind_nginx["https_port"]) as client:
        response = client.get("/static/css/app.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "max-age=86400, public"


def test_health_through_the_proxy(behind_nginx):
    with _client(behind_nginx["https_port"]) as client:
        response = client.get("/healthz/")
    assert response.status_code == 200 and response.json()["channel_layer"] == "ok"


def test_an_answer_through_nginx_reaches_consoles_on_both_workers(behind_nginx):
    port = behind_nginx["https_port"]
    chair = _client(port)
    _login(chair, "chair")
    slug = chair.get("/").headers["location"].strip("/").split("/")[-1]
    context = ssl.create_default_context(cafile=behind_nginx["cert"])  # the self-signed certificate, verified

    async def scenario():
        headers = {"Cookie": f"sessionid={chair.cookies['sessionid']}"}
        # The URI names the certificate's host; host= and port= connect to loopback.
        uri = f"wss://{HOST}:{port}/ws/meetings/{slug}/sessions/1/console/"
        origin = f"https://{HOST}:{port}"
        # Two sockets: nginx's round-robin puts them on different workers, so one is not the post's.
        async with websockets.connect(uri, additional_headers=headers, origin=origin, ssl=context, host="127.0.0.1", port=port) as first, \
                websockets.connect(uri, additional_headers=headers, origin=origin, ssl=context, host="127.0.0.1", port=port) as second:
            for console in (first, second):
                await console.send(json.dumps({"type": "resync", "after": 10**9}))
            delegate = _client(port)
            _login(delegate, "delegate-fr")
            page = delegate.get(f"/meetings/{slug}/sessions/1/").text
            question_id = re.search(r'id="question-(\d+)"', page).group(1)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            posted = await asyncio.to_thread(
                delegate.post, f"/meetings/{slug}/questions/{question_id}/answer/",
                data={"kind": "answer", "text": "Posted through nginx", "key": "nginx-1", "csrfmiddlewaretoken": token},
                headers={"Referer": f"https://{HOST}:{port}/meetings/{slug}/sessions/1/"},
            )
            delegate.close()
            assert posted.status_code == 302, posted.text[:300]
            return [await asyncio.wait_for(console.recv(), timeout=5) for console in (first, second)]

    messages = asyncio.run(scenario())
    chair.close()
    assert all("Posted through nginx" in message for message in messages)
