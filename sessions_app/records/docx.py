"""One version of the summary record (draft or final) as a Word document."""
from __future__ import annotations

from django.utils.translation import gettext as _

from ..exports.docx_base import Writer
from ..models import RecordVersion


def build(version: RecordVersion) -> bytes:
    """The version's passages as issued, with its number and status, and its changes when final."""
    status = _("Draft for comments") if version.status == RecordVersion.Status.DRAFT else _("Final")
    writer = Writer(version.meeting, subtitle=_("Summary record, version %(number)s (%(status)s)")
                    % {"number": version.number, "status": status})
    for passage in version.passages:
        if passage["kind"] == "heading":
            writer.heading(passage["text"], level=1)
        elif passage["kind"] == "question":
            writer.heading(passage["text"], level=2)
        else:
            writer.paragraph(passage["text"])
    if version.changes:
        writer.heading(_("Changes from version %(number)s") % {"number": version.number - 1}, level=1)
        for change in version.changes:
            writer.paragraph(change["after"], label=_("Now:"))
            writer.paragraph(change["before"], label=_("Was:"), italic=True)
    return writer.to_bytes()
