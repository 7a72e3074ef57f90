"""A PNG writer on the standard library alone, so an image's bytes depend on its pixels and Python's zlib, never on
which imaging library (or which version of it, with its own bundled zlib) happens to be installed."""

from __future__ import annotations

import binascii
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPE_INDEXED = 3


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", binascii.crc32(data, binascii.crc32(kind)))


def indexed_png(width: int, height: int, palette: bytes, scanlines: bytes | bytearray, level: int) -> bytes:
    """An 8-bit palette PNG. `scanlines` is already in PNG's own layout (each row its filter byte, then `width`
    palette indexes), so it is compressed as it stands, with no copy; `palette` holds three bytes per colour."""
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPE_INDEXED, 0, 0, 0)
    return b"".join(
        (
            SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", zlib.compress(scanlines, level)),
            _chunk(b"IEND", b""),
        )
    )
