"""The image renderer: a real PNG of the requested size that shows which request made it.

Images dominate the simulator's cost, so the picture is built from flat regions on a palette image: PNG's row
filters turn those into runs of zeros and zlib at level 1 packs them in a few milliseconds even at 1792x1024.
The bytes are a pure function of (seed, model, prompt, size, index), which is what lets a URL response skip
rendering altogether and the image be rendered (and cached) when the URL is fetched.
"""

from __future__ import annotations

import io
import textwrap
from collections import OrderedDict
from functools import lru_cache
from threading import Lock
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

from simulator.engine.digest import digest
from spec.models import parse_size

# Decision: rendered PNGs are cached per process up to this many bytes (least recently used go first).
RENDER_CACHE_BYTES = 64 * 1024 * 1024


class RenderKey(NamedTuple):
    """A named tuple, not a frozen dataclass: every generated image gets one, and a tuple is built and hashed in C."""

    seed: int
    model: str
    prompt: str
    size: str
    image_index: int
    """The image's place in the request (its n), as the engine counts it (see `GenerationRequest.first_index`)."""


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def _palette(key: RenderKey) -> list[int]:
    raw = digest(key.seed, "palette", key.model, key.prompt, key.size, key.image_index)
    colours = [tuple(raw[i : i + 3]) for i in range(0, 18, 3)]
    # Index 0 background (kept dark), 1..4 shapes, 5 band, 6 text (white), 7 text shadow (black).
    background = tuple(c // 3 for c in colours[0])
    band = tuple(64 + c // 2 for c in colours[5])
    flat = [*background, *(v for c in colours[1:5] for v in c), *band, 255, 255, 255, 0, 0, 0]
    return flat + [0] * (768 - len(flat))


def _draw(key: RenderKey) -> Image.Image:
    width, height = parse_size(key.size)
    image = Image.new("P", (width, height), 0)
    image.putpalette(_palette(key))
    draw = ImageDraw.Draw(image)
    shape_bytes = digest(key.seed, "shapes", key.model, key.prompt, key.size, key.image_index)
    for i in range(4):
        b = shape_bytes[i * 6 : i * 6 + 6]
        x0, y0 = b[0] * width // 256, b[1] * height // 256
        x1, y1 = x0 + (b[2] + 32) * width // 512, y0 + (b[3] + 32) * height // 512
        if b[4] % 2:
            draw.ellipse((x0, y0, x1, y1), fill=1 + i)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=1 + i)

    px = max(10, min(width, height) // 22)
    band_height = px * 3
    draw.rectangle((0, 0, width, band_height), fill=5)
    title = _font(px + px // 2)
    draw.text((px, px // 2), f"{key.model}  {key.size}  #{key.image_index}", font=title, fill=6)
    body = _font(px)
    chars_per_line = max(8, int(width / (px * 0.55)) - 2)
    # Lone surrogates are legal in JSON strings but not drawable text.
    prompt = key.prompt.encode("utf-8", "replace").decode("utf-8")
    lines = textwrap.wrap(prompt, chars_per_line, max_lines=max(1, (height - band_height) // (px * 2) - 1))
    line_height = int(px * 1.4)
    footer_top = height - px * 2
    # The text sits on plain background: a shape under it would make it hard to read.
    draw.rectangle((0, band_height, width, min(footer_top, band_height + px + line_height * len(lines) + px // 2)), fill=0)
    draw.rectangle((0, footer_top - px // 2, width, height), fill=0)
    y = band_height + px
    for line in lines:
        draw.text((px + 1, y + 1), line, font=body, fill=7)
        draw.text((px, y), line, font=body, fill=6)
        y += line_height
    draw.text((px, footer_top), f"perf-image-sim seed {key.seed}", font=body, fill=6)
    return image


def render_png(key: RenderKey) -> bytes:
    buffer = io.BytesIO()
    _draw(key).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


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
