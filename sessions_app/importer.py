"""Parse a meeting's "session notes" (a briefing converted from PDF to markdown-ish text).

Pure Python, no Django: the import command, the import page and the exports all build on it. The
text's inline markup (emphasis, links, citations, footnote markers) is rendered by `markup`.

Conventions (see meetings/oecd-cog-2023.txt): a front matter (title, place, dates lines), then
``Session N: Title`` headings holding numbered paragraphs ``N. text``, bullet lists, ``Figure N.``
and ``Box N.`` blocks (closed by ``Note:``/``Source:``), superscript footnotes and a
"Key questions for discussion" list; a final ``References`` list of ``- text [n]`` lines.
PDF page breaks cut paragraphs with blank lines, so text after blank lines continues the
previous paragraph when that one does not end a sentence.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from .markup import SUP_TO_DIGIT, SUPERSCRIPTS

# The inline markup's renderers, importable from here as they were before markup.py held them.
from .markup import plain_text, render_block_html, render_inline  # noqa: F401

MAX_NOTES_BYTES = 2 * 1024 * 1024


def gettext_noop(message: str) -> str:
    """Marks a message for the translation catalogue (makemessages knows this name); no Django here."""
    return message


class NotesError(ValueError):
    """A session-notes file that cannot be imported; .line is the 1-based line number or None.

    .message is in English (logs, the command line); pages show `localized(gettext)`, in the
    reader's language: the untranslated message and its named values are kept for that.
    """

    def __init__(self, message: str, *, line: int | None = None, params: dict | None = None):
        self.template, self.params = message, params or {}
        self.message = message % self.params if params else message
        self.line = line
        super().__init__(self._with_line(self.message, gettext_noop("Line %(line)s: %(message)s")))

    def _with_line(self, message: str, pattern: str) -> str:
        return pattern % {"line": self.line, "message": message} if self.line is not None else message

    def localized(self, gettext: Callable[[str], str]) -> str:
        """The message, with its line, translated by `gettext` (Django's, for the active language)."""
        message = gettext(self.template) % self.params if self.params else gettext(self.template)
        return self._with_line(message, gettext("Line %(line)s: %(message)s"))


@dataclass(frozen=True)
class Block:
    kind: str  # "paragraph" | "list" | "figure" | "box" | "footnote" | "heading" (in box bodies)
    line: int
    number: int | None = None
    title: str = ""
    subtitle: str = ""
    text: str = ""
    items: tuple[str, ...] = ()
    body: tuple["Block", ...] = ()
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class Question:
    text: str
    line: int


@dataclass(frozen=True)
class SessionNotes:
    number: int
    title: str
    line: int
    blocks: tuple[Block, ...]
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Reference:
    number: int
    text: str


@dataclass(frozen=True)
class MeetingNotes:
    title: str
    place: str
    dates: str
    start_date: date | None
    end_date: date | None
    sessions: tuple[SessionNotes, ...]
    references: tuple[Reference, ...]


# --- Line classification ------------------------------------------------------------------


# Headings may come wrapped in markdown (#, ** or *) depending on the PDF converter.
_WRAP = r"(?:\#+\s*)?[*_]*"
# English and French keywords: a meeting's notes may come in either language (or both, one file each).
_SESSION_RE = re.compile(rf"^{_WRAP}(?:Session|Séance)\s+(\d+)\s*[:.–-]\s*(.+?)[*_]*$", re.I)
_PARA_RE = re.compile(r"^(\d{1,3})\.\s+(\S.*)$")  # 1-3 digits: a wrapped "2009. The" is no paragraph
_BULLET_RE = re.compile(r"^[-•*]\s+(\S.*)$")
_FIGURE_RE = re.compile(r"^(?:Figure|Graphique)\s+(\d+)\s*[.:]\s*(.+)$")
_BOX_RE = re.compile(r"^(?:Box|Encadré)\s+(\d+)\s*[.:]\s*(.+)$")
_NOTE_RE = re.compile(r"^Notes?\s?:\s*(.*)$")  # French typography puts a space before the colon
_SOURCE_RE = re.compile(r"^Sources?\s?:\s*(.*)$")
_QUESTIONS_RE = re.compile(
    rf"^{_WRAP}(?:Key questions(?: for discussion)?|Questions(?: clés)? pour (?:la )?discussion|Questions clés)"
    r"\s*:?[*_]*\s*:?$", re.I)
_REFERENCES_RE = re.compile(rf"^{_WRAP}(?:References|Références)[*_]*\s*:?$", re.I)
_FOOTNOTE_RE = re.compile(rf"^([{SUPERSCRIPTS}]+)\s*(\S.*)$")
_PAGE_NUMBER_RE = re.compile(r"^\d{1,3}$")
_REF_NUMBER_RE = re.compile(r"^(.*?)\s*\\?\[(\d+)\\?\]$", re.S)
_CITATION_RE = re.compile(r"(?<!\\)\^\[(\d+)\]")
_UNWRAP_RE = re.compile(r"^(\*{1,3}|_)(?=[^\s*_])(.*?[^\s\\])\1$", re.S)
_LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n")  # not str.splitlines: \f must not shift line numbers

# Closing quotes/brackets/emphasis that may follow a sentence's final punctuation: .” .) .*
_CLOSERS = "\"'”’»)]*_"
_HEADING_MAX = 120  # a box sub-heading is a short line


def _ends_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSERS).endswith((".", "?", "!", ":"))


