"""Black Forest Labs' own wire facts (FLUX.1 [pro] / [dev], submit and poll): ranges, statuses, messages.

The Perf API's own rules live in `spec.models`; these are the provider's allowed values, defaults, limits and
error names, which its native face (and a gateway calling it) must accept and refuse exactly as the real API does.
Each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

from spec.models import FLUX_DIMENSIONS

# Native endpoint name -> Perf model.
BFL_MODELS: dict[str, str] = {"flux-pro": "flux-pro", "flux-dev": "flux-dev"}
# The root paths BFL also answers at: its official client drops any path in its base URL.
BFL_ROOT_PATHS = (*(f"/v1/{endpoint}" for endpoint in BFL_MODELS), "/v1/get_result")
# Decision: every other root path of BFL's API is BFL's too, so a `blackforest` client calling what is not emulated
# meets BFL's FastAPI 404/405, never the Perf envelope: any FLUX endpoint (/v1/flux-pro-1.1, /v1/flux-kontext-pro,
# /v1/flux-2-...; the Perf API has no path starting so), anything below /v1/get_result (/v1/get_result/), and
# /v1/licenses/... (the client's track_usage). The rest of /v1 stays the Perf API's (/v1/images/..., /v1/models: the
# paths its OpenAI-style clients call), including the client's process_image default /v1/image, which is not a
# documented BFL endpoint and is one letter away from the Perf API's /v1/images.
BFL_ROOT_PREFIXES = ("/v1/flux-", "/v1/get_result/", "/v1/licenses/")
BFL_DIMENSION_MIN = FLUX_DIMENSIONS[0]
BFL_DIMENSION_MAX = FLUX_DIMENSIONS[-1]
BFL_DIMENSION_STEP = FLUX_DIMENSIONS[1] - FLUX_DIMENSIONS[0]
# BFL has no count field: each task renders one image.
BFL_IMAGES_PER_TASK = 1
BFL_DEFAULT_WIDTH = 1024
BFL_DEFAULT_HEIGHT = 768
BFL_OUTPUT_FORMATS = ("jpeg", "png")
BFL_DEFAULT_OUTPUT_FORMAT = "jpeg"
BFL_SAFETY_TOLERANCE = (0, 6)
# Decision: a submit may carry an image (`image_prompt`, base64), so BFL bodies are not held to the Perf API's
# 256 KiB (spec.errors.MAX_BODY_BYTES). BFL documents no body limit; 10 MiB is Stability's, the only one the
# providers' references give for a request carrying an input image (a base64 image of about 7.5 MB). Over it, BFL's 413.
# Ideogram's /generate, OpenAI's generations and Imagen's :predict carry no image in the fields they accept (their
# longest valid bodies, prompts fully \u-escaped, stay under 256 KiB), so they keep the Perf API's limit.
BFL_MAX_BODY_BYTES = 10 * 1024 * 1024


# Numeric ranges per model (inclusive), as BFL documents FLUX.1: `interval` exists for [pro] only.
BFL_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "flux-pro": {"steps": (1, 50), "guidance": (1.5, 5.0), "interval": (1.0, 4.0), "safety_tolerance": BFL_SAFETY_TOLERANCE},
    "flux-dev": {"steps": (1, 50), "guidance": (1.5, 5.0), "safety_tolerance": BFL_SAFETY_TOLERANCE},
}
# Decision: a native `seed` picks the image variant (the render index), so seed k of a one-image BFL task is the
# k-th image of an n-image Perf request; without a seed BFL answers variant 0 (real BFL would pick at random).
BFL_MAX_SEED = 2**32 - 1

BFL_STATUS_PENDING = "Pending"
BFL_STATUS_READY = "Ready"
BFL_STATUS_REQUEST_MODERATED = "Request Moderated"
BFL_STATUS_CONTENT_MODERATED = "Content Moderated"
BFL_STATUS_NOT_FOUND = "Task not found"

# Decision: sample URLs stay valid 10 minutes of simulator time after the task is ready (BFL documents 10 min);
# a task record is kept one hour after submission, after which polling reports "Task not found".
BFL_SAMPLE_TTL_SECONDS = 600
BFL_TASK_TTL_SECONDS = 3600

BFL_NOT_AUTHENTICATED = "Not authenticated"
BFL_INVALID_KEY = "Invalid API key"
BFL_RATE_LIMIT_ERROR = "rate_limit_exceeded"
BFL_RATE_LIMIT_MESSAGE = "Rate limit exceeded: too many requests for this API key. Retry after the time given in retry_after."
