"""Session notes from a Word document (.docx): the same model the text importer makes.

Pure Python, no Django. The document is read as what it is (a zip of WordprocessingML parts)
and written out in the text conventions of `importer`, which then parses it: one set of rules
(paragraph order, boxes, figures, questions, references, refusals) for both formats.

What Word gives and where it goes:
- headings (Heading 1 style, or a paragraph reading "Session 1: ...") -> "Session N: Title";
- list numbering (w:numPr with a decimal format) -> "N. text", bullets -> "- text";
- a one-cell table, a text box, or consecutive shaded/bordered paragraphs -> a box;
- embedded images -> `WordNotes.images`, each tied to the figure whose caption is next to it;
- footnotes (word/footnotes.xml) -> a superscript marker and a "¹ text" line after the paragraph.
Bad files (not a zip, macros, encrypted, too large once expanded, unsupported images) raise
`NotesError` before anything is stored.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO

from lxml import etree

from ..importer import MeetingNotes, NotesError, gettext_noop, parse_notes

MAX_DOCX_BYTES = 50 * 1024 * 1024  # the file as uploaded
MAX_EXPANDED_BYTES = 200 * 1024 * 1024  # all its parts once unzipped: past this it is a zip bomb
MAX_RATIO = 200  # a part that expands more than this is a zip bomb too (text compresses ~10x)
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif"}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
V = "urn:schemas-microsoft-com:vml"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {"w": W, "r": R, "a": A, "v": V}
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SESSION_RE = re.compile(r"^(?:Session|Séance)\s+\d+\s*[:.–-]", re.I)
_QUESTIONS_RE = re.compile(r"^(?:Key questions|Questions)", re.I)
_REFERENCES_RE = re.compile(r"^(?:References|Références)\s*:?$", re.I)
_BOX_RE = re.compile(r"^(?:Box|Encadré)\s+\d+\s*[.:]")
_FIGURE_RE = re.compile(r"^(?:Figure|Graphique)\s+(\d+)\s*[.:]")
_REF_END_RE = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class Image:
    figure: int | None  # the figure it illustrates (None: not next to any figure caption)
    name: str  # its name in the document, e.g. image1.png
    content_type: str
    data: bytes


@dataclass(frozen=True)
class WordNotes:
    notes: MeetingNotes
    images: tuple[Image, ...]
    text: str  # the notes in the text conventions, as parsed (for a preview or a diff)


def is_word(data: bytes, name: str = "") -> bool:
    """Whether an upload is meant as a Word document (by its content, or its name)."""
    return data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or name.lower().endswith((".docx", ".docm", ".doc"))


def _sup(n: int) -> str:
    return "".join(_SUPERSCRIPTS[int(d)] for d in str(n))


def _xml(data: bytes) -> etree._Element:
    # No entities, no network, no huge trees: the file comes from outside.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise NotesError(gettext_noop("The Word document is damaged (a part is not valid XML).")) from None


class _Package:
    """The zip, checked before any part is read."""

    def __init__(self, data: bytes):
        if data.startswith(_OLE_MAGIC):
            raise NotesError(gettext_noop(
                "This Word file is encrypted (password-protected) or in the old .doc format: "
                "remove the password or save it as .docx, then import it again."))
        if len(data) > MAX_DOCX_BYTES:
            raise NotesError(
                gettext_noop("The file is too large (%(size)s bytes; the limit is %(limit)s MB)."),
                params={"size": len(data), "limit": MAX_DOCX_BYTES // (1024 * 1024)})
        try:
            self.zip = zipfile.ZipFile(BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise NotesError(gettext_noop("This is not a Word document (.docx): it is not a zip package.")) from None
        expanded = sum(info.file_size for info in infos)
        if expanded > MAX_EXPANDED_BYTES or any(
                info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
                for info in infos):
            raise NotesError(
                gettext_noop("The Word document expands to more than %(limit)s MB once unzipped: it is refused."),
                params={"limit": MAX_EXPANDED_BYTES // (1024 * 1024)})
        self.names = {info.filename for info in infos}
        if any(info.flag_bits & 0x1 for info in infos):
            raise NotesError(gettext_noop("This Word document is encrypted: remove the password and import it again."))
        types = self.read("[Content_Types].xml", required=True)
        if b"macroEnabled" in types or any(n.lower().endswith("vbaproject.bin") for n in self.names):
            raise NotesError(gettext_noop(
                "This Word document contains macros (.docm): save it as a plain .docx and import it again."))
        self.main = self._main_part()

    def read(self, name: str, *, required: bool = False) -> bytes:
        if name not in self.names:
            if required:
                raise NotesError(gettext_noop("This is not a Word document (.docx): the part %(part)s is missing."),
                                 params={"part": name})
            return b""
        info = self.zip.getinfo(name)
        try:
            with self.zip.open(info) as f:  # read at most what the header announced: no surprise
                data = f.read(info.file_size + 1)
        except (NotImplementedError, zipfile.BadZipFile, EOFError, OSError, zlib.error, RuntimeError):
            # An unknown compression method, a bad checksum, a cut-off file or a password.
            raise NotesError(gettext_noop("The Word document is damaged (a part cannot be unzipped).")) from None
        if len(data) > info.file_size:
            raise NotesError(gettext_noop("The Word document is damaged (a part is larger than announced)."))
        return data

    def _main_part(self) -> str:
        rels = _xml(self.read("_rels/.rels", required=True))
        for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                return rel.get("Target", "").lstrip("/")
        raise NotesError(gettext_noop("This is not a Word document (.docx): it has no main document part."))

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> part name, for the part `part`."""
        folder, base = posixpath.split(part)
        data = self.read(posixpath.join(folder, "_rels", base + ".rels"))
        if not data:
            return {}
        out = {}
        for rel in _xml(data).iter(f"{{{PKG_REL}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            out[rel.get("Id")] = (target.lstrip("/") if target.startswith("/")
                                  else posixpath.normpath(posixpath.join(folder, target)))
        return out


