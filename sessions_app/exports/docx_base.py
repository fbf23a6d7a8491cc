"""Word building blocks shared by the summary record and the compendium.

Every string goes through `clean_text` first: python-docx refuses control characters. The
documents use Word's built-in styles (Title, Heading n, List Bullet, Table Grid) so that the
secretariat can restyle them.

For a record of 10,000 answers python-docx's conveniences cost more than the writing: it looks a
style up by name with an XPath search on every paragraph, finds the end of the body by scanning all
paragraphs before inserting one, sets run text one character at a time and scans every
relationship before adding a link. `Writer` resolves each style once, inserts before the section
properties it keeps, writes plain runs directly and numbers its own links; that halves the time
(see bench/bench_exports.py).
"""

from __future__ import annotations

from io import BytesIO

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor
from docx.text.paragraph import Paragraph

from ..models import Meeting
from .common import clean_text, meeting_dates, split_paragraphs, web_link


MAX_PICTURE_WIDTH = Inches(6)  # the text's width on A4 or Letter with Word's default margins


class Writer:
    """One Word document being written, top to bottom."""

    def __init__(self, meeting: Meeting, *, subtitle: str):
        """A document opening with the meeting's title, what the document is, place and dates."""
        self.document = docx.Document()
        self._body = self.document._body
        self._end = self.document.element.body.get_or_add_sectPr()
        self._style_ids: dict[str, str] = {}
        self._links: dict[str, str] = {}
        properties = self.document.core_properties
        properties.title = clean_text(f"{meeting.title} — {subtitle}")[:255]
        properties.language = meeting.language
        properties.author = ""
        normal = self.document.styles["Normal"]
        normal.font.size = Pt(11)
        # Spelling and hyphenation follow the language the meeting's texts are written in.
        language = OxmlElement("w:lang")
        language.set(qn("w:val"), meeting.language)
        normal.element.get_or_add_rPr().append(language)

        self.heading(meeting.title, level=0)
        self.paragraph(subtitle, style="Subtitle")
        details = " · ".join(part for part in (meeting.place, meeting_dates(meeting)) if part)
        if details:
            self.paragraph(details)

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    @staticmethod
    def _run(paragraph: Paragraph, text: str, *, bold: bool = False, italic: bool = False) -> None:
        run = paragraph.add_run()
        if "\n" in text or "\t" in text:
            run.text = text  # python-docx turns these into <w:br/> and <w:tab/>
        else:
            run._r.add_t(text)
        if bold:
            run.bold = True
        if italic:
            run.italic = True

    def heading(self, text: str, *, level: int) -> Paragraph:
        return self.paragraph(text, style="Title" if level == 0 else f"Heading {level}")

    def paragraph(self, text: str = "", *, label: str = "", style: str | None = None, italic: bool = False) -> Paragraph:
        """One paragraph; `label` (a delegation, a field name) opens it in bold."""
        element = OxmlElement("w:p")
        self._end.addprevious(element)
        paragraph = Paragraph(element, self._body)
        if style is not None:
            paragraph._p.style = self._style_id(style)
        if label:
            self._run(paragraph, clean_text(label), bold=True)
        if text:
            self._run(paragraph, clean_text(text), italic=italic)
        return paragraph

    def text(self, text: str, *, label: str = "", italic: bool = False, style: str | None = None) -> None:
        """Text that may hold several paragraphs; the label opens the first one."""
        for index, part in enumerate(split_paragraphs(text) or [""]):
            self.paragraph(part, label=label if index == 0 else "", italic=italic, style=style)

    def table(self, headers: list[str], rows: list[list[object]]) -> None:
        table = self.document.add_table(rows=1, cols=len(headers))
        table.style = self.document.styles["Table Grid"]
        header_row = table.rows[0]
        # The header row repeats on every page the table runs over.
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        header_row._tr.get_or_add_trPr().append(repeat)
        for cell, header in zip(header_row.cells, headers):
            self._run(cell.paragraphs[0], clean_text(header), bold=True)
        for row in rows:
            for cell, value in zip(table.add_row().cells, row):
                cell.text = clean_text("" if value is None else value)

    def picture(self, data: bytes, *, description: str) -> None:
        """An image (PNG, JPEG or GIF bytes) in a paragraph of its own, at most the text's width, with
        `description` as its alternative text for screen readers."""
        paragraph = self.paragraph()
        run = paragraph.add_run()
        shape = run.add_picture(BytesIO(data))
        if shape.width > MAX_PICTURE_WIDTH:
            shape.height, shape.width = int(shape.height * MAX_PICTURE_WIDTH / shape.width), MAX_PICTURE_WIDTH
        shape._inline.docPr.set("descr", clean_text(description))

    def link(self, paragraph: Paragraph, url: str) -> None:
        """A clickable web address; anything that is not a plain http(s) link stays text."""
        target, text = web_link(url), clean_text(url).strip()
        if not target:
            self._run(paragraph, text)
            return
        if target not in self._links:
            relationship_id = f"rIdLink{len(self._links) + 1}"
            paragraph.part.rels.add_relationship(RELATIONSHIP_TYPE.HYPERLINK, target, relationship_id, is_external=True)
            self._links[target] = relationship_id
        relationship = self._links[target]
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), relationship)
        run = paragraph.add_run(text)
        run.font.underline = True
        run.font.color.rgb = RGBColor(0x0B, 0x4F, 0x8A)
        run._r.addprevious(link)
        link.append(run._r)

    def to_bytes(self) -> bytes:
        buffer = BytesIO()
        self.document.save(buffer)
        return buffer.getvalue()
