"""HTTP plumbing every face shares: bounded body reading, JSON parsing and safe JSON responses."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator.engine.errors import ApiError, invalid
from spec import errors


class SafeJSONResponse(JSONResponse):
    """JSON that survives lone surrogates: they are legal in JSON text and must be echoed, not crash."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


async def read_body(request: Request, limit: int = errors.MAX_BODY_BYTES) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit`, without reading the rest."""
    too_large = ApiError(errors.PAYLOAD_TOO_LARGE, f"request body exceeds {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Parse strict JSON (no NaN or Infinity) regardless of the declared content type."""
    if not raw.strip():
        raise invalid(None, "request body is empty; send a JSON object")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise invalid(None, "request body is not valid UTF-8") from None
    except RecursionError:
        raise invalid(None, "request body is nested too deeply") from None
    except ValueError as exc:
        raise invalid(None, f"request body is not valid JSON: {exc}") from None
