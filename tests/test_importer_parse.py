"""Session-notes parser (sessions_app.importer): pure Python, no Django needed."""
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from sessions_app.importer import (
    MAX_NOTES_BYTES,
    Block,
    MeetingNotes,
    NotesError,
    parse_notes,
    parse_notes_bytes,
    plain_text,
    render_block_html,
    render_inline,
)

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "meetings" / "oecd-cog-2023.txt"
OTHER = Path(__file__).resolve().parent / "data" / "other_meeting.txt"


@cache
def seed() -> MeetingNotes:
    return parse_notes_bytes(SEED.read_bytes())


@cache
def other() -> MeetingNotes:
    return parse_notes_bytes(OTHER.read_bytes())


def all_blocks(notes: MeetingNotes) -> list[Block]:
    """Every block, box bodies included."""
    out = []
    for session in notes.sessions:
        for block in session.blocks:
            out.append(block)
            out.extend(block.body)
    return out


def numbered(notes: MeetingNotes) -> dict[int, Block]:
    return {b.number: b for b in all_blocks(notes) if b.kind == "paragraph" and b.number is not None}


def of_kind(notes: MeetingNotes, kind: str) -> list[Block]:
    return [b for b in all_blocks(notes) if b.kind == kind]


def texts(notes: MeetingNotes) -> list[str]:
    out = []
    for session in notes.sessions:
        out.append(session.title)
        out.extend(q.text for q in session.questions)
    for b in all_blocks(notes):
        out += [b.title, b.subtitle, b.text, b.note, b.source, *b.items]
    return out


def notes_with(body: str) -> str:
    return "Meeting\nParis\n5 March 2024\n\n" + body


# --- The seed ----------------------------------------------------------------------------


def test_front_matter_seed():
    notes = seed()
    assert notes.title == "42nd Annual Meeting of the Network of Senior Officials from Centres of Government"
    assert notes.place == "OECD, Paris, France"
    assert notes.dates == "22-23 November 2023"
    assert (notes.start_date, notes.end_date) == (date(2023, 11, 22), date(2023, 11, 23))


def test_sessions_seed_numbers_and_titles():
    assert [(s.number, s.title) for s in seed().sessions] == [
        (1, "Centres of Governments at the centre of democratic resilience in the face of polarisation"),
        (2, "Centre of Governments at the centre of combatting mis- and disinformation"),
        (3, "Centres of Government at the centre of fostering the direct involvement of citizen in policymaking"),
    ]


def test_paragraphs_seed_numbered_1_to_25_in_order():
    nums = [b.number for b in all_blocks(seed()) if b.kind == "paragraph" and b.number is not None]
    assert nums == list(range(1, 26))


def test_boxes_seed_numbered_1_to_4():
    assert [b.number for b in of_kind(seed(), "box")] == [1, 2, 3, 4]


def test_figures_seed_numbered_1_to_5():
    assert sorted(b.number for b in of_kind(seed(), "figure")) == [1, 2, 3, 4, 5]


def test_footnote_seed_in_session_2():
    per_session = [[b.number for b in s.blocks if b.kind == "footnote"] for s in seed().sessions]
    assert per_session == [[], [1], []]
    footnote = next(b for b in seed().sessions[1].blocks if b.kind == "footnote")
    assert footnote.text.startswith('"Misinformation" can be defined')


def test_paragraph_seed_7_holds_footnote_marker():
    assert "(OECD, 2022^[5]).¹ Waves" in numbered(seed())[7].text


def test_questions_seed_counts_and_first_text():
    sessions = seed().sessions
    assert [len(s.questions) for s in sessions] == [3, 4, 3]
    assert [s.questions[0].text for s in sessions] == [
        "What signs of polarisation are CoGs seeing in the current context? How does it have an impact on "
        "the ability of the CoG and wider government to perform its role and deliver on major challenges?",
        "What kind of co-ordination mechanisms have been put in place in your administration to implement "
        "efforts to strengthen the information space?",
        "What experience have you had in the CoG promoting co-ordination and integration of participatory "
        "processes in your country?",
    ]


def test_references_seed_numbered_1_to_16():
    refs = seed().references
    assert len(refs) == 16
    assert {r.number for r in refs} == set(range(1, 17))
    assert refs[0].text == "Macmillan, P. (ed.) (2015), *Democratic Deliberation In Deeply Divided Societies : From Conflict To Common Ground*."


@pytest.mark.parametrize("number, phrase", [
    (4, "in the aftermath of the global financial crises. Only four in ten respondents (41.4%)"),
    (6, "Action now is an investment in cementing democratic resilience"),
    (14, "Lithuania, Portugal, Spain, Netherlands"),
    (21, "actively seeking input from citizens and stakeholders."),
])
def test_paragraph_seed_page_break_joined(number, phrase):
    assert phrase in numbered(seed())[number].text


