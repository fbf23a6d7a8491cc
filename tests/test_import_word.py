"""Session notes from Word: a .docx built from the seed imports equal to the text, bad files change nothing."""

import dataclasses
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from sessions_app import importer
from sessions_app.meetings import services as notes_services
from sessions_app.meetings import word
from sessions_app.models import Answer, Block, FigureImage, Meeting, Question, Reference, Session

from .factories import DelegationFactory, make_delegate, make_secretariat
from .test_notes_translation import ENGLISH, FRENCH
from .word_docs import notes_to_docx, tiny_png

pytestmark = pytest.mark.django_db


def table_counts() -> dict:
    models = (Meeting, Session, Block, Question, Reference, Answer, FigureImage)
    return {model.__name__: model.objects.count() for model in models}


def without_lines(block: importer.Block) -> importer.Block:
    return dataclasses.replace(block, line=0, body=tuple(without_lines(b) for b in block.body))


def comparable(notes: importer.MeetingNotes) -> dict:
    """What a reader sees: everything but line numbers; footnotes as a set (Word keeps them apart)."""
    return {
        "front": (notes.title, notes.place, notes.dates, notes.start_date, notes.end_date),
        "sessions": [
            (s.number, s.title, [without_lines(b) for b in s.blocks if b.kind != "footnote"],
             sorted((b.number, b.text) for b in s.blocks if b.kind == "footnote"), [q.text for q in s.questions])
            for s in notes.sessions
        ],
        "references": notes.references,
    }


@pytest.fixture(scope="module")
def seed_text_notes():
    from .conftest import SEED_NOTES

    return importer.parse_notes_bytes(SEED_NOTES.read_bytes())


@pytest.fixture(scope="module")
def seed_docx(seed_text_notes) -> bytes:
    return notes_to_docx(seed_text_notes)


def test_seed_docx_uses_real_word_numbering_footnotes_and_images(seed_docx):
    parts = zipfile.ZipFile(io.BytesIO(seed_docx))
    document = parts.read("word/document.xml").decode()
    assert "<w:numPr>" in document
    assert "1. " not in document.split("Session 1")[1][:2000]  # the numbers are Word's, not typed
    assert "w:footnoteReference" in document
    assert "word/footnotes.xml" in parts.namelist()
    assert sum(name.startswith("word/media/") for name in parts.namelist()) == 5


def test_seed_docx_parses_equal_to_the_text_notes(seed_text_notes, seed_docx):
    parsed = word.parse_docx(seed_docx)
    assert comparable(parsed.notes) == comparable(seed_text_notes)
    assert [image.figure for image in parsed.images] == [1, 2, 3, 4, 5]


def test_seed_docx_imports_the_same_rows_as_the_text(seed_text_notes, seed_docx, seed_notes_bytes):
    def rows(meeting):
        return (
            [(s.number, s.title) for s in meeting.sessions.all()],
            list(Block.objects.filter(session__meeting=meeting).order_by("session__number", "position")
                 .values_list("kind", "number", "title", "text")),
            list(Question.objects.filter(session__meeting=meeting).order_by("session__number", "position")
                 .values_list("text", flat=True)),
            list(meeting.references.values_list("number", "text")),
        )

    from_text, _ = notes_services.import_notes_file(seed_notes_bytes, source_name="notes.txt")
    text_rows = rows(from_text)
    from_text.delete()
    from_word, _ = notes_services.import_notes_file(seed_docx, source_name="notes.docx")
    word_rows = rows(from_word)
    # Footnotes sit after their paragraph in Word, at the page foot in the text: compare them apart.
    strip = lambda r: (r[0], [b for b in r[1] if b[0] != "footnote"], r[2], r[3])  # noqa: E731
    assert strip(word_rows) == strip(text_rows)
    assert sorted(b for b in word_rows[1] if b[0] == "footnote") == sorted(b for b in text_rows[1] if b[0] == "footnote")


