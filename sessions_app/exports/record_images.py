"""The figure images of a meeting (imported from its Word notes) in its JSON record: written as base64,
read back only when each is an image the briefing can show, of a sane size."""
from __future__ import annotations

import base64
import binascii
import re

from django.utils.translation import gettext as _

from ..meetings.word import image_content_type
from ..models import FigureImage, Meeting

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # one image, decoded
MAX_IMAGES_BYTES = 50 * 1024 * 1024  # all of them: what one Word file may hold (meetings.word.MAX_DOCX_BYTES)


class ImageError(Exception):
    """An image of the record that is refused; the message says which and why, for the person importing."""


def export_images(meeting: Meeting) -> list[dict]:
    """[{"position", "figure", "name", "content_type", "data" (base64)}], in document order (one query)."""
    return [
        {"position": row["position"], "figure": row["figure"], "name": row["name"],
         "content_type": row["content_type"], "data": base64.b64encode(bytes(row["data"])).decode("ascii")}
        for row in FigureImage.objects.filter(meeting=meeting).order_by("position")
        .values("position", "figure", "name", "content_type", "data")
    ]


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def read_images(entries: object) -> list[FigureImage]:
    """The record's images as unsaved rows, each checked: PNG, JPEG or GIF by its bytes and as declared,
    at most MAX_IMAGE_BYTES each and MAX_IMAGES_BYTES together, with a position of its own.

    ImageError for an image a person could fix (its type, its size, its encoding); ValueError or
    KeyError for a malformed entry (the record's reader reports those as a malformed record)."""
    if not isinstance(entries, list):
        raise ValueError("figure_images is not a list")
    images: list[FigureImage] = []
    positions: set[int] = set()
    total = 0
    limit_mb = MAX_IMAGE_BYTES // (1024 * 1024)
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"figure image {index} is not an object")
        name, encoded, position, figure = entry["name"], entry["data"], entry["position"], entry["figure"]
        if not isinstance(name, str) or not isinstance(encoded, str):
            raise ValueError(f"figure image {index} has no name or no data")
        if not _whole_number(position) or position in positions:
            raise ValueError(f"figure image {index} has no position of its own")
        if figure is not None and not _whole_number(figure):
            raise ValueError(f"figure image {index} names no figure")
        # Checked before decoding: a record cannot make us hold a huge decoded image in memory.
        if len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 8:
            raise ImageError(_("The image %(name)s in the record is larger than %(limit)s MB; nothing was imported.")
                             % {"name": name, "limit": limit_mb})
        try:
            data = base64.b64decode(re.sub(r"\s+", "", encoded), validate=True)
        except (binascii.Error, ValueError):
            raise ImageError(_("The image %(name)s in the record is not valid base64; nothing was imported.")
                             % {"name": name}) from None
        if len(data) > MAX_IMAGE_BYTES:
            raise ImageError(_("The image %(name)s in the record is larger than %(limit)s MB; nothing was imported.")
                             % {"name": name, "limit": limit_mb})
        total += len(data)
        if total > MAX_IMAGES_BYTES:
            raise ImageError(_("The record's images are larger than %(limit)s MB together; nothing was imported.")
                             % {"limit": MAX_IMAGES_BYTES // (1024 * 1024)})
        content_type = image_content_type(data)
        if content_type is None or content_type != entry["content_type"]:
            raise ImageError(_("The image %(name)s in the record is not a PNG, JPEG or GIF image; nothing was imported.")
                             % {"name": name})
        positions.add(position)
        images.append(FigureImage(position=position, figure=figure, name=name[:255], content_type=content_type, data=data))
    return images
