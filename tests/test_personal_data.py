"""Erasing a meeting's personal data keeps its anonymised record (manage.py erase_personal_data)."""

import io
import logging
import shutil
import subprocess
import tarfile
import zipfile

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sessions_app import participants, polls, services
from sessions_app.backups import services as backups
from sessions_app.exports import FORMATS, record
from sessions_app.models import (
    Answer,
    ModerationAction,
    Participant,
    Practice,
    RecordAudit,
    SignInToken,
    Vote,
)
from sessions_app.personal_data.services import ACCOUNT_OWN_ROWS, ACCOUNT_REFERENCES

from .factories import (
    DelegationFactory,
    MeetingFactory,
    QuestionFactory,
    SessionFactory,
    make_chair,
    make_delegate,
    make_participant,
    make_secretariat,
)

# The meeting's people who take part in no other meeting: none of this may remain anywhere.
ERASED = ["Amélie", "Fontaine-Zeta", "amelie.fontaine@example.fr", "afontaine",
          "Olga", "Observerova", "olga@example.org", "oobserver",
          "Charles", "Chairington", "charles.c@example.org", "cchair"]  # fmt: skip


@pytest.fixture
def meeting_with_people():
    """Meeting A (erased) and B: France only in A, Germany in both; a delegate, an observer, a chair and
    the secretariat act in A; Germany's delegate answers in both."""
    session = SessionFactory(meeting=MeetingFactory(slug="meeting-a"))
    meeting = session.meeting
    other = MeetingFactory(slug="meeting-b")
    france, germany = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    meeting.delegations.add(france, germany)
    other.delegations.add(germany)
    amelie = make_delegate(france, username="afontaine", first_name="Amélie", last_name="Fontaine-Zeta", email="amelie.fontaine@example.fr")
    dieter = make_delegate(germany, username="dshared", first_name="Dieter", last_name="Zweimal", email="dieter@example.de")
    olga = make_participant(role="observer", username="oobserver", first_name="Olga", last_name="Observerova", email="olga@example.org", meetings=[meeting])
    chair = make_chair(username="cchair", first_name="Charles", last_name="Chairington", email="charles.c@example.org")
    sandra = make_secretariat(username="ssecretariat", first_name="Sandra", last_name="Secretaria")
    question = QuestionFactory(session=session, position=1)
    answer = services.submit_answer(user=amelie, question=question, kind="answer", text="France's view on centres of government.", key="a1")
    services.submit_answer(user=dieter, question=question, kind="answer", text="Germany's view.", key="a2")
    services.submit_answer(user=amelie, question=question, kind="answer", text="France's revised view.", key="a3")
    other_question = QuestionFactory(session=SessionFactory(meeting=other), position=1)
    services.submit_answer(user=dieter, question=other_question, kind="answer", text="Germany in meeting B.", key="b1")
    services.moderate_answer(user=chair, answer=answer, action="star")
    services.moderate_answer(user=sandra, answer=answer, action="publish")
    services.save_conclusions(user=chair, session=session, text="The chair concludes.")
    practice = services.save_practice(user=amelie, session=session, title="Delivery unit", description="How France does it.", key="p1")
    Practice.objects.filter(pk=practice.pk).update(contact="Amélie Fontaine-Zeta, amelie.fontaine@example.fr", contact_consent=True)
    poll = polls.create_poll(user=chair, session=session, prompt="Do you have a delivery unit?", kind="single", options=["Yes", "No"])
    polls.open_poll(user=chair, poll=poll)
    polls.cast_vote(user=amelie, poll=poll, key="v1", options=[str(poll.options.get(position=1).pk)])
    participants.issue_sign_in_links(participants=[amelie.participant, olga.participant])
    Client().post("/accounts/login/", {"username": "afontaine", "password": "wrong"}, REMOTE_ADDR="192.0.2.7")
    return meeting, {"amelie": amelie, "dieter": dieter, "olga": olga, "chair": chair, "sandra": sandra}


