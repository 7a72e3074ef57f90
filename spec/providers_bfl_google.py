"""Native facts of the Black Forest Labs and Google Imagen APIs: allowed values, defaults, statuses and messages.

Kept apart from `spec.models` (the Perf model table) because they describe the providers' own wire formats;
sources and disagreements are in the reference `providers.md` (sections 3 and 5). Named for its two providers so
it does not collide with the file holding the OpenAI, Stability and Ideogram facts.
"""

from __future__ import annotations

from spec.models import FLUX_DIMENSIONS

# ---------------------------------------------------------------- Black Forest Labs (FLUX.1 [pro] / [dev])

# Native endpoint name -> Perf model.
BFL_MODELS: dict[str, str] = {"flux-pro": "flux-pro", "flux-dev": "flux-dev"}
BFL_DIMENSION_MIN = FLUX_DIMENSIONS[0]
BFL_DIMENSION_MAX = FLUX_DIMENSIONS[-1]
BFL_DIMENSION_STEP = FLUX_DIMENSIONS[1] - FLUX_DIMENSIONS[0]
BFL_DEFAULT_WIDTH = 1024
BFL_DEFAULT_HEIGHT = 768
BFL_OUTPUT_FORMATS = ("jpeg", "png")
BFL_DEFAULT_OUTPUT_FORMAT = "jpeg"
BFL_SAFETY_TOLERANCE = (0, 6)


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

# ---------------------------------------------------------------- Google Imagen 3

# Native model id -> Perf model. The three Imagen 3 ids Google serves on :predict.
IMAGEN_MODELS: dict[str, str] = {
    "imagen-3.0-generate-002": "imagen-3",
    "imagen-3.0-generate-001": "imagen-3",
    "imagen-3.0-fast-generate-001": "imagen-3",
}
IMAGEN_SAMPLE_COUNT = (1, 4)
# Decision: Google's docs give 4 as the default sampleCount (some copies say 1); we follow the docs.
IMAGEN_DEFAULT_SAMPLE_COUNT = 4
IMAGEN_DEFAULT_ASPECT_RATIO = "1:1"
IMAGEN_MIME_TYPES = ("image/png", "image/jpeg")
IMAGEN_DEFAULT_MIME_TYPE = "image/png"
IMAGEN_PERSON_GENERATION = ("dont_allow", "allow_adult", "allow_all")
IMAGEN_SAFETY_SETTINGS = ("block_low_and_above", "block_medium_and_above", "block_only_high", "block_none")

# Support codes from Google's Responsible AI page: the simulator's content policy has no categories, so a blocked
# prompt reports the "other" code and filtered outputs the "sexual" code's generic sibling.
IMAGEN_PROMPT_BLOCKED_CODE = "42876398"
IMAGEN_OUTPUT_FILTERED_CODE = "63429089"
IMAGEN_PROMPT_BLOCKED_MESSAGE = (
    "Image generation failed with the following error: The prompt could not be submitted. This prompt contains "
    "sensitive words that violate Google's Responsible AI practices. Try rephrasing the prompt. If you think this was "
    f"an error, send feedback. Support codes: {IMAGEN_PROMPT_BLOCKED_CODE}"
)
IMAGEN_OUTPUT_FILTERED_MESSAGE = (
    "Unable to show generated images. All images were filtered out because they violated Vertex AI's usage guidelines. "
    f"You will not be charged for blocked images. Try rephrasing the prompt. Support codes: {IMAGEN_OUTPUT_FILTERED_CODE}"
)
IMAGEN_RATE_LIMIT_MESSAGE = "Resource has been exhausted (e.g. check quota)."
# Auth (Gemini Developer API, as it answers): no key -> 403, unknown key -> 400 API_KEY_INVALID.
# Vertex AI answers any missing or bad bearer token with 401 UNAUTHENTICATED.
GEMINI_MISSING_KEY_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other "
    "form of API consumer identity to call this API."
)
GEMINI_INVALID_KEY_MESSAGE = "API key not valid. Please pass a valid API key."
VERTEX_UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
)

# google.rpc.Code names by HTTP status, for the error envelope.
GOOGLE_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