class _Numbering:
    """Word list numbering: which lists are numbered, where they start, and their counters."""

    def __init__(self, root: etree._Element | None):
        self.formats: dict[tuple[str, int], tuple[str, int]] = {}  # (numId, ilvl) -> (numFmt, start)
        self.counters: dict[tuple[str, int], int] = {}
        if root is None:
            return
        abstract = {}
        for an in root.iterfind("w:abstractNum", NS):
            levels = {}
            for lvl in an.iterfind("w:lvl", NS):
                fmt = lvl.find("w:numFmt", NS)
                start = lvl.find("w:start", NS)
                levels[int(lvl.get(f"{{{W}}}ilvl", "0"))] = (
                    fmt.get(f"{{{W}}}val") if fmt is not None else "decimal",
                    int(start.get(f"{{{W}}}val")) if start is not None else 1)
            abstract[an.get(f"{{{W}}}abstractNumId")] = levels
        for num in root.iterfind("w:num", NS):
            num_id = num.get(f"{{{W}}}numId")
            ref = num.find("w:abstractNumId", NS)
            levels = dict(abstract.get(ref.get(f"{{{W}}}val") if ref is not None else None, {}))
            for override in num.iterfind("w:lvlOverride", NS):
                ilvl = int(override.get(f"{{{W}}}ilvl", "0"))
                start = override.find("w:startOverride", NS)
                if start is not None and ilvl in levels:
                    levels[ilvl] = (levels[ilvl][0], int(start.get(f"{{{W}}}val")))
            for ilvl, value in levels.items():
                self.formats[(num_id, ilvl)] = value

    def label(self, num_id: str, ilvl: int) -> int | None:
        """The paragraph's number, or None for a bullet (or no list)."""
        fmt, start = self.formats.get((num_id, ilvl), ("bullet", 1))
        if num_id == "0" or fmt in ("bullet", "none"):
            return None
        key = (num_id, ilvl)
        self.counters[key] = self.counters.get(key, start - 1) + 1
        for (other, level) in list(self.counters):  # a deeper level restarts under a new parent
            if other == num_id and level > ilvl:
                del self.counters[(other, level)]
        return self.counters[key]


