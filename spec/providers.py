"""Native wire facts of the upstream providers the simulator emulates (OpenAI, Stability AI, Ideogram).

The Perf API's own rules live in `spec.models`; these are the providers' own allowed values, defaults, limits
and error names, needed because their native faces (and a gateway calling them) must accept and refuse exactly
what the real APIs do. Sources and the points where they disagree are in /work/shared/reference/providers.md;
each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

from spec.models import IDEOGRAM_ASPECT_SIZES, MODELS, STABILITY_ASPECT_SIZES

# --- OpenAI Images (POST /v1/images/generations) -------------------------------------------------------------

OPENAI_MODELS = ("dall-e-2", "dall-e-3")
# Decision: with no `model`, OpenAI's Images API uses dall-e-2 (its documented default), not the Perf API's
# dall-e-3; an emulation must surprise a client exactly as the real API would.
OPENAI_DEFAULT_MODEL = "dall-e-2"
# OpenAI takes n from 1 to 10 for dall-e-2; dall-e-3 only n=1 (both from `spec.models` max_n).
OPENAI_PROMPT_LIMITS = {name: MODELS[name].max_prompt_chars for name in OPENAI_MODELS}
OPENAI_ERROR_INVALID_REQUEST = "invalid_request_error"
OPENAI_ERROR_RATE_LIMIT_TYPE = "requests"
OPENAI_ERROR_SERVER = "server_error"
OPENAI_CODE_INVALID_API_KEY = "invalid_api_key"
OPENAI_CODE_CONTENT_POLICY = "content_policy_violation"
OPENAI_CODE_RATE_LIMIT = "rate_limit_exceeded"
OPENAI_CODE_INVALID_SIZE = "invalid_size"
OPENAI_CODE_INVALID_VALUE = "invalid_value"
OPENAI_CODE_INVALID_TYPE = "invalid_type"
OPENAI_CODE_MISSING = "missing_required_parameter"
OPENAI_CODE_UNKNOWN_PARAMETER = "unknown_parameter"
OPENAI_CODE_STRING_TOO_LONG = "string_above_max_length"
OPENAI_CONTENT_POLICY_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system."
)
# Fields of gpt-image-1 and later that OpenAI takes on the same endpoint; the face refuses them with a clear
# message (those models are not emulated) rather than as unknown parameters.
OPENAI_GPT_IMAGE_FIELDS = ("background", "moderation", "output_format", "output_compression", "partial_images", "stream")
OPENAI_KNOWN_FIELDS = ("prompt", "model", "n", "size", "quality", "style", "response_format", "user")
# OpenAI-style rate-limit headers. Decision: the images endpoint's real headers are unconfirmed; the emulation
# sends the request family (counting images, which for dall-e-3 is the same thing) from the per-minute window.
OPENAI_HEADER_LIMIT = "x-ratelimit-limit-requests"
OPENAI_HEADER_REMAINING = "x-ratelimit-remaining-requests"
OPENAI_HEADER_RESET = "x-ratelimit-reset-requests"
# Decision on `x-should-retry` (the openai SDK obeys it over its own rules): a 429 says "true" only when a retry
# after Retry-After can succeed, i.e. the simulator clock is real time and the wait is within what every SDK
# version honours (60 s; newer ones take up to 120 s). On a manual clock no real wait frees the window, and a
# day-window wait is longer than any SDK sleeps, so it says "false" and the 429 reaches the caller at once.
OPENAI_RETRYABLE_WAIT_SECONDS = 60

# --- Stability AI (POST /v2beta/stable-image/generate/sd3) ---------------------------------------------------

# The sd3 endpoint's model names, current and earlier; all are rendered by the Perf model stable-diffusion-3.
STABILITY_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3-large", "sd3-large-turbo", "sd3-medium")
STABILITY_DEFAULT_MODEL = "sd3.5-large"
STABILITY_ASPECT_RATIOS = tuple(STABILITY_ASPECT_SIZES)
STABILITY_DEFAULT_ASPECT_RATIO = "1:1"
STABILITY_MAX_PROMPT_CHARS = 10_000
# Decision (every face alike, see BFL_MAX_SEED): a native seed k picks the render index, so seed k gives the k-th
# image of the equivalent Perf request; no seed (or 0, Stability's "random") gives image #0, and the seed reported
# back is always the one that reproduces the picture here. A gateway asks for image k of n with seed k.
STABILITY_MAX_SEED = 4_294_967_294
# Decision: sd3 documents png and jpeg; webp (listed only for /core and in one disputed schema copy) is a 400.
STABILITY_OUTPUT_FORMATS = ("png", "jpeg")
STABILITY_DEFAULT_OUTPUT_FORMAT = "png"
STABILITY_MODES = ("text-to-image", "image-to-image")
STABILITY_CFG_SCALE_RANGE = (1.0, 10.0)
# Decision: image-to-image needs an uploaded image; the emulation refuses it with a 400 (not emulated).
STABILITY_EMULATED_MODE = "text-to-image"
# Stability refuses bodies over about 10 MiB with 413.
STABILITY_MAX_BODY_BYTES = 10 * 1024 * 1024
STABILITY_FINISH_SUCCESS = "SUCCESS"
# Output moderation (spec.policy.flags_output): still a 200, with a blurred image, as Stability answers.
STABILITY_FINISH_FILTERED = "CONTENT_FILTERED"
STABILITY_ERROR_BAD_REQUEST = "bad_request"
STABILITY_ERROR_UNAUTHORIZED = "unauthorized"
STABILITY_ERROR_CONTENT_MODERATION = "content_moderation"
STABILITY_ERROR_PAYLOAD_TOO_LARGE = "payload_too_large"
STABILITY_ERROR_RATE_LIMIT = "rate_limit_exceeded"
STABILITY_ERROR_INTERNAL = "internal_error"
STABILITY_ERROR_NOT_FOUND = "not_found"
# Stability's window is 150 requests per 10 s; a 429 without Retry-After means waiting that long.
STABILITY_DEFAULT_RETRY_AFTER_SECONDS = 10
STABILITY_CONTENT_MODERATION_MESSAGE = (
    "Your request was flagged by our content moderation system, as a result your request was denied and you were not charged."
)

# --- Ideogram (POST /generate, the legacy V_1/V_2 endpoint) --------------------------------------------------

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
IDEOGRAM_MAX_SEED = 2_147_483_647
IDEOGRAM_MAX_NUM_IMAGES = 8
IDEOGRAM_MAX_PROMPT_CHARS = 10_000
IDEOGRAM_SAFETY_MESSAGE = "Prompt or provided image failed the safety checks"
