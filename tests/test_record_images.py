"""Figures imported from Word appear in the records: the summary record's .docx embeds their images
with captions, and the JSON record carries them so that a restore gives them back, checked."""

import base64
import io

import docx
import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.urls import reverse

from sessions_app import importer
from sessions_app.exports import docx_summary, record, record_images
from sessions_app.meetings import services as notes_services
from sessions_app.models import Block, Delegation, FigureImage, Meeting

from .conftest import SEED_NOTES
from .factories import DelegationFactory, make_delegate
from .word_docs import notes_to_docx, tiny_png

pytestmark = pytest.mark.django_db

DESCR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


@pytest.fixture(scope="module")
def seed_docx() -> bytes:
    return notes_to_docx(importer.parse_notes_bytes(SEED_NOTES.read_bytes()))


@pytest.fixture
def meeting(seed_docx):
    return notes_services.import_notes_file(seed_docx, source_name="notes.docx")[0]


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def images_of(meeting) -> list[tuple]:
    return [(image.position, image.figure, image.name, image.content_type, bytes(image.data))
            for image in FigureImage.objects.filter(meeting=meeting).order_by("position")]


def test_summary_docx_embeds_each_figure_image_with_its_caption(meeting):
    document = docx.Document(io.BytesIO(docx_summary.build(meeting)))
    stored = FigureImage.objects.filter(meeting=meeting).order_by("position")
    assert len(stored) == 5
    shapes = document.inline_shapes
    assert len(shapes) == 5
    blobs = [document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob for shape in shapes]
    assert blobs == [bytes(image.data) for image in stored]
    assert all(blob.startswith(b"\x89PNG\r\n\x1a\n") for blob in blobs)

    figures = {block.number: block for block in Block.objects.filter(session__meeting=meeting, language="", kind="figure")}
    expected = [f"Figure {image.figure}. {figures[image.figure].title}" for image in stored]
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert captions == list(dict.fromkeys(expected))  # one caption per figure, under its images
    # The caption is also each picture's alternative text, for screen readers.
    assert [shape._inline.find(DESCR).get("descr") for shape in shapes] == expected
    text = [p.text for p in document.paragraphs]
    assert text.index("Figures from the briefing") < text.index(captions[0])


def test_summary_docx_of_notes_without_images_has_no_figures_section(seed_meeting):
    document = docx.Document(io.BytesIO(docx_summary.build(seed_meeting)))
    assert len(document.inline_shapes) == 0
    assert "Figures from the briefing" not in [p.text for p in document.paragraphs]


def test_json_record_round_trip_restores_the_figure_images(client, meeting):
    before = images_of(meeting)
    first = record.build(meeting)
    carried = record.export_record(meeting)["figure_images"]
    assert [base64.b64decode(entry["data"]) for entry in carried] == [row[4] for row in before]
    html_before = list(Block.objects.filter(session__meeting=meeting, kind="figure").order_by("session__number", "position")
                       .values_list("html", flat=True))
    Meeting.objects.all().delete()
    User.objects.all().delete()
    Delegation.objects.all().delete()

    restored = record.restore_record(record.parse(first))

    assert images_of(restored) == before
    assert record.build(restored) == first
    html = list(Block.objects.filter(session__meeting=restored, kind="figure").order_by("session__number", "position")
                .values_list("html", flat=True))
    assert html == html_before
    # Served again at the address the restored briefing shows.
    src = reverse("figure_image", args=[restored.slug, 1])
    assert f'src="{src}"' in "".join(html)
    france = DelegationFactory(country="FR")
    restored.delegations.add(france)
    client.force_login(make_delegate(france))
    response = client.get(src)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == before[0][4]
    # And the restored meeting's summary record embeds them as the original's did.
    assert len(docx.Document(io.BytesIO(docx_summary.build(restored))).inline_shapes) == 5


def test_a_record_without_images_still_restores(built_record_without_images):
    restored = record.restore_record(built_record_without_images)
    assert FigureImage.objects.filter(meeting=restored).count() == 0


@pytest.fixture
def built_record_without_images(seed_meeting):
    document = record.export_record(seed_meeting)
    assert document["figure_images"] == []
    del document["figure_images"]  # a record made before images were carried
    document["meeting"]["slug"] = "an-older-record"
    document["meeting"]["join_code"] = None
    return document


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def _set_image(index: int, **fields):
    def damage(document):
        document["figure_images"][index].update(fields)
    return damage


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_set_image(0, data=base64.b64encode(SVG).decode()), "is not a PNG, JPEG or GIF image"),
        (_set_image(0, data=base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()), "is not a PNG, JPEG or GIF image"),  # not what it says
        (_set_image(0, content_type="image/svg+xml"), "is not a PNG, JPEG or GIF image"),
        (_set_image(0, data="not base64 at all!"), "is not valid base64"),
        (_set_image(0, data=base64.b64encode(tiny_png() + b"\x00" * 200).decode()), "is larger than"),
    ],
)
def test_restore_refuses_a_hostile_image_and_stores_nothing(meeting, monkeypatch, damage, message):
    monkeypatch.setattr(record_images, "MAX_IMAGE_BYTES", 150)
    document = record.export_record(meeting)
    document["meeting"]["slug"] = "a-new-slug"
    damage(document)
    before = row_counts()

    with pytest.raises(record.RecordError, match=message) as refused:
        record.restore_record(document)

    assert "nothing was imported" in str(refused.value)
    assert document["figure_images"][0]["name"] in str(refused.value) or "together" in str(refused.value)
    assert row_counts() == before


