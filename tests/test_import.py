"""Importing session notes into the database: the seed, re-imports, failures, the upload page and command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from sessions_app import importer, services
from sessions_app.models import Answer, Block, Meeting, Question, Reference, Session

from .factories import DelegationFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db


def table_counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Meeting, Session, Block, Question, Reference, Answer)}


def test_import_seed_creates_the_meeting_with_all_its_parts(seed_meeting):
    assert seed_meeting.title == "42nd Annual Meeting of the Network of Senior Officials from Centres of Government"
    assert seed_meeting.place == "OECD, Paris, France"
    assert str(seed_meeting.start_date) == "2023-11-22"
    assert list(seed_meeting.sessions.values_list("number", flat=True)) == [1, 2, 3]
    blocks = Block.objects.filter(session__meeting=seed_meeting)
    numbered = list(blocks.filter(kind="paragraph", number__isnull=False).order_by("session__number", "position").values_list("number", flat=True))
    assert numbered == list(range(1, 26))
    assert blocks.filter(kind="box").count() == 4
    assert blocks.filter(kind="figure").count() == 5
    assert blocks.filter(kind="footnote").count() == 1
    assert [s.questions.count() for s in seed_meeting.sessions.all()] == [3, 4, 3]
    assert seed_meeting.references.count() == 16
    assert seed_meeting.delegations.count() == 3


def test_import_seed_keeps_paragraph_four_whole_and_links_citations(seed_meeting):
    para4 = Block.objects.get(session__meeting=seed_meeting, kind="paragraph", number=4)
    assert "Only four in ten respondents (41.4%)" in para4.text
    assert 'id="para-4"' in para4.html
    para7 = Block.objects.get(session__meeting=seed_meeting, kind="paragraph", number=7)
    assert 'href="#fn-1"' in para7.html
    assert 'href="#ref-5"' in para7.html


def test_import_same_notes_twice_updates_in_place(seed_meeting, seed_notes_bytes):
    before = table_counts()
    services.import_meeting_notes(importer.parse_notes_bytes(seed_notes_bytes), source_name="again")
    assert table_counts() == before


def test_reimport_keeps_answers_attached(seed_meeting, seed_notes_bytes):
    question = Question.objects.filter(session__meeting=seed_meeting).first()
    delegation = seed_meeting.delegations.first()
    Answer.objects.create(question=question, delegation=delegation, text="Kept")
    services.import_meeting_notes(importer.parse_notes_bytes(seed_notes_bytes))
    assert Answer.objects.get().question_id == question.pk


def test_reimport_dropping_a_session_with_answers_is_refused_and_changes_nothing(seed_meeting, seed_notes_bytes):
    question = Question.objects.get(session__meeting=seed_meeting, session__number=3, position=1)
    Answer.objects.create(question=question, delegation=seed_meeting.delegations.first(), text="Ours")
    shorter = seed_notes_bytes.split(b"Session 3:")[0] + b"\nReferences\n\n" + seed_notes_bytes.split(b"References")[1]
    before = table_counts()
    with pytest.raises(importer.NotesError, match="Session 3"):
        services.import_meeting_notes(importer.parse_notes_bytes(shorter))
    assert table_counts() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"abc\x00def", "not a text file"),
        (b"Title\nSession 1: A\n\xff\xfe", "UTF-8"),
        (b"Title\nPlace\nNo sessions here.\n", "session"),
    ],
)
def test_import_command_bad_file_changes_nothing(tmp_path, data, message):
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=message):
        call_command("import_notes", str(path))
    assert table_counts() == {name: 0 for name in table_counts()}


def test_import_command_reports_counts(tmp_path, seed_notes_bytes):
    out = io.StringIO()
    path = tmp_path / "notes.txt"
    path.write_bytes(seed_notes_bytes)
    call_command("import_notes", str(path), stdout=out)
    assert "3 sessions" in out.getvalue()
    assert "16 references" in out.getvalue()


def upload(client, name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("import_notes"), {"notes": SimpleUploadedFile(name, data, content_type="text/plain")})


def test_upload_page_imports_notes_for_the_secretariat(client, seed_notes_bytes):
    DelegationFactory(country="FR")
    client.force_login(make_secretariat())
    response = upload(client, "notes.txt", seed_notes_bytes)
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("meeting", args=[meeting.slug])
    assert meeting.sessions.count() == 3


def test_upload_page_shows_the_error_line_and_changes_nothing(client):
    client.force_login(make_secretariat())
    response = upload(client, "notes.txt", b"Meeting\nParis\nSession 1: One\n\n1. First.\n\n1. Again first.\n")
    assert response.status_code == 400
    assert "Line 7" in response.content.decode()
    assert Meeting.objects.count() == 0


def test_upload_over_the_size_limit_is_refused(client, settings):
    settings.FACILITATION = {**settings.FACILITATION, "NOTES_MAX_BYTES": 100}
    client.force_login(make_secretariat())
    response = upload(client, "big.txt", b"Session 1: A\n" + b"x" * 200)
    assert response.status_code == 400
    assert "limit" in response.content.decode()
    assert Meeting.objects.count() == 0


def test_upload_page_is_refused_to_delegates(client):
    client.force_login(make_delegate(DelegationFactory(country="FR")))
    assert client.get(reverse("import_notes")).status_code == 403
