"""Participants: bulk import (CSV/XLSX), management, personal sign-in links and the room code.

Reading a file is pure (bytes in, one dict of cells per row out) and `check_rows` validates those
cells without the database; `preview_import` then gives each row its outcome (new, updated,
unchanged, error) against the database, and `import_participants` saves it all or nothing. Every
other write is a verb_noun service below; views only parse, call one of them and render.

A participant signs in with a single-use link: the raw token exists only in the link (mail or
printed QR code); the database keeps its sha256, so a leaked database grants no sign-in.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import logging
import secrets
import unicodedata
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from . import events
from .models import Delegation, Meeting, Participant, SignInToken, name_key
from .services import ActionRefused

Role = Participant.Role
logger = logging.getLogger("sessions_app.signin")

MAX_FILE_BYTES = 1024 * 1024
MAX_ROWS = 2000
# Cells a spreadsheet would run as a formula (OWASP's CSV-injection list, tab and CR included).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NAME_MAX = 150  # User.first_name
EMAIL_MAX = 150  # the e-mail becomes the username, which Django limits to 150

# Brute force: this many refused tokens or room codes from one address lock it out for the window.
FAILURE_LIMIT = 10
FAILURE_WINDOW_SECONDS = 600
# Requests for a new link send mail, so they are limited whatever their outcome.
LINK_REQUEST_LIMIT = 5


# --- Reading a participants file (pure) -----------------------------------------------------------


class ParticipantFileError(Exception):
    """The file as a whole cannot be used (format, encoding, columns, size); nothing is saved."""


COLUMNS = ("name", "email", "delegation", "role", "language")
REQUIRED_COLUMNS = ("name", "email", "delegation", "role")


def _norm(text: str) -> str:
    """Lower-case, without accents or punctuation: how headers, roles and countries are matched."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


HEADER_ALIASES = {
    "name": {"name", "full name", "participant", "nom", "nom complet", "nom et prenom", "prenom et nom"},
    "email": {"email", "e mail", "mail", "email address", "e mail address", "courriel", "adresse electronique"},
    "delegation": {"delegation", "country", "country code", "iso code", "iso", "pays", "code pays"},
    "role": {"role", "function", "fonction"},
    "language": {"language", "langue"},
}
ROLE_ALIASES = {
    Role.DELEGATE: {"delegate", "delegue", "deleguee", "delegue e"},
    Role.HEAD: {"head of delegation", "head", "hod", "chef de delegation", "cheffe de delegation", "chef"},
    Role.OBSERVER: {"observer", "observateur", "observatrice", "observateur rice"},
    Role.CHAIR: {"chair", "chairperson", "chairman", "chairwoman", "president", "presidente", "president e"},
    Role.SECRETARIAT: {"secretariat", "secretary", "secretaire"},
}
LANGUAGE_ALIASES = {
    "en": {"en", "english", "anglais"},
    "fr": {"fr", "french", "francais"},
}
# Names meetings use that ISO and CLDR spell otherwise (the OECD writes "Korea", "Slovak Republic").
COUNTRY_ALIASES = {
    "korea": "KR",
    "republic of korea": "KR",
    "coree": "KR",
    "slovak republic": "SK",
    "czech republic": "CZ",
    "republique tcheque": "CZ",
    "republique slovaque": "SK",
    "turkey": "TR",
    "united states": "US",
    "usa": "US",
    "etats unis": "US",
    "uk": "GB",
    "great britain": "GB",
    "russia": "RU",
    "pays bas": "NL",
}


def _index(aliases: dict[str, set[str]]) -> dict[str, str]:
    return {alias: value for value, names in aliases.items() for alias in names}


@functools.cache
def _country_index() -> dict[str, str]:
    """Normalised ISO alpha-2, alpha-3, English and French names -> alpha-2 code."""
    index: dict[str, str] = {}
    for language in ("en", "fr"):
        with translation.override(language):
            for code, name in countries:
                index.setdefault(_norm(str(name)), code)
    for code, _name in countries:
        index.setdefault(code.lower(), code)
        index.setdefault(countries.alpha3(code).lower(), code)
    for alias, code in COUNTRY_ALIASES.items():
        index.setdefault(alias, code)
    return index


