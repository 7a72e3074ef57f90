"""Just enough PNG reading to judge an image: the signature, the IHDR size, and a full decode."""

from __future__ import annotations

import io
import struct

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the IHDR chunk, or None when `data` does not start like a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def decodes_as_png(data: bytes) -> bool:
    """Whether the whole file decodes (a truncated or corrupt PNG can still have a good header)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.format == "PNG"
    except Exception:
        return False