class _Writer:
    """Walks the body and writes lines in the text conventions."""

    def __init__(self, pkg: _Package):
        self.pkg = pkg
        main = pkg.main
        self.rels = pkg.rels(main)
        self.styles = self._styles()
        numbering = next((t for t in self.rels.values() if t.endswith("numbering.xml")), None)
        self.numbering = _Numbering(_xml(pkg.read(numbering)) if numbering and pkg.read(numbering) else None)
        self.footnotes = self._footnotes()
        self.footnote_numbers: dict[str, int] = {}
        self.lines: list[str] = []
        self.images: list[Image] = []
        self.pending_images: list[Image] = []  # images seen before their figure's caption
        self.figure: int | None = None
        self.mode = "body"  # "questions" | "references" once their headings pass
        self.session_count = 0
        self.box_count = 0

    def _styles(self) -> dict[str, str]:
        part = next((t for t in self.rels.values() if t.endswith("styles.xml")), None)
        data = self.pkg.read(part) if part else b""
        if not data:
            return {}
        out = {}
        for style in _xml(data).iterfind("w:style", NS):
            name = style.find("w:name", NS)
            out[style.get(f"{{{W}}}styleId")] = (name.get(f"{{{W}}}val") if name is not None else "").lower()
        return out

    def _footnotes(self) -> dict[str, list[etree._Element]]:
        part = next((t for t in self.rels.values() if t.endswith("footnotes.xml")), None)
        data = self.pkg.read(part) if part else b""
        if not data:
            return {}
        return {fn.get(f"{{{W}}}id"): fn.findall("w:p", NS) for fn in _xml(data).iterfind("w:footnote", NS)
                if fn.get(f"{{{W}}}type") in (None, "normal")}

    # Text of one paragraph -------------------------------------------------------------------

    def runs_text(self, p: etree._Element, notes: list[str] | None) -> str:
        out: list[str] = []
        for node in p.iter(f"{{{W}}}r", f"{{{W}}}txbxContent"):
            if node.tag == f"{{{W}}}txbxContent":
                continue
            if _in_text_box(node, p):
                continue  # a text box's text is its own box
            rpr = node.find("w:rPr", NS)
            bold = rpr is not None and _on(rpr.find("w:b", NS))
            italic = rpr is not None and _on(rpr.find("w:i", NS))
            piece = []
            for child in node:
                if child.tag == f"{{{W}}}t":
                    piece.append(child.text or "")
                elif child.tag == f"{{{W}}}tab":
                    piece.append(" ")
                elif child.tag in (f"{{{W}}}br", f"{{{W}}}cr"):
                    piece.append(" ")
                elif child.tag == f"{{{W}}}footnoteReference" and notes is not None:
                    fid = child.get(f"{{{W}}}id")
                    number = self.footnote_numbers.setdefault(fid, len(self.footnote_numbers) + 1)
                    piece.append(_sup(number))
                    body = " ".join(self.runs_text(fp, None) for fp in self.footnotes.get(fid, []))
                    notes.append(f"{_sup(number)} {body.strip()}")
            text = "".join(piece)
            if text.strip() and (bold or italic):
                lead, core, trail = _split_space(text)
                mark = "**" if bold else "*"
                text = f"{lead}{mark}{core}{mark}{trail}"
            out.append(text)
        # Adjacent runs of the same emphasis: "**a****b**" reads as "**ab**".
        return re.sub(r"\*\*\*\*", "", "".join(out)).strip()

    def images_in(self, node: etree._Element) -> list[Image]:
        found = []
        for blip in node.iter(f"{{{A}}}blip", f"{{{V}}}imagedata"):
            rid = blip.get(f"{{{R}}}embed") or blip.get(f"{{{R}}}id")
            target = self.rels.get(rid)
            if not target:
                continue
            name = posixpath.basename(target)
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            content_type = IMAGE_TYPES.get(ext)
            data = self.pkg.read(target)
            if content_type is None or not _looks_like(data, ext):
                raise NotesError(
                    gettext_noop("The image %(name)s is of a type that cannot be shown (only PNG, JPEG and GIF)."),
                    params={"name": name})
            found.append(Image(None, name, content_type, data))
        return found

    # Structure -------------------------------------------------------------------------------

    def style(self, p: etree._Element) -> str:
        ps = p.find("w:pPr/w:pStyle", NS)
        sid = ps.get(f"{{{W}}}val") if ps is not None else ""
        return self.styles.get(sid, sid.lower())

    def emit(self, line: str) -> None:
        self.lines += [line, ""]

    def add_images(self, images: list[Image]) -> None:
        for image in images:
            if self.figure is not None:
                self.images.append(Image(self.figure, image.name, image.content_type, image.data))
            else:
                self.pending_images.append(image)

    def paragraph(self, p: etree._Element, *, in_box: bool = False) -> None:
        self.add_images(self.images_in(p))
        for box in p.iter(f"{{{W}}}txbxContent"):
            if _in_text_box(box, p):
                continue
            self.box([c for c in box if c.tag in (f"{{{W}}}p", f"{{{W}}}tbl")])
        notes: list[str] = []
        text = self.runs_text(p, notes)
        if not text:
            return
        style = self.style(p)
        heading = style in ("heading 1", "title") or style.startswith("heading 1")
        if _QUESTIONS_RE.match(text) and (heading or style.startswith("heading") or text.rstrip().endswith(":")):
            self.mode = "questions"
            self.emit(text)
        elif _REFERENCES_RE.match(text.strip("*")):
            self.mode = "references"
            self.emit(text)
        elif _SESSION_RE.match(text.strip("*#")) or (heading and self.lines):
            # (A Heading 1 before anything else is the meeting's title, not a session.)
            self.mode = "body"
            typed = re.match(r"^\W*\w+\s+(\d+)", text) if _SESSION_RE.match(text.strip("*#")) else None
            if typed:
                self.session_count = int(typed.group(1))
            else:
                self.session_count += 1
                text = f"Session {self.session_count}: {text}"
            self.emit(text)
        else:
            m = _FIGURE_RE.match(text)
            if m:
                self.figure = int(m.group(1))
                self.add_images(self.pending_images)
                self.pending_images = []
            number = self.list_number(p)
            if self.mode in ("questions", "references") and number is not False:
                text = f"- {text}"  # a question or reference, whatever its list style
            elif self.mode == "references" and _REF_END_RE.search(text) and not text.startswith("- "):
                text = f"- {text}"
            elif number is False:
                pass
            elif number is None:
                text = f"- {text}"
            else:
                text = f"{number}. {text}"
            self.emit(text)
        for note in notes:
            self.emit(note)

    def list_number(self, p: etree._Element) -> int | None | bool:
        """False: not in a list; None: a bullet; else the number Word shows."""
        num = p.find("w:pPr/w:numPr", NS)
        if num is None:
            return False
        nid, lvl = num.find("w:numId", NS), num.find("w:ilvl", NS)
        num_id = nid.get(f"{{{W}}}val") if nid is not None else "0"
        ilvl = int(lvl.get(f"{{{W}}}val")) if lvl is not None else 0
        if num_id == "0":
            return False
        number = self.numbering.label(num_id, ilvl)
        return None if ilvl > 0 else number

    def box(self, children: list[etree._Element]) -> None:
        paragraphs = [c for c in children if c.tag == f"{{{W}}}p"]
        first = next((self.runs_text(p, None) for p in paragraphs if self.runs_text(p, None)), "")
        self.box_count += 1
        if not _BOX_RE.match(first.strip("*")):
            self.emit(f"Box {self.box_count}. {first or '-'}")
            paragraphs = paragraphs[1:] if first else paragraphs
        else:
            # "Box 3. Title" in bold reads as the title without its emphasis.
            self.lines += [first.replace("**", ""), ""]
            paragraphs = paragraphs[[bool(self.runs_text(p, None)) for p in paragraphs].index(True) + 1:]
        saved = self.mode
        self.mode = "box"
        for child in paragraphs:
            self.paragraph(child, in_box=True)
        self.mode = saved

    def body(self) -> None:
        root = _xml(self.pkg.read(self.pkg.main, required=True))
        body = root.find("w:body", NS)
        if body is None:
            raise NotesError(gettext_noop("This is not a Word document (.docx): it has no body."))
        children = list(body)
        i = 0
        while i < len(children):
            child = children[i]
            if child.tag == f"{{{W}}}tbl":
                cells = child.findall(".//w:tc", NS)
                if len(cells) == 1:
                    self.box(list(cells[0]))
                else:
                    for cell in cells:  # a real table: its cells' text, in order
                        for p in cell.iterfind("w:p", NS):
                            self.paragraph(p)
            elif child.tag == f"{{{W}}}p" and _framed(child):
                group = []
                while i < len(children) and children[i].tag == f"{{{W}}}p" and _framed(children[i]):
                    group.append(children[i])
                    i += 1
                self.box(group)
                continue
            elif child.tag == f"{{{W}}}p":
                self.paragraph(child)
            i += 1
        if self.pending_images:
            self.images += self.pending_images


