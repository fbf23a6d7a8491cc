"""Bulk import of a compendium spreadsheet (CSV or XLSX) into one meeting's practices, by the secretariat.

Three steps, and nothing is stored before the last: read the file (a clear error for a wrong
encoding, a file too large, a file that is not a spreadsheet), map its columns to practice fields
(suggested from the header names, in English or French), then check every row and import all of
them in one transaction, or none if any row has an error (each error names its row).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from ..access import is_secretariat
from ..models import Delegation, LibraryTheme, Meeting, Practice, PracticeLevel, PracticeStatus, Visibility
from ..services import ActionRefused
from . import search

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 60
MAX_THEMES = 3

# The practice fields a column can fill, with the header names (folded) that suggest them.
FIELDS = {
    "title": (gettext_lazy("Title"), ("title", "titre", "practice", "pratique", "name", "nom")),
    "description": (gettext_lazy("Description"), ("description", "summary", "resume", "text", "texte")),
    "country": (gettext_lazy("Country"), ("country", "pays", "delegation", "country code", "code pays", "iso")),
    "session": (gettext_lazy("Session number"), ("session", "seance", "session number", "numero de session")),
    "themes": (gettext_lazy("Themes"), ("themes", "theme", "topics", "sujets", "thematiques")),
    "level": (gettext_lazy("Level of government"), ("level", "level of government", "niveau", "niveau d administration", "niveau de gouvernement")),
    "status": (gettext_lazy("Status"), ("status", "statut", "etat", "stage", "stade")),
    "year_started": (gettext_lazy("Year started"), ("year", "year started", "annee", "annee de lancement", "start year", "depuis")),
    "problem": (gettext_lazy("Problem it addresses"), ("problem", "probleme", "problem addressed", "probleme traite", "challenge", "defi")),
    "what_was_done": (gettext_lazy("What was done"), ("what was done", "ce qui a ete fait", "actions", "measures", "mesures")),
    "results": (gettext_lazy("Results or evidence"), ("results", "resultats", "evidence", "preuves", "impact")),
    "lessons": (gettext_lazy("Lessons"), ("lessons", "lessons learned", "lecons", "enseignements", "lecons apprises")),
    "links": (gettext_lazy("Links"), ("links", "link", "liens", "lien", "url", "website", "site web")),
    "contact": (gettext_lazy("Contact point"), ("contact", "contact point", "point de contact")),
    "language": (gettext_lazy("Language of the text"), ("language", "langue")),
}  # fmt: skip
REQUIRED = ("title", "description", "country")
TEXT_LIMITS = {"title": 200, "contact": 300, "language": 10}
LONG_TEXT_LIMIT = 20_000
LEVEL_WORDS = {"national": "national", "regional": "regional", "local": "local", "several": "several", "plusieurs": "several",
               "several levels": "several", "plusieurs niveaux": "several", "federal": "national", "municipal": "local"}  # fmt: skip
STATUS_WORDS = {"idea": "idea", "idee": "idea", "pilot": "pilot", "pilote": "pilot", "running": "running", "en cours": "running",
                "evaluated": "evaluated", "evalue": "evaluated", "evaluee": "evaluated", "ended": "ended", "termine": "ended",
                "terminee": "ended", "ongoing": "running"}  # fmt: skip


@dataclass
class Sheet:
    """The file as read: its header cells and its data rows (cells as text), nothing stored."""

    name: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Checked:
    practices: list[dict] = field(default_factory=list)  # one per data row, fields ready for Practice(...)
    errors: list[str] = field(default_factory=list)  # each names its row


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a year typed in Excel arrives as 2019.0
    return str(value).replace("\x00", "").strip()


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise ActionRefused(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into several files.")
            % {"size": round(size / 2**20, 1), "limit": MAX_BYTES // 2**20}
        )


def read_spreadsheet(name: str, data: bytes) -> Sheet:
    """The rows of a CSV (UTF-8) or XLSX file, or ActionRefused saying what is wrong with the file."""
    check_size(len(data))
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        rows = _read_xlsx(data)
    elif lowered.endswith((".csv", ".txt")):
        rows = _read_csv(data)
    else:
        raise ActionRefused(_("Choose a CSV (.csv) or Excel (.xlsx) file."))
    # Trailing empty rows are how spreadsheets end; an empty row between practices is an error below.
    while rows and not any(rows[-1]):
        rows.pop()  # and the empty cells Excel reports past the last value

    if not rows or not any(rows[0]):
        raise ActionRefused(_("The file has no header row: its first row must name the columns."))
    if len(rows) - 1 > MAX_ROWS:
        raise ActionRefused(_("The file has %(count)s rows; the limit is %(limit)s.") % {"count": len(rows) - 1, "limit": MAX_ROWS})
    if len(rows) == 1:
        raise ActionRefused(_("The file has a header row but no practice under it."))
    headers = rows[0][:MAX_COLUMNS]
    while headers and not headers[-1]:
        headers.pop()  # a workbook's empty columns after the last named one
    width = len(headers)
    return Sheet(name=name, headers=headers, rows=[(row + [""] * width)[:width] for row in rows[1:]])


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ActionRefused(
            _("The file is not UTF-8 text (a byte at position %(position)s cannot be read). In your spreadsheet, "
              "save it as “CSV UTF-8”, or as an Excel file.") % {"position": error.start}
        ) from error  # fmt: skip
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [[_cell(value) for value in row] for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as error:
        raise ActionRefused(_("The CSV file cannot be read: %(error)s") % {"error": error}) from error


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ActionRefused(_("The file is not an Excel workbook (.xlsx) that can be read.")) from error
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append([_cell(value) for value in row])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def suggest_mapping(headers: list[str]) -> list[str]:
    """For each column, the field its header names (in English or French), or "" to leave it out."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        words = " ".join(search.terms(header.replace("_", " ")))
        choice = ""
        for name, (_label, names) in FIELDS.items():
            if name not in taken and words in names:
                choice = name
                break
        taken.add(choice)
        mapping.append(choice)
    return mapping


