"""What every provider mapping speaks: a native call, a native response, and the images a response carries.

A mapping module (one per provider, `simulator/providers/<name>/mapping.py`) holds, in one place, the translation
between the engine's terms (`GenerationRequest`, `GenerationResult`, `ApiError`) and one provider's wire format, in
both directions, under the same names for every provider:

- face direction: `request_from_native` (native request -> engine request, or `NativeInvalid`), `error_answer`
  (any `ApiError` -> the provider's error envelope), and the provider's success answer;
- gateway direction: `UPSTREAM`, an `Upstream` naming `native_calls` (engine request -> the calls to make),
  `credentials` (a key -> its headers), `images_from_native` (an answer -> its images, or the `ApiError` in Perf
  terms it stands for) and, for a provider that answers with a task to poll (BFL), `poll_from_native`.

Keeping both directions together is what lets the tests prove they agree (a round trip returns what it started from).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from spec import errors
from spec.control_openapi import MAX_RETRY_AFTER_SECONDS


class NativeInvalid(ApiError):
    """A request the provider refuses as invalid, with the provider's own error code (None when it has none)."""

    def __init__(self, param: str | None, message: str, code: str | None = None) -> None:
        super().__init__(errors.INVALID_REQUEST, message, param)
        self.code = code


@dataclass(frozen=True)
class NativeCall:
    """One HTTP call to a provider, relative to its base URL, without credentials (the caller adds its key)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None


@dataclass(frozen=True)
class NativeAnswer:
    """A provider's JSON answer (status, body, headers) before it goes on the wire."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NativeTask:
    """A provider's promise of one image, polled until it is ready: at `url` when the provider gives one, else at
    `path` under its base URL."""

    path: str
    url: str | None = None


@dataclass(frozen=True)
class NativeImage:
    """One image of a native success, as the provider delivers it: inline base64 or a URL to fetch."""

    b64: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    seed: int | None = None


def native_status(exc: ApiError, native: int) -> int:
    """The status a provider answers `exc` with: its own for the error's type (Ideogram's 422 for a refused prompt),
    unless the error was given a status of its own (an injected fault), which then wins."""
    return native if exc.given_status is None else exc.given_status


def native_message(exc: ApiError, native: str) -> str:
    """The message a provider answers `exc` with: its own stock text for the error's type (a refused prompt), unless
    the error came with a status of its own (an injected fault), whose message then stands."""
    return native if exc.given_status is None else exc.message


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (httpx, starlette or a plain dict)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def wait_seconds(*readings: object, default: int = 1) -> int:
    """The wait a rate-limited answer asks for, in whole seconds (at least 1): the first reading that is a number of
    seconds (a Retry-After header "7" or "7.5", a body's 7, Google's RetryInfo "7s") or a Retry-After HTTP-date (the
    header's other form, RFC 9110, counted from the wall clock, which is the upstream's), else `default`.

    Decision: at most MAX_RETRY_AFTER_SECONDS (a day), the bound the control API puts on an injected `retry_after`
    and the longest wait the Perf API's own day window asks for: an upstream's `Retry-After: 1e308` was passed on as a
    309-digit number, which clients that read it into a fixed-size integer (Go's int, Java's long) cannot hold."""
    for reading in readings:
        if isinstance(reading, str):
            try:
                seconds = float(reading.strip().removesuffix("s"))
            except ValueError:
                until = _http_date(reading)
                if until is None:
                    continue
                seconds = until - time.time()
        elif isinstance(reading, (int, float)) and not isinstance(reading, bool):
            seconds = float(reading)
        else:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return min(MAX_RETRY_AFTER_SECONDS, max(1, math.ceil(seconds)))
    return default


def _http_date(text: str) -> float | None:
    """An HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT") as Unix seconds, or None when `text` is not one."""
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


QUOTED_BODY_BYTES = 200
"""The most of an upstream's error body a message quotes when its envelope gives no message of its own."""
UPSTREAM_MESSAGE_CHARS = 500
"""The longest message an upstream's failure is told in: enough for the provider's own words, never a whole page."""


def body_text(content: bytes) -> str:
    """What an error answer says when its envelope gives no message: the start of its body ("" when it is empty)."""
    return content[:QUOTED_BODY_BYTES].decode("utf-8", "replace").strip()


def upstream_refused(provider: str, said: str, param: str | None = None) -> ApiError:
    """An upstream's 400 (a field it refused): the Perf API's 400 invalid_request with the provider's `param`, in
    words that say the provider refused the gateway's call, followed by what it `said` (the message in its envelope,
    else the start of the body; "" for an empty one), as the 429s, 502s and 503s say who answered.

    Decision: the Perf API checked the request and passed it, so the provider's bare words read as if about the
    caller's own request or key, which they may not be: a provider key's "exceeds this key's limit of 5 images per
    minute (free tier)" is the gateway's `--upstream-key`, not the caller's pro key. The status and type stay a 400
    invalid_request (a field the provider refuses is still most often one the caller can change)."""
    refused = f"upstream {provider} refused the call (400)"
    message = f"{refused}: {said}" if said else f"{refused} with an empty body"
    return ApiError(errors.INVALID_REQUEST, message[:UPSTREAM_MESSAGE_CHARS], param)


