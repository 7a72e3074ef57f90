"""Drawing on palette pixels with integer span arithmetic, so a picture comes out the same on every machine.

Every primitive works a row at a time on slices of one bytearray (never a Python step per pixel), and the bytearray
is already in PNG's scanline layout: each row starts with its filter byte (0, none), so the PNG writer compresses it
as it stands.
"""

from __future__ import annotations

from functools import lru_cache
from math import isqrt

from simulator.engine.font8x8 import glyph

GLYPH_SIZE = 8
"""The font's cell, in pixels before scaling: glyphs are this wide and this tall, with their spacing inside."""


@lru_cache(maxsize=16)
def _scaled_rows(scale: int) -> tuple[bytes, ...]:
    """For each possible byte of a glyph row, its pixels widened `scale` times: 0xFF where ink is, 0x00 where not
    (the mask the text blit takes). Built once per scale, so drawing a line joins ready-made pieces."""
    ink, blank = b"\xff" * scale, b"\x00" * scale
    return tuple(b"".join(ink if bits >> column & 1 else blank for column in range(GLYPH_SIZE)) for bits in range(256))


def text_width(text: str, scale: int) -> int:
    return len(text) * GLYPH_SIZE * scale


class Canvas:
    """Palette indexes for a width x height picture, every pixel starting at index 0."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._stride = width + 1
        self.scanlines = bytearray(self._stride * height)
        """Rows in PNG's layout: a filter byte (0) then `width` palette indexes."""

    def _span(self, y: int, left: int, right: int, colour: int) -> None:
        """Pixels left..right (inclusive) of row y, clipped to the picture."""
        left, right = max(left, 0), min(right, self.width - 1)
        if 0 <= y < self.height and left <= right:
            start = y * self._stride + 1
            self.scanlines[start + left : start + right + 1] = bytes((colour,)) * (right - left + 1)

    def rectangle(self, x0: int, y0: int, x1: int, y1: int, colour: int) -> None:
        """Corners inclusive, as the picture's layout states them."""
        for y in range(max(y0, 0), min(y1, self.height - 1) + 1):
            self._span(y, x0, x1, colour)

    def ellipse(self, x0: int, y0: int, x1: int, y1: int, colour: int) -> None:
        """The ellipse inscribed in the inclusive box: a pixel is filled when its centre lies inside.

        Sums are kept in half pixels (the box's centre and a pixel's centre may sit on a half), so every row's span
        comes from integer square roots alone and is the same on any platform.
        """
        across, down = x1 + 1 - x0, y1 + 1 - y0  # the two diameters
        if across <= 0 or down <= 0:
            return
        for y in range(max(y0, 0), min(y1, self.height - 1) + 1):
            off_centre = 2 * y - y0 - y1  # the row's centre from the box's, in half pixels
            half_span = isqrt(across * across * (down * down - off_centre * off_centre)) // down  # in half pixels
            self._span(y, (x0 + x1 - half_span + 1) // 2, (x0 + x1 + half_span) // 2, colour)

    def text(self, x: int, y: int, text: str, scale: int, colour: int) -> None:
        """`text` in the 8x8 font, each font pixel drawn as scale x scale; only the ink is drawn, so what lies
        between the strokes (a shadow, the band) shows through. Clipped at the picture's edges; x must be >= 0."""
        visible = min(text_width(text, scale), self.width - x)
        if visible <= 0:
            return
        widened = _scaled_rows(scale)
        glyphs = [glyph(char) for char in text]
        fill = colour * int.from_bytes(b"\x01" * visible, "big")
        for row in range(GLYPH_SIZE):
            ink = int.from_bytes(b"".join([widened[rows[row]] for rows in glyphs])[:visible], "big")
            if not ink:
                continue
            keep, paint = ~ink, fill & ink
            for y_pixel in range(y + row * scale, y + (row + 1) * scale):
                if 0 <= y_pixel < self.height:
                    start = y_pixel * self._stride + 1 + x
                    under = int.from_bytes(self.scanlines[start : start + visible], "big")
                    self.scanlines[start : start + visible] = ((under & keep) | paint).to_bytes(visible, "big")