def _note_open(text: str) -> bool:
    """A note/source continues after blank lines unless it ended a sentence; a final ':' announces more."""
    return not _ends_sentence(text) or text.rstrip().rstrip(_CLOSERS).endswith(":")


def _unwrap(text: str) -> str:
    """Strip an emphasis wrapper around the whole text (``*question?*`` -> ``question?``)."""
    m = _UNWRAP_RE.match(text)
    return m.group(2) if m and m.group(1) not in m.group(2) else text


_Match = re.Match[str] | None


def _classify(s: str) -> tuple[str, _Match]:
    for kind, regex in (("session", _SESSION_RE), ("para", _PARA_RE), ("figure", _FIGURE_RE),
                        ("box", _BOX_RE), ("note", _NOTE_RE), ("source", _SOURCE_RE),
                        ("questions", _QUESTIONS_RE), ("references", _REFERENCES_RE),
                        ("footnote", _FOOTNOTE_RE), ("bullet", _BULLET_RE)):
        m = regex.match(s)
        if m:
            return kind, m
    return "text", None


# --- Dates ------------------------------------------------------------------------------------

_MONTHS = {name: i + 1 for names in (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "janvier fevrier mars avril mai juin juillet aout sept octobre novembre decembre",
) for i, name in enumerate(names.split())}
_M = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:er|st|nd|rd|th)?"
# "22 November 2023", "22-23 novembre 2023", "30 November - 1 December 2023", across years too.
_DATES_RE = re.compile(
    rf"^{_DAY}(?:\s+({_M})\.?(?:\s+(\d{{4}}))?)?(?:\s*[-–—]\s*{_DAY})?\s+({_M})\.?\s+(\d{{4}})$", re.I)


def _parse_dates(s: str) -> tuple[date, date] | None:
    m = _DATES_RE.match(s)
    if not m:
        return None
    d1, m1, y1, d2, m2, y2 = m.groups()
    try:
        end = date(int(y2), _MONTHS[m2.lower()], int(d2 or d1))
        start = date(int(y1 or y2), _MONTHS[(m1 or m2).lower()], int(d1))
    except ValueError:  # 31 February and the like: keep the text, no dates
        return None
    return (start, end) if start <= end else None


# --- Builder ----------------------------------------------------------------------------------

