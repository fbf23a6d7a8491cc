"""Backups and restore (manage.py backup / restore), on the database the suite runs on: SQLite, or
PostgreSQL in the PostgreSQL + Redis pass."""

import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import threading
import time
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions_app import services
from sessions_app.exports import record
from sessions_app.backups import database
from sessions_app.backups import services as backups
from sessions_app.backups.archive import BackupError, write_archive
from sessions_app.models import Answer, AnswerRevision, FigureImage, Meeting

from .factories import AnswerFactory, DelegationFactory, MeetingFactory, QuestionFactory, SessionFactory, make_delegate
from .word_docs import tiny_png

CODES = ["FR", "DE", "JP", "CA", "CL", "NO"]


@pytest.fixture
def dump_tools():
    """pg_dump and pg_restore on PostgreSQL: a skip with the reason where they are absent, a failure under REQUIRE_SERVICES=1."""
    if connection.vendor == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1: pg_dump and pg_restore must be installed (Debian: postgresql-client).")
        pytest.skip("pg_dump / pg_restore are not installed (Debian: postgresql-client)")


def _room(questions=3):
    session = SessionFactory()
    meeting = session.meeting
    asked = [QuestionFactory(session=session, position=position) for position in range(1, questions + 1)]
    delegates = {}
    for code in CODES:
        delegation = DelegationFactory(country=code)
        meeting.delegations.add(delegation)
        delegates[code] = make_delegate(delegation, email=f"{code.lower()}@example.org")
    return meeting, asked, delegates


