"""The image renderer: a real PNG of the requested size that shows which request made it.

Images dominate the simulator's cost, so the picture is built from flat regions of a palette: every shape and letter
is a run of equal bytes in a row, and zlib at level 1 packs those runs in a few milliseconds even at 1792x1024.
The pixels are drawn by our own integer arithmetic and an embedded bitmap font, and the PNG is written with the
standard library, so the bytes depend on (seed, model, prompt, size, index) and on Python's zlib only, never on the
installed Pillow. That is what lets golden images in a user's snapshot tests hold, a URL response skip rendering
altogether, and the image be rendered (and cached) when the URL is fetched.
"""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from threading import Lock
from typing import NamedTuple

from simulator.engine.canvas import GLYPH_SIZE, Canvas, text_width
from simulator.engine.digest import digest
from simulator.engine.png import indexed_png
from spec.models import parse_size

# Decision: rendered PNGs are cached per process up to this many bytes (least recently used go first).
RENDER_CACHE_BYTES = 64 * 1024 * 1024
# Decision: zlib level 1 and no row filter. Measured at 1024x1024: 1.5 ms to compress, against 12.6 ms at level 6 and
# 3.8 ms with the Up filter on repeated rows; the files (~16 KB) are larger than level 9's (~4 KB) but cost no time.
ZLIB_LEVEL = 1

BACKGROUND, BAND, TEXT, SHADOW = 0, 5, 6, 7
"""Palette indexes; 1..4 are the four shapes."""


class RenderKey(NamedTuple):
    """A named tuple, not a frozen dataclass: every generated image gets one, and a tuple is built and hashed in C."""

    seed: int
    model: str
    prompt: str
    size: str
    image_index: int
    """The image's place in the request (its n), as the engine counts it (see `GenerationRequest.first_index`)."""


def _palette(key: RenderKey) -> bytes:
    raw = digest(key.seed, "palette", key.model, key.prompt, key.size, key.image_index)
    colours = [raw[i : i + 3] for i in range(0, 18, 3)]
    background = bytes(c // 3 for c in colours[0])  # kept dark, under white text
    band = bytes(64 + c // 2 for c in colours[5])
    return b"".join((background, *colours[1:5], band, b"\xff\xff\xff", b"\x00\x00\x00"))


def _draw(key: RenderKey) -> Canvas:
    width, height = parse_size(key.size)
    canvas = Canvas(width, height)
    shape_bytes = digest(key.seed, "shapes", key.model, key.prompt, key.size, key.image_index)
    for i in range(4):
        b = shape_bytes[i * 6 : i * 6 + 6]
        x0, y0 = b[0] * width // 256, b[1] * height // 256
        x1, y1 = x0 + (b[2] + 32) * width // 512, y0 + (b[3] + 32) * height // 512
        if b[4] % 2:
            canvas.ellipse(x0, y0, x1, y1, 1 + i)
        else:
            canvas.rectangle(x0, y0, x1, y1, 1 + i)

    px = max(10, min(width, height) // 22)
    band_height = px * 3
    canvas.rectangle(0, 0, width, band_height, BAND)
    title = f"{key.model}  {key.size}  #{key.image_index}"
    # The title is drawn half again as large as the body, unless that would run it off the picture.
    title_scale = max(1, min(px * 3 // 20, (width - 2 * px) // text_width(title, 1)))
    canvas.text(px, (band_height - GLYPH_SIZE * title_scale) // 2, title, title_scale, TEXT)
    scale = max(1, px // 10)
    chars_per_line = max(8, (width - 2 * px) // (GLYPH_SIZE * scale))
    lines = textwrap.wrap(key.prompt, chars_per_line, max_lines=max(1, (height - band_height) // (px * 2) - 1))
    line_height = int(px * 1.4)
    footer_top = height - px * 2
    # The text sits on plain background: a shape under it would make it hard to read.
    canvas.rectangle(0, band_height, width, min(footer_top, band_height + px + line_height * len(lines) + px // 2), BACKGROUND)
    canvas.rectangle(0, footer_top - px // 2, width, height, BACKGROUND)
    shadow = max(1, scale // 2)
    y = band_height + px
    for line in lines:
        canvas.text(px + shadow, y + shadow, line, scale, SHADOW)
        canvas.text(px, y, line, scale, TEXT)
        y += line_height
    canvas.text(px, footer_top, f"perf-image-sim seed {key.seed}", scale, TEXT)
    return canvas


def render_png(key: RenderKey) -> bytes:
    canvas = _draw(key)
    return indexed_png(canvas.width, canvas.height, _palette(key), canvas.scanlines, ZLIB_LEVEL)


class RenderCache:
    """Rendered PNGs by key, bounded by total bytes."""

    def __init__(self, max_bytes: int = RENDER_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[RenderKey, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = Lock()

    def cached(self, key: RenderKey) -> bytes | None:
        with self._lock:
            png = self._entries.get(key)
            if png is not None:
                self._entries.move_to_end(key)
            return png

    def get(self, key: RenderKey) -> bytes:
        png = self.cached(key)
        if png is not None:
            return png
        png = render_png(key)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = png
                self._bytes += len(png)
            while self._bytes > self._max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
        return png