def country_code(value: str) -> str:
    """The ISO alpha-2 code for an ISO code or an English or French country name; "" if unknown."""
    key = _norm(value)
    if not key:
        return ""
    code = _country_index().get(key, "")
    for language in ("en", "fr"):
        code = code or countries.by_name(value, language=language)
    return code if isinstance(code, str) else ""


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "text") and not isinstance(value, str):  # openpyxl's ArrayFormula: keep it a formula
        return "=" + str(value.text).lstrip("=")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _csv_table(data: bytes):
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        message = _(
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”, or upload the .xlsx file."
        )
        raise ParticipantFileError(message) from None
    if "\x00" in text:
        raise ParticipantFileError(_("The file is not a CSV text file; upload a .csv or .xlsx file."))
    header_line = text.lstrip().split("\n", 1)[0]
    # French Excel writes semicolons; pick whichever separator the header line uses most.
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as error:
        raise ParticipantFileError(
            _("Row %(line)s cannot be read as CSV (%(error)s).") % {"line": reader.line_num, "error": error}
        ) from None


def _xlsx_table(data: bytes):
    import openpyxl

    # Any failure to open a user's workbook means the same thing to them, whatever openpyxl raises.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            # data_only=False: a formula comes back as its text ("=..."), never as a computed value.
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            sheet = workbook.worksheets[0]
            rows = []
            # Rows of empty formatting can run to a million; stop reading long before that.
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if line > MAX_ROWS * 5:
                    break
                rows.append((line, [_cell_text(value) for value in values]))
            workbook.close()
    except Exception:  # noqa: BLE001 - see above
        raise ParticipantFileError(_("The file is not a readable Excel workbook (.xlsx).")) from None
    return rows


