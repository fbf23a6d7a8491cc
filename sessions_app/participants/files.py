"""Reading a participants file (CSV or XLSX) and checking its rows: pure, bytes in, checked rows out,
no database."""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django_countries import countries

from ..models import Participant

Role = Participant.Role

MAX_FILE_BYTES = 1024 * 1024
MAX_ROWS = 2000
# Cells a spreadsheet would run as a formula (OWASP's CSV-injection list, tab and CR included).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NAME_MAX = 150  # User.first_name
EMAIL_MAX = 150  # the e-mail becomes the username, which Django limits to 150



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