def test_word_figures_show_their_images_to_delegates(client, seed_docx):
    meeting, _ = notes_services.import_notes_file(seed_docx, source_name="notes.docx")
    image = FigureImage.objects.get(meeting=meeting, figure=1)
    figure = Block.objects.get(session__meeting=meeting, kind="figure", number=1)
    src = reverse("figure_image", args=[meeting.slug, image.position])
    assert f'<img class="figure-image" src="{src}" alt="Figure 1. ' in figure.html
    assert "figure not reproduced" not in figure.html
    france = DelegationFactory(country="FR")
    meeting.delegations.add(france)  # the delegate takes part in the meeting (the wall, issue 23)
    client.force_login(make_delegate(france))
    response = client.get(src)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == bytes(image.data)
    assert response.content.startswith(b"\x89PNG")
    page = client.get(reverse("session", args=[meeting.slug, 1])).content.decode()
    assert src in page


def test_figure_image_needs_a_sign_in(client, seed_docx):
    meeting, _ = notes_services.import_notes_file(seed_docx, source_name="notes.docx")
    assert client.get(reverse("figure_image", args=[meeting.slug, 1])).status_code == 302


def test_french_docx_attaches_as_a_translation():
    meeting, _ = notes_services.import_notes_file(ENGLISH.encode(), source_name="en.txt")
    french = notes_to_docx(importer.parse_notes_bytes(FRENCH.encode()), language="fr")
    notes_services.import_notes_translation_file(french, meeting=meeting, language="fr", source_name="fr.docx")
    session = meeting.sessions.get(number=1)
    assert session.translations == {"fr": {"title": "La confiance dans les institutions publiques"}}
    assert session.questions.get(position=1).translations["fr"]["text"] == "Qu’est-ce qui fonctionne ?"
    assert [b.number for b in session.blocks.filter(language="fr", kind="paragraph")] == [1, 2]


def test_import_command_reads_a_docx(tmp_path, seed_docx):
    path = tmp_path / "notes.docx"
    path.write_bytes(seed_docx)
    out = io.StringIO()
    call_command("import_notes", str(path), stdout=out)
    assert "3 sessions" in out.getvalue()
    assert "16 references" in out.getvalue()
    assert FigureImage.objects.count() == 5


def test_upload_page_imports_a_docx(client, seed_docx):
    client.force_login(make_secretariat())
    response = client.post(reverse("import_notes"), {"notes": SimpleUploadedFile("notes.docx", seed_docx)})
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert meeting.sessions.count() == 3
    assert meeting.source_name == "notes.docx"


# --- Word's own structures, one at a time ---------------------------------------------------------

