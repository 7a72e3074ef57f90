"""OpenAI Images' own wire facts (POST /v1/images/generations): models, fields, error codes, headers.

The Perf API's own rules live in `spec.models`; these are the provider's allowed values, defaults, limits and
error names, which its native face (and a gateway calling it) must accept and refuse exactly as the real API does.
Each decision is noted beside the fact it shapes.
"""

from __future__ import annotations

from spec.models import MODELS
from spec.schemas import KNOWN_REQUEST_FIELDS

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
# A 429 that no wait ends: the account is out of credit ("You exceeded your current quota, please check your plan and
# billing details"), named in the error's `code` and `type` alike. The face never sends it; a gateway reads it.
OPENAI_CODE_INSUFFICIENT_QUOTA = "insufficient_quota"
OPENAI_CONTENT_POLICY_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system."
)
# Fields of gpt-image-1 and later that OpenAI takes on the same endpoint; the face refuses them with a clear
# message (those models are not emulated) rather than as unknown parameters.
OPENAI_GPT_IMAGE_FIELDS = ("background", "moderation", "output_format", "output_compression", "partial_images", "stream")
# OpenAI's dall-e fields are the Perf API's (the document copies OpenAI's request): one table for both.
OPENAI_KNOWN_FIELDS = KNOWN_REQUEST_FIELDS
# OpenAI-style rate-limit headers. Decision: the images endpoint's real headers are unconfirmed; the emulation
# sends the request family (counting images, which for dall-e-3 is the same thing) from the per-minute window.
OPENAI_HEADER_LIMIT = "x-ratelimit-limit-requests"
OPENAI_HEADER_REMAINING = "x-ratelimit-remaining-requests"
OPENAI_HEADER_RESET = "x-ratelimit-reset-requests"
