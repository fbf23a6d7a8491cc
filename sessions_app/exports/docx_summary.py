"""The summary record as an editable Word document."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Answer, Block, FigureImage, Meeting, Session
from . import common
from .docx_base import Writer


def build(meeting: Meeting, *, session: Session | None = None) -> bytes:
    """The summary record of the meeting, or of one session, as .docx bytes."""
    return render(common.gather_summary(meeting, session=session))


def render(record: common.SummaryRecord) -> bytes:
    subtitle = _("Summary record")
    if record.scope_session is not None:
        subtitle = _("Summary record of session %(number)s") % {"number": record.scope_session.number}
    writer = Writer(record.meeting, subtitle=subtitle)
    if record.notice:
        writer.paragraph(record.notice, italic=True)

    writer.heading(_("Participating delegations"), level=1)
    if record.attributed:
        writer.paragraph(", ".join(delegation.name for delegation in record.delegations) or _("None recorded."))
    else:
        count = record.delegation_count
        writer.paragraph(ngettext("%(count)s delegation took part.", "%(count)s delegations took part.", count) % {"count": count})

    common.attach_figures(record)
    for session_record in record.sessions:
        _render_session(writer, session_record, attributed=record.attributed)
    return writer.to_bytes()


def write_figures(writer: Writer, figures: list[tuple[Block, list[FigureImage]]]) -> None:
    """The briefing's figures of one session: each figure's images, its caption, its note."""
    writer.heading(_("Figures from the briefing"), level=2)
    for block, images in figures:
        caption = _("Figure %(number)s. %(title)s") % {"number": block.number, "title": block.title}
        for image in images:
            writer.picture(bytes(image.data), description=caption)
        writer.paragraph(caption, style="Caption")
        note = block.text.strip()
        if note and note != block.title:
            writer.text(note, italic=True)


def _render_session(writer: Writer, record: common.SessionRecord, *, attributed: bool) -> None:
    session = record.session
    writer.heading(_("Session %(number)s. %(title)s") % {"number": session.number, "title": session.title}, level=1)

    writer.heading(_("Discussion questions"), level=2)
    for item in record.questions:
        writer.paragraph(item.question.text, label=f"{item.question.position}. ")
    if not record.questions:
        writer.paragraph(_("This session had no discussion question."), italic=True)

    writer.heading(_("Chair's conclusions"), level=2)
    if record.conclusions.strip():
        writer.text(record.conclusions)
    else:
        writer.paragraph(_("No conclusions were recorded."), italic=True)

    writer.heading(_("Key points"), level=2)
    for answer in record.key_points:
        label = common.contribution_label(answer, attributed)
        # One bullet per key point: its paragraphs become line breaks inside the bullet.
        text = "\n".join(common.split_paragraphs(common.contribution_text(answer)))
        writer.paragraph(text, label=f"{label}: " if label else "", style="List Bullet")
    if not record.key_points:
        writer.paragraph(_("No key point was marked."), italic=True)

    writer.heading(_("Contributions of delegations"), level=2)
    for item in record.questions:
        writer.heading(_("Question %(number)s") % {"number": item.question.position}, level=3)
        writer.paragraph(item.question.text, italic=True)
        for answer in item.contributions:
            label = common.contribution_label(answer, attributed)
            writer.text(
                common.contribution_text(answer), label=f"{label}: " if label else "", italic=answer.kind != Answer.Kind.ANSWER
            )
        if not item.contributions:
            writer.paragraph(_("No contribution was recorded."), italic=True)

    if record.figures:
        write_figures(writer, record.figures)

    if record.polls:
        writer.heading(_("Polls"), level=2)
        for poll_record in record.polls:
            _render_poll(writer, poll_record)

    if record.rounds:
        writer.heading(_("Statement rounds"), level=2)
        for round_record in record.rounds:
            _render_round(writer, round_record, attributed=attributed)

    if record.interventions:
        writer.heading(_("Interventions"), level=2)
        writer.paragraph(record.interventions_summary)
        # Under Chatham House the count is all the record says: a list, even unnamed, hints at who spoke.
        if attributed:
            rows = [[item.delegation, item.question, item.time, item.duration] for item in record.interventions]
            writer.table([_("Delegation"), _("Question"), _("Time"), _("Duration")], rows)


def _render_poll(writer: Writer, record: common.PollRecord) -> None:
    writer.heading(record.poll.prompt, level=3)
    for fact in record.facts:
        writer.paragraph(fact)
    rows = record.rows
    if rows:
        writer.table(record.headers, rows)
    else:
        writer.paragraph(_("No vote was cast."), italic=True)


def _render_round(writer: Writer, record, *, attributed: bool) -> None:
    """A round's consensus, then each opinion group with its representative statements (names only if attributed)."""
    writer.heading(record.round.title, level=3)
    writer.paragraph(record.facts)
    writer.paragraph(_("Consensus"), italic=True)
    for line in record.consensus:
        writer.paragraph(line, style="List Bullet")
    if not record.consensus:
        writer.paragraph(_("No statement found consensus."), italic=True)
    for group in record.groups:
        count = ngettext("%(count)s delegation", "%(count)s delegations", group.size) % {"count": group.size}
        who = f"{count}: {', '.join(group.members)}" if attributed and group.members else count
        writer.paragraph(_("Group %(label)s (%(who)s)") % {"label": group.label, "who": who}, italic=True)
        for line in group.representative:
            writer.paragraph(line, style="List Bullet")
        if not group.representative:
            writer.paragraph(_("No statement sets this group apart."), italic=True)
