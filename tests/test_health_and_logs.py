"""The health endpoint and the operators' log lines (no secrets, no personal data)."""

import json
import logging
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app import services
from sessions_app.exports.audit import log_export
from sessions_app.oplog import JsonFormatter
from tests import servers
from tests.factories import AnswerFactory, DelegationFactory, make_chair

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_the_database_and_the_channel_layer_answer(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]


def test_healthz_is_503_when_the_channel_layer_is_unreachable(client, settings):
    port = servers.free_port()  # nothing listens there
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/3"]}}}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "channel_layer": "unreachable"}


@pytest.mark.embedded_pass
def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    port = servers.free_port()
    # The pool's wait for a connection (30 s by default) bounded, as a probe's timeout would be.
    env = servers.project_env(DATA_DIR=str(tmp_path), DATABASE_URL=f"postgres://nobody@127.0.0.1:{port}/none", DB_POOL_TIMEOUT="2")
    script = "from django.test import Client; r = Client(HTTP_HOST='127.0.0.1').get('/healthz/'); print(r.status_code, r.content.decode())"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=servers.ROOT, env=env, capture_output=True, text=True)
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable", "channel_layer": "ok"}


def test_healthz_takes_only_get(client):
    assert client.post(reverse("healthz")).status_code == 405


def _ops(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "sessions_app.ops"]


def test_a_wrong_password_is_logged_without_the_account_or_the_password(caplog):
    with caplog.at_level(logging.INFO, logger="sessions_app.ops"):
        Client().post("/accounts/login/", {"username": "someone-private", "password": "secret-guess-42"}, REMOTE_ADDR="192.0.2.9")
    lines = [JsonFormatter().format(record) for record in _ops(caplog)]
    assert [json.loads(line)["event"] for line in lines] == ["sign_in.failed"]
    assert not any(word in line for line in lines for word in ("someone-private", "secret-guess-42", "192.0.2.9"))


def test_moderation_and_exports_are_logged_with_ids_only(caplog):
    delegation = DelegationFactory()
    answer = AnswerFactory(delegation=delegation, text="Our private answer text.")
    chair = make_chair(first_name="Chairname", email="chair@example.org")
    with caplog.at_level(logging.INFO, logger="sessions_app.ops"):
        services.moderate_answer(user=chair, answer=answer, action="hide", reason="Off-topic and personal")
        log_export(meeting=answer.question.session.meeting, user=chair, kind="record", fmt="json")
    lines = [json.loads(JsonFormatter().format(record)) for record in _ops(caplog)]
    meeting_id = answer.question.session.meeting_id
    assert [(line["event"], line["meeting_id"], line["user_id"]) for line in lines] == [
        ("moderation.answer", meeting_id, chair.pk), ("export", meeting_id, chair.pk),
    ]
    assert lines[0]["action"] == "hide" and lines[1]["format"] == "json"
    text = json.dumps(lines)
    for private in ("Our private answer text.", "Off-topic and personal", "Chairname", "chair@example.org"):
        assert private not in text


def test_an_import_is_logged(caplog, seed_notes_bytes):
    from sessions_app import importer

    with caplog.at_level(logging.INFO, logger="sessions_app.ops"):
        meeting = services.import_meeting_notes(importer.parse_notes_bytes(seed_notes_bytes))
    lines = [json.loads(JsonFormatter().format(record)) for record in _ops(caplog)]
    assert [(line["event"], line["meeting_id"]) for line in lines] == [("import.notes", meeting.pk)]


def test_log_fields_outside_the_allowed_ids_are_dropped(caplog):
    from sessions_app.oplog import log_event

    with caplog.at_level(logging.INFO, logger="sessions_app.ops"):
        log_event("export", meeting_id=1, email="someone@example.org", name="Someone")
    line = JsonFormatter().format(_ops(caplog)[0])
    assert json.loads(line)["meeting_id"] == 1 and "someone@example.org" not in line and "Someone" not in line