class _Acc:
    """Text accumulated over wrapped lines and page breaks (parts joined by one space)."""

    def __init__(self, line: int, text: str):
        self.line, self.parts = line, [text]

    def add(self, text: str) -> None:
        self.parts.append(text)

    @property
    def text(self) -> str:
        return " ".join(self.parts)


@dataclass(eq=False)
class _Node:
    kind: str
    line: int
    number: int | None = None
    title: str = ""
    text: _Acc | None = None
    subtitle: _Acc | None = None
    note: _Acc | None = None
    source: _Acc | None = None
    items: list[_Acc] = field(default_factory=list)
    body: list["_Node"] = field(default_factory=list)


@dataclass(eq=False)
class _Session:
    number: int
    title: str
    line: int
    blocks: list[_Node] = field(default_factory=list)
    questions: list[_Acc] = field(default_factory=list)


def _txt(acc: _Acc | None) -> str:
    return acc.text if acc else ""


def _freeze(n: _Node) -> Block:
    return Block(kind=n.kind, line=n.line, number=n.number, title=n.title, subtitle=_txt(n.subtitle),
                 text=_txt(n.text), items=tuple(a.text for a in n.items),
                 body=tuple(_freeze(b) for b in n.body), note=_txt(n.note), source=_txt(n.source))