def said_text(value: object) -> str:
    """The message an upstream's envelope gives, as text: a string as it is; any other JSON value (an object, a list,
    a number) in JSON form, as the provider sent it, not as Python would print it (`{'a': 1}`); "" for none (absent,
    null or empty)."""
    if isinstance(value, str):
        return value.strip()
    if not value:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False)[:UPSTREAM_MESSAGE_CHARS]
    except (ValueError, RecursionError):
        return "a message that cannot be shown"


def said_anywhere(content: bytes) -> str:
    """What an error answer from a host of no known envelope says (an image download's: a storage bucket, a CDN, or
    a provider's own error envelope served there): the message of a JSON object's `message`, `detail` or `error` (a
    string, or an object with a `message`: OpenAI's, Google's and the Perf API's), else the start of the body; "" for
    an empty one. Cut to QUOTED_BODY_BYTES characters, as a body's start is: it is quoted beside the URL it came from."""
    body = json_or_none(content)
    if isinstance(body, dict):
        error = body.get("error")
        nested = error.get("message") if isinstance(error, dict) else error
        for said in (body.get("message"), body.get("detail"), nested):
            if text := said_text(said):
                return text[:QUOTED_BODY_BYTES]
    return body_text(content)


def header_waits(headers: Mapping[str, str]) -> tuple[str | None, float | None]:
    """The waits an answer's headers ask for, in the order `wait_seconds` reads them: `Retry-After`, then, when it is
    absent, OpenAI's `retry-after-ms` (milliseconds, which `wait_seconds` rounds up to whole seconds); None for a
    header that is absent or, for the latter, not a number."""
    retry_after = header(headers, "retry-after")
    if retry_after is not None:
        return retry_after, None
    try:
        return None, float(header(headers, "retry-after-ms") or "") / 1000
    except ValueError:
        return None, None


def json_or_none(content: bytes) -> Any:
    """The JSON a provider sent, or None when the body is not JSON (a proxy's HTML page, a truncated answer) or
    nests deeper than the decoder can follow (legal JSON, but no provider's answer does: the decoder's RecursionError)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


HTTP_SERVICE_UNAVAILABLE = 503


def upstream_rate_limited(provider: str, retry_after: int, said: str = "") -> ApiError:
    """An upstream's 429: the Perf API's 429 with its wait, in words that say the provider refused the gateway's call,
    not the caller's key at the gateway (whose windows the answer's headers still show), followed by what the
    provider `said`, as a 502's and a 503's messages are (a quota that no wait restores reads differently from a
    per-minute limit)."""
    message = f"{errors.RATE_LIMIT_MESSAGE}: upstream {provider} refused the gateway's call (429), not this key's own limits"
    return ApiError(errors.RATE_LIMIT_EXCEEDED, f"{message}: {said}"[:UPSTREAM_MESSAGE_CHARS] if said else message, retry_after=retry_after)


def upstream_error(provider: str, detail: str, status: int | None = None, headers: Mapping[str, str] | None = None) -> ApiError:
    """A failure of the upstream the Perf caller cannot fix (credentials, unreadable answers): a 502; an upstream's
    own 503, an outage, is the Perf API's 503 service_unavailable whichever provider said it (docs/providers.md),
    with the wait its `Retry-After` or `retry-after-ms` (in `headers`) asks for, if any, as the Perf 503's
    `retry_after`. An empty `detail` (an answer with an empty body) is said once, not as "answered 404: upstream X
    answered 404 with an empty body"."""
    said = detail or "an empty body"
    if status == HTTP_SERVICE_UNAVAILABLE:
        waits = header_waits(headers or {})
        retry_after = None if waits == (None, None) else wait_seconds(*waits)
        message = f"upstream {provider} is unavailable (503): {said}"[:UPSTREAM_MESSAGE_CHARS]
        return ApiError(errors.SERVICE_UNAVAILABLE, message, retry_after=retry_after)
    if status is not None:
        said = f"answered {status}: {detail}" if detail else f"answered {status} with an empty body"
    return ApiError(errors.UPSTREAM_ERROR, f"upstream {provider} {said}"[:UPSTREAM_MESSAGE_CHARS])


@dataclass(frozen=True)
class Upstream:
    """How a gateway calls one provider, in its mapping's terms; `simulator.gateway.adapter` drives every one alike."""

    name: str
    native_calls: Callable[[GenerationRequest], list[NativeCall]]
    credentials: Callable[[str], dict[str, str]]
    images_from_native: Callable[[int, Mapping[str, str], bytes], Sequence[NativeImage | NativeTask]]
    poll_from_native: Callable[[int, Mapping[str, str], bytes], NativeImage | None] | None = None
    """A poll answer -> the image once ready, None while pending (for providers that answer with a `NativeTask`)."""
    poll_interval_seconds: float = 0.25
