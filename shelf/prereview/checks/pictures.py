"""Pictures that are not PNG, or whose border is almost all near-white (a plain white background)."""

from __future__ import annotations

import io
import logging

from django.utils.translation import gettext as _
from PIL import Image, ImageChops

from shelf.prereview.checks.hits import Hit
from shelf.storage import get_storage

logger = logging.getLogger(__name__)

PICTURE_READ_MAX_BYTES = 4 * 1024 * 1024
PICTURE_MAX_PIXELS = 4_000_000
BORDER_FRACTION = 0.05
NEAR_WHITE = 245  # every channel at least this
WHITE_BORDER_SHARE = 0.98

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def picture_check(revision) -> list[Hit]:
    hits = []
    storage = get_storage()
    for index, picture in enumerate(revision.pictures.all()):
        field, n = f"pictures[{index}]", index + 1
        try:
            with storage.open(picture.storage_key) as fh:
                data = fh.read(PICTURE_READ_MAX_BYTES + 1)
        except (OSError, ValueError):
            logger.warning("prereview: picture %s unreadable from storage", picture.storage_key)
            continue
        if len(data) > PICTURE_READ_MAX_BYTES:
            continue
        if not data.startswith(PNG_SIGNATURE):
            kind = "JPEG" if data.startswith(b"\xff\xd8\xff") else (picture.content_type or "?")
            hits.append(
                Hit(
                    field,
                    "picture_not_png",
                    _("Picture %(n)d is a %(format)s image; the standard asks for PNG pictures. Export it as PNG.")
                    % {"n": n, "format": kind},
                    kind,
                )
            )
        share = white_border_share(data)
        if share is not None and share >= WHITE_BORDER_SHARE:
            hits.append(
                Hit(
                    field,
                    "picture_white_background",
                    _(
                        "Picture %(n)d has a plain white background; the standard asks for a picture that is not on plain "
                        "white and shows the company or product name."
                    )
                    % {"n": n},
                    "",
                )
            )
    return hits


def white_border_share(data: bytes) -> float | None:
    """The share of near-white pixels (every channel ≥ 245) in the outer 5 % of the picture; None if unreadable.

    Transparent pixels count as white: that is how a transparent picture shows on a white page.
    """
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            width, height = image.size
            if width * height > PICTURE_MAX_PIXELS or width < 1 or height < 1:
                return None
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                rgb = Image.new("RGBA", image.size, (255, 255, 255, 255))
                rgb.alpha_composite(rgba)
                rgb = rgb.convert("RGB")
            else:
                rgb = image.convert("RGB")
    except Exception:  # untrusted bytes: unreadable means "cannot tell"
        return None
    red, green, blue = rgb.split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    white = darkest.point(lambda value: 255 if value >= NEAR_WHITE else 0)
    bw, bh = max(1, round(width * BORDER_FRACTION)), max(1, round(height * BORDER_FRACTION))
    if 2 * bw >= width or 2 * bh >= height:
        boxes = [(0, 0, width, height)]
    else:
        boxes = [
            (0, 0, width, bh),
            (0, height - bh, width, height),
            (0, bh, bw, height - bh),
            (width - bw, bh, width, height - bh),
        ]
    total = sum((right - left) * (bottom - top) for left, top, right, bottom in boxes)
    whites = sum(white.crop(box).histogram()[255] for box in boxes)
    return whites / total