def field_choices() -> list[tuple[str, str]]:
    return [("", _("(leave out)"))] + [(name, str(label)) for name, (label, _names) in FIELDS.items()]


def _country(value: str) -> str | None:
    code = value.strip().upper()
    if code in dict(countries):
        return code
    folded = search.fold(value.strip())
    for candidate, english in countries:
        if search.fold(str(english)) == folded:
            return candidate
    return _french_countries().get(folded)


def _french_countries() -> dict[str, str]:
    from django.utils import translation

    with translation.override("fr"):
        return {search.fold(str(name)): code for code, name in countries}


def _themes() -> dict[str, LibraryTheme]:
    names = {}
    for theme in LibraryTheme.objects.all():
        for key in (theme.slug, theme.name_en, theme.name_fr):
            if key:
                names[search.fold(key).strip()] = theme
    return names


def check_rows(sheet: Sheet, mapping: list[str], meeting: Meeting) -> Checked:
    """Every row checked against the mapping: the practices it would create, and an error per bad row."""
    checked = Checked()
    if len(mapping) != len(sheet.headers) or any(name and name not in FIELDS for name in mapping):
        checked.errors.append(_("The column mapping does not fit the file; map its columns again."))
        return checked
    chosen = [name for name in mapping if name]
    for name in sorted({n for n in chosen if chosen.count(n) > 1}):
        checked.errors.append(_("Two columns are mapped to “%(field)s”: keep one.") % {"field": FIELDS[name][0]})
    for name in REQUIRED:
        if name not in chosen:
            checked.errors.append(_("No column is mapped to “%(field)s”, which every practice needs.") % {"field": FIELDS[name][0]})
    if checked.errors:
        return checked
    sessions = {session.number: session for session in meeting.sessions.all()}
    if not sessions:
        checked.errors.append(_("The meeting has no session to hold the practices; import its notes first."))
        return checked
    first_session = min(sessions)
    themes = _themes()
    for number, row in enumerate(sheet.rows, start=2):  # row 1 is the header, as the spreadsheet numbers it
        values = {name: row[index] for index, name in enumerate(mapping) if name}
        if not any(row):
            checked.errors.append(_("Row %(row)s is empty: delete it or fill it in.") % {"row": number})
            continue
        problems, practice = _check_row(values, sessions, first_session, themes)
        for problem in problems:
            checked.errors.append(_("Row %(row)s: %(problem)s") % {"row": number, "problem": problem})
        if not problems:
            checked.practices.append(practice)
    return checked