def read_participant_file(data: bytes, *, filename: str = "") -> list[dict]:
    """The rows of a CSV or XLSX participants file as {"line", "name", "email", "delegation", "role"[, "language"]}.

    Raises ParticipantFileError for what concerns the whole file; row-level problems are left to
    check_rows(), so that the preview can show every row's reason at once.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ParticipantFileError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": formats.number_format(len(data)) + " B", "limit": "1 MB"}
        )
    lower_name = filename.lower()
    if lower_name.endswith((".xls", ".ods", ".numbers")) or data[:4] == b"\xd0\xcf\x11\xe0":
        raise ParticipantFileError(_("This spreadsheet format is not supported: save it as .xlsx or as CSV UTF-8."))
    if not data.strip():
        raise ParticipantFileError(_("The file is empty."))
    table = _xlsx_table(data) if data[:4] == b"PK\x03\x04" or lower_name.endswith(".xlsx") else _csv_table(data)

    header: dict[int, str] | None = None
    rows: list[dict] = []
    for line, cells in table:
        cells = [cell.strip() if isinstance(cell, str) else _cell_text(cell) for cell in cells]
        if not any(cells):
            continue
        if header is None:
            header = _read_header(cells)
            continue
        if len(rows) >= MAX_ROWS:
            raise ParticipantFileError(
                _("The file has more than %(limit)s participants; split it into several files.") % {"limit": MAX_ROWS}
            )
        row = {"line": line, **{column: "" for column in header.values()}}
        for position, column in header.items():
            if position < len(cells):
                row[column] = cells[position]
        rows.append(row)
    if header is None:
        raise ParticipantFileError(_("The file is empty."))
    if not rows:
        raise ParticipantFileError(_("The file has a header row but no participants."))
    return rows


def _read_header(cells: list[str]) -> dict[int, str]:
    """Column position -> column key; other columns are ignored, missing or repeated ones refused."""
    lookup = _index(HEADER_ALIASES)
    header: dict[int, str] = {}
    for position, cell in enumerate(cells):
        column = lookup.get(_norm(cell))
        if column is None:
            continue
        if column in header.values():
            raise ParticipantFileError(_("The column “%(column)s” appears twice.") % {"column": cell})
        header[position] = column
    missing = [column for column in REQUIRED_COLUMNS if column not in header.values()]
    if missing:
        raise ParticipantFileError(
            _(
                "The first row must name the columns name, e-mail, delegation and role (found: %(found)s; "
                "missing: %(missing)s)."
            )
            % {"found": ", ".join(f"“{cell}”" for cell in cells if cell) or "—", "missing": ", ".join(missing)}
        )
    return header


# --- Checking rows (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedRow:
    line: int
    name: str
    email: str  # lower-cased; also the username of a new account
    delegation: str  # ISO alpha-2, "" for none
    delegation_input: str  # as the file wrote it, for the preview
    role: str
    language: str | None  # None: leave the participant's language as it is
    errors: tuple[str, ...] = ()


def _column_label(column: str) -> str:
    return {
        "name": _("name"),
        "email": _("e-mail"),
        "delegation": _("delegation"),
        "role": _("role"),
        "language": _("language"),
    }[column]


def _role_choices_text() -> str:
    return ", ".join(str(label).lower() for _value, label in Role.choices)


def check_rows(raw_rows: list[dict]) -> list[ParsedRow]:
    """Validate each row on its own and against the others (duplicate e-mails); no database needed."""
    roles, languages = _index(ROLE_ALIASES), _index(LANGUAGE_ALIASES)
    lines_by_email: dict[str, list[int]] = defaultdict(list)
    for raw in raw_rows:
        email = str(raw.get("email", "")).strip().lower()
        if email:
            lines_by_email[email].append(raw["line"])

    parsed = []
    for raw in raw_rows:
        cells = {column: str(raw.get(column, "") or "").strip() for column in COLUMNS}
        errors: list[str] = []
        for column in COLUMNS:
            raw_cell = str(raw.get(column, "") or "")
            if raw_cell.startswith(FORMULA_PREFIXES) or cells[column].startswith(FORMULA_PREFIXES):
                errors.append(
                    _("The %(column)s starts with “%(char)s”, which spreadsheets run as a formula; remove it.")
                    % {"column": _column_label(column), "char": (raw_cell or cells[column])[0].strip() or "⇥"}
                )
                cells[column] = ""
                cells[f"{column}_refused"] = "1"

        name, email = cells["name"], cells["email"].lower()
        if not name and "name_refused" not in cells:
            errors.append(_("The name is missing."))
        elif len(name) > NAME_MAX:
            errors.append(_("The name is longer than %(limit)s characters.") % {"limit": NAME_MAX})
        if not email:
            if "email_refused" not in cells:
                errors.append(_("The e-mail address is missing."))
        else:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(_("“%(email)s” is not a valid e-mail address.") % {"email": email})
            else:
                if len(email) > EMAIL_MAX:
                    errors.append(_("The e-mail address is longer than %(limit)s characters.") % {"limit": EMAIL_MAX})
            others = [line for line in lines_by_email[email] if line != raw["line"]]
            if others:
                errors.append(
                    _("The e-mail %(email)s is also on row %(lines)s; each participant needs their own address.")
                    % {"email": email, "lines": ", ".join(map(str, others))}
                )

        role = roles.get(_norm(cells["role"]), "")
        if not role and "role_refused" not in cells:
            if cells["role"]:
                errors.append(
                    _("Unknown role “%(role)s”; use one of: %(choices)s.")
                    % {"role": cells["role"], "choices": _role_choices_text()}
                )
            else:
                errors.append(_("The role is missing; use one of: %(choices)s.") % {"choices": _role_choices_text()})

        code = ""
        if cells["delegation"]:
            code = country_code(cells["delegation"])
            if not code:
                errors.append(
                    _("Unknown country “%(country)s”: use an ISO code (FR, FRA) or the English or French name.")
                    % {"country": cells["delegation"]}
                )
        elif role in {Role.DELEGATE, Role.HEAD}:
            errors.append(_("A delegate or head of delegation needs a delegation."))

        language = None
        if cells["language"]:
            language = languages.get(_norm(cells["language"]))
            if language not in dict(settings.LANGUAGES):
                language = None
                errors.append(_("Unknown language “%(language)s”; use en or fr.") % {"language": cells["language"]})

        parsed.append(
            ParsedRow(
                line=raw["line"],
                name=name,
                email=email,
                delegation=code,
                delegation_input=str(raw.get("delegation", "") or "").strip(),
                role=role,
                language=language,
                errors=tuple(errors),
            )
        )
    return parsed


# --- Preview and import -----------------------------------------------------------------------------


class Outcome:
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class RowOutcome:
    row: ParsedRow
    status: str
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    user: User | None = None

    @property
    def delegation_name(self) -> str:
        return str(countries.name(self.row.delegation)) if self.row.delegation else ""

    @property
    def role_label(self) -> str:
        return str(Role(self.row.role).label) if self.row.role else ""


@dataclass
class ImportPreview:
    outcomes: list[RowOutcome]
    new_delegations: list[str]  # codes of delegations the import adds to the meeting
    digest: str

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {
            status: self.count(status) for status in (Outcome.NEW, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.ERROR)
        }

    @property
    def has_errors(self) -> bool:
        return self.count(Outcome.ERROR) > 0

    @property
    def has_changes(self) -> bool:
        return bool(self.new_delegations) or any(o.status in {Outcome.NEW, Outcome.UPDATED} for o in self.outcomes)

    @property
    def new_delegation_names(self) -> list[str]:
        return sorted((str(countries.name(code)) for code in self.new_delegations), key=name_key)


def _display(field_name: str, value: str | None) -> str:
    if not value:
        return "—"
    if field_name == "role":
        return str(Role(value).label)
    if field_name == "delegation":
        return str(countries.name(value))
    if field_name == "language":
        return str(dict(settings.LANGUAGES).get(value, value))
    return value


def _diff(user: User, row: ParsedRow) -> list[Change]:
    participant = _participant_or_none(user)
    old = {
        "name": user.get_full_name(),
        "email": user.email,
        "role": participant.role if participant else "",
        "delegation": participant.delegation.code if participant and participant.delegation_id else "",
        "language": participant.language if participant else "",
    }
    new = {
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "delegation": row.delegation,
        "language": row.language,
    }
    if row.language is None:
        del new["language"]
    return [
        Change(field=name, old=_display(name, old[name]), new=_display(name, value))
        for name, value in new.items()
        if (old[name] or "") != (value or "")
    ]


def _participant_or_none(user: User) -> Participant | None:
    try:
        return user.participant
    except Participant.DoesNotExist:
        return None


def preview_import(*, meeting: Meeting, raw_rows: list[dict]) -> ImportPreview:
    """Each row's outcome against the database as it is now; reads only (three queries)."""
    rows = check_rows(raw_rows)
    emails = {row.email for row in rows if row.email}
    users_by_email: dict[str, list[User]] = defaultdict(list)
    for user in (
        User.objects.annotate(email_key=Lower("email"))
        .filter(email_key__in=emails)
        .select_related("participant__delegation")
    ):
        users_by_email[user.email_key].append(user)
    owner_of_username = dict(
        User.objects.annotate(username_key=Lower("username"))
        .filter(username_key__in=emails)
        .values_list("username_key", "pk")
    )
    meeting_codes = set(meeting.delegations.values_list("country", flat=True))

    outcomes = []
    for row in rows:
        outcome = RowOutcome(row=row, status=Outcome.UNCHANGED, errors=list(row.errors))
        matches = users_by_email.get(row.email, [])
        if len(matches) > 1:
            outcome.errors.append(
                _("%(count)s accounts already use this e-mail address; merge them in the administration first.")
                % {"count": len(matches)}
            )
        elif matches:
            outcome.user = matches[0]
            outcome.changes = _diff(matches[0], row)
            if not matches[0].is_active:
                outcome.notes.append(_("Deactivated: the import does not reactivate; do it on the participants page."))
        elif row.email and owner_of_username.get(row.email):
            outcome.errors.append(_("Another account already has this e-mail address as its user name."))
        if outcome.errors:
            outcome.status = Outcome.ERROR
        elif outcome.user is None:
            outcome.status = Outcome.NEW
        elif outcome.changes:
            outcome.status = Outcome.UPDATED
        outcomes.append(outcome)

    new_delegations = sorted(
        {o.row.delegation for o in outcomes if o.row.delegation and o.status != Outcome.ERROR} - meeting_codes
    )
    # What the confirmation must match: a change made elsewhere between preview and confirm is caught.
    fingerprint = [[o.row.line, o.row.email, o.status, [c.field for c in o.changes]] for o in outcomes]
    digest = hashlib.sha256(json.dumps([fingerprint, new_delegations]).encode()).hexdigest()
    return ImportPreview(outcomes=outcomes, new_delegations=new_delegations, digest=digest)