def test_restore_refuses_images_too_large_together(meeting, monkeypatch):
    monkeypatch.setattr(record_images, "MAX_IMAGES_BYTES", len(tiny_png()) * 3)
    document = record.export_record(meeting)
    document["meeting"]["slug"] = "a-new-slug"
    before = row_counts()
    with pytest.raises(record.RecordError, match="larger than .* together"):
        record.restore_record(document)
    assert row_counts() == before


def _first_figure(document) -> dict:
    return next(block for session in document["sessions"] for block in session["blocks"] if "<img" in block["html"])


@pytest.mark.parametrize(
    ("replace", "named"),
    [
        (lambda html: html.replace('src="/meetings/', 'src="https://elsewhere.example/meetings/'), "not one of the record's images"),
        (lambda html: html.replace("/figures/1/", "/figures/99/"), "not one of the record's images"),
        (lambda html: html.replace('<img class="figure-image"', '<img onerror="alert(1)" class="figure-image"'), "the attribute onerror on <img>"),
    ],
)
def test_restore_refuses_an_img_that_is_not_the_records_own_image(meeting, replace, named):
    document = record.export_record(meeting)
    document["meeting"]["slug"] = "a-new-slug"
    figure = _first_figure(document)
    # The record's own addresses follow its slug.
    figure["html"] = figure["html"].replace(f"/meetings/{meeting.slug}/", "/meetings/a-new-slug/")
    for session in document["sessions"]:
        for block in session["blocks"]:
            block["html"] = block["html"].replace(f"/meetings/{meeting.slug}/", "/meetings/a-new-slug/")
    figure["html"] = replace(figure["html"])
    before = row_counts()

    with pytest.raises(record.RecordError, match="holds HTML the importer never writes") as refused:
        record.restore_record(document)

    assert named in str(refused.value)
    assert row_counts() == before


def test_restore_refuses_an_img_in_a_record_without_images(meeting):
    document = record.export_record(meeting)
    document["meeting"]["slug"] = "a-new-slug"
    document["figure_images"] = []
    before = row_counts()
    with pytest.raises(record.RecordError, match="<img>"):
        record.restore_record(document)
    assert row_counts() == before


def test_printable_summary_shows_each_figure_image_with_its_caption(client, meeting):
    from .factories import make_secretariat

    client.force_login(make_secretariat())
    html = client.get(reverse("records_summary", args=[meeting.slug])).content.decode()
    figures = {block.number: block for block in Block.objects.filter(session__meeting=meeting, language="", kind="figure")}
    for image in FigureImage.objects.filter(meeting=meeting):
        caption = f"Figure {image.figure}. {figures[image.figure].title}"
        assert f'<img class="figure-image" src="{reverse("figure_image", args=[meeting.slug, image.position])}" alt="{caption}">' in html
    assert html.count('<figure class="figure record-figure"') == len({image.figure for image in FigureImage.objects.filter(meeting=meeting)})


def test_reviewed_record_docx_carries_the_figures_of_each_session(meeting):
    from sessions_app.records import docx as record_docx
    from sessions_app.records import services as review

    from .factories import make_secretariat

    secretariat = make_secretariat()
    draft = review.issue_draft(secretariat, meeting=meeting)
    final = review.issue_final(secretariat, version=draft)
    document = docx.Document(io.BytesIO(record_docx.build(final)))
    assert len(document.inline_shapes) == FigureImage.objects.filter(meeting=meeting).count() == 5
    text = [p.text for p in document.paragraphs]
    # Each session's figures come after its own passages, before the next session's heading.
    first_figure = Block.objects.filter(session__meeting=meeting, language="", kind="figure").order_by("session__number", "position").first()
    caption = f"Figure {first_figure.number}. {first_figure.title}"
    session = first_figure.session
    heading = next(p["text"] for p in final.passages if p["key"] == f"s{session.number}")
    following = [p["text"] for p in final.passages if p["kind"] == "heading" and p["key"] == f"s{session.number + 1}"]
    assert text.index(heading) < text.index(caption)
    if following:
        assert text.index(caption) < text.index(following[0])

    # A session's own record carries that session's figures only.
    session_draft = review.issue_draft(secretariat, meeting=meeting, session=session)
    own = docx.Document(io.BytesIO(record_docx.build(session_draft)))
    numbers = Block.objects.filter(session=session, language="", kind="figure").values_list("number", flat=True)
    expected = FigureImage.objects.filter(meeting=meeting, figure__in=list(numbers)).count()
    assert 0 < expected < 5
    assert len(own.inline_shapes) == expected