def test_paragraph_seed_after_5_is_unnumbered_block():
    blocks = seed().sessions[0].blocks
    index = next(i for i, b in enumerate(blocks) if b.number == 5 and b.kind == "paragraph")
    following = blocks[index + 1]
    assert (following.kind, following.number) == ("paragraph", None)
    assert following.text.startswith("Preliminary analysis looking at respondents")


def test_list_seed_paragraph_24_items_across_blank_lines():
    blocks = seed().sessions[2].blocks
    index = next(i for i, b in enumerate(blocks) if b.number == 24 and b.kind == "paragraph")
    assert blocks[index + 1].kind == "list"
    assert len(blocks[index + 1].items) == 4


def test_box_seed_4_holds_three_assemblies():
    box = of_kind(seed(), "box")[3]
    assert box.title == "Countries using deliberative democracy mechanisms"
    assert [b.text for b in box.body if b.kind == "heading"] == [
        "The French Citizens' Convention on Climate (2019-2020)",
        "The Irish Citizens' Assembly (2016-2018)",
        "Canadian Citizens' Assembly on Democratic Expression (2020-2023)",
    ]
    assert box.note == ("More information can be found here for each of the assemblies: "
                        "<https://www.conventioncitoyennepourleclimat.fr/>, <https://www.citizensassembly.ie/en/>, "
                        "<https://ppforum.ca/project/demx/>.")


def test_box_seed_2_source():
    assert of_kind(seed(), "box")[1].source == "<https://www.oecd.org/stories/dis-misinformation-hub/>."


def test_figure_seed_1_subtitle_note_source():
    figure = next(b for b in of_kind(seed(), "figure") if b.number == 1)
    assert figure.title == "In most OECD countries women have lower trust in the national government than men"
    assert figure.subtitle.startswith("Difference in trust in government by gender")
    assert figure.note.startswith("Figure presents the within country distribution of responses by gender")
    assert figure.source == "OECD Trust Survey (<http://oe.cd/trust>)."


def test_figure_seed_3_source_without_note():
    figure = next(b for b in of_kind(seed(), "figure") if b.number == 3)
    assert (figure.subtitle, figure.note, figure.source) == ("", "", "Author's own elaboration.")


def test_citations_seed_all_resolve():
    refs = {r.number for r in seed().references}
    cited = {int(n) for text in texts(seed()) for n in re.findall(r"\^\[(\d+)\]", text)}
    assert cited - refs == set()
    assert refs - cited == {16}  # Macmillan (2015) is listed but never cited


def test_render_block_html_seed_paragraph_7():
    html = render_block_html(numbered(seed())[7], reference_numbers=frozenset(r.number for r in seed().references))
    assert 'id="para-7"' in html
    assert '<a href="#fn-1" id="fnref-1" aria-label="Footnote 1">1</a>' in html
    assert 'href="#ref-5"' in html


def test_plain_text_seed_paragraph_1():
    text = plain_text(numbered(seed())[1].text)
    assert text.startswith("Over many decades, democracy")
    assert "(Luxembourg Declaration) [OECD/LEGAL/0484], which" in text
    assert "*" not in text


# --- Another meeting in the same conventions -----------------------------------------------


def test_other_meeting_front_matter():
    notes = other()
    assert notes.title == "Réunion du Réseau des responsables de la transformation numérique"
    assert notes.place == "Lisbon, Portugal"
    assert notes.dates == "30 November - 1 December 2024"
    assert (notes.start_date, notes.end_date) == (date(2024, 11, 30), date(2024, 12, 1))


def test_other_meeting_counts():
    notes = other()
    assert [s.number for s in notes.sessions] == [1, 2]
    assert sorted(numbered(notes)) == [1, 2, 3, 4, 5, 6]
    assert [b.number for b in of_kind(notes, "box")] == [1]
    assert [b.number for b in of_kind(notes, "figure")] == [1, 2]
    assert [b.number for b in of_kind(notes, "footnote")] == [2]
    assert [len(s.questions) for s in notes.sessions] == [2, 1]
    assert [r.number for r in notes.references] == [1, 2, 3]


def test_other_meeting_page_break_skips_running_header():
    assert numbered(other())[2].text.endswith("data specialists across the public sector, in particular "
                                              "in local government (Figure 1).")


def test_other_meeting_paragraph_resumes_after_figure():
    assert numbered(other())[6].text.endswith("often attached to the centre of government or to the data "
                                              "protection authority.")


def test_other_meeting_box_heading_list_source():
    box = of_kind(other(), "box")[0]
    assert [b.kind for b in box.body] == ["heading", "paragraph", "list"]
    assert box.source == "[National portal](https://www.portugal.gov.pt/)."


