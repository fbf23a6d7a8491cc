"""The records from the command line: export_meeting and import_record."""

import csv
import io
import json

import docx
import openpyxl
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from sessions_app.exports import record
from sessions_app.models import Delegation, ExportLog, Meeting

from .test_exports_common import build_meeting
from .test_exports_record import row_counts


@pytest.fixture
def built(db):
    return build_meeting()


def export(slug: str, fmt: str, path, *extra: str) -> str:
    out = io.StringIO()
    call_command("export_meeting", slug, "--format", fmt, "-o", str(path), *extra, stdout=out)
    return out.getvalue()


def test_export_meeting_writes_each_format_and_logs_it_without_a_user(built, tmp_path):
    formats = ("summary-docx", "compendium-docx", "answers-csv", "answers-xlsx", "practices-csv", "practices-xlsx", "json")
    paths = {fmt: tmp_path / f"{fmt}.{fmt.split('-')[-1]}" for fmt in formats}

    for fmt, path in paths.items():
        assert export("records-meeting", fmt, path) == f"Wrote {path} ({path.stat().st_size:,} bytes).\n"

    assert docx.Document(str(paths["summary-docx"])).paragraphs[1].text == "Summary record"
    assert docx.Document(str(paths["compendium-docx"])).paragraphs[1].text == "Compendium of country practices"
    assert len(list(csv.reader(io.StringIO(paths["answers-csv"].read_text("utf-8-sig"), newline="")))) == 8
    assert openpyxl.load_workbook(paths["practices-xlsx"]).worksheets[0].max_row == 5
    assert json.loads(paths["json"].read_bytes())["meeting"]["slug"] == "records-meeting"
    assert list(ExportLog.objects.order_by("id").values_list("kind", "format", "user")) == [
        ("summary", "docx", None), ("compendium", "docx", None), ("answers", "csv", None), ("answers", "xlsx", None),
        ("practices", "csv", None), ("practices", "xlsx", None), ("record", "json", None),
    ]  # fmt: skip


def test_export_meeting_of_one_session_in_french(built, tmp_path):
    path = tmp_path / "s2.docx"

    export("records-meeting", "summary-docx", path, "--session", "2", "--language", "fr")

    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    # Dates and country names come in French from Django's and django-countries' catalogues.
    assert paragraphs[2] == "Paris · 22 novembre 2023 – 23 novembre 2023"
    assert paragraphs[4] == "Allemagne, France, Japon"
    assert "Allemagne: Foresight units in every ministry." in paragraphs
    assert [p for p in paragraphs if "Democratic resilience" in p] == []


def test_export_meeting_default_file_name(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    call_command("export_meeting", "records-meeting", "--format", "answers-xlsx", "--session", "1", stdout=io.StringIO())

    assert (tmp_path / "records-meeting-session-1-answers.xlsx").exists()


def test_export_meeting_to_standard_output(built, capsysbinary):
    call_command("export_meeting", "records-meeting", "--format", "answers-csv", "-o", "-")

    assert capsysbinary.readouterr().out.startswith(b"\xef\xbb\xbfAnswer id,Meeting,")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no-such-meeting", "--format", "json"], "No meeting with the slug “no-such-meeting”."),
        (["records-meeting", "--format", "json", "--session", "1"], "--session does not apply to the json format"),
        (["records-meeting", "--format", "answers-csv", "--session", "9"], "The meeting “records-meeting” has no session 9."),
    ],
)
def test_export_meeting_refuses_bad_arguments_and_logs_nothing(built, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_meeting", *arguments, stdout=io.StringIO())

    assert ExportLog.objects.count() == 0


def test_import_record_restores_an_exported_meeting(built, tmp_path):
    path = tmp_path / "record.json"
    export("records-meeting", "json", path)
    first = path.read_bytes()
    Meeting.objects.all().delete()
    User.objects.all().delete()
    Delegation.objects.all().delete()
    out = io.StringIO()

    call_command("import_record", str(path), stdout=out)

    assert out.getvalue() == "Restored “Annual Meeting of Centres of Government” (records-meeting): 2 sessions.\n"
    assert record.build(Meeting.objects.get(slug="records-meeting")) == first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format": "facilitation.meeting-record", "version": 1', "The file is not valid JSON"),
        (b'{"format": "facilitation.meeting-record", "version": 7}', "Record version 7 cannot be read"),
        (b'{"format": "minutes", "version": 1}', "The file is not a meeting record"),
    ],
)
def test_import_record_refuses_what_it_cannot_read(built, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    before = row_counts()

    with pytest.raises(CommandError, match=message):
        call_command("import_record", str(path))

    assert row_counts() == before


def test_import_record_refuses_a_meeting_that_exists(built, tmp_path):
    path = tmp_path / "record.json"
    export("records-meeting", "json", path)
    before = row_counts()

    with pytest.raises(CommandError, match="A meeting with the slug “records-meeting” already exists; nothing was imported."):
        call_command("import_record", str(path))

    assert row_counts() == before


def test_import_record_of_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_record", str(tmp_path / "nothing.json"))
