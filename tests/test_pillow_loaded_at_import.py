"""A running perf-sim must not read Pillow's files from disk after it started.

Pillow imports its format plugins (JPEG, WebP, ...) on the first picture it opens. The README's order (start perf-sim,
then `pip install -e '.[clients]'` from another terminal) swaps Pillow underneath the running server, since
blackforest pins pillow==10.4.0; a plugin loaded after that is the new version's, inside the old version's `Image`,
and every JPEG answer was a 500 until perf-sim was restarted. So the modules that make and read pictures load all
of Pillow at import, and a request imports nothing more of it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from PIL import Image

# Each imports one module that handles pictures and does what requests do with it, then prints the Pillow modules
# imported only while doing so. The encoder makes the JPEG and the blurred PNG of a rendered picture; the gateway's
# adapter checks an upstream's answer in formats it may get (PNG, JPEG, WebP, GIF, garbage).
_ENCODER_AT_WORK = """
import sys
from simulator.engine.encode import blur_png, png_to_jpeg
from simulator.engine.render import RenderKey, render_png

at_start = {name for name in sys.modules if name.split(".")[0] == "PIL"}
png = render_png(RenderKey(1, "dall-e-2", "a red fox", "256x256", 0))
png_to_jpeg(png)
blur_png(png)
"""
_ADAPTER_AT_WORK = """
import json, sys
from simulator.engine.errors import ApiError
from simulator.gateway.adapter import _check_picture

at_start = {name for name in sys.modules if name.split(".")[0] == "PIL"}
for picture in json.loads(sys.argv[1]):
    try:
        _check_picture("openai", bytes.fromhex(picture), "256x256")
    except ApiError:
        pass
"""
_IMPORTED_SINCE_START = """
print(json.dumps(sorted({name for name in sys.modules if name.split(".")[0] == "PIL"} - at_start)))
"""


def _encoded(image_format: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(buffer, image_format)
    return buffer.getvalue().hex()


@pytest.mark.parametrize("work", [_ENCODER_AT_WORK, _ADAPTER_AT_WORK], ids=["encoder", "gateway_adapter"])
def test_making_and_reading_pictures_imports_no_pillow_module_after_the_module_is_imported(work: str) -> None:
    pictures = json.dumps([_encoded(image_format) for image_format in ("PNG", "JPEG", "WEBP", "GIF")] + [b"no".hex()])
    script = "import json\n" + work + _IMPORTED_SINCE_START
    done = subprocess.run([sys.executable, "-c", script, pictures], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