def test_other_meeting_wrapped_question_unwrapped():
    assert other().sessions[0].questions[1].text == "Which skills are hardest to recruit, and why?"


def test_other_meeting_wrapped_reference():
    assert other().references[1].text == "Smith, J. (2023), “AI in the public sector”, *Public Administration Review*."


# --- Dates and decoding ---------------------------------------------------------------------


@pytest.mark.parametrize("dates, start, end", [
    ("22 November 2023", date(2023, 11, 22), date(2023, 11, 22)),
    ("22-23 novembre 2023", date(2023, 11, 22), date(2023, 11, 23)),
    ("30 November - 1 December 2023", date(2023, 11, 30), date(2023, 12, 1)),
    ("30 November-1 December 2023", date(2023, 11, 30), date(2023, 12, 1)),
    ("5 mars 2024", date(2024, 3, 5), date(2024, 3, 5)),
    ("31 February 2024", None, None),
])
def test_dates_line_variants_parsed(dates, start, end):
    notes = parse_notes(f"Title\nPlace\n{dates}\nSession 1: A\n1. Text.\n")
    assert (notes.dates, notes.start_date, notes.end_date) == (dates, start, end)


def test_parse_bytes_bom_and_crlf_accepted():
    notes = parse_notes_bytes(b"\xef\xbb\xbfTitle\r\nPlace\r\n5 March 2024\r\nSession 1: A\r\n1. Text.\r\n")
    assert (notes.title, notes.place, notes.sessions[0].title) == ("Title", "Place", "A")


# --- Inline rendering --------------------------------------------------------------------------


