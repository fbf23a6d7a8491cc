"""Password sign-in is limited per account and per address (django-axes), with a lock-out that expires
and that the secretariat sees and lifts."""

import logging
import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import servers
from tests.factories import PASSWORD, DelegationFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT
LOGIN = "/accounts/login/"


def _try(client: Client, username: str, password: str, address: str = "192.0.2.1", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, headers=headers)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_after_the_limit_of_wrong_ones():
    user = make_delegate(DelegationFactory())
    client = Client()
    for _ in range(LIMIT - 1):
        assert _try(client, user.username, "wrong").status_code == 200  # the form again
    response = _try(client, user.username, "wrong")
    assert response.status_code == 429
    response = _try(client, user.username, PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
    assert "Too many wrong passwords were tried for this account or from this network." in response.content.decode()


def test_an_account_is_locked_when_the_wrong_passwords_come_from_ten_addresses():
    user = make_delegate(DelegationFactory())
    client = Client()
    for attempt in range(LIMIT):
        _try(client, user.username, "wrong", address=f"198.51.100.{attempt % 10 + 1}")
    assert _try(client, user.username, PASSWORD, address="203.0.113.7").status_code == 429
    assert not _signed_in(client)


def test_an_address_is_locked_when_it_tries_many_accounts():
    victim = make_delegate(DelegationFactory(country="DE"))
    client = Client()
    for attempt in range(LIMIT):
        _try(client, f"guess{attempt}", "wrong", address="192.0.2.50")
    assert _try(client, victim.username, PASSWORD, address="192.0.2.50").status_code == 429
    other_room = Client()  # another address is not affected
    assert _try(other_room, victim.username, PASSWORD, address="192.0.2.51").status_code == 302
    assert _signed_in(other_room)


def test_the_lockout_expires_after_the_cool_off():
    user = make_delegate(DelegationFactory())
    client = Client()
    for _ in range(LIMIT):
        _try(client, user.username, "wrong")
    assert _try(client, user.username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert _try(client, user.username, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_the_lockout_message_is_in_french():
    user = make_delegate(DelegationFactory())
    client = Client()
    for _ in range(LIMIT):
        _try(client, user.username, "wrong")
    response = _try(client, user.username, PASSWORD, **{"accept-language": "fr"})
    assert response.status_code == 429
    assert "Trop de mots de passe erronés" in response.content.decode()


def test_a_success_before_the_limit_clears_the_count():
    user = make_delegate(DelegationFactory())
    client = Client()
    for _ in range(LIMIT - 1):
        _try(client, user.username, "wrong")
    assert _try(client, user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        _try(client, user.username, "wrong")
    assert _try(client, user.username, PASSWORD).status_code == 302


def test_the_secretariat_sees_and_lifts_a_lockout():
    user = make_delegate(DelegationFactory(), username="locked-delegate")
    for _ in range(LIMIT):
        _try(Client(), user.username, "wrong")
    secretariat = Client()
    secretariat.force_login(make_secretariat())
    html = secretariat.get(reverse("signin_lockouts")).content.decode()
    assert "locked-delegate" in html and "Lift the lock-out" in html
    response = secretariat.post(reverse("signin_lockout_lift"), {"kind": "username", "value": "locked-delegate"}, follow=True)
    assert "The lock-out is lifted: sign-in works again." in response.content.decode()
    assert "locked-delegate" not in secretariat.get(reverse("signin_lockouts")).content.decode()
    client = Client()
    assert _try(client, user.username, PASSWORD, address="192.0.2.99").status_code == 302


def test_a_bad_lift_request_changes_nothing_and_says_so():
    user = make_delegate(DelegationFactory())
    for _ in range(LIMIT):
        _try(Client(), user.username, "wrong")
    secretariat = Client()
    secretariat.force_login(make_secretariat())
    response = secretariat.post(reverse("signin_lockout_lift"), {"kind": "password", "value": "x"}, follow=True)
    assert "Nothing to lift: choose a lock-out from the list." in response.content.decode()
    assert AccessAttempt.objects.count() == 1


def test_only_the_secretariat_sees_the_lockouts():
    delegate = Client()
    delegate.force_login(make_delegate(DelegationFactory()))
    assert delegate.get(reverse("signin_lockouts")).status_code == 403
    assert delegate.post(reverse("signin_lockout_lift"), {"kind": "username", "value": "x"}).status_code == 403


def test_a_hostile_account_name_is_escaped_on_the_lockouts_page():
    for _ in range(LIMIT):
        _try(Client(), "<script>alert(1)</script>", "wrong")
    secretariat = Client()
    secretariat.force_login(make_secretariat())
    html = secretariat.get(reverse("signin_lockouts")).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_lockout_log_names_no_account_or_address(caplog):
    user = make_delegate(DelegationFactory(), username="private-name")
    with caplog.at_level(logging.INFO):
        for _ in range(LIMIT + 1):
            _try(Client(), user.username, "wrong", address="192.0.2.77")
    messages = [record.getMessage() for record in caplog.records]
    assert "sign_in.locked_out" in messages
    assert not any("private-name" in m or "192.0.2.77" in m for m in messages)


# --- Two processes, one count ----------------------------------------------------------------------


def _login_attempt(client: httpx.Client, base: str, username: str, password: str) -> int:
    page = client.get(f"{base}{LOGIN}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(f"{base}{LOGIN}", data={"username": username, "password": password, "csrfmiddlewaretoken": token}).status_code


@pytest.mark.embedded_pass  # its own processes and settings: once, in the embedded pass
@pytest.mark.django_db(transaction=True)
def test_two_server_processes_count_the_failures_together(tmp_path):
    """Wrong passwords alternate between two Uvicorn processes; the account is locked at the limit."""
    env = servers.project_env(DATA_DIR=str(tmp_path), SECRET_KEY="two-process-test-key")
    servers.manage(env, "migrate", "-v0")
    script = "from django.contrib.auth.models import User; User.objects.create_user('twoproc', password='right-pass-123')"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=servers.ROOT, env=env, check=True, capture_output=True)
    ports = [servers.free_port(), servers.free_port()]
    processes = [servers.start_server(env, port) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        with httpx.Client() as client:
            codes = [_login_attempt(client, bases[attempt % 2], "twoproc", "wrong") for attempt in range(LIMIT)]
            assert codes[:-1] == [200] * (LIMIT - 1) and codes[-1] == 429
            assert _login_attempt(client, bases[0], "twoproc", "right-pass-123") == 429
            assert _login_attempt(client, bases[1], "twoproc", "right-pass-123") == 429
    finally:
        servers.stop_servers(*processes)
