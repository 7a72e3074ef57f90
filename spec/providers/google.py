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