@transaction.atomic
def import_participants(*, meeting: Meeting, raw_rows: list[dict], expected_digest: str | None = None) -> ImportPreview:
    """Save a previewed participants file: every row or none, refused if a row has an error or the preview is stale."""
    preview = preview_import(meeting=meeting, raw_rows=raw_rows)
    if preview.has_errors:
        raise ActionRefused(_("The file has rows with errors; nothing was saved. Fix them and upload the file again."))
    if expected_digest is not None and expected_digest != preview.digest:
        raise ActionRefused(_("The participants changed since this preview; check the new preview and confirm again."))
    delegations = {
        code: _delegation_for(meeting, code)
        for code in {o.row.delegation for o in preview.outcomes if o.row.delegation}
    }
    for outcome in preview.outcomes:
        row = outcome.row
        fields = {
            "name": row.name,
            "email": row.email,
            "role": row.role,
            "delegation": delegations.get(row.delegation),
            "language": row.language,
        }
        if outcome.status == Outcome.NEW:
            _create_participant(**fields)
        elif outcome.status == Outcome.UPDATED:
            _change_participant(outcome.user, **fields)
    return preview


def _delegation_for(meeting: Meeting, code: str) -> Delegation:
    """The delegation for this country, created if missing and made part of the meeting."""
    delegation, _created = Delegation.objects.get_or_create(country=code)
    if not meeting.delegations.filter(pk=delegation.pk).exists():
        meeting.delegations.add(delegation)
    return delegation