def test_render_inline_script_escaped():
    assert render_inline("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_render_inline_img_escaped():
    assert render_inline('<img src=x onerror="alert(1)">') == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


@pytest.mark.parametrize("text", ["[x](javascript:alert(1))", "[x](javascript:alert)", "<javascript:alert(1)>"])
def test_render_inline_javascript_url_no_href(text):
    assert "href" not in render_inline(text)


def test_render_inline_citation_exact():
    assert render_inline("(OECD, 2023^[1])") == (
        '(OECD, 2023<a class="citation" href="#ref-1" aria-label="Reference 1">[1]</a>)')


def test_render_inline_citation_unknown_reference_unlinked():
    assert render_inline("x^[9]", reference_numbers={1}) == "x[9]"


def test_render_inline_link_exact():
    assert render_inline("[Iceland](https://example.org/a?b=1&c=2)") == (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener">Iceland</a>')


def test_render_inline_autolink_exact():
    assert render_inline("<http://oe.cd/trust>") == '<a href="http://oe.cd/trust" rel="noopener">http://oe.cd/trust</a>'


def test_render_inline_label_with_escaped_parens():
    assert render_inline(r"[[C/MIN\(2021\)16/FINAL](#)]") == '[<cite class="label">C/MIN(2021)16/FINAL</cite>]'


def test_render_inline_bold_italic():
    assert render_inline("**Lead.** a *b* \\*c\\*") == "<strong>Lead.</strong> a <em>b</em> *c*"


def test_render_inline_footnote_marker_exact():
    assert render_inline("end.¹") == (
        'end.<sup class="fn-marker"><a href="#fn-1" id="fnref-1" aria-label="Footnote 1">1</a></sup>')


def test_plain_text_markup_removed():
    assert plain_text("**B** *i* (X^[2]) [L](https://e.org) [C\\(1\\)](#) <https://e.org>¹") == (
        "B i (X[2]) L C(1) https://e.org¹")


# --- Block rendering ---------------------------------------------------------------------------


def test_render_block_html_unnumbered_paragraph():
    assert render_block_html(Block("paragraph", 1, text="a <b>")) == '<p class="para">a &lt;b&gt;</p>'


def test_render_block_html_list():
    assert render_block_html(Block("list", 1, items=("a", "*b*"))) == (
        '<ul class="briefing-list"><li>a</li><li><em>b</em></li></ul>')


def test_render_block_html_figure():
    html = render_block_html(Block("figure", 1, number=3, title="T", subtitle="S", note="N.", source="Src."))
    assert html == ('<figure class="figure" id="figure-3"><figcaption><span class="figure-title">Figure 3. T</span>'
                    '<span class="figure-subtitle">S</span></figcaption>'
                    '<p class="figure-placeholder">(figure not reproduced)</p>'
                    '<p class="figure-note"><span class="label">Note:</span> N.</p>'
                    '<p class="figure-source"><span class="label">Source:</span> Src.</p></figure>')


def test_render_block_html_box_with_heading():
    box = of_kind(seed(), "box")[3]
    html = render_block_html(box)
    assert html.startswith('<aside class="box" id="box-4" aria-labelledby="box-4-title"><h3 id="box-4-title">'
                           "Box 4. Countries using deliberative democracy mechanisms</h3>"
                           "<h4>The French Citizens&#x27; Convention on Climate (2019-2020)</h4>")
    assert html.endswith("</aside>")


def test_render_block_html_footnote():
    assert render_block_html(Block("footnote", 1, number=2, text="Def.")) == (
        '<p class="footnote" id="fn-2"><sup>2</sup> Def. <a href="#fnref-2" aria-label="Back to text">↩</a></p>')


# --- Failures ----------------------------------------------------------------------------------


def error(data: bytes | str) -> NotesError:
    with pytest.raises(NotesError) as info:
        parse_notes_bytes(data) if isinstance(data, bytes) else parse_notes(data)
    return info.value


def test_error_empty_bytes():
    err = error(b"")
    assert (str(err), err.line) == ("The file is empty.", None)


def test_error_whitespace_only():
    err = error(" \n\t\n")
    assert (str(err), err.line) == ("The file contains only whitespace.", None)


def test_error_binary_names_line():
    err = error(b"abc\x00def")
    assert (err.message, err.line) == ("This is not a text file (it contains a NUL byte).", 1)


def test_error_not_utf8_names_line():
    err = error(b"Session 1: A\n\xff\xfe")
    assert (str(err), err.line) == ("Line 2: The file is not UTF-8 text.", 2)


def test_error_oversize():
    err = error(b"a" * (MAX_NOTES_BYTES + 1))
    assert err.message.startswith("The file is too large")


def test_error_no_session_heading():
    err = error("Title\nPlace\n1. Some text.\n")
    assert (str(err), err.line) == ("No session heading found (a line such as 'Session 1: Title').", None)


def test_error_paragraph_numbers_backwards():
    err = error(notes_with("Session 1: A\n\n1. One.\n\n3. Three.\n\nSession 2: B\n\n2. Two.\n"))
    assert (err.message, err.line) == ("Paragraph 2 follows paragraph 3: paragraph numbers must increase", 13)


def test_error_citation_missing_reference():
    err = error(notes_with("Session 1: A\n\n1. One (X, 2020^[1]).\n2. Two (Y, 2021^[2]).\n\n"
                           "References\n\n- X (2020). [1]\n"))
    assert (err.message, err.line) == ("Citation ^[2] has no reference [2] in the References.", 8)


def test_error_key_questions_without_question():
    err = error(notes_with("Session 1: A\n\n1. One.\n\nKey questions for discussion\n\nSession 2: B\n"))
    assert (err.message, err.line) == ("'Key questions' is not followed by any question (a '- ' line)", 9)


def test_error_duplicate_session():
    err = error(notes_with("Session 1: A\n\n1. One.\n\nSession 1: B\n"))
    assert (err.message, err.line) == ("Session 1 appears twice (first on line 5)", 9)


def test_error_duplicate_reference():
    err = error(notes_with("Session 1: A\n\n1. One.\n\nReferences\n\n- X. [1]\n- Y. [1]\n"))
    assert (err.message, err.line) == ("Reference [1] appears twice.", 12)


def test_notes_error_str_with_line():
    assert str(NotesError("Bad.", line=3)) == "Line 3: Bad."


def test_notes_error_localized_translates_message_and_line_then_fills_values():
    french = {
        "Session %(number)s appears twice (first on line %(first)s)":
            "La séance %(number)s apparaît deux fois (la première fois à la ligne %(first)s)",
        "Line %(line)s: %(message)s": "Ligne %(line)s : %(message)s",
    }
    err = error(notes_with("Session 1: A\n\n1. One.\n\nSession 1: B\n"))
    assert err.localized(lambda msgid: french.get(msgid, msgid)) == (
        "Ligne 9 : La séance 1 apparaît deux fois (la première fois à la ligne 5)"
    )
    assert err.localized(lambda msgid: msgid) == str(err) == "Line 9: Session 1 appears twice (first on line 5)"


def test_notes_error_localized_leaves_an_already_translated_message_alone():
    err = NotesError("Le fichier fait 120 % de la limite.")
    assert err.localized(lambda msgid: msgid) == "Le fichier fait 120 % de la limite."


def test_error_stray_text_after_references():
    err = error(notes_with("Session 1: A\n\n1. One.\n\nReferences\n\n- X. [1]\nstray\n"))
    assert (err.line, err.message.startswith("Unexpected text in the references")) == (12, True)


def test_box_short_sentence_stays_paragraph():
    notes = parse_notes(notes_with("Session 1: A\n\nBox 1. B\n\nIt is short.\n\nA second paragraph.\n\nSource: S.\n"))
    assert [b.kind for b in notes.sessions[0].blocks[0].body] == ["paragraph", "paragraph"]
