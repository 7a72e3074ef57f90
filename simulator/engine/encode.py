"""Re-encoding a rendered PNG for providers that answer in JPEG.

The PNG stays the single source of the picture (its bytes are what every face shares); JPEG is derived from it with
fixed settings, so the JPEG bytes are as deterministic as the PNG's.
"""

from __future__ import annotations

import io

from PIL import Image

# Decision: quality 90 without optimisation or progressive scans: fast, and stable across runs.
JPEG_QUALITY = 90


def png_to_jpeg(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue()
