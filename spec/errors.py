"""Error types of the Perf API, their HTTP statuses, and the standard messages.

The document names three types (invalid_request, content_policy_violation, rate_limit_exceeded); the others
are decisions for what the document implies (auth, unknown paths, wrong methods, oversized bodies, outages),
all in the same `{"error": {...}}` envelope.
"""

from __future__ import annotations

INVALID_REQUEST = "invalid_request"
CONTENT_POLICY_VIOLATION = "content_policy_violation"
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
AUTHENTICATION_ERROR = "authentication_error"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
PAYLOAD_TOO_LARGE = "payload_too_large"
UPSTREAM_ERROR = "upstream_error"
SERVICE_UNAVAILABLE = "service_unavailable"
INTERNAL_ERROR = "internal_error"
REQUEST_TIMEOUT = "request_timeout"

STATUS: dict[str, int] = {
    INVALID_REQUEST: 400,
    CONTENT_POLICY_VIOLATION: 400,
    AUTHENTICATION_ERROR: 401,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    REQUEST_TIMEOUT: 408,
    PAYLOAD_TOO_LARGE: 413,
    RATE_LIMIT_EXCEEDED: 429,
    INTERNAL_ERROR: 500,
    UPSTREAM_ERROR: 502,
    SERVICE_UNAVAILABLE: 503,
}

CONTENT_POLICY_MESSAGE = "Your request was rejected as a result of our safety system."
RATE_LIMIT_MESSAGE = "Rate limit exceeded for image generation"
# Decision: bodies over 256 KiB are refused with 413 before they are parsed (a maximal prompt, fully
# \u-escaped, is about 24 KiB).
MAX_BODY_BYTES = 256 * 1024
# Decision: a request's body must arrive within this many seconds of its headers (--body-timeout); then it is a 408
# and the connection is closed, as front ends answer a stalled upload (nginx's client_body_timeout is 60 s): a client
# whose Content-Length promises more than it sends got no answer at all, ever.
BODY_TIMEOUT_SECONDS = 30.0
STALLED_BODY_ANSWER = (
    f"request_timeout: the body did not arrive within --body-timeout (default {BODY_TIMEOUT_SECONDS:g} s) of the "
    "headers; the connection is then closed"
)
"""The 408 as the API documents (the Perf API's and the control API's) describe it."""
# Decision: clients sleep at most this long on a Retry-After before retrying (every openai SDK honours 60 s; newer
# ones up to 120 s); a longer wait (the day window's, up to a day) answers `x-should-retry: false`, so a client
# gives up at once instead of sleeping for hours.
LONGEST_CLIENT_RETRY_WAIT_SECONDS = 60
