"""Ideogram's own wire facts (POST /generate, the legacy V_1/V_2 endpoint): models, enums, limits, messages.

The Perf API's own rules live in `spec.models`; these are the provider's allowed values, defaults, limits and
error names, which its native face (and a gateway calling it) must accept and refuse exactly as the real API does.
Each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

from spec.models import IDEOGRAM_ASPECT_SIZES, only_model_of

# Ideogram's model names; all are rendered by the one Perf model of Ideogram.
IDEOGRAM_PERF_MODEL = only_model_of("ideogram")
IDEOGRAM_MODELS = ("V_1", "V_1_TURBO", "V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO")
# Decision: Ideogram's default model is unconfirmed; V_2 is the one Perf's ideogram-2 names.
IDEOGRAM_DEFAULT_MODEL = "V_2"
# `resolution` and `style_type` exist from V_2 on.
IDEOGRAM_V2_MODELS = ("V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO")
IDEOGRAM_ASPECT_RATIOS = tuple(IDEOGRAM_ASPECT_SIZES)
IDEOGRAM_DEFAULT_ASPECT_RATIO = "ASPECT_1_1"
# Ideogram's RESOLUTION_<W>_<H> enum as its API reference lists it (recalled, not re-verified offline), plus the
# resolution of every aspect ratio, so that a size any aspect ratio renders can also be asked for directly.
_IDEOGRAM_LISTED_RESOLUTIONS = [
    "512x1536",
    "576x1408",
    "576x1472",
    "576x1536",
    "640x1024",
    "640x1344",
    "640x1408",
    "640x1472",
    "640x1536",
    "704x1152",
    "704x1216",
    "704x1280",
    "704x1344",
    "704x1408",
    "704x1472",
    "720x1280",
    "736x1312",
    "768x1024",
    "768x1088",
    "768x1152",
    "768x1216",
    "768x1232",
    "768x1280",
    "768x1344",
    "832x960",
    "832x1024",
    "832x1088",
    "832x1152",
    "832x1216",
    "832x1248",
    "864x1152",
    "896x960",
    "896x1024",
    "896x1088",
    "896x1120",
    "896x1152",
    "960x832",
    "960x896",
    "960x1024",
    "960x1088",
    "1024x640",
    "1024x768",
    "1024x832",
    "1024x896",
    "1024x960",
    "1024x1024",
    "1088x768",
    "1088x832",
    "1088x896",
    "1088x960",
    "1120x896",
    "1152x704",
    "1152x768",
    "1152x832",
    "1152x864",
    "1152x896",
    "1216x704",
    "1216x768",
    "1216x832",
    "1232x768",
    "1248x832",
    "1280x704",
    "1280x720",
    "1280x768",
    "1280x800",
    "1312x736",
    "1344x640",
    "1344x704",
    "1344x768",
    "1408x576",
    "1408x640",
    "1408x704",
    "1472x576",
    "1472x640",
    "1472x704",
    "1536x512",
    "1536x576",
    "1536x640",
]
IDEOGRAM_RESOLUTIONS: dict[str, str] = {
    f"RESOLUTION_{size.replace('x', '_')}": size
    for size in sorted({*_IDEOGRAM_LISTED_RESOLUTIONS, *IDEOGRAM_ASPECT_SIZES.values()}, key=lambda s: tuple(map(int, s.split("x"))))
}
IDEOGRAM_MAGIC_PROMPT_OPTIONS = ("AUTO", "ON", "OFF")
IDEOGRAM_STYLE_TYPES = ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME")
# Decision: the style Ideogram reports when the request leaves it to AUTO (the real API names the style it chose).
IDEOGRAM_REPORTED_AUTO_STYLE = "GENERAL"
# Decision (as for Stability and BFL): seed k picks the render index, and image i of a num_images request is
# seed k + i, reported as such; no seed starts at 0, so a request's images are the Perf request's #0..#n-1.
# Past IDEOGRAM_MAX_SEED the count wraps to 0 (modulo IDEOGRAM_SEED_PERIOD): every reported seed is one Ideogram
# accepts, and sending it back with num_images 1 gives that image again (seed 2147483647 with 3 images: 2147483647, 0, 1).
IDEOGRAM_MAX_SEED = 2_147_483_647
IDEOGRAM_SEED_PERIOD = IDEOGRAM_MAX_SEED + 1
IDEOGRAM_MAX_NUM_IMAGES = 8
IDEOGRAM_DEFAULT_NUM_IMAGES = 1
IDEOGRAM_MAX_PROMPT_CHARS = 10_000
IDEOGRAM_SAFETY_MESSAGE = "Prompt or provided image failed the safety checks"