def _database_dump() -> str:
    """All the database holds, as SQL text: what a backup or a curious administrator would see."""
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    db = connection.settings_dict
    command = [shutil.which("pg_dump") or pytest.skip("pg_dump is not installed"), "--format=plain", f"--dbname={db['NAME']}"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command.append(f"{option}={db[key]}")
    dumped = subprocess.run(command, capture_output=True, text=True, check=True, env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}).stdout
    # pg_dump 15.14+ fences the script with a random \restrict key: not data.
    return "\n".join(line for line in dumped.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def _text_of(content: bytes) -> str:
    """An export as text: the XML parts of a .docx or .xlsx, the bytes of the others."""
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as document:
            return "\n".join(document.read(name).decode("utf-8", "replace") for name in document.namelist())
    return content.decode("utf-8")


def _every_export(meeting) -> dict[str, str]:
    texts = {}
    for language in ("en", "fr"):
        with translation.override(language):
            for name, export in FORMATS.items():
                content = export.build(meeting, session=None)
                texts[f"{name}/{language}"] = _text_of(content if isinstance(content, bytes) else b"".join(content))
    return texts


def _contributions(document: dict) -> list:
    """The record's answers (with every revision's text), practices and votes, without who wrote them."""
    return [
        (session["number"], question["position"], answer["delegation"], answer["kind"], answer["text"],
         [revision["text"] for revision in answer["revisions"]])
        for session in document["sessions"] for question in session["questions"] for answer in question["answers"]
    ] + [
        (session["number"], practice["delegation"], practice["title"], practice["description"])
        for session in document["sessions"] for practice in session["practices"]
    ] + [
        (session["number"], poll["prompt"], vote["delegation"], vote["options"])
        for session in document["sessions"] for poll in session["polls"] for vote in poll["votes"]
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_after_erasure_no_name_or_email_of_the_meetings_people_is_in_the_database_or_any_export(meeting_with_people):
    meeting, people = meeting_with_people
    before = record.export_record(meeting)
    dump = _database_dump()
    assert all(item in dump for item in ERASED)  # the test looks where the data was

    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())

    dump = _database_dump()
    assert [item for item in ERASED if item in dump] == []
    exports = _every_export(meeting)
    assert {name: [item for item in ERASED if item in text] for name, text in exports.items()} == {name: [] for name in exports}
    after = record.export_record(meeting)
    assert _contributions(after) == _contributions(before)
    assert {answer["delegation"]: answer["text"] for answer in after["sessions"][0]["questions"][0]["answers"]} == {
        "FR": "France's revised view.", "DE": "Germany's view.",
    }  # fmt: skip
    assert Answer.objects.get(delegation__country="FR").created_by is None
    assert Vote.objects.get().delegation.code == "FR" and Vote.objects.get().user is None


@pytest.mark.django_db(transaction=True)
def test_someone_who_takes_part_in_another_meeting_is_kept_for_it_and_unlinked_from_this_one(meeting_with_people):
    meeting, people = meeting_with_people
    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())

    dieter = User.objects.get(username="dshared")
    assert dieter.email == "dieter@example.de"
    assert not Answer.objects.filter(question__session__meeting=meeting, updated_by=dieter).exists()
    assert Answer.objects.get(question__session__meeting__slug="meeting-b").updated_by == dieter
    assert "dshared" not in record.dumps(record.export_record(meeting)).decode()


@pytest.mark.django_db(transaction=True)
def test_the_secretariat_is_kept_with_its_actions(meeting_with_people):
    meeting, people = meeting_with_people
    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())
    assert ModerationAction.objects.filter(actor=people["sandra"], action="publish").count() == 1
    assert not ModerationAction.objects.filter(action="star").exclude(actor=None).exists()  # the chair's


