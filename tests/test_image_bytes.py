"""The promise users' golden PNGs rest on: an image's bytes are a pure function of (seed, model, prompt, size, index).

Snapshot tests keep rendered PNGs, and the pytest fixture is installed into the user's own environment beside
whatever Pillow their app needs, so the renderer must neither draw nor encode with Pillow. The hashes below move
only when the drawing deliberately changes (the second moved once, when the font gained Latin-1 and "é" stopped being
a box); only Python's zlib may change the compressed bytes (the pixels stay)."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import zlib

import pytest

from simulator.engine.canvas import GLYPH_SIZE, Canvas
from simulator.engine.render import RenderKey

# Renders in a fresh interpreter where importing Pillow fails, as if it were not installed at all.
_RENDER_WITHOUT_PILLOW = """
import json, sys

class NoPillow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "PIL":
            raise ImportError("Pillow is hidden from this process")

sys.meta_path.insert(0, NoPillow())
from simulator.engine.render import RenderKey, render_png

print(render_png(RenderKey(*json.loads(sys.argv[1]))).hex())
"""

_PIL_MODULES_AFTER_RENDERING = """
import sys
from simulator.engine.render import RenderKey, render_png

render_png(RenderKey(1, "dall-e-3", "a red fox", "1024x1024", 0))
print(sorted(name for name in sys.modules if name.split(".")[0] == "PIL"))
"""

ZLIB_NG = "ng" in zlib.ZLIB_RUNTIME_VERSION
"""zlib-ng (some Python builds link it) packs the same scanlines into other, equally valid, bytes."""


def _rendered_without_pillow(key: RenderKey) -> bytes:
    done = subprocess.run([sys.executable, "-c", _RENDER_WITHOUT_PILLOW, json.dumps(key)], capture_output=True, text=True, check=True)
    return bytes.fromhex(done.stdout)


def _scanlines(png: bytes) -> bytes:
    """The decompressed pixel rows: what the picture is, whichever zlib packed it."""
    compressed, offset = b"", 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        if png[offset + 4 : offset + 8] == b"IDAT":
            compressed += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return zlib.decompress(compressed)


@pytest.mark.parametrize(
    ("key", "pixels_sha256", "png_sha256"),
    [
        (
            RenderKey(3, "dall-e-2", "a red fox in the snow", "256x256", 0),
            "72e348551bf8e192f71829556d9ef28dcf88b081fcfafecfca09536a410b3346",
            "774ada8cbed1a957a173499f373e2528ed011af469249e7100a2d213924156fb",
        ),
        (
            RenderKey(11, "stable-diffusion-3", "café au lait, 日本の狐 at dawn", "1536x640", 2),
            "c35a67326e84f161ee4aaf4287e4c2b323685cdf2ff9fcc9a21449a93a88518f",
            "e14075ddf290bc6880c19bef40877a1624d99f074887eb1c6f0f5c1ac0ad675c",
        ),
    ],
)
def test_image_bytes_are_a_pure_function_of_the_inputs_whatever_pillow_is_installed(
    key: RenderKey, pixels_sha256: str, png_sha256: str
) -> None:
    png = _rendered_without_pillow(key)
    assert hashlib.sha256(_scanlines(png)).hexdigest() == pixels_sha256
    if ZLIB_NG:
        pytest.skip(f"Python's zlib here is {zlib.ZLIB_RUNTIME_VERSION}: the pixels match, the compressed bytes may not")
    assert hashlib.sha256(png).hexdigest() == png_sha256


def _drawn(text: str) -> bytes:
    canvas = Canvas(GLYPH_SIZE, GLYPH_SIZE)
    canvas.text(0, 0, text, 1, 1)
    return bytes(canvas.scanlines)


@pytest.mark.parametrize(("latin1", "ascii_base"), [("é", "e"), ("ñ", "n"), ("ü", "u"), ("ß", "s"), ("Ç", "C"), ("¿", "?")])
def test_latin1_characters_are_drawn_as_themselves_not_as_the_hollow_box(latin1: str, ascii_base: str) -> None:
    """A French, German or Spanish prompt shows its letters; only scripts beyond Latin-1 get the box ("日" here)."""
    assert _drawn(latin1) != _drawn("日")
    assert _drawn(latin1) != _drawn(ascii_base)


def test_the_renderer_does_not_import_pillow() -> None:
    done = subprocess.run([sys.executable, "-c", _PIL_MODULES_AFTER_RENDERING], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
