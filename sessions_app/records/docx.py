"""One version of the summary record (draft or final) as a Word document."""
from __future__ import annotations

from django.utils.translation import gettext as _

from ..exports import common
from ..exports.docx_base import Writer
from ..exports.docx_summary import write_figures
from ..models import RecordVersion, Session


def build(version: RecordVersion) -> bytes:
    """The version's passages as issued, with its number and status, and its changes when final; each
    session's part ends with its briefing's figures (images from Word), as the summary record's does."""
    status = _("Draft for comments") if version.status == RecordVersion.Status.DRAFT else _("Final")
    writer = Writer(version.meeting, subtitle=_("Summary record, version %(number)s (%(status)s)")
                    % {"number": version.number, "status": status})
    sessions = {session.number: session for session in Session.objects.filter(meeting=version.meeting)}
    figures = common.figures_by_session(version.meeting, list(sessions.values()))
    current = None  # the session whose passages are being written

    def close_session():
        if current is not None and figures.get(current.pk):
            write_figures(writer, figures[current.pk])

    for passage in version.passages:
        if passage["kind"] == "heading":
            close_session()
            number = passage["key"][1:]
            current = sessions.get(int(number)) if number.isdigit() else None
            writer.heading(passage["text"], level=1)
        elif passage["kind"] == "question":
            writer.heading(passage["text"], level=2)
        else:
            writer.paragraph(passage["text"])
    close_session()
    if version.changes:
        writer.heading(_("Changes from version %(number)s") % {"number": version.number - 1}, level=1)
        for change in version.changes:
            writer.paragraph(change["after"], label=_("Now:"))
            writer.paragraph(change["before"], label=_("Was:"), italic=True)
    return writer.to_bytes()
