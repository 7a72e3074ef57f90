"""Re-encoding a rendered PNG for providers that answer in JPEG, or that blur an output their moderation flagged.

The PNG stays the single source of the picture (its bytes are what every face shares); JPEG is derived from it with
fixed settings, so the JPEG bytes are as deterministic as the PNG's.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

from PIL import Image, ImageFilter

# Decision: all of Pillow's format plugins are imported now, not on the first picture as Pillow would. A Pillow
# installed over a running perf-sim (the README's `pip install -e '.[clients]'` swaps it: blackforest pins
# pillow==10.4.0) would otherwise be half loaded: the new version's JPEG plugin inside the old version's `Image`, and
# every JPEG answer a 500 until a restart. Loaded at import, a running server keeps the Pillow it started with, whole
# (tests/test_pillow_loaded_at_import.py). Costs about 60 ms at startup. The gateway's adapter does the same.
Image.init()

# Decision: quality 90 without optimisation or progressive scans: fast, and stable across runs.
JPEG_QUALITY = 90
# Decision: a flagged output is blurred past recognition (Stability's CONTENT_FILTERED answers carry a blurred image).
# A box blur of radius 1/16 of the shorter side costs a few tens of milliseconds at 1 MP.
BLUR_FRACTION = 16


def base64_text(picture: bytes) -> str:
    """The picture as a JSON answer carries it (a b64_json field, Imagen's bytesBase64Encoded, Stability's image)."""
    return base64.b64encode(picture).decode("ascii")


@lru_cache(maxsize=256)
def rendered_base64_text(png: bytes) -> str:
    """`base64_text` of a PNG held by the render cache. Cached: a repeated request gets the same bytes object from the
    render cache, whose hash Python keeps, so a hit costs a lookup instead of encoding tens of kilobytes again. Only
    for the cache's own bytes: a picture made anew for each answer (a JPEG, a blur, an upstream's image) would never
    hit and would hold its bytes and text here until 256 others pushed it out."""
    return base64_text(png)


def png_to_jpeg(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue()


def blur_png(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        radius = max(1, min(image.size) // BLUR_FRACTION)
        buffer = io.BytesIO()
        image.convert("RGB").filter(ImageFilter.BoxBlur(radius)).save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()
