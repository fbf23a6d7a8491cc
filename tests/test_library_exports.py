"""The library's current filter as a compendium (.docx), CSV and XLSX: the page's practices, its rules."""

import csv
import io

import docx
import pytest
from django.urls import reverse
from openpyxl import load_workbook

from sessions_app.models import LibraryAccess, LibraryTheme

from .factories import DelegationFactory, MeetingFactory, PracticeFactory, SessionFactory, make_delegate, make_secretariat, published_practice

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    return make_delegate(DelegationFactory(country="NO"), username="member")


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_library_csv_export_holds_the_current_filter(client, member):
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    trust = LibraryTheme.objects.get(slug="trust")
    wanted = published_practice(delegation=fr, title="Citizens' panel on trust", year_started=2021, library_themes=[trust])
    published_practice(delegation=de, title="Citizens' panel in Germany", year_started=2021, library_themes=[trust])
    published_practice(delegation=fr, title="Unrelated budget portal", year_started=2021)
    client.force_login(member)
    rows = csv_rows(client.get(reverse("library_export", args=["csv"]), {"q": "citizens", "country": "FR", "theme": "trust"}))
    assert [row[1] for row in rows[1:]] == [wanted.title]
    assert rows[1][2:4] == ["FR", "France"]


def test_library_csv_and_xlsx_neutralise_formulas(client, member):
    published_practice(title="=HYPERLINK(\"http://evil\",\"x\")", description="+cmd|' /C calc'!A0")
    client.force_login(member)
    row = csv_rows(client.get(reverse("library_export", args=["csv"])))[1]
    assert row[1] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row[11] == "'+cmd|' /C calc'!A0"
    sheet = load_workbook(io.BytesIO(client.get(reverse("library_export", args=["xlsx"])).content)).active
    cells = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert cells[1] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert sheet.max_row == 2


@pytest.mark.parametrize(
    ("setting", "viewer", "expected"),
    [
        (LibraryAccess.MEMBERS, "anonymous", False),
        (LibraryAccess.PUBLIC, "anonymous", True),
        (LibraryAccess.MEMBERS, "member_elsewhere", True),
        (LibraryAccess.NONE, "secretariat", False),
        (LibraryAccess.MEMBERS, "secretariat", True),
    ],
)
def test_library_exports_follow_the_visibility_rules(client, setting, viewer, expected):
    meeting = MeetingFactory(library=setting)
    practice = published_practice(session=SessionFactory(meeting=meeting), title="Visible or not")
    PracticeFactory(session=SessionFactory(meeting=MeetingFactory(library=LibraryAccess.PUBLIC)), title="Pending one")
    users = {"anonymous": None, "member_elsewhere": make_delegate(DelegationFactory(country="JP")), "secretariat": make_secretariat()}
    if users[viewer]:
        client.force_login(users[viewer])
    titles = [row[1] for row in csv_rows(client.get(reverse("library_export", args=["csv"])))[1:]]
    assert titles == ([practice.title] if expected else [])
    sheet = load_workbook(io.BytesIO(client.get(reverse("library_export", args=["xlsx"])).content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == titles
    document = docx.Document(io.BytesIO(client.get(reverse("library_export", args=["docx"])).content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert (practice.title in text) is expected
    assert "Pending one" not in text


def test_library_compendium_docx_shows_fields_and_contact_only_with_consent(client, member):
    published_practice(title="<b>Open</b> data portal", problem="Little reuse of data.", contact="open@example.org", contact_consent=True)
    published_practice(title="Quiet practice", contact="secret@example.org", contact_consent=False)
    client.force_login(member)
    response = client.get(reverse("library_export", args=["docx"]))
    assert response["Content-Disposition"] == 'attachment; filename="practice-library.docx"'
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "<b>Open</b> data portal" in text  # as text in Word, never markup
    assert "Problem it addresses: Little reuse of data." in text
    assert "open@example.org" in text
    assert "secret@example.org" not in text
    assert "Quiet practice" in text
    csv_text = client.get(reverse("library_export", args=["csv"])).content.decode("utf-8-sig")
    assert "open@example.org" in csv_text and "secret@example.org" not in csv_text


def test_library_page_links_exports_with_the_filter(client, member):
    published_practice(delegation=DelegationFactory(country="FR"), title="Trust survey")
    client.force_login(member)
    body = client.get(reverse("library"), {"q": "trust", "country": "FR", "page": "1"}).content.decode()
    for fmt in ("docx", "csv", "xlsx"):
        assert f'href="{reverse("library_export", args=[fmt])}?q=trust&amp;country=FR"' in body


def test_library_export_of_an_unknown_format_is_not_found(client, member):
    client.force_login(member)
    assert client.get("/practices/export.pdf").status_code == 404
