"""Deployment hardening: malformed socket frames, security headers, the production settings."""

import subprocess
import sys

import pytest
from django.test import Client

from sessions_app.middleware import PERMISSIONS_POLICY
from tests import servers
from tests.factories import DelegationFactory, make_delegate
from tests.live_helpers import delegate_path, open_socket
from tests.test_consumers import setup_meeting

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
async def test_a_deeply_nested_frame_closes_the_socket_as_malformed():
    world = await setup_meeting()
    socket, connected, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    assert connected
    frame = "[" * 5000
    assert len(frame) < 16 * 1024  # under the size cap: the JSON parser itself must refuse it
    await socket.send_to(text_data=frame)
    output = await socket.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", 4400)


def test_every_page_denies_the_browser_features_the_app_never_uses(client):
    response = client.get("/accounts/login/")
    policy = response.headers["Permissions-Policy"]
    assert policy == PERMISSIONS_POLICY
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in policy


def test_the_content_security_policy_allows_no_base_element(client):
    csp = client.get("/accounts/login/").headers["Content-Security-Policy"]
    assert "base-uri 'none'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_a_signed_in_page_carries_the_same_headers():
    client = Client()
    client.force_login(make_delegate(DelegationFactory()))
    response = client.get("/", follow=True)
    assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "base-uri 'none'" in response.headers["Content-Security-Policy"]


PRODUCTION = {
    "HTTPS": "1",
    "SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "meeting.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://meeting.example.org",
}

_LANGUAGE_COOKIE = """
from django.test import Client
response = Client(HTTP_HOST="meeting.example.org").post("/language/", {"language": "fr"}, secure=True)
cookie = response.cookies["django_language"]
print("secure" if cookie["secure"] else "plain")
"""


def _shell(env: dict, script: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=servers.ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after the shell's own "objects imported" line


@pytest.mark.embedded_pass  # its own processes and settings: once, in the embedded pass
def test_the_language_cookie_is_secure_under_https(tmp_path):
    env = servers.project_env(DATA_DIR=str(tmp_path), **PRODUCTION)
    assert _shell(env, _LANGUAGE_COOKIE) == "secure"
    plain = servers.project_env(DATA_DIR=str(tmp_path))
    assert _shell(plain, _LANGUAGE_COOKIE.replace("secure=True", "secure=False").replace("meeting.example.org", "127.0.0.1")) == "plain"


_PROXY_HEADER = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"


@pytest.mark.embedded_pass  # its own processes and settings: once, in the embedded pass
def test_https_trusts_x_forwarded_proto_unless_told_there_is_no_proxy(tmp_path):
    env = servers.project_env(DATA_DIR=str(tmp_path), **PRODUCTION)
    assert _shell(env, _PROXY_HEADER) == "('HTTP_X_FORWARDED_PROTO', 'https')"
    assert _shell({**env, "TRUST_X_FORWARDED_PROTO": "0"}, _PROXY_HEADER) == "None"


@pytest.mark.embedded_pass  # its own processes and settings: once, in the embedded pass
def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    env = servers.project_env(DATA_DIR=str(tmp_path), **PRODUCTION)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=servers.ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