@pytest.mark.django_db(transaction=True)
def test_the_dry_run_shows_the_counts_and_changes_nothing(meeting_with_people):
    meeting, people = meeting_with_people
    dump = _database_dump()
    out = io.StringIO()

    call_command("erase_personal_data", "--meeting", meeting.slug, stdout=out)

    lines = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1]) for line in out.getvalue().splitlines()[1:]}
    assert lines == {
        "accounts removed": 3,  # Amélie, Olga, Charles
        "accounts kept for other meetings, unlinked from this one": 1,  # Dieter
        "names erased": 3,
        "e-mail addresses erased": 3,
        "sign-in links deleted": 2,
        "sign-in records deleted": 1,
        "links from the meeting's rows to a person removed": 12,
        "practice contact points cleared": 1,
        "answers kept": 2,
        "practices kept": 1,
        "votes kept": 1,
    }
    assert "add --yes to erase" in out.getvalue()
    assert _database_dump() == dump


@pytest.mark.django_db(transaction=True)
def test_the_erasure_is_in_the_meetings_audit_log_and_the_operator_log_without_personal_data(meeting_with_people, caplog):
    meeting, people = meeting_with_people
    with caplog.at_level(logging.INFO, logger="sessions_app.ops"):
        call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())
    entry = RecordAudit.objects.get(meeting=meeting, action="personal_data_erased")
    assert entry.actor is None and entry.detail["accounts removed"] == 3
    logged = [(record.getMessage(), record.fields) for record in caplog.records if record.name == "sessions_app.ops"]
    assert ("personal_data.erased", {"meeting_id": meeting.pk, "count": 3}) in logged
    assert [item for item in ERASED if item in str(entry.detail) + str(logged)] == []
    assert not SignInToken.objects.exists()
    assert set(Participant.objects.values_list("user__username", flat=True)) == {"dshared", "ssecretariat"}


@pytest.mark.django_db(transaction=True)
def test_a_whole_instance_backup_taken_after_erasure_holds_none_of_it(meeting_with_people, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the raw file of the embedded database (PostgreSQL's dump is checked as SQL above)")
    meeting, people = meeting_with_people
    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())
    connection.close()  # the WAL checkpointed into the file

    summary = backups.backup_instance(target=tmp_path / "after.tar.gz")

    with tarfile.open(summary.path) as archive:
        raw = archive.extractfile("database.sqlite3").read()
    assert [item for item in ERASED if item.encode() in raw] == []


@pytest.mark.django_db
def test_an_unknown_meeting_is_refused():
    with pytest.raises(CommandError, match="No meeting with the slug “nope”"):
        call_command("erase_personal_data", "--meeting", "nope", stdout=io.StringIO())


def test_every_reference_to_an_account_is_erased_or_goes_with_the_account():
    listed = {(model.__name__, column) for model, column, _ in ACCOUNT_REFERENCES} | ACCOUNT_OWN_ROWS
    found = {
        (model.__name__, field.name)
        for model in apps.get_app_config("sessions_app").get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model is not None
        and field.related_model._meta.label == settings.AUTH_USER_MODEL
    }  # fmt: skip
    assert found - listed == set()


@pytest.mark.django_db(transaction=True)
def test_the_meetings_pages_still_open_after_erasure_and_name_no_one_erased(meeting_with_people):
    meeting, people = meeting_with_people
    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())
    client = Client()
    client.force_login(people["sandra"])
    number = meeting.sessions.get().number
    pages = [
        reverse("console", args=[meeting.slug, number]),
        reverse("session", args=[meeting.slug, number]),
        reverse("records", args=[meeting.slug]),
        reverse("records_summary", args=[meeting.slug]),
        reverse("records_compendium", args=[meeting.slug]),
        reverse("screen", args=[meeting.slug]),
    ]
    for url in pages:
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert [item for item in ERASED if item in reply.content.decode()] == [], url
    assert "France&#x27;s revised view." in client.get(pages[0]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_chair_added_to_a_coming_meeting_is_kept(meeting_with_people):
    meeting, people = meeting_with_people
    coming = MeetingFactory(slug="meeting-c")
    people["chair"].participant.meetings.add(coming)

    call_command("erase_personal_data", "--meeting", meeting.slug, "--yes", stdout=io.StringIO())

    chair = User.objects.get(username="cchair")
    assert list(chair.participant.meetings.values_list("slug", flat=True)) == ["meeting-c"]
    assert not ModerationAction.objects.filter(actor=chair).exists()
