"""Google Imagen 3's own wire facts (Gemini and Vertex `:predict`): parameters, statuses, messages.

The Perf API's own rules live in `spec.models`; these are the provider's allowed values, defaults, limits and
error names, which its native face (and a gateway calling it) must accept and refuse exactly as the real API does.
Each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

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

# The names a predict body may hold. Google's front end parses the body as proto3 JSON into PredictRequest, whose
# fields besides the path's model are `instances` and `parameters`, and on Vertex `labels` (billing labels, "only
# Imagen supports labels"); any other name is its 400 INVALID_ARGUMENT `IMAGEN_UNKNOWN_NAME_MESSAGE`, with a
# google.rpc.BadRequest detail whose fieldViolations repeat each message (decolua/9router#1876 quotes one).
IMAGEN_REQUEST_FIELDS = ("instances", "parameters")
VERTEX_REQUEST_FIELDS = (*IMAGEN_REQUEST_FIELDS, "labels")
IMAGEN_UNKNOWN_NAME_MESSAGE = 'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
# Decision: only the top level is checked for names, as Google checks it. `instances[]` and `parameters` are free-form
# google.protobuf.Values in PredictRequest, so Google's parse takes any name in them (and in `outputOptions`, inside
# `parameters`), and Imagen ignores one it does not use; the face does the same, since real clients rely on it:
# LiteLLM's `vertex_ai/` route copies `extra_headers` (the key included), `vertex_project` and `vertex_location` into
# `parameters`, and works against Vertex. So a typo inside `parameters` (`samplecount`) is ignored as Google ignores
# it, while the costly one at the top level, `parameter` for `parameters` (sampleCount's default of 4 images, all
# billed), is Google's 400 above. The documented parameters are still checked for their types and values.

# Typed parameters the reference documents, checked before any quota is used; they then change nothing here but seed.
IMAGEN_BOOLEAN_PARAMETERS = ("includeRaiReason", "includeSafetyAttributes", "addWatermark", "enhancePrompt")
IMAGEN_STRING_PARAMETERS = ("language", "sampleImageSize", "storageUri", "negativePrompt")
# `seed` is a uint32 (Vertex: "deterministic only with addWatermark=false"); JPEG `compressionQuality` 0-100.
IMAGEN_SEED = (0, 2**32 - 1)
IMAGEN_COMPRESSION_QUALITY = (0, 100)
# Decision: Imagen's seed k gives the k-th image of the equivalent Perf request, and its sampleCount images are k,
# k+1, ..., as BFL's, Stability's and Ideogram's seeds do (docs/providers.md, "Seeds mean the same on every face"),
# with or without addWatermark: Google makes a seed deterministic only without the watermark, but the simulator is
# deterministic always, and a seed that changed nothing would give every seed the same picture. The answer reports no
# seed, so nothing wraps.

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
# No Authorization header at all is Google's "missing" wording and reason (googleapis' ErrorInfo CREDENTIALS_MISSING).
VERTEX_MISSING_CREDENTIALS_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# A model the Gemini API does not serve on a method (an unknown Imagen id on :predict, an Imagen model on
# :generateContent), in Google's words (google-genai issues #43, #967; langchain-google #877).
MODEL_NOT_FOUND_MESSAGE = (
    "models/{model} is not found for API version {version}, or is not supported for {method}. "
    "Call ListModels to see the list of available models and their supported methods."
)
# The Gemini API's content-generation methods a google-genai client calls (generate_content, generate_content_stream),
# by path, with how that 404 names each (ChatGPTNextWeb/NextChat#4699 quotes `StreamGenerateContent`): no Imagen
# model serves them.
GEMINI_CONTENT_METHODS = {"generateContent": "generateContent", "streamGenerateContent": "StreamGenerateContent"}

# Google's front end refuses a body over its limit with a 400 INVALID_ARGUMENT in these words, not a 413 (as reported
# by google-genai users, e.g. MaKTaiL/gemini-srt-translator#63); the limit here is the simulator's (spec.errors).
PAYLOAD_TOO_LARGE_MESSAGE = "Request payload size exceeds the limit: {limit} bytes."

# google.rpc.Code names by HTTP status, for the error envelope.
# Decision: a 408 (--body-timeout: the body stopped coming) is DEADLINE_EXCEEDED, the code whose meaning is what
# happened: a deadline, here the server's for the body, expired before the call could complete. Google's front end
# answers a stalled body with an HTML "Error 408 (Request Timeout)" page, no google.rpc status at all (as
# googleapis/nodejs-storage#833 shows), and the published HTTP-to-RPC table has no 408 (it would fall under "other
# 4xx", FAILED_PRECONDITION, a code about the system's state that would mislead); the face keeps its JSON envelope.
GOOGLE_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    413: "INVALID_ARGUMENT",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# An HTTP status with no google.rpc.Code of its own (an injected fault may answer any status).
GOOGLE_STATUS_UNKNOWN = "UNKNOWN"