def docx_with(body_xml: str, *, extra_parts: dict | None = None, content_types: str = "") -> bytes:
    """A minimal hand-written .docx: the body's XML as given (for what python-docx cannot write)."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'wordprocessingml.document.main+xml"/>{content_types}</Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>'))
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {w}><w:body>{body_xml}</w:body></w:document>')
        for name, data in (extra_parts or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def p(text: str, ppr: str = "") -> str:
    return f'<w:p><w:pPr>{ppr}</w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


FRONT = p("Meeting") + p("Paris") + p("Session 1: Trust")


def test_text_box_becomes_a_box():
    box = ('<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox><w:txbxContent>'
           + p("Box 1. Inside a text box") + p("What the box says.") + p("Source: OECD.")
           + '</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>')
    notes = word.parse_docx(docx_with(FRONT + p("1. Before.") + box + p("2. After."))).notes
    kinds = [(b.kind, b.number) for b in notes.sessions[0].blocks]
    assert kinds == [("paragraph", 1), ("box", 1), ("paragraph", 2)]
    box_block = notes.sessions[0].blocks[1]
    assert (box_block.title, [b.text for b in box_block.body], box_block.source) == (
        "Inside a text box", ["What the box says."], "OECD.")


def test_bordered_paragraphs_become_one_box_and_typed_numbers_stay():
    border = '<w:pBdr><w:top w:val="single"/></w:pBdr>'
    body = (FRONT + p("1. Typed number.") + p("Box 1. Framed", border) + p("Inside.", border)
            + p("Source: Here.", border) + p("2. Typed again."))
    blocks = word.parse_docx(docx_with(body)).notes.sessions[0].blocks
    assert [(b.kind, b.number) for b in blocks] == [("paragraph", 1), ("box", 1), ("paragraph", 2)]


def test_hostile_text_is_kept_as_text_and_escaped_on_the_page():
    notes = word.parse_docx(docx_with(FRONT + p("1. &lt;script&gt;alert(1)&lt;/script&gt; done."))).notes
    block = notes.sessions[0].blocks[0]
    assert block.text == "<script>alert(1)</script> done."
    assert "<script>" not in importer.render_block_html(block)


# --- Refusals: a clear error, nothing stored --------------------------------------------------------

def zip_of(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def with_image(name: str, data: bytes) -> bytes:
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
            f'Target="media/{name}"/></Relationships>')
    drawing = ('<w:p><w:r><w:drawing><a:blip xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
               'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:embed="rIdImg"/>'
               '</w:drawing></w:r></w:p>')
    return docx_with(FRONT + p("1. Text.") + p("Figure 1. A chart") + drawing,
                     extra_parts={"word/_rels/document.xml.rels": rels, f"word/media/{name}": data})


def macro_docx() -> bytes:
    return docx_with(FRONT + p("1. Text."), extra_parts={"word/vbaProject.bin": b"\x00" * 10}, content_types=(
        '<Override PartName="/word/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    )).replace(b"wordprocessingml.document.main+xml", b"wordprocessingml.document.main+xml")


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b" " * (1024 * 1024)
            for _ in range(word.MAX_EXPANDED_BYTES // len(chunk) + 1):
                f.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("notes.docx", lambda: b"Just some text, not a zip", "not a zip"),
        ("notes.docx", lambda: zip_of({"hello.txt": "hi"}), "missing"),
        ("notes.docm", macro_docx, "macros"),
        ("notes.docx", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "encrypted"),
        ("notes.docx", zip_bomb, "unzipped"),
        ("notes.docx", lambda: b"PK\x03\x04" + b"\x00" * word.MAX_DOCX_BYTES, "too large"),
        ("notes.docx", lambda: docx_with(p("Meeting") + p("1. No session heading.")), "No session heading"),
        ("notes.docx", lambda: with_image("chart.emf", b"\x01\x00\x00\x00" * 20), "cannot be shown"),
        ("notes.docx", lambda: with_image("chart.png", b"<svg onload=alert(1)>"), "cannot be shown"),
        ("notes.docx", lambda: docx_with("<w:p><w:r><w:t>unclosed"), "damaged"),
    ],
    ids=["not-zip", "zip-not-word", "macros", "encrypted", "zip-bomb", "50MB", "no-session", "emf", "fake-png", "bad-xml"],
)
def test_bad_word_file_is_refused_by_the_command_and_changes_nothing(tmp_path, name, make, message):
    call_command("import_notes", str(_write(tmp_path / "seed.txt", ENGLISH.encode())))
    before = table_counts()
    with pytest.raises(CommandError, match=message):
        call_command("import_notes", str(_write(tmp_path / name, make())))
    assert table_counts() == before


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_bad_word_file_on_the_upload_page_shows_the_error_in_french(client):
    client.force_login(make_secretariat())
    client.cookies["django_language"] = "fr"
    response = client.post(reverse("import_notes"), {"notes": SimpleUploadedFile("notes.docm", macro_docx())},
                           HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    assert "macros" in response.content.decode()
    assert "enregistrez" in response.content.decode()
    assert Meeting.objects.count() == 0


def test_a_png_that_is_really_a_png_is_stored():
    meeting, _ = notes_services.import_notes_file(with_image("chart.png", tiny_png()), source_name="n.docx")
    assert list(FigureImage.objects.filter(meeting=meeting).values_list("figure", "content_type")) == [(1, "image/png")]


def test_a_part_that_cannot_be_unzipped_is_refused_as_damaged():
    data = bytearray(docx_with(FRONT + p("1. Text.")))
    start = data.index(b"word/document.xml") + len("word/document.xml")
    data[start:start + 40] = bytes(40)  # the part's deflated bytes, destroyed
    with pytest.raises(importer.NotesError, match="damaged|not a zip"):
        word.parse_docx(bytes(data))
