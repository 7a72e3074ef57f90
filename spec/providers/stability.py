"""Stability AI's own wire facts (POST /v2beta/stable-image/generate/sd3): fields, enums, limits, error names.

The Perf API's own rules live in `spec.models`; these are the provider's allowed values, defaults, limits and
error names, which its native face (and a gateway calling it) must accept and refuse exactly as the real API does.
Each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

from spec.models import STABILITY_ASPECT_SIZES, only_model_of

# The sd3 endpoint's model names, current and earlier; all are rendered by the one Perf model of Stability.
STABILITY_PERF_MODEL = only_model_of("stability")
STABILITY_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3-large", "sd3-large-turbo", "sd3-medium")
STABILITY_DEFAULT_MODEL = "sd3.5-large"
# The sd3 endpoint has no count field: each call renders one image.
STABILITY_IMAGES_PER_CALL = 1
STABILITY_ASPECT_RATIOS = tuple(STABILITY_ASPECT_SIZES)
STABILITY_DEFAULT_ASPECT_RATIO = "1:1"
STABILITY_MAX_PROMPT_CHARS = 10_000
# Decision: Stability documents no length for its other text fields; a choice (mode, model, aspect_ratio,
# output_format) over 100 characters or a number (seed, cfg_scale) over 40 is refused by its length, as the prompt is,
# before its value is read.
STABILITY_MAX_CHOICE_CHARS = 100
STABILITY_MAX_NUMBER_CHARS = 40
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
STABILITY_ERROR_NOT_FOUND = "not_found"
# Decision: the name of Stability's answer to a wrong method is unconfirmed; it follows its snake_case names.
STABILITY_ERROR_METHOD_NOT_ALLOWED = "method_not_allowed"
# Decision: every other error is named by its Perf type (`internal_error`, `service_unavailable`, `upstream_error`):
# the same snake_case words, and an injected fault's type reaches a Stability client as docs/control.md says.
# Stability's window is 150 requests per 10 s; a 429 without Retry-After means waiting that long.
STABILITY_DEFAULT_RETRY_AFTER_SECONDS = 10
STABILITY_CONTENT_MODERATION_MESSAGE = (
    "Your request was flagged by our content moderation system, as a result your request was denied and you were not charged."
)
