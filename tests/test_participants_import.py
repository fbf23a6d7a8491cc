"""Importing participants from CSV or XLSX: preview first, all or nothing, and idempotent."""

import io

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from sessions_app import participants
from sessions_app.models import Delegation, Participant
from sessions_app.participants import Outcome, ParticipantFileError, check_rows, read_participant_file
from sessions_app.services import ActionRefused

from .factories import DelegationFactory, MeetingFactory, make_delegate, make_secretariat

HEADER = "name,e-mail,delegation,role"
GOOD_CSV = (
    "name,e-mail,delegation,role,language\n"
    "Marie Dupont,Marie.Dupont@example.org,FR,head of delegation,fr\n"
    "Jane Smith,jane.smith@example.org,Canada,delegate,\n"
    "Hans Müller,hans@example.org,Allemagne,délégué,\n"
    "Kenji Sato,kenji@example.org,JPN,delegate,en\n"
    "Ana Ruiz,ana@example.org,,chair,\n"
    "Olu Ade,olu@example.org,,observer,\n"
).encode()


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever language an earlier request left active in this thread."""
    with translation.override("en"):
        yield


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *lines]).encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def preview_of(data: bytes, meeting, filename: str = "list.csv"):
    return participants.preview_import(meeting=meeting, raw_rows=read_participant_file(data, filename=filename))


def statuses(preview) -> list[str]:
    return [outcome.status for outcome in preview.outcomes]


def errors_of(data: bytes, meeting=None) -> list[str]:
    rows = check_rows(read_participant_file(data, filename="list.csv"))
    return [" ".join(row.errors) for row in rows]


def db_state() -> list[tuple]:
    return sorted(
        Participant.objects.values_list(
            "user__username",
            "user__email",
            "user__first_name",
            "user__last_name",
            "role",
            "delegation__country",
            "language",
            "user__is_active",
            "user__password",
        )
    )


@pytest.fixture
def meeting(db):
    meeting = MeetingFactory()
    meeting.delegations.add(DelegationFactory(country="FR"))
    return meeting


# --- Reading files ---------------------------------------------------------------------------------


def test_csv_rows_are_read_with_their_spreadsheet_row_numbers():
    rows = read_participant_file(GOOD_CSV, filename="list.csv")
    assert [row["line"] for row in rows] == [2, 3, 4, 5, 6, 7]
    assert rows[0] == {
        "line": 2,
        "name": "Marie Dupont",
        "email": "Marie.Dupont@example.org",
        "delegation": "FR",
        "role": "head of delegation",
        "language": "fr",
    }


def test_csv_with_excel_bom_and_semicolons_is_read():
    data = "\ufeffNom;Courriel;Pays;Rôle\nMarie Dupont;marie@example.org;France;chef de délégation\n".encode()
    rows = check_rows(read_participant_file(data, filename="liste.csv"))
    assert [(r.name, r.email, r.delegation, r.role, r.errors) for r in rows] == [
        ("Marie Dupont", "marie@example.org", "FR", "head", ())
    ]


def test_xlsx_rows_are_read():
    data = xlsx_bytes([["Name", "E-mail", "Delegation", "Role"], ["Jane Smith", "jane@example.org", "CAN", "Delegate"]])
    rows = check_rows(read_participant_file(data, filename="list.xlsx"))
    assert [(r.line, r.name, r.email, r.delegation, r.role, r.errors) for r in rows] == [
        (2, "Jane Smith", "jane@example.org", "CA", "delegate", ())
    ]


def test_countries_are_found_by_iso_code_or_english_or_french_name():
    codes = [
        participants.country_code(value)
        for value in (
            "fr",
            "DEU",
            "Germany",
            "Allemagne",
            "Corée du Sud",
            "Korea",
            "états-unis d'amérique",
            "Slovak Republic",
        )
    ]
    assert codes == ["FR", "DE", "DE", "DE", "KR", "KR", "US", "SK"]


def test_non_utf8_csv_is_refused_with_a_clear_message():
    data = "name,e-mail,delegation,role\nRené Lévesque,rene@example.org,CA,delegate\n".encode("cp1252")
    with pytest.raises(ParticipantFileError, match="not UTF-8"):
        read_participant_file(data, filename="list.csv")


def test_wrong_columns_are_refused_naming_the_missing_ones():
    with pytest.raises(ParticipantFileError, match="missing: delegation, role"):
        read_participant_file(b"name,email,phone\nJane,jane@example.org,123\n", filename="list.csv")


def test_a_repeated_column_is_refused():
    with pytest.raises(ParticipantFileError, match="appears twice"):
        read_participant_file(b"name,email,country,delegation,role\n", filename="list.csv")


def test_a_file_over_one_megabyte_is_refused():
    data = csv_bytes(*(f"Person {n},p{n}@example.org,FR,delegate" + " " * 600 for n in range(1800)))
    assert len(data) > participants.MAX_FILE_BYTES
    with pytest.raises(ParticipantFileError, match="limit is 1 MB"):
        read_participant_file(data, filename="list.csv")


def test_a_file_over_two_thousand_rows_is_refused():
    data = csv_bytes(*(f"P{n},p{n}@example.org,FR,delegate" for n in range(2001)))
    with pytest.raises(ParticipantFileError, match="more than 2000 participants"):
        read_participant_file(data, filename="list.csv")


def test_two_thousand_rows_are_accepted():
    data = csv_bytes(*(f"P{n},p{n}@example.org,FR,delegate" for n in range(2000)))
    assert len(read_participant_file(data, filename="list.csv")) == 2000


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "list.csv", "empty"),
        (b"name,e-mail,delegation,role\n\n", "list.csv", "no participants"),
        (b"PK\x03\x04 not really a workbook", "list.xlsx", "not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0 old excel", "list.xls", "not supported"),
        (b"name,e-mail\x00,delegation,role\n", "list.csv", "not a CSV"),
    ],
)
def test_unreadable_files_are_refused(data, filename, message):
    with pytest.raises(ParticipantFileError, match=message):
        read_participant_file(data, filename=filename)


# --- Checking rows ---------------------------------------------------------------------------------


def test_formula_cells_are_refused_and_never_evaluated():
    errors = errors_of(
        csv_bytes(
            '"=HYPERLINK(""http://evil"",""x"")",a@example.org,FR,delegate',
            "Bob,+b@example.org,FR,delegate",
            "Carl,c@example.org,-FR,delegate",
            "Dee,d@example.org,FR,@SUM(1)",
        )
    )
    assert ["formula" in error for error in errors] == [True, True, True, True]
    assert "name starts with “=”" in errors[0]


def test_xlsx_formulas_are_refused_not_computed():
    data = xlsx_bytes(
        [["name", "email", "delegation", "role"], ['=CONCAT("A","B")', "a@example.org", "FR", "delegate"]]
    )
    [row] = check_rows(read_participant_file(data, filename="list.xlsx"))
    assert row.name == ""
    assert "formula" in row.errors[0]


def test_unknown_country_role_and_bad_email_get_a_reason_each():
    errors = errors_of(
        csv_bytes(
            "Jane,jane@example.org,Atlantis,delegate", "Bob,not-an-email,FR,delegate", "Carl,c@example.org,FR,king"
        )
    )
    assert "Unknown country “Atlantis”" in errors[0]
    assert "not a valid e-mail address" in errors[1]
    assert "Unknown role “king”" in errors[2]


def test_duplicate_emails_are_errors_on_every_row_that_shares_them():
    errors = errors_of(
        csv_bytes(
            "Jane,jane@example.org,FR,delegate", "Bob,b@example.org,FR,delegate", "Jane B,JANE@example.org,DE,delegate"
        )
    )
    assert "also on row 4" in errors[0]
    assert errors[1] == ""
    assert "also on row 2" in errors[2]


def test_a_delegate_without_delegation_is_an_error_but_a_chair_may_have_none():
    errors = errors_of(csv_bytes("Jane,jane@example.org,,delegate", "Ana,ana@example.org,,chair"))
    assert "needs a delegation" in errors[0]
    assert errors[1] == ""


def test_missing_values_are_named():
    [error] = errors_of(csv_bytes(",,,,fr", header=HEADER + ",language"))
    assert "name is missing" in error
    assert "e-mail address is missing" in error
    assert "role is missing" in error


# --- Preview and import ----------------------------------------------------------------------------


def test_preview_shows_each_row_new_and_saves_nothing(meeting):
    preview = preview_of(GOOD_CSV, meeting)
    assert statuses(preview) == [Outcome.NEW] * 6
    assert preview.new_delegations == ["CA", "DE", "JP"]
    assert Participant.objects.count() == 0
    assert not Delegation.objects.filter(country="CA").exists()


def test_import_creates_accounts_named_by_their_lower_cased_email(meeting):
    participants.import_participants(meeting=meeting, raw_rows=read_participant_file(GOOD_CSV))
    marie = User.objects.get(username="marie.dupont@example.org")
    assert (marie.email, marie.get_full_name(), marie.has_usable_password()) == (
        "marie.dupont@example.org",
        "Marie Dupont",
        False,
    )
    assert (marie.participant.role, marie.participant.delegation.code, marie.participant.language) == (
        "head",
        "FR",
        "fr",
    )
    assert User.objects.get(username="ana@example.org").participant.delegation is None
    assert sorted(meeting.delegations.values_list("country", flat=True)) == ["CA", "DE", "FR", "JP"]


def test_importing_the_same_file_again_changes_nothing(meeting):
    rows = read_participant_file(GOOD_CSV)
    participants.import_participants(meeting=meeting, raw_rows=rows)
    before = db_state()

    preview = participants.preview_import(meeting=meeting, raw_rows=rows)
    assert statuses(preview) == [Outcome.UNCHANGED] * 6
    assert (preview.has_changes, preview.new_delegations) == (False, [])
    participants.import_participants(meeting=meeting, raw_rows=rows)
    assert db_state() == before


def test_a_corrected_file_updates_name_role_and_delegation(meeting):
    participants.import_participants(
        meeting=meeting, raw_rows=read_participant_file(csv_bytes("Jane Smith,jane@example.org,FR,delegate"))
    )
    preview = preview_of(csv_bytes("Jane A. Smith,jane@example.org,DE,head of delegation"), meeting)
    [outcome] = preview.outcomes
    assert outcome.status == Outcome.UPDATED
    assert [(c.field, c.old, c.new) for c in outcome.changes] == [
        ("name", "Jane Smith", "Jane A. Smith"),
        ("role", "Delegate", "Head of delegation"),
        ("delegation", "France", "Germany"),
    ]
    participants.import_participants(
        meeting=meeting,
        raw_rows=read_participant_file(csv_bytes("Jane A. Smith,jane@example.org,DE,head of delegation")),
    )
    jane = Participant.objects.get(user__email="jane@example.org")
    assert (jane.user.get_full_name(), jane.role, jane.delegation.code) == ("Jane A. Smith", "head", "DE")


def test_an_existing_account_is_matched_by_email_whatever_its_case(meeting):
    france = Delegation.objects.get(country="FR")
    existing = make_delegate(
        france, username="jdupont", email="J.Dupont@Example.org", first_name="Jean", last_name="Dupont"
    )
    [outcome] = preview_of(csv_bytes("Jean Dupont,j.dupont@example.org,FR,delegate"), meeting).outcomes
    assert (outcome.status, [c.field for c in outcome.changes]) == (Outcome.UPDATED, ["email"])
    participants.import_participants(
        meeting=meeting, raw_rows=read_participant_file(csv_bytes("Jean Dupont,j.dupont@example.org,FR,delegate"))
    )
    existing.refresh_from_db()
    assert (existing.username, existing.email, existing.has_usable_password()) == (
        "jdupont",
        "j.dupont@example.org",
        True,
    )


def test_a_file_with_any_error_saves_nothing(meeting):
    rows = read_participant_file(
        csv_bytes("Jane,jane@example.org,FR,delegate", "Bob,bob@example.org,Atlantis,delegate")
    )
    preview = participants.preview_import(meeting=meeting, raw_rows=rows)
    assert statuses(preview) == [Outcome.NEW, Outcome.ERROR]
    with pytest.raises(ActionRefused, match="nothing was saved"):
        participants.import_participants(meeting=meeting, raw_rows=rows)
    assert Participant.objects.count() == 0
    assert not User.objects.filter(email="jane@example.org").exists()


def test_a_username_taken_by_another_account_is_an_error(meeting):
    User.objects.create(username="jane@example.org", email="someone.else@example.org")
    [outcome] = preview_of(csv_bytes("Jane,jane@example.org,FR,delegate"), meeting).outcomes
    assert outcome.status == Outcome.ERROR
    assert "user name" in outcome.errors[0]


def test_a_stale_preview_is_refused(meeting):
    rows = read_participant_file(csv_bytes("Jane,jane@example.org,FR,delegate"))
    digest = participants.preview_import(meeting=meeting, raw_rows=rows).digest
    participants.add_participant(
        meeting=meeting, name="Jane", email="jane@example.org", role="delegate", delegation_code="DE"
    )
    with pytest.raises(ActionRefused, match="changed since this preview"):
        participants.import_participants(meeting=meeting, raw_rows=rows, expected_digest=digest)


def test_the_import_does_not_reactivate_a_deactivated_participant(meeting):
    participants.import_participants(
        meeting=meeting, raw_rows=read_participant_file(csv_bytes("Jane,jane@example.org,FR,delegate"))
    )
    jane = Participant.objects.get(user__email="jane@example.org")
    participants.deactivate_participant(participant=jane)
    [outcome] = preview_of(csv_bytes("Jane,jane@example.org,FR,delegate"), meeting).outcomes
    assert outcome.status == Outcome.UNCHANGED
    assert "Deactivated" in outcome.notes[0]


# --- The pages: upload -> preview -> confirm -------------------------------------------------------


@pytest.fixture
def secretariat_client(client, meeting):
    client.force_login(make_secretariat())
    return client


def upload(client, meeting, data: bytes, name: str = "list.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("participants_import", args=[meeting.slug]), {"file": file})


def test_upload_preview_confirm_saves_and_a_second_upload_shows_all_unchanged(secretariat_client, meeting):
    response = upload(secretariat_client, meeting, GOOD_CSV)
    assert response.status_code == 302
    assert response.url == reverse("participants_import_preview", args=[meeting.slug])
    assert Participant.objects.filter(user__email__endswith="@example.org").count() == 0

    page = secretariat_client.get(response.url)
    assert page.status_code == 200
    assert page.context["counts"] == {"new": 6, "updated": 0, "unchanged": 0, "error": 0}
    assert "Hans Müller" in page.content.decode()

    pending = secretariat_client.session["participant_import"]
    done = secretariat_client.post(
        reverse("participants_import_confirm", args=[meeting.slug]),
        {"import_id": pending["id"], "digest": page.context["preview"].digest},
    )
    assert done.status_code == 302
    assert done.url == reverse("participants", args=[meeting.slug])
    assert Participant.objects.filter(user__email__endswith="@example.org").count() == 6
    assert "participant_import" not in secretariat_client.session
    before = db_state()

    upload(secretariat_client, meeting, GOOD_CSV)
    again = secretariat_client.get(reverse("participants_import_preview", args=[meeting.slug]))
    assert again.context["counts"] == {"new": 0, "updated": 0, "unchanged": 6, "error": 0}
    assert "nothing to save" in again.content.decode()
    assert "participants_import_confirm" not in again.content.decode()
    assert db_state() == before


def test_preview_with_errors_offers_no_confirmation_and_confirming_anyway_saves_nothing(secretariat_client, meeting):
    upload(
        secretariat_client,
        meeting,
        csv_bytes("Jane,jane@example.org,FR,delegate", "<b>Bob</b>,bob@example.org,Atlantis,delegate"),
    )
    page = secretariat_client.get(reverse("participants_import_preview", args=[meeting.slug]))
    html = page.content.decode()
    assert page.context["counts"]["error"] == 1
    assert reverse("participants_import_confirm", args=[meeting.slug]) not in html
    assert "&lt;b&gt;Bob&lt;/b&gt;" in html and "<b>Bob</b>" not in html

    pending = secretariat_client.session["participant_import"]
    secretariat_client.post(
        reverse("participants_import_confirm", args=[meeting.slug]),
        {"import_id": pending["id"], "digest": page.context["preview"].digest},
    )
    assert not User.objects.filter(email="jane@example.org").exists()


def test_a_bad_file_is_refused_at_upload_with_its_reason(secretariat_client, meeting):
    response = upload(
        secretariat_client, meeting, "name,e-mail,delegation,role\nRené,r@example.org,FR,delegate\n".encode("latin-1")
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert "participant_import" not in secretariat_client.session


def test_confirming_a_replaced_preview_is_refused(secretariat_client, meeting):
    upload(secretariat_client, meeting, csv_bytes("Jane,jane@example.org,FR,delegate"))
    first_id = secretariat_client.session["participant_import"]["id"]
    upload(secretariat_client, meeting, csv_bytes("Bob,bob@example.org,FR,delegate"))
    secretariat_client.post(
        reverse("participants_import_confirm", args=[meeting.slug]), {"import_id": first_id, "digest": "x"}
    )
    assert Participant.objects.filter(user__email__in=["jane@example.org", "bob@example.org"]).count() == 0


def test_only_the_secretariat_reaches_the_import(client, meeting):
    client.force_login(make_delegate(Delegation.objects.get(country="FR")))
    assert client.get(reverse("participants_import", args=[meeting.slug])).status_code == 403
    assert upload(client, meeting, GOOD_CSV).status_code == 403
    assert client.post(reverse("participants_import_confirm", args=[meeting.slug])).status_code == 403


# --- The management command -------------------------------------------------------------------------


def test_command_imports_and_is_idempotent(meeting, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(GOOD_CSV)
    out = io.StringIO()
    call_command("import_participants", meeting.slug, str(path), stdout=out)
    assert "Saved: 6 new" in out.getvalue()
    before = db_state()
    out = io.StringIO()
    call_command("import_participants", meeting.slug, str(path), stdout=out)
    assert "0 new, 0 updated, 6 unchanged, 0 error" in out.getvalue()
    assert db_state() == before


def test_command_with_errors_saves_nothing(meeting, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes("Jane,jane@example.org,FR,delegate", "Bob,bob@example.org,Atlantis,delegate"))
    with pytest.raises(CommandError, match="Nothing was saved"):
        call_command("import_participants", meeting.slug, str(path), stdout=io.StringIO())
    assert Participant.objects.count() == 0


def test_a_huge_upload_is_refused_before_it_is_parsed(secretariat_client, meeting):
    response = upload(
        secretariat_client, meeting, b"name,e-mail,delegation,role\n" + b"x" * (participants.MAX_FILE_BYTES + 1)
    )
    assert response.status_code == 400
    assert "the limit is 1 MB" in response.content.decode()
    assert "participant_import" not in secretariat_client.session


def test_an_xlsx_upload_reaches_the_preview(secretariat_client, meeting):
    data = xlsx_bytes(
        [["Name", "E-mail", "Delegation", "Role"], ["Jane Smith", "jane@example.org", "France", "Delegate"]]
    )
    upload(secretariat_client, meeting, data, name="list.xlsx")
    page = secretariat_client.get(reverse("participants_import_preview", args=[meeting.slug]))
    assert page.context["counts"] == {"new": 1, "updated": 0, "unchanged": 0, "error": 0}


def test_command_dry_run_saves_nothing(meeting, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(GOOD_CSV)
    out = io.StringIO()
    call_command("import_participants", meeting.slug, str(path), "--dry-run", stdout=out)
    assert "6 new" in out.getvalue() and "Dry run" in out.getvalue()
    assert Participant.objects.count() == 0