def _create_participant(
    *, name: str, email: str, role: str, delegation: Delegation | None, language: str | None
) -> Participant:
    # The whole name goes in first_name: names do not split reliably into given and family names
    # across 40 countries, and get_full_name() then gives back exactly what the secretariat wrote.
    user = User(username=email, email=email, first_name=name, last_name="")
    user.set_unusable_password()  # participants sign in by link; there is no password to leak or forget
    user.save()
    return Participant.objects.create(user=user, role=role, delegation=delegation, language=language or "")


def _change_participant(
    user: User, *, name: str, email: str, role: str, delegation: Delegation | None, language: str | None
) -> Participant:
    """Apply new values; a participant whose role or delegation changed has their sockets closed,
    so their pages reconnect to the right live groups (another delegation's, or none)."""
    if user.username.lower() == (user.email or "").lower() and user.username != email:
        user.username = email  # the username follows the e-mail it was derived from
    user.first_name, user.last_name, user.email = name, "", email
    user.save(update_fields=["username", "first_name", "last_name", "email"])
    participant = _participant_or_none(user) or Participant(user=user)
    moved = participant.pk is not None and (
        participant.role != role or participant.delegation_id != getattr(delegation, "pk", None)
    )
    participant.role, participant.delegation = role, delegation
    if language is not None:
        participant.language = language
    participant.save()
    user.participant = participant
    if moved:
        events.disconnect_user(user.pk)
    return participant


# --- Adding, editing, deactivating ------------------------------------------------------------------


def _clean_fields(*, name: str, email: str, role: str, delegation_code: str, language: str, user: User | None) -> dict:
    name, email, delegation_code = name.strip(), email.strip().lower(), delegation_code.strip().upper()
    if not name:
        raise ActionRefused(_("Give the participant's name."), field="name")
    if len(name) > NAME_MAX:
        raise ActionRefused(_("The name is longer than %(limit)s characters.") % {"limit": NAME_MAX}, field="name")
    try:
        validate_email(email)
    except ValidationError:
        raise ActionRefused(_("Enter a valid e-mail address."), field="email") from None
    if len(email) > EMAIL_MAX:
        raise ActionRefused(
            _("The e-mail address is longer than %(limit)s characters.") % {"limit": EMAIL_MAX}, field="email"
        )
    others = User.objects.exclude(pk=getattr(user, "pk", None))
    if others.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists():
        raise ActionRefused(_("Another participant already uses this e-mail address."), field="email")
    if role not in Role.values:
        raise ActionRefused(_("Choose one of the roles."), field="role")
    if delegation_code and delegation_code not in countries:
        raise ActionRefused(_("Choose a country from the list."), field="delegation")
    if not delegation_code and role in {Role.DELEGATE, Role.HEAD}:
        raise ActionRefused(_("A delegate or head of delegation needs a delegation."), field="delegation")
    if language and language not in dict(settings.LANGUAGES):
        raise ActionRefused(_("Choose one of the languages."), field="language")
    return {"name": name, "email": email, "role": role, "delegation_code": delegation_code, "language": language}


@transaction.atomic
def add_participant(
    *, meeting: Meeting, name: str, email: str, role: str, delegation_code: str = "", language: str = ""
) -> Participant:
    """Register one participant (an account without password) for the meeting."""
    cleaned = _clean_fields(
        name=name, email=email, role=role, delegation_code=delegation_code, language=language, user=None
    )
    code = cleaned.pop("delegation_code")
    return _create_participant(**cleaned, delegation=_delegation_for(meeting, code) if code else None)


