"""Build real .docx files for the Word import tests, with python-docx and WordprocessingML.

`notes_to_docx` writes parsed session notes the way a secretariat's Word file holds them: real
list numbering (w:numPr), a real footnote (word/footnotes.xml), images in figures, boxes as a
one-cell table or as shaded paragraphs, headings in Heading 1 style.
"""
from __future__ import annotations

import re
import struct
import zlib
from io import BytesIO

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import qn

from sessions_app import importer

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUP_RE = re.compile(f"[{_SUP}]+")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")


def tiny_png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 2x2 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(colour) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _Builder:
    def __init__(self):
        self.doc = docx.Document()
        self.numbering = self.doc.part.numbering_part.element
        self.next_num = 100
        self.decimal = self._abstract("decimal")
        self.bullet = self._abstract("bullet")
        self.current_num: str | None = None
        self.expected_next = None
        self.footnotes: list[tuple[int, str]] = []  # (id, text)
        self.footnote_texts: dict[int, str] = {}

    def _abstract(self, fmt: str) -> str:
        aid = str(self.next_num)
        self.next_num += 1
        lvl_text = "%1." if fmt == "decimal" else "•"
        el = parse_xml(
            f'<w:abstractNum {W_NS} w:abstractNumId="{aid}"><w:multiLevelType w:val="hybridMultilevel"/>'
            f'<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{lvl_text}"/>'
            f'<w:lvlJc w:val="left"/></w:lvl></w:abstractNum>')
        first_num = self.numbering.find(qn("w:num"))
        if first_num is not None:
            first_num.addprevious(el)
        else:
            self.numbering.append(el)
        return aid

    def _num(self, abstract: str, start: int | None = None) -> str:
        nid = str(self.next_num)
        self.next_num += 1
        override = (f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="{start}"/></w:lvlOverride>'
                    if start is not None else "")
        self.numbering.append(parse_xml(
            f'<w:num {W_NS} w:numId="{nid}"><w:abstractNumId w:val="{abstract}"/>{override}</w:num>'))
        return nid

    def number(self, paragraph, num_id: str) -> None:
        ppr = paragraph._p.get_or_add_pPr()
        ppr.append(parse_xml(f'<w:numPr {W_NS}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>'))

    def runs(self, paragraph, text: str) -> None:
        """Bold spans as bold runs, superscript markers as real footnote references."""
        pos = 0
        for m in _BOLD_RE.finditer(text):
            self.plain(paragraph, text[pos:m.start()])
            paragraph.add_run(m.group(1)).bold = True
            pos = m.end()
        self.plain(paragraph, text[pos:])

    def plain(self, paragraph, text: str) -> None:
        pos = 0
        for m in _SUP_RE.finditer(text):
            number = int(m.group(0).translate(str.maketrans(_SUP, "0123456789")))
            if number not in self.footnote_texts:
                continue
            paragraph.add_run(text[pos:m.start()])
            fid = len(self.footnotes) + 1
            self.footnotes.append((fid, self.footnote_texts[number]))
            paragraph._p.append(parse_xml(
                f'<w:r {W_NS}><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                f'<w:footnoteReference w:id="{fid}"/></w:r>'))
            pos = m.end()
        if text[pos:]:
            paragraph.add_run(text[pos:])

    def para(self, text: str, *, numbered: int | None = None, bullet: bool = False, container=None):
        target = container if container is not None else self.doc
        p = target.add_paragraph()
        self.runs(p, text)
        if numbered is not None:
            if self.current_num is None or numbered != self.expected_next:
                self.current_num = self._num(self.decimal, start=numbered)
            self.number(p, self.current_num)
            self.expected_next = numbered + 1
        if bullet:
            self.number(p, self._num(self.bullet) if container is None else self.bullet_num)
        return p

    def figure(self, block: importer.Block) -> None:
        self.doc.add_paragraph(f"{self.words[0]} {block.number}. {block.title}", style="Caption")
        if block.subtitle:
            self.doc.add_paragraph(block.subtitle)
        self.doc.add_picture(BytesIO(tiny_png((block.number * 40 % 255, 90, 160))))
        if block.note:
            self.doc.add_paragraph(f"Note: {block.note}")
        if block.source:
            self.doc.add_paragraph(f"Source: {block.source}")

    def box_body(self, block: importer.Block, container) -> list:
        paragraphs = []
        for inner in block.body:
            if inner.kind == "list":
                self.bullet_num = self._num(self.bullet)
                for item in inner.items:
                    paragraphs.append(self.para(item, bullet=True, container=container))
            else:
                paragraphs.append(self.para(inner.text, container=container))
        if block.note:
            paragraphs.append(self.para(f"Note: {block.note}", container=container))
        if block.source:
            paragraphs.append(self.para(f"Source: {block.source}", container=container))
        return paragraphs

    def box(self, block: importer.Block, *, shaded: bool) -> None:
        if shaded:
            paragraphs = [self.para(f"{self.words[1]} {block.number}. {block.title}")]
            paragraphs += self.box_body(block, None)
            for p in paragraphs:
                p._p.get_or_add_pPr().append(parse_xml(f'<w:shd {W_NS} w:val="clear" w:color="auto" w:fill="DDEEFF"/>'))
            return
        cell = self.doc.add_table(rows=1, cols=1).cell(0, 0)
        cell.paragraphs[0].add_run(f"{self.words[1]} {block.number}. {block.title}").bold = True
        self.box_body(block, cell)

    def save(self) -> bytes:
        if self.footnotes:
            notes = "".join(
                f'<w:footnote w:id="{fid}"><w:p><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                f'<w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> {_escape(text)}</w:t></w:r></w:p></w:footnote>'
                for fid, text in self.footnotes)
            blob = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {W_NS}>'
                    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                    f'{notes}</w:footnotes>').encode()
            part = Part(PackURI("/word/footnotes.xml"),
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                        blob, self.doc.part.package)
            self.doc.part.relate_to(part, RT.FOOTNOTES)
        out = BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


WORDS = {"en": ("Figure", "Box", "Key questions for discussion", "References"),
         "fr": ("Graphique", "Encadré", "Questions clés pour la discussion", "Références")}


def notes_to_docx(notes: importer.MeetingNotes, *, language: str = "en") -> bytes:
    """The notes as a secretariat's Word document (see the module docstring)."""
    b = _Builder()
    b.words = WORDS[language]
    b.doc.add_paragraph(notes.title, style="Title")
    for line in (notes.place, notes.dates):
        if line:
            b.doc.add_paragraph(line)
    for session in notes.sessions:
        b.footnote_texts = {blk.number: blk.text for blk in session.blocks if blk.kind == "footnote"}
        # Session 1 typed out; the others only in Heading 1 style (the importer numbers them).
        title = f"Session {session.number}: {session.title}" if session.number == 1 else session.title
        b.doc.add_heading(title, level=1)
        for i, block in enumerate(session.blocks):
            if block.kind == "paragraph":
                b.para(block.text, numbered=block.number)
            elif block.kind == "list":
                num = b._num(b.bullet)
                for item in block.items:
                    p = b.doc.add_paragraph()
                    b.runs(p, item)
                    b.number(p, num)
            elif block.kind == "figure":
                b.figure(block)
            elif block.kind == "box":
                b.box(block, shaded=block.number % 2 == 0)
            # footnotes travel in word/footnotes.xml, referenced from their paragraph
        if session.questions:
            b.doc.add_heading(b.words[2], level=2)
            num = b._num(b.decimal)  # questions numbered in Word: they stay questions
            for q in session.questions:
                b.number(b.doc.add_paragraph(q.text), num)
    if notes.references:
        b.doc.add_heading(b.words[3], level=1)
        for ref in notes.references:
            b.doc.add_paragraph(f"{ref.text} [{ref.number}]")
    return b.save()