class _Parser:
    """Line-oriented state machine over the lines after the front matter."""

    def __init__(self, lines: list[str], start: int, furniture: set[str]):
        self.lines, self.start, self.furniture = lines, start, furniture
        self.sessions: list[_Session] = []
        self.refs: list[_Acc] = []
        self.citations: list[tuple[int, int]] = []  # (reference number, line)
        self.mode = "body"  # | "questions" | "references"
        self.figure: _Node | None = None
        self.box: _Node | None = None
        self.last: _Acc | None = None  # what a line right below (no blank) continues
        self.target: _Acc | None = None  # paragraph/item a page break may cut (in the container)
        self.outer_target: _Acc | None = None  # the session-level target while a box is open
        self.last_para = 0

    def kind_at(self, i: int) -> tuple[str, _Match]:
        s = self.lines[i].strip()
        if not s:
            return "blank", None
        kind, m = _classify(s)
        # Page furniture: running headers repeating front-matter lines, bare page numbers.
        if kind == "text" and (s in self.furniture or _PAGE_NUMBER_RE.match(s)):
            return "blank", None
        return kind, m

    def next_kind(self, i: int) -> str:
        for j in range(i + 1, len(self.lines)):
            kind, _ = self.kind_at(j)
            if kind != "blank":
                return kind
        return "eof"

    def run(self) -> None:
        blank = False
        for i in range(self.start, len(self.lines)):
            kind, m = self.kind_at(i)
            if kind == "blank":
                blank = True
                continue
            s, no = self.lines[i].strip(), i + 1
            if self.mode != "references" or kind == "session":
                self.citations += [(int(c), no) for c in _CITATION_RE.findall(s)]
            getattr(self, f"on_{kind}")(m, s, no, blank, i)
            blank = False
        self.close_box()

    # Closing open containers --------------------------------------------------------------

    def close_box(self) -> None:
        self.figure = None
        if self.box is not None:
            self.box, self.target = None, self.outer_target

    def close_all(self) -> None:
        self.close_box()
        self.mode, self.last, self.target = "body", None, None

    @property
    def session(self) -> _Session:
        return self.sessions[-1]

    def add_block(self, node: _Node) -> None:
        (self.box.body if self.box else self.session.blocks).append(node)

    # Structural lines -----------------------------------------------------------------------

    def on_session(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        self.close_all()
        number = int(m.group(1))
        for other in self.sessions:
            if other.number == number:
                raise NotesError(
                    gettext_noop("Session %(number)s appears twice (first on line %(first)s)"),
                    line=no, params={"number": number, "first": other.line},
                )
        self.sessions.append(_Session(number, _unwrap(m.group(2).strip()), no))

    def on_para(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        if self.mode == "references":
            return self.on_text(m, s, no, blank, i)
        self.close_all()
        number = int(m.group(1))
        if number <= self.last_para:
            raise NotesError(
                gettext_noop("Paragraph %(number)s follows paragraph %(previous)s: paragraph numbers must increase"),
                line=no, params={"number": number, "previous": self.last_para},
            )
        self.last_para = number
        self.last = self.target = _Acc(no, m.group(2))
        self.session.blocks.append(_Node("paragraph", no, number, text=self.last))

    def on_figure(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        # A figure sits between the parts of a page-broken paragraph: keep the target.
        self.close_box()
        self.mode, self.last = "body", None
        self.figure = _Node("figure", no, int(m.group(1)), title=m.group(2).strip())
        self.session.blocks.append(self.figure)

    def on_box(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        self.close_box()
        self.mode, self.last = "body", None
        self.box = _Node("box", no, int(m.group(1)), title=m.group(2).strip())
        self.session.blocks.append(self.box)
        self.outer_target, self.target = self.target, None

    def on_note(self, m: _Match, s: str, no: int, blank: bool, i: int, attr: str = "note") -> None:
        owner = self.figure or self.box
        if owner is None or self.mode != "body":
            return self.on_text(m, s, no, blank, i)
        acc = getattr(owner, attr)
        if acc is None:
            setattr(owner, attr, _Acc(no, m.group(1)))
        else:
            acc.add(m.group(1))
        self.last = getattr(owner, attr)

    def on_source(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        self.on_note(m, s, no, blank, i, attr="source")

    def on_questions(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        if self.mode == "references":
            return self.on_text(m, s, no, blank, i)
        if self.next_kind(i) != "bullet":
            raise NotesError(gettext_noop("'Key questions' is not followed by any question (a '- ' line)"), line=no)
        self.close_all()
        self.mode = "questions"

    def on_references(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        self.close_all()
        self.mode = "references"

    def on_footnote(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        # Footnotes sit at the foot of a page: they belong to the session but interrupt nothing.
        number = int(m.group(1).translate(SUP_TO_DIGIT))
        self.last = _Acc(no, m.group(2))
        self.session.blocks.append(_Node("footnote", no, number, text=self.last))

    def on_bullet(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        item = _Acc(no, m.group(1))
        if self.mode == "questions":
            self.session.questions.append(item)
        elif self.mode == "references":
            self.refs.append(item)
        else:
            self.figure = None
            if self.box and (self.box.note or self.box.source):
                self.close_box()
            container = self.box.body if self.box else self.session.blocks
            previous = [b for b in container if b.kind != "footnote"][-1:]
            if previous and previous[0].kind == "list":  # blank lines may separate items
                previous[0].items.append(item)
            else:
                self.add_block(_Node("list", no, items=[item]))
        self.last = self.target = item

    # Plain text --------------------------------------------------------------------------

    def on_text(self, m: _Match, s: str, no: int, blank: bool, i: int) -> None:
        if self.mode == "references":  # a reference may wrap (even across a page) until its [n]
            if self.refs and not _REF_NUMBER_RE.match(self.refs[-1].text):
                return self.refs[-1].add(s)
            raise NotesError(
                gettext_noop(
                    "Unexpected text in the references: each reference is a '- ' line ending with its number, "
                    "such as [1]"
                ),
                line=no,
            )
        if not blank and self.last is not None:  # a wrapped line
            return self.last.add(s)
        if self.mode == "questions":
            if self.target is not None and not _ends_sentence(self.target.text):
                return self.target.add(s)
            self.mode, self.target = "body", None
        if self.figure is not None:
            f = self.figure
            if not (f.subtitle or f.note or f.source):
                self.last = f.subtitle = _Acc(no, s)
                return
            if self.last is not None and self.last in (f.note, f.source) and _note_open(self.last.text):
                return self.last.add(s)
            self.figure = None
        if self.box is not None:
            b = self.box
            if b.note or b.source:
                if self.last is not None and self.last in (b.note, b.source) and _note_open(self.last.text):
                    return self.last.add(s)
                self.close_box()
        if self.target is not None and not _ends_sentence(self.target.text):
            self.last = self.target
            return self.target.add(s)  # the paragraph resumes after a page break
        self.last = _Acc(no, s)
        # In a box, a short line that ends no sentence and is followed by prose is a sub-heading.
        if (self.box and len(s) <= _HEADING_MAX and not _ends_sentence(s)
                and not s.endswith((",", ";", "-", "–")) and self.next_kind(i) == "text"):
            self.add_block(_Node("heading", no, text=self.last))
            self.last = self.target = None
            return
        self.target = self.last
        self.add_block(_Node("paragraph", no, text=self.last))


# --- Entry points ---------------------------------------------------------------------------

def parse_notes_bytes(data: bytes) -> MeetingNotes:
    """Decode (UTF-8, optional BOM, CRLF accepted) and parse."""
    if not data:
        raise NotesError(gettext_noop("The file is empty."))
    if len(data) > MAX_NOTES_BYTES:
        raise NotesError(
            gettext_noop("The file is too large (%(size)s bytes; the limit is %(limit)s MB)."),
            params={"size": len(data), "limit": MAX_NOTES_BYTES // (1024 * 1024)},
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        raise NotesError(gettext_noop("This is not a text file (it contains a NUL byte)."),
                         line=data.count(b"\n", 0, nul) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise NotesError(gettext_noop("The file is not UTF-8 text."), line=line) from None
    return parse_notes(text)


def parse_notes(text: str) -> MeetingNotes:
    if not text:
        raise NotesError(gettext_noop("The file is empty."))
    if not text.strip():
        raise NotesError(gettext_noop("The file contains only whitespace."))
    lines = _LINE_SPLIT_RE.split(text.removeprefix("\ufeff"))
    start = next((i for i, line in enumerate(lines) if _SESSION_RE.match(line.strip())), None)
    if start is None:
        raise NotesError(gettext_noop("No session heading found (a line such as 'Session 1: Title')."))

    front = [line.strip() for line in lines[:start] if line.strip()]
    if not front:
        raise NotesError(
            gettext_noop("The meeting title is missing: the first line should be the title."), line=start + 1
        )
    title, place, dates, span = _unwrap(front[0].lstrip("#").strip()), "", "", None
    for k, s in enumerate(front[1:], start=1):
        if _DATES_RE.match(s):
            dates, place, span = s, (front[1] if k > 1 else ""), _parse_dates(s)
            break
    else:
        place = front[1] if len(front) > 1 else ""

    parser = _Parser(lines, start, set(front))
    parser.run()

    references: list[Reference] = []
    seen: set[int] = set()
    for acc in parser.refs:
        m = _REF_NUMBER_RE.match(acc.text)
        if not m:
            raise NotesError(gettext_noop("A reference must end with its number, such as [1]."), line=acc.line)
        number = int(m.group(2))
        if number in seen:
            raise NotesError(
                gettext_noop("Reference [%(number)s] appears twice."), line=acc.line, params={"number": number}
            )
        seen.add(number)
        references.append(Reference(number, m.group(1)))
    for number, line in parser.citations:
        if number not in seen:
            raise NotesError(
                gettext_noop("Citation ^[%(number)s] has no reference [%(number)s] in the References."),
                line=line, params={"number": number},
            )

    sessions = tuple(
        SessionNotes(s.number, s.title, s.line, tuple(_freeze(b) for b in s.blocks),
                     tuple(Question(_unwrap(q.text), q.line) for q in s.questions))
        for s in parser.sessions)
    return MeetingNotes(title, place, dates, span[0] if span else None, span[1] if span else None,
                        sessions, tuple(references))
