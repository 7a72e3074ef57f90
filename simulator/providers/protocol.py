"""What every provider mapping speaks: a native call, a native response, and the images a response carries.

A mapping module (one per provider) holds, in one place, the translation between the engine's terms
(`GenerationRequest`, `GenerationResult`, `ApiError`) and one provider's wire format, in both directions:
its face uses native -> engine for requests and engine -> native for answers; a gateway uses engine -> native
for requests and native -> engine for answers. Keeping both directions together is what lets the tests prove
they agree (a round trip returns what it started from).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.engine.errors import ApiError
from spec import errors


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
class NativeImage:
    """One image of a native success, as the provider delivers it: inline base64 or a URL to fetch."""

    b64: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    seed: int | None = None


def native_status(exc: ApiError, native: int) -> int:
    """The status a provider answers `exc` with: its own for the error's type (Ideogram's 422 for a refused prompt),
    unless the error was given a status of its own (an injected fault), which then wins."""
    return native if exc.status == errors.STATUS.get(exc.type, 500) else exc.status


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (httpx, starlette or a plain dict)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def retry_after_seconds(headers: Mapping[str, str], default: int = 1) -> int:
    """Whole seconds (at least 1) from a native 429's Retry-After, or `default` when absent or unreadable."""
    value = header(headers, "retry-after")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        seconds = math.nan
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) else default


def json_or_none(content: bytes) -> Any:
    """The JSON a provider sent, or None when the body is not JSON (a proxy's HTML page, a truncated answer)."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def upstream_error(provider: str, status: int, detail: str) -> ApiError:
    """A native failure the Perf caller cannot fix (upstream credentials, outages, unreadable answers): a 502."""
    return ApiError(errors.UPSTREAM_ERROR, f"upstream {provider} answered {status}: {detail}"[:500])