def _in_text_box(node: etree._Element, paragraph: etree._Element) -> bool:
    """Whether `node` sits in a text box drawn inside `paragraph` (not the one holding the paragraph)."""
    for ancestor in node.iterancestors():
        if ancestor is paragraph:
            return False
        if ancestor.tag == f"{{{W}}}txbxContent":
            return True
    return False


def _on(el: etree._Element | None) -> bool:
    return el is not None and el.get(f"{{{W}}}val", "true") not in ("0", "false", "none")


def _framed(p: etree._Element) -> bool:
    """A paragraph with shading or a border: Word's way of drawing a box without a table."""
    ppr = p.find("w:pPr", NS)
    if ppr is None:
        return False
    shd = ppr.find("w:shd", NS)
    shaded = shd is not None and shd.get(f"{{{W}}}fill", "auto") not in ("auto", "FFFFFF", "ffffff")
    return shaded or ppr.find("w:pBdr", NS) is not None


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core):]


def image_content_type(data: bytes) -> str | None:
    """The type of an image the briefing can show (PNG, JPEG or GIF), read from its bytes; None otherwise."""
    for ext in ("png", "jpeg", "gif"):
        if _looks_like(data, ext):
            return IMAGE_TYPES[ext]
    return None


def _looks_like(data: bytes, ext: str) -> bool:
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "gif":
        return data.startswith((b"GIF87a", b"GIF89a"))
    return False


def docx_to_text(data: bytes) -> tuple[str, tuple[Image, ...]]:
    """The document as session notes in the text conventions, and its images."""
    if not data:
        raise NotesError(gettext_noop("The file is empty."))
    writer = _Writer(_Package(data))
    writer.body()
    return "\n".join(writer.lines), tuple(writer.images)


def parse_docx(data: bytes) -> WordNotes:
    """Parse a .docx into the model `importer.parse_notes` makes (NotesError when refused)."""
    text, images = docx_to_text(data)
    return WordNotes(parse_notes(text), images, text)