@transaction.atomic
def update_participant(
    *,
    meeting: Meeting,
    participant: Participant,
    name: str,
    email: str,
    role: str,
    delegation_code: str = "",
    language: str = "",
) -> Participant:
    """Change a participant's name, e-mail, role, language or delegation (moving them to another one)."""
    cleaned = _clean_fields(
        name=name, email=email, role=role, delegation_code=delegation_code, language=language, user=participant.user
    )
    code = cleaned.pop("delegation_code")
    return _change_participant(participant.user, **cleaned, delegation=_delegation_for(meeting, code) if code else None)


def _end_sessions(user_id: int) -> int:
    """Delete every server-side session logged in as this user; returns how many.

    Sessions are not indexed by user, so this reads them all: fine for a rare secretariat action
    over a meeting's few hundred sessions, and it works for the db and cached_db engines alike.
    """
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    if not hasattr(store_class, "get_model_class"):
        # Cookie-based sessions cannot be ended from the server; is_active still refuses the user.
        logger.warning("Session engine %s cannot end a user's sessions", settings.SESSION_ENGINE)
        return 0
    model = store_class.get_model_class()
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    for key in keys:
        store_class(session_key=key).delete()
    return len(keys)


def _end_access(user: User) -> None:
    """Withdraw every way in a participant has now: unused links, sessions, then (after commit) sockets."""
    SignInToken.objects.filter(participant__user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _end_sessions(user.pk)
    events.disconnect_user(user.pk)


def _refuse_self(participant: Participant, actor: User | None) -> None:
    if actor is not None and actor.pk == participant.user_id:
        raise ActionRefused(_("You cannot withdraw your own access; ask another member of the secretariat."))


@transaction.atomic
def revoke_sign_in_links(*, participant: Participant, actor: User | None = None) -> None:
    """Withdraw the participant's unused links and sign them out everywhere (pages and live sockets)."""
    _refuse_self(participant, actor)
    _end_access(participant.user)


@transaction.atomic
def deactivate_participant(*, participant: Participant, actor: User | None = None) -> Participant:
    """Bar a participant: no sign-in, no session, no socket, until reactivated. Their answers stay."""
    _refuse_self(participant, actor)
    user = participant.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    _end_access(user)
    return participant


@transaction.atomic
def reactivate_participant(*, participant: Participant) -> Participant:
    """Let a deactivated participant in again; they need a new sign-in link."""
    user = participant.user
    user.is_active = True
    user.save(update_fields=["is_active"])
    return participant


# --- Sign-in links ----------------------------------------------------------------------------------


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def sign_in_path(raw_token: str, *, meeting: Meeting | None = None) -> str:
    """The path of a sign-in link; the meeting only says where to land afterwards."""
    path = reverse("signin", args=[raw_token])
    return f"{path}?{urlencode({'meeting': meeting.slug})}" if meeting else path


def _check_can_have_link(participant: Participant) -> None:
    user = participant.user
    if not user.is_active:
        raise ActionRefused(_("This participant is deactivated; reactivate them first."))
    if user.is_staff or user.is_superuser:
        # A link must never open the administration: those accounts keep their password.
        raise ActionRefused(_("Administrators sign in with their password, not with a link."))


@dataclass(frozen=True)
class IssuedLink:
    participant: Participant
    token: str  # the raw token: shown or sent once, never stored
    expires_at: datetime


@transaction.atomic
def issue_sign_in_links(*, participants: list[Participant]) -> list[IssuedLink]:
    """New single-use links, one per participant; earlier unused links stay valid until they expire.

    (A participant may use the printed badge on a phone and the e-mail on a laptop.)
    """
    for participant in participants:
        _check_can_have_link(participant)
    expires_at = timezone.now() + timedelta(days=settings.FACILITATION["SIGN_IN_LINK_DAYS"])
    issued = [
        IssuedLink(participant=participant, token=secrets.token_urlsafe(32), expires_at=expires_at)
        for participant in participants
    ]
    SignInToken.objects.bulk_create(
        SignInToken(participant=link.participant, token_hash=hash_token(link.token), expires_at=expires_at)
        for link in issued
    )
    return issued


def linkable_participants(participants) -> list[Participant]:
    """The participants a link can be made for: active, not administrators, and not the observers who
    joined with the room code (no e-mail; an observer registered by the secretariat does get one)."""
    return [
        p
        for p in participants
        if p.user.is_active
        and not p.user.is_staff
        and not p.user.is_superuser
        and (p.role != Role.OBSERVER or p.user.email)
    ]


def _link_message(link: IssuedLink, *, meeting: Meeting | None, base_url: str) -> EmailMessage:
    participant = link.participant
    with translation.override(participant.language or settings.LANGUAGE_CODE):
        url = base_url.rstrip("/") + sign_in_path(link.token, meeting=meeting)
        title = " ".join((meeting.title if meeting else _("the meeting")).split())
        subject = _("Your sign-in link for %(meeting)s") % {"meeting": title}
        body = _(
            "Dear %(name)s,\n\n"
            "Open this personal link to join %(meeting)s:\n\n%(url)s\n\n"
            "It works once, until %(expires)s; after that you stay signed in on that device. "
            "Do not share it: it signs in as you.\n\n"
            "If it no longer works, ask for a new one at %(request_url)s\n"
        ) % {
            "name": participant.user.get_full_name() or participant.user.email,
            "meeting": title,
            "url": url,
            "expires": formats.date_format(timezone.localtime(link.expires_at), "DATETIME_FORMAT"),
            "request_url": base_url.rstrip("/") + reverse("signin_request"),
        }
    return EmailMessage(subject=subject[:200], body=body, to=[participant.user.email])


def send_sign_in_links(*, participants: list[Participant], meeting: Meeting | None, base_url: str) -> int:
    """E-mail a fresh link to each participant with an address; returns how many were sent.

    Not atomic on purpose: the links are stored (atomically) before any mail leaves, so a mail
    failure can leave an unused link behind but never a sent link that does not exist.
    """
    with_address = [p for p in participants if p.user.email]
    links = issue_sign_in_links(participants=with_address)
    connection = get_connection()
    return connection.send_messages([_link_message(link, meeting=meeting, base_url=base_url) for link in links]) or 0


def send_sign_in_link(*, participant: Participant, meeting: Meeting | None, base_url: str) -> None:
    """E-mail one participant a fresh personal link."""
    if not participant.user.email:
        raise ActionRefused(_("This participant has no e-mail address."))
    send_sign_in_links(participants=[participant], meeting=meeting, base_url=base_url)


def request_sign_in_link(*, email: str, meeting: Meeting | None, base_url: str) -> None:
    """Send a new link if the address is an active participant's; silent otherwise (no enumeration)."""
    email = email.strip().lower()
    candidates = list(
        Participant.objects.select_related("user").filter(user__email__iexact=email, user__is_active=True)
    )
    participants = linkable_participants(candidates)
    if len(participants) == 1:
        send_sign_in_links(participants=participants, meeting=meeting, base_url=base_url)


class SignInRefused(Exception):
    """A sign-in link that opens nothing; `reason` says why, `token` is the row if there is one."""

    UNKNOWN, USED, EXPIRED, REVOKED, INACTIVE = "unknown", "used", "expired", "revoked", "inactive"

    def __init__(self, reason: str, token: SignInToken | None = None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


def check_sign_in_token(raw_token: str) -> SignInToken:
    """The token row if this link can still sign in; raises SignInRefused otherwise. Reads only."""
    token = None
    if 20 <= len(raw_token) <= 100:
        token = (
            SignInToken.objects.select_related("participant__user", "participant__delegation")
            .filter(token_hash=hash_token(raw_token))
            .first()
        )
    if token is None:
        raise SignInRefused(SignInRefused.UNKNOWN)
    if token.revoked_at is not None:
        raise SignInRefused(SignInRefused.REVOKED, token)
    if token.used_at is not None:
        raise SignInRefused(SignInRefused.USED, token)
    if token.expires_at <= timezone.now():
        raise SignInRefused(SignInRefused.EXPIRED, token)
    if not token.participant.user.is_active:
        raise SignInRefused(SignInRefused.INACTIVE, token)
    return token


@transaction.atomic
def redeem_sign_in_token(*, raw_token: str) -> User:
    """Use up a sign-in link and return whom it signs in; raises SignInRefused if it cannot."""
    token = check_sign_in_token(raw_token)
    # A conditional update, so two requests racing with the same link cannot both win.
    claimed = SignInToken.objects.filter(pk=token.pk, used_at__isnull=True, revoked_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not claimed:
        raise SignInRefused(SignInRefused.USED, token)
    return token.participant.user


def _client_key(bucket: str, address: str) -> str:
    return f"facilitation:failures:{bucket}:{address or 'unknown'}"


def is_throttled(*, bucket: str, address: str, limit: int = FAILURE_LIMIT) -> bool:
    """Whether this client address has used up its attempts for the current window."""
    return cache.get(_client_key(bucket, address), 0) >= limit


def note_failure(*, bucket: str, address: str) -> None:
    """Count one refused attempt from this address (the window starts at the first one)."""
    key = _client_key(bucket, address)
    if not cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, FAILURE_WINDOW_SECONDS)


# --- The room code ----------------------------------------------------------------------------------


def normalize_join_code(code: str) -> str:
    """As typed from a projector: any case, spaces or hyphens."""
    return "".join(c for c in code if c.isalnum()).upper()


def meeting_for_code(code: str) -> Meeting | None:
    code = normalize_join_code(code)
    if not code or len(code) > 12:
        return None
    return Meeting.objects.filter(join_code=code).first()


@transaction.atomic
def join_as_observer(*, meeting: Meeting, name: str = "") -> User:
    """A throwaway observer account for someone who entered the room code: no password, no delegation."""
    while True:
        username = f"observer-{secrets.token_hex(5)}"
        if not User.objects.filter(username=username).exists():
            break
    user = User(username=username, first_name=" ".join(name.split())[:NAME_MAX])
    user.set_unusable_password()
    user.save()
    Participant.objects.create(user=user, role=Role.OBSERVER).meetings.add(meeting)
    return user


def admit_with_code(*, user: User, meeting: Meeting) -> None:
    """A signed-in observer who enters another meeting's room code takes part in that meeting too."""
    participant = Participant.objects.filter(user=user, role=Role.OBSERVER).first()
    if participant is not None:
        participant.meetings.add(meeting)


# --- Reads for the pages ----------------------------------------------------------------------------


def meeting_participants(meeting: Meeting) -> QuerySet[Participant]:
    """Everyone who takes part in the meeting: its delegations' members and the roles without one."""
    return (
        Participant.objects.filter(
            Q(delegation__in=meeting.delegations.values("pk"))
            | Q(delegation__isnull=True)
            | Q(role__in=[Role.CHAIR, Role.SECRETARIAT, Role.OBSERVER])
        )
        .select_related("user", "delegation")
        .annotate(
            links_open=Count(
                "sign_in_tokens",
                filter=Q(
                    sign_in_tokens__used_at__isnull=True,
                    sign_in_tokens__revoked_at__isnull=True,
                    sign_in_tokens__expires_at__gt=timezone.now(),
                ),
            ),
            last_link_at=Max("sign_in_tokens__created_at"),
        )
    )


@dataclass
class ParticipantGroup:
    title: str
    key: str  # an id fragment for the page
    participants: list[Participant]
    delegation: Delegation | None = None


ROLE_ORDER = {Role.HEAD: 0, Role.DELEGATE: 1, Role.CHAIR: 2, Role.SECRETARIAT: 3, Role.OBSERVER: 4}


def participants_by_delegation(meeting: Meeting) -> list[ParticipantGroup]:
    """The meeting's participants grouped for the list page; a fixed number of queries."""
    groups: dict[int, ParticipantGroup] = {
        d.pk: ParticipantGroup(title=d.name, key=f"delegation-{d.code.lower()}", participants=[], delegation=d)
        for d in meeting.delegations.all()
    }
    officers = ParticipantGroup(title=_("Chair and secretariat"), key="officers", participants=[])
    observers = ParticipantGroup(title=_("Observers"), key="observers", participants=[])
    for participant in meeting_participants(meeting):
        if participant.role in {Role.CHAIR, Role.SECRETARIAT}:
            officers.participants.append(participant)
        elif participant.role == Role.OBSERVER:
            observers.participants.append(participant)
        elif participant.delegation_id in groups:
            groups[participant.delegation_id].participants.append(participant)

    def order(p: Participant):
        return (ROLE_ORDER.get(p.role, 9), (p.user.get_full_name() or p.user.username).casefold())

    ordered = [officers, *sorted(groups.values(), key=lambda g: name_key(g.title)), observers]
    for group in ordered:
        group.participants.sort(key=order)
    return ordered


def get_meeting_participant(meeting: Meeting, pk: int) -> Participant | None:
    return meeting_participants(meeting).filter(pk=pk).first()
