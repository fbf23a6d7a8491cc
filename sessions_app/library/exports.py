"""The library's current filter as a compendium (.docx), CSV and XLSX: the practices a person sees on
the library page for the same search and filters (the same visibility rules), in the page's order.

Reuses the meetings' export writers (exports/docx_base.py, exports/tabular.py), which clean text and
neutralise spreadsheet formulas. A practice names its country, never the person; the contact point
appears only with the delegation's consent.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..exports import tabular
from ..exports.docx_base import Writer
from ..models import Meeting, Practice
from . import queries

CHUNK = 500
# An export is one request: past this many practices, narrow the search.
MAX_EXPORT = 20_000


def matching(user, *, query: str, filters: dict) -> Iterator[Practice]:
    """Every practice of the search, best first (newest first without words), a chunk at a time."""
    ids = queries.search_library(user, query=query, filters=filters, candidates=MAX_EXPORT).ids
    total = min(ids.count(), MAX_EXPORT)
    for offset in range(0, total, CHUNK):
        yield from queries.load_page(ids[offset : min(offset + CHUNK, total)])


def headers() -> list[str]:
    return [
        _("Practice id"), _("Title"), _("Delegation code"), _("Delegation"), _("Themes"), _("Level of government"),
        _("Status"), _("Year started"), _("Language"), _("Meeting"), _("Session"), _("Description"),
        _("Problem it addresses"), _("What was done"), _("Results or evidence"), _("Lessons"), _("Links"),
        _("Contact point"), _("Verified"), _("Address"),
    ]  # fmt: skip


def rows(practices, *, base_url: str) -> Iterator[list[object]]:
    for practice in practices:
        yield [
            practice.pk, practice.title, practice.delegation.code, practice.delegation.name,
            "; ".join(theme.name for theme in practice.library_themes.all()), practice.get_level_display(),
            practice.get_status_display(), practice.year_started, practice.language, practice.session.meeting.title,
            practice.session.number, practice.description, practice.problem, practice.what_was_done, practice.results,
            practice.lessons, practice.links, practice.contact if practice.contact_consent else "", practice.verified,
            f"{base_url}/practices/{practice.pk}/",
        ]  # fmt: skip


def library_csv(user, *, query: str, filters: dict, base_url: str) -> Iterator[bytes]:
    return tabular.stream_csv(headers(), rows(matching(user, query=query, filters=filters), base_url=base_url))


def library_xlsx(user, *, query: str, filters: dict, base_url: str) -> bytes:
    return tabular.build_xlsx(
        _("Practices"), headers(), rows(matching(user, query=query, filters=filters), base_url=base_url),
        widths={2: 40, 4: 18, 5: 30, 10: 30, 12: 60, 13: 40, 14: 40, 15: 40, 16: 40},
    )  # fmt: skip


def describe(query: str, filters: dict) -> str:
    """The search as a sentence for the document's subtitle."""
    parts = []
    if query.strip():
        parts.append(_("search “%(query)s”") % {"query": query.strip()[:200]})
    for name, values in filters.items():
        parts.append(f"{name}: {', '.join(values)}")
    return "; ".join(parts)


def library_docx(user, *, query: str, filters: dict) -> bytes:
    """A compendium of the search's practices: one section per practice with its library fields."""
    # The writer opens with a meeting's title; the library's compendium has its own, and no place or dates.
    heading = Meeting(title=_("Practice library"), language=(get_language() or "en")[:2], place="", dates_text="")
    description = describe(query, filters)
    subtitle = _("Compendium of country practices")
    if description:
        subtitle = _("Compendium of country practices (%(search)s)") % {"search": description}
    writer = Writer(heading, subtitle=subtitle)
    count = 0
    for practice in matching(user, query=query, filters=filters):
        count += 1
        writer.heading(practice.title, level=1)
        writer.paragraph(practice.delegation.name, label=_("Country: "))
        meeting = practice.session.meeting
        writer.paragraph(
            _("%(meeting)s, session %(number)s. %(title)s")
            % {"meeting": meeting.title, "number": practice.session.number, "title": practice.session.title},
            label=_("Shared at: "),
        )
        themes = ", ".join(theme.name for theme in practice.library_themes.all())
        if themes:
            writer.paragraph(themes, label=_("Themes: "))
        facts = " · ".join(
            str(part) for part in (practice.get_level_display(), practice.get_status_display(), practice.year_started) if part
        )
        if facts:
            writer.paragraph(facts)
        writer.text(practice.description)
        for label, value in (
            (_("Problem it addresses: "), practice.problem),
            (_("What was done: "), practice.what_was_done),
            (_("Results or evidence: "), practice.results),
            (_("Lessons: "), practice.lessons),
        ):
            if value:
                writer.text(value, label=label)
        for line in practice.links.splitlines():
            if line.strip().startswith(("http://", "https://")):
                writer.link(writer.paragraph(label=_("Link: ")), line.strip())
        if practice.contact and practice.contact_consent:
            writer.paragraph(practice.contact, label=_("Contact point: "))
    if not count:
        writer.paragraph(_("No practice matches this search."), italic=True)
    return writer.to_bytes()
