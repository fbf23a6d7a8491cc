"""The session notes' inline markup -> safe HTML or plain text, and a parsed block -> HTML.

Pure Python, no Django, as the parser (`importer`) is: the notes import stores what these return.
Markup: emphasis (``*em*``, ``**strong**``), links ``[text](url)`` and ``<url>`` (only http(s) URLs
become links), citations ``^[n]``, superscript footnote markers and backslash escapes.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Protocol


class Block(Protocol):
    """What render_block_html reads of a parsed block (importer.Block): the parser imports this module,
    so this one names the fields it needs instead of importing the parser back."""

    kind: str
    number: int | None
    title: str
    subtitle: str
    text: str
    items: Sequence[str]
    body: Sequence[Block]
    note: str
    source: str

# Footnote markers; the parser also reads them at the start of a footnote's line.
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUP_TO_DIGIT = str.maketrans(SUPERSCRIPTS, "0123456789")


_INLINE_RE = re.compile(r"""
    (?P<esc>\\[\\()\[\]*_^<>\#`])
  | \^\[(?P<cite>\d+)\]
  | \[(?P<link_text>(?:\\.|[^\[\]\\])+)\]\((?P<link_url>(?:\\.|[^()\s\\])*)\)
  | <(?P<auto>[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]*)>
  | \*\*(?=\S)(?P<strong>(?:\\.|[^\\])+?)(?<=\S)\*\*
  | \*(?=[^\s*])(?P<em>(?:\\.|\*\*(?:\\.|[^*\\])+?\*\*|[^*\\])+?)(?<=[^\s\\])\*
  | (?P<fn>[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
""", re.X | re.S)
_SAFE_URL_RE = re.compile(r"^https?://", re.I)
_UNESCAPE_RE = re.compile(r"\\(.)")


def _convert(text: str, as_html: bool, refs: frozenset[int] | set[int]) -> str:
    esc = html.escape if as_html else (lambda s: s)
    out: list[str] = []
    pos = 0
    for m in _INLINE_RE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        pos = m.end()
        g = m.groupdict()
        if g["esc"]:
            out.append(esc(g["esc"][1]))
        elif g["cite"]:
            n = int(g["cite"])
            linked = as_html and (not refs or n in refs)
            out.append(f'<a class="citation" href="#ref-{n}" aria-label="Reference {n}">[{n}]</a>'
                       if linked else f"[{n}]")
        elif g["link_text"]:
            inner = _convert(g["link_text"], as_html, refs)
            url = _UNESCAPE_RE.sub(r"\1", g["link_url"])
            if url == "#":  # a label with no target, e.g. a legal instrument's number
                out.append(f'<cite class="label">{inner}</cite>' if as_html else inner)
            elif _SAFE_URL_RE.match(url):
                out.append(f'<a href="{html.escape(url)}" rel="noopener">{inner}</a>' if as_html else inner)
            else:  # javascript: and other schemes never become links
                out.append(esc(m.group(0)))
        elif g["auto"]:
            url = g["auto"]
            if as_html and _SAFE_URL_RE.match(url):
                out.append(f'<a href="{html.escape(url)}" rel="noopener">{html.escape(url)}</a>')
            else:
                out.append(esc(url if _SAFE_URL_RE.match(url) else m.group(0)))
        elif g["strong"] or g["em"]:
            tag = "strong" if g["strong"] else "em"
            inner = _convert(g[tag], as_html, refs)
            out.append(f"<{tag}>{inner}</{tag}>" if as_html else inner)
        else:
            n = int(g["fn"].translate(SUP_TO_DIGIT))
            out.append(f'<sup class="fn-marker"><a href="#fn-{n}" id="fnref-{n}" '
                       f'aria-label="Footnote {n}">{n}</a></sup>' if as_html else g["fn"])
    out.append(esc(text[pos:]))
    return "".join(out)


def render_inline(text: str, *, reference_numbers: frozenset[int] | set[int] = frozenset()) -> str:
    """Inline markup -> safe HTML: every literal piece is escaped; only http(s) URLs become hrefs.

    Citations ^[n] link to #ref-n (only those in reference_numbers, when it is given)."""
    return _convert(text, True, reference_numbers)


def plain_text(text: str) -> str:
    """Inline markup -> plain text: citations as [n], links as their text, autolinks as the URL,
    footnote markers kept as superscript digits."""
    return _convert(text, False, frozenset())


def render_block_html(block: Block, *, reference_numbers: frozenset[int] = frozenset()) -> str:
    """One block -> safe HTML (all text through render_inline)."""
    def r(text: str) -> str:
        return render_inline(text, reference_numbers=reference_numbers)

    def labelled(cls: str, label: str, text: str) -> str:
        return f'<p class="{cls}"><span class="label">{label}</span> {r(text)}</p>' if text else ""

    n = block.number
    if block.kind == "paragraph":
        if n is None:
            return f'<p class="para">{r(block.text)}</p>'
        return (f'<p class="para" id="para-{n}"><span class="para-num" aria-hidden="true">{n}.</span> '
                f"{r(block.text)}</p>")
    if block.kind == "list":
        return '<ul class="briefing-list">' + "".join(f"<li>{r(i)}</li>" for i in block.items) + "</ul>"
    if block.kind == "heading":
        return f"<h4>{r(block.text)}</h4>"
    if block.kind == "footnote":
        return (f'<p class="footnote" id="fn-{n}"><sup>{n}</sup> {r(block.text)} '
                f'<a href="#fnref-{n}" aria-label="Back to text">↩</a></p>')
    if block.kind == "figure":
        subtitle = f'<span class="figure-subtitle">{r(block.subtitle)}</span>' if block.subtitle else ""
        return (f'<figure class="figure" id="figure-{n}"><figcaption>'
                f'<span class="figure-title">Figure {n}. {r(block.title)}</span>{subtitle}</figcaption>'
                '<p class="figure-placeholder">(figure not reproduced)</p>'
                + labelled("figure-note", "Note:", block.note)
                + labelled("figure-source", "Source:", block.source) + "</figure>")
    if block.kind == "box":
        body = "".join(render_block_html(b, reference_numbers=reference_numbers) for b in block.body)
        return (f'<aside class="box" id="box-{n}" aria-labelledby="box-{n}-title">'
                f'<h3 id="box-{n}-title">Box {n}. {r(block.title)}</h3>{body}'
                + labelled("box-note", "Note:", block.note)
                + labelled("box-source", "Source:", block.source) + "</aside>")
    raise ValueError(f"Unknown block kind: {block.kind!r}")
