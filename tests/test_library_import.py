"""Bulk import of a compendium spreadsheet: preview with mapped columns, nothing stored before the
confirmation, every row or none, an error per bad row."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from sessions_app.library import bulk_import
from sessions_app.models import LibraryTheme, Practice, Visibility

from .factories import DelegationFactory, MeetingFactory, SessionFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db

CSV = (
    "Titre,Pays,Thèmes,Niveau,Année,Description,Résultats,Séance\n"
    "Réseau de vérificateurs,France,Confiance dans les institutions publiques,national,2019,Un réseau.,Moins de rumeurs.,2\n"
    "Citizens' jury,DE,trust; polarisation,Local,2021,A jury of citizens.,,1\n"
)


@pytest.fixture
def meeting(db):
    meeting = MeetingFactory(slug="compendium-2019")
    SessionFactory(meeting=meeting, number=1)
    SessionFactory(meeting=meeting, number=2)
    return meeting


@pytest.fixture
def secretariat(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    user = make_secretariat(username="secretariat")
    client.force_login(user)
    return user


def upload(client, meeting, content: bytes, name="compendium.csv"):
    return client.post(
        reverse("library_import"), {"action": "upload", "meeting": meeting.pk, "file": SimpleUploadedFile(name, content)}
    )


def mapping_of(response):
    return [column["field"] for column in response.context["columns"]]


def confirm(client, mapping, action="confirm"):
    return client.post(reverse("library_import"), {"action": action, **{f"column-{i}": f for i, f in enumerate(mapping)}})


def xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_import_suggests_the_mapping_from_french_and_english_headers():
    headers = ["Titre", "Country", "Thèmes", "Level of government", "Année de lancement", "Résumé", "Lessons learned", "Comment"]
    assert bulk_import.suggest_mapping(headers) == ["title", "country", "themes", "level", "year_started", "description", "lessons", ""]


def test_import_previews_without_storing_then_imports_every_row(client, meeting, secretariat):
    response = upload(client, meeting, CSV.encode("utf-8"))
    assert response.status_code == 200
    assert Practice.objects.count() == 0  # nothing stored before the confirmation
    mapping = mapping_of(response)
    assert mapping == ["title", "country", "themes", "level", "year_started", "description", "results", "session"]
    assert "All 2 practices are ready to import." in response.content.decode()

    response = confirm(client, mapping)

    assert response.status_code == 302
    french = Practice.objects.get(title="Réseau de vérificateurs")
    assert (french.delegation.code, french.session.number, french.level, french.year_started) == ("FR", 2, "national", 2019)
    assert french.results == "Moins de rumeurs." and french.visibility == Visibility.PUBLISHED
    assert [t.slug for t in french.library_themes.all()] == ["trust"]
    german = Practice.objects.get(title="Citizens' jury")
    assert sorted(t.slug for t in german.library_themes.all()) == ["polarisation", "trust"]
    assert german.level == "local" and german.session.number == 1
    assert meeting.delegations.filter(country="DE").exists()
    # In the library at once, found by a search (the index followed the import).
    listing = client.get(reverse("library"), {"q": "verificateurs"})
    assert [p.title for p in listing.context["practices"]] == ["Réseau de vérificateurs"]
    assert list((secretariat.username,)) == [french.created_by.username]


def test_import_reads_xlsx(client, meeting, secretariat):
    data = xlsx([["Title", "Country", "Description", "Year"], ["Open data portal", "Norway", "Data.", 2018]])
    response = upload(client, meeting, data, name="compendium.xlsx")
    assert mapping_of(response) == ["title", "country", "description", "year_started"]
    assert confirm(client, mapping_of(response)).status_code == 302
    practice = Practice.objects.get()
    assert (practice.title, practice.delegation.code, practice.year_started, practice.session.number) == ("Open data portal", "NO", 2018, 1)


def test_import_with_bad_rows_reports_each_row_and_stores_nothing(client, meeting, secretariat):
    content = (
        "Title,Country,Description,Year,Status,Session,Themes\n"
        "Good one,FR,Fine.,2020,pilot,1,trust\n"
        ",,,,,,\n"
        "No country,Atlantis,Text.,20x0,sleeping,9,Astrology\n"
        "Good two,DE,Fine too.,2021,running,2,\n"
        "\n\n"
    )
    response = upload(client, meeting, content.encode())
    errors = response.context["errors"]
    assert "Row 3 is empty: delete it or fill it in." in errors
    row4 = [error for error in errors if error.startswith("Row 4:")]
    assert len(row4) == 5  # country, session, status, year, theme
    assert any("“Atlantis” is not a country" in error for error in row4)
    assert not any(error.startswith(("Row 2", "Row 5", "Row 6", "Row 7")) for error in errors)  # trailing empty rows end the file

    response = confirm(client, mapping_of(response))

    assert response.status_code == 422
    assert Practice.objects.count() == 0
    assert "nothing was imported" in response.content.decode()


def test_import_refuses_a_mapping_without_required_fields_or_twice_the_same(client, meeting, secretariat):
    response = upload(client, meeting, CSV.encode())
    mapping = mapping_of(response)
    mapping[1] = ""  # the country left out
    mapping[5] = "title"  # two titles
    response = confirm(client, mapping)
    errors = response.context["errors"]
    assert "Two columns are mapped to “Title”: keep one." in errors
    assert "No column is mapped to “Country”, which every practice needs." in errors
    assert response.status_code == 422 and Practice.objects.count() == 0
    # A tampered field name is refused too.
    assert confirm(client, ["evil"] + mapping[1:]).context["errors"] == ["The column mapping does not fit the file; map its columns again."]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("compendium.csv", "Titre,Pays\nDésinformation,France\n".encode("latin-1"), "is not UTF-8 text"),
        ("compendium.xlsx", b"not a zip file", "is not an Excel workbook"),
        ("compendium.pdf", b"%PDF-1.4", "Choose a CSV (.csv) or Excel (.xlsx) file."),
        ("compendium.csv", b"Title,Country,Description\n", "no practice under it"),
        ("compendium.csv", b"", "no header row"),
        ("compendium.csv", b"Title,Country\n" + b"x,FR\n" * (10 * 1024 * 1024 // 5), "the limit is 5 MB"),
    ],
)
def test_import_refuses_a_bad_file_with_a_clear_error(client, meeting, secretariat, name, content, message):
    response = upload(client, meeting, content, name=name)
    assert response.status_code == 422
    assert message in response.context["errors"][0]
    assert Practice.objects.count() == 0


def test_import_escapes_hostile_text_in_the_preview_and_stores_it_as_text(client, meeting, secretariat):
    content = 'Title,Country,Description\n"<script>alert(1)</script>",FR,"<img src=x onerror=alert(1)>"\n'
    response = upload(client, meeting, content.encode())
    body = response.content.decode()
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    confirm(client, mapping_of(response))
    assert Practice.objects.get().title == "<script>alert(1)</script>"
    assert "&lt;script&gt;" in client.get(reverse("library")).content.decode()


def test_import_is_for_the_secretariat_only(client, meeting):
    client.force_login(make_delegate(DelegationFactory(country="FR")))
    assert client.get(reverse("library_import")).status_code == 403
    assert upload(client, meeting, CSV.encode()).status_code == 403
    assert Practice.objects.count() == 0


def test_import_confirmation_without_an_upload_is_a_clear_error(client, meeting, secretariat):
    response = confirm(client, ["title"])
    assert response.status_code == 422
    assert response.context["errors"] == ["The uploaded file is no longer here; upload it again."]


def test_import_service_stores_all_or_nothing(meeting):
    sheet = bulk_import.Sheet("x.csv", ["Title", "Country", "Description"], [["One", "FR", "a"], ["Two", "Nowhere", "b"]])
    with pytest.raises(bulk_import.ActionRefused):
        bulk_import.import_practices(meeting, user=make_secretariat(), sheet=sheet, mapping=["title", "country", "description"])
    assert Practice.objects.count() == 0
    assert LibraryTheme.objects.exists()
