"""The compendium of country practices as an editable Word document."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..models import Meeting, Practice, Session
from . import common
from .docx_base import Writer


def build(meeting: Meeting, *, session: Session | None = None) -> bytes:
    """The compendium of the meeting, or of one session, as .docx bytes."""
    return render(common.gather_compendium(meeting, session=session))


def render(compendium: common.Compendium) -> bytes:
    subtitle = _("Compendium of country practices")
    if compendium.scope_session is not None:
        subtitle = _("Compendium of country practices, session %(number)s") % {"number": compendium.scope_session.number}
    writer = Writer(compendium.meeting, subtitle=subtitle)
    if compendium.notice:
        writer.paragraph(compendium.notice, italic=True)

    for section in compendium.sessions:
        session = section.session
        writer.heading(_("Session %(number)s. %(title)s") % {"number": session.number, "title": session.title}, level=1)
        if not section.count:
            writer.paragraph(_("No practice was shared in this session."), italic=True)
        for theme in section.themes:
            writer.heading(theme.name, level=2)
            for group in theme.countries:
                if group.delegation is not None:
                    writer.heading(group.delegation.name, level=3)
                for practice in group.practices:
                    _render_practice(writer, practice, attributed=compendium.attributed)
    return writer.to_bytes()


def _render_practice(writer: Writer, practice: Practice, *, attributed: bool) -> None:
    writer.heading(practice.title, level=4)
    if attributed:
        writer.paragraph(practice.delegation.name, label=_("Delegation: "))
    writer.text(practice.description)
    if practice.link:
        writer.link(writer.paragraph(label=_("Link: ")), practice.link)
    relates_to = common.practice_relates_to(practice)
    if relates_to:
        writer.paragraph(relates_to, label=_("Relates to: "))