def _revisions() -> set[tuple[int, str, str]]:
    return set(AnswerRevision.objects.values_list("answer__question_id", "answer__delegation__country", "text"))


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_answers_arrive_restores_every_answer_acknowledged_before_it(tmp_path, dump_tools):
    meeting, questions, delegates = _room()
    acknowledged: list[tuple[float, int, str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def delegation_posts(code):
        """One delegation's delegate answering through the real answer view, as fast as the server acknowledges."""
        client = Client()
        client.force_login(delegates[code])
        try:
            for n in range(400):  # bounded: the test stops it long before
                if stop.is_set():
                    break
                question = questions[n % len(questions)]
                text = f"{code} answer {n}"
                reply = client.post(
                    reverse("submit_answer", args=[meeting.slug, question.pk]),
                    {"kind": "answer", "text": text, "key": uuid.uuid4().hex},
                    headers={"HX-Request": "true"},
                )
                if reply.status_code == 200 and "Your answer was saved." in reply.content.decode():
                    with lock:
                        acknowledged.append((time.monotonic(), question.pk, code, text))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def wait_for(count, bound_s=60.0):
        deadline = time.monotonic() + bound_s
        while len(acknowledged) < count and time.monotonic() < deadline and not errors:
            time.sleep(0.01)

    threads = [threading.Thread(target=delegation_posts, args=(code,)) for code in CODES]
    for thread in threads:
        thread.start()
    try:
        wait_for(30)
        with lock:
            began = time.monotonic()
            before = {(question, code, text) for _, question, code, text in acknowledged}
        summary = backups.backup_instance(target=tmp_path / "live.tar.gz")
        ended = time.monotonic()
        wait_for(len(acknowledged) + 12)  # more answers after the backup: the restore must take them away
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert all(not thread.is_alive() for thread in threads)
    after_backup = {(question, code, text) for at, question, code, text in acknowledged if at > ended}
    assert len(before) >= 30 and after_backup, "answers were arriving before and after the backup"
    assert any(began < at for at, *_ in acknowledged), "answers kept arriving while the backup ran"
    attempted_live = _revisions()

    backups.restore_backup(summary.path, force=True)

    restored = _revisions()
    assert before <= restored  # every answer acknowledged before the backup began
    assert restored <= attempted_live
    assert not after_backup & restored  # the restore is the backup's, not the live database
    for answer in Answer.objects.all():  # each answer is whole: its text is its latest revision's
        assert answer.text == answer.revisions.order_by("created_at", "id").last().text


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(tmp_path, dump_tools):
    meeting, _, _ = _room(questions=1)
    call_command("backup", "-o", str(tmp_path / "b.tar.gz"), stdout=io.StringIO())
    later = MeetingFactory(slug="made-after-the-backup")

    with pytest.raises(CommandError, match="not empty.*--force"):
        call_command("restore", str(tmp_path / "b.tar.gz"), stdout=io.StringIO())

    assert set(Meeting.objects.values_list("slug", flat=True)) == {meeting.slug, later.slug}
    call_command("restore", str(tmp_path / "b.tar.gz"), "--force", stdout=io.StringIO())
    assert list(Meeting.objects.values_list("slug", flat=True)) == [meeting.slug]


@pytest.mark.django_db(transaction=True)
def test_a_restore_replaces_the_whole_schema_so_migrate_can_follow(tmp_path, dump_tools):
    """A table the backup does not have (as a later version's migration makes) is gone after the
    restore: the database then matches the migrations the backup records, and `migrate` can run."""
    _room(questions=1)
    summary = backups.backup_instance(target=tmp_path / "b.tar.gz")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sessions_app_from_a_later_version (id integer PRIMARY KEY)")

    backups.restore_backup(summary.path, force=True)

    assert "sessions_app_from_a_later_version" not in connection.introspection.table_names()
    call_command("migrate", "--check", verbosity=0)  # every migration the code has is recorded as applied


@pytest.mark.django_db(transaction=True)
def test_an_emptied_database_takes_the_backup_without_force(tmp_path, dump_tools):
    meeting, questions, delegates = _room(questions=1)
    services.submit_answer(user=delegates["FR"], question=questions[0], kind="answer", text="Kept safe", key="k1")
    out = io.StringIO()
    call_command("backup", "-o", str(tmp_path / "b.tar.gz"), stdout=out)
    assert "the whole instance" in out.getvalue()
    assert stat.S_IMODE((tmp_path / "b.tar.gz").stat().st_mode) == 0o600  # it holds personal data
    Meeting.objects.all().delete()
    User.objects.all().delete()

    call_command("restore", str(tmp_path / "b.tar.gz"), stdout=io.StringIO())

    assert list(Answer.objects.values_list("delegation__country", "text")) == [("FR", "Kept safe")]
    assert User.objects.get(email="fr@example.org").participant.delegation.code == "FR"


@pytest.mark.django_db(transaction=True)
def test_a_broken_backup_is_refused_and_the_database_is_unchanged(tmp_path, dump_tools):
    meeting, _, _ = _room(questions=1)
    good = tmp_path / "good.tar.gz"
    call_command("backup", "-o", str(good), stdout=io.StringIO())
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    later = MeetingFactory(slug="still-here")

    for broken, message in [(truncated, "not a readable backup"), (tmp_path / "absent.tar.gz", "is not a file")]:
        with pytest.raises(CommandError, match=message):
            call_command("restore", str(broken), "--force", stdout=io.StringIO())
    assert set(Meeting.objects.values_list("slug", flat=True)) == {meeting.slug, later.slug}


def _repack(source, target, *, change):
    """The same backup with one member's bytes changed by `change(name, data)` (the manifest kept as it was)."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


@pytest.mark.django_db(transaction=True)
def test_an_altered_backup_fails_its_checksum_before_anything_changes(tmp_path, dump_tools):
    meeting, _, _ = _room(questions=1)
    good = tmp_path / "good.tar.gz"
    backups.backup_instance(target=good)
    altered = tmp_path / "altered.tar.gz"
    _repack(good, altered, change=lambda name, data: data if name == "manifest.json" else data[:-1] + bytes([data[-1] ^ 1]))
    later = MeetingFactory(slug="still-here")

    with pytest.raises(BackupError, match="does not match its checksum"):
        backups.restore_backup(altered, force=True)
    assert set(Meeting.objects.values_list("slug", flat=True)) == {meeting.slug, later.slug}


@pytest.mark.django_db
def test_a_foreign_file_is_refused(tmp_path):
    not_ours = tmp_path / "other.tar.gz"
    with tarfile.open(not_ours, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    plain = tmp_path / "record.json"
    plain.write_text("{}")
    with pytest.raises(CommandError, match="not a facilitation backup"):
        call_command("restore", str(not_ours), stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a readable backup"):
        call_command("restore", str(plain), stdout=io.StringIO())


@pytest.mark.django_db
def test_a_backup_of_the_other_kind_of_database_or_a_newer_schema_is_refused(tmp_path):
    other_engine = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    foreign = tmp_path / "foreign.tar.gz"
    manifest = {"format": "facilitation.backup", "version": 1, "scope": "instance", "engine": other_engine, "migrations": []}
    with write_archive(foreign, manifest) as archive:
        archive.add_bytes("database.sqlite3", b"x")
    newer = tmp_path / "newer.tar.gz"
    manifest = {**manifest, "engine": connection.vendor, "migrations": ["sessions_app.9999_from_the_future"]}
    with write_archive(newer, manifest) as archive:
        archive.add_bytes("database.sqlite3", b"x")

    with pytest.raises(BackupError, match=f"backup is of a {other_engine} database"):
        backups.restore_backup(foreign, force=True)
    with pytest.raises(BackupError, match="newer or different version.*9999_from_the_future"):
        backups.restore_backup(newer, force=True)


@pytest.mark.django_db
def test_a_member_whose_name_leaves_the_folder_is_refused(tmp_path):
    hostile = tmp_path / "hostile.tar.gz"
    payload = b"overwritten"
    manifest = {
        "format": "facilitation.backup", "version": 1, "scope": "instance", "engine": connection.vendor,
        "files": {"../escaped.txt": {"size": len(payload), "sha256": "0"}},
    }  # fmt: skip
    with tarfile.open(hostile, "w:gz") as tar:
        for name, data in [("../escaped.txt", payload), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    with pytest.raises(BackupError, match="unsafe name"):
        backups.restore_backup(hostile, force=True)
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.django_db
def test_an_existing_target_is_refused_and_left_as_it_was(tmp_path):
    target = tmp_path / "b.tar.gz"
    target.write_bytes(b"an older backup")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "-o", str(target), stdout=io.StringIO())
    assert target.read_bytes() == b"an older backup"


def test_a_backup_that_fails_midway_leaves_no_file(tmp_path):
    target = tmp_path / "b.tar.gz"
    with pytest.raises(RuntimeError), write_archive(target, {"format": "facilitation.backup"}) as archive:
        archive.add_bytes("database.sqlite3", b"half")
        raise RuntimeError("the disk filled up")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_an_unknown_meeting_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No meeting with the slug “nope”"):
        call_command("backup", "--meeting", "nope", "-o", str(tmp_path / "b.tar.gz"), stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_a_missing_pg_dump_is_named_with_its_package(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BackupError, match="pg_dump is not installed.*postgresql-client"):
        database.require_tool("pg_dump")


@pytest.mark.django_db(transaction=True)
def test_the_postgresql_backup_says_pg_dump_is_missing_and_writes_nothing(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (the PostgreSQL + Redis pass of make test)")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(CommandError, match="pg_dump is not installed"):
        call_command("backup", "-o", str(tmp_path / "b.tar.gz"), stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_uploaded_files_under_media_root_come_back_with_the_database(tmp_path, settings, dump_tools):
    media = tmp_path / "media"
    (media / "meetings").mkdir(parents=True)
    (media / "meetings" / "annex.pdf").write_bytes(b"%PDF-1.4 annex")
    settings.MEDIA_ROOT = str(media)
    _room(questions=1)
    summary = backups.backup_instance(target=tmp_path / "b.tar.gz")
    shutil.rmtree(media)

    restored = backups.restore_backup(summary.path, force=True)

    assert restored.media_files == 1
    assert (media / "meetings" / "annex.pdf").read_bytes() == b"%PDF-1.4 annex"


@pytest.mark.django_db(transaction=True)
def test_a_meetings_backup_restores_its_record_and_images_beside_other_meetings(tmp_path):
    meeting, questions, delegates = _room(questions=2)
    services.submit_answer(user=delegates["JP"], question=questions[1], kind="answer", text="Our answer", key="k1")
    FigureImage.objects.create(meeting=meeting, position=1, figure=2, name="chart.png", content_type="image/png", data=tiny_png())
    other = AnswerFactory(question=QuestionFactory(), delegation=DelegationFactory(country="IT"))
    out = io.StringIO()
    call_command("backup", "--meeting", meeting.slug, "-o", str(tmp_path / "m.tar.gz"), stdout=out)
    assert f"the meeting “{meeting.slug}”" in out.getvalue()

    with pytest.raises(CommandError, match="exists here; add --force"):
        call_command("restore", str(tmp_path / "m.tar.gz"), stdout=io.StringIO())
    Meeting.objects.filter(pk=meeting.pk).delete()
    call_command("restore", str(tmp_path / "m.tar.gz"), stdout=io.StringIO())

    restored = Meeting.objects.get(slug=meeting.slug)
    assert list(Answer.objects.filter(question__session__meeting=restored).values_list("delegation__country", "text")) == [("JP", "Our answer")]
    image = FigureImage.objects.get(meeting=restored)
    assert (image.position, image.figure, image.name, bytes(image.data)) == (1, 2, "chart.png", tiny_png())
    assert Answer.objects.filter(pk=other.pk).exists()  # the other meeting was not touched

    Answer.objects.filter(question__session__meeting=restored).update(text="Changed since")
    call_command("restore", str(tmp_path / "m.tar.gz"), "--force", stdout=io.StringIO())
    assert list(Answer.objects.filter(question__session__meeting__slug=meeting.slug).values_list("text", flat=True)) == ["Our answer"]
    assert FigureImage.objects.filter(meeting__slug=meeting.slug).count() == 1


@pytest.mark.django_db
def test_restore_check_describes_the_backup_and_changes_nothing(tmp_path):
    meeting, _, _ = _room(questions=1)
    backups.backup_meeting(meeting, target=tmp_path / "m.tar.gz")
    out = io.StringIO()
    call_command("restore", str(tmp_path / "m.tar.gz"), "--check", stdout=out)
    assert f"whole, readable backup of the meeting “{meeting.slug}”" in out.getvalue()
    assert Meeting.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_broken_meeting_backup_with_force_leaves_the_existing_meeting_as_it_was(tmp_path):
    meeting, questions, delegates = _room(questions=1)
    services.submit_answer(user=delegates["FR"], question=questions[0], kind="answer", text="Still here", key="k1")
    document = record.export_record(meeting)
    del document["moderation"]
    broken = tmp_path / "broken.tar.gz"
    manifest = {"format": "facilitation.backup", "version": 1, "scope": "meeting", "meeting": meeting.slug}
    with write_archive(broken, manifest) as archive:
        archive.add_bytes("record.json", record.dumps(document))
    foreign = tmp_path / "foreign.tar.gz"
    with write_archive(foreign, manifest) as archive:
        archive.add_bytes("record.json", b'{"format": "something.else"}')

    with pytest.raises(CommandError, match="malformed.*moderation"):
        call_command("restore", str(broken), "--force", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a meeting record"):
        call_command("restore", str(foreign), "--force", stdout=io.StringIO())

    assert list(Answer.objects.filter(question__session__meeting=meeting).values_list("text", flat=True)) == ["Still here"]
    assert Meeting.objects.get(slug=meeting.slug).pk == meeting.pk


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_restore_that_fails_midway_changes_nothing(tmp_path, dump_tools):
    """A dump whose last step fails (a foreign key its rows break, checked when the key is added after
    the data): the schema was already emptied and the tables loaded in the restore's transaction, and
    all of it is rolled back."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (the PostgreSQL + Redis pass of make test)")
    import psycopg

    meeting, _, _ = _room(questions=1)
    db = connection.settings_dict
    params = {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"] or None, "password": db["PASSWORD"] or None}
    scratch = f"wt_backup_scratch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        with psycopg.connect(dbname=scratch, autocommit=True, **params) as other:
            other.execute("CREATE TABLE parent (id integer PRIMARY KEY)")
            other.execute("CREATE TABLE child (parent_id integer REFERENCES parent)")
            other.execute("ALTER TABLE child DISABLE TRIGGER ALL")  # lets an orphan in, as a damaged database might hold
            other.execute("INSERT INTO child VALUES (42)")
        dump = tmp_path / "database.pgdump"
        command = [shutil.which("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={scratch}"]
        command += [f"{flag}={value}" for flag, value in (("--host", db["HOST"]), ("--port", db["PORT"]), ("--username", db["USER"])) if value]
        subprocess.run(command, check=True, env={**os.environ, "PGPASSWORD": db["PASSWORD"] or ""})
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
    failing = tmp_path / "failing.tar.gz"
    manifest = {"format": "facilitation.backup", "version": 1, "scope": "instance", "engine": "postgresql", "migrations": []}
    with write_archive(failing, manifest) as archive:
        archive.add_file("database.pgdump", dump)

    with pytest.raises(BackupError, match="PostgreSQL restore failed, nothing was changed: .*violates foreign key constraint"):
        backups.restore_backup(failing, force=True)

    assert list(Meeting.objects.values_list("slug", flat=True)) == [meeting.slug]
    assert "parent" not in connection.introspection.table_names()