def _check_row(values: dict, sessions: dict, first_session: int, themes: dict) -> tuple[list[str], dict]:
    problems: list[str] = []
    practice: dict = {"themes": []}
    for name in REQUIRED:
        if not values.get(name):
            problems.append(_("“%(field)s” is empty.") % {"field": FIELDS[name][0]})
    code = _country(values["country"]) if values.get("country") else None
    if values.get("country") and code is None:
        problems.append(_("“%(value)s” is not a country (give its name or its two-letter ISO code).") % {"value": values["country"][:80]})
    practice["country"] = code
    session_text = values.get("session", "")
    if session_text:
        number = int(session_text) if session_text.isdigit() else None
        if number not in sessions:
            problems.append(_("the meeting has no session “%(value)s”.") % {"value": session_text[:20]})
        practice["session"] = sessions.get(number)
    else:
        practice["session"] = sessions[first_session]
    for name in ("title", "description", "problem", "what_was_done", "results", "lessons", "links", "contact", "language"):
        value = values.get(name, "")
        limit = TEXT_LIMITS.get(name, LONG_TEXT_LIMIT)
        if len(value) > limit:
            problems.append(_("“%(field)s” is longer than %(limit)s characters.") % {"field": FIELDS[name][0], "limit": limit})
        practice[name] = value
    if practice["links"]:
        # One link per line in the library; a spreadsheet cell often separates them with ; or spaces.
        practice["links"] = "\n".join(part for part in practice["links"].replace(";", " ").split() if part)
    for name, words, choices in (("level", LEVEL_WORDS, PracticeLevel), ("status", STATUS_WORDS, PracticeStatus)):
        value = values.get(name, "")
        key = search.fold(value).strip()
        practice[name] = words.get(key, key if key in choices.values else "")
        if value and not practice[name]:
            allowed = ", ".join(str(label) for label in choices.labels)
            problems.append(_("“%(value)s” is not a value of “%(field)s” (one of: %(allowed)s).") % {"value": value[:40], "field": FIELDS[name][0], "allowed": allowed})
    year = values.get("year_started", "")
    practice["year_started"] = None
    if year:
        if year.isdigit() and 1900 <= int(year) <= 2100:
            practice["year_started"] = int(year)
        else:
            problems.append(_("the year started “%(value)s” is not a year such as 2021.") % {"value": year[:20]})
    theme_text = values.get("themes", "")
    if theme_text:
        parts = [part.strip() for part in theme_text.replace(",", ";").split(";") if part.strip()]
        unknown = [part for part in parts if search.fold(part) not in themes]
        if unknown:
            problems.append(_("“%(value)s” is not a theme of the library (its themes page lists them).") % {"value": unknown[0][:80]})
        chosen = list({themes[search.fold(part)].pk: themes[search.fold(part)] for part in parts if search.fold(part) in themes}.values())
        if len(chosen) > MAX_THEMES:
            problems.append(_("a practice has at most three themes."))
        practice["themes"] = chosen
    return problems, practice


@transaction.atomic
def import_practices(meeting: Meeting, *, user: User, sheet: Sheet, mapping: list[str]) -> int:
    """Create every row's practice, published in the meeting, or none: ActionRefused lists the row errors."""
    if not is_secretariat(user):
        raise ActionRefused(_("Only the secretariat imports practices."))
    checked = check_rows(sheet, mapping, meeting)
    if checked.errors:
        raise ActionRefused(" ".join(checked.errors[:20]))
    delegations = {}
    for entry in checked.practices:
        code = entry["country"]
        if code not in delegations:
            delegations[code], _made = Delegation.objects.get_or_create(country=code)
    meeting.delegations.add(*delegations.values())
    for entry in checked.practices:
        practice = Practice.objects.create(
            session=entry["session"], delegation=delegations[entry["country"]], title=entry["title"],
            description=entry["description"], problem=entry["problem"], what_was_done=entry["what_was_done"],
            results=entry["results"], lessons=entry["lessons"], links=entry["links"], contact=entry["contact"],
            language=entry["language"][:10], level=entry["level"], status=entry["status"],
            year_started=entry["year_started"], visibility=Visibility.PUBLISHED, created_by=user, updated_by=user,
        )  # fmt: skip
        if entry["themes"]:
            practice.library_themes.set(entry["themes"])  # re-indexes the practice with its themes
    return len(checked.practices)
