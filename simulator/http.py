"""HTTP plumbing every face shares: bounded body reading, JSON parsing and safe JSON responses."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from simulator.engine.errors import ApiError, invalid
from spec import errors


def dump_json(content: Any) -> bytes:
    """Compact UTF-8 JSON. orjson (a tenth of the json module's time: JSON encoding led the hot path's profile), and
    the json module for what orjson refuses: lone surrogates, which are legal in JSON text and must be echoed, not
    crash, and integers beyond 64 bits."""
    try:
        return orjson.dumps(content)
    except TypeError:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dump_json(content)


async def read_body(request: Request, limit: int = errors.MAX_BODY_BYTES) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit`, without reading the rest.

    Reads the ASGI messages directly rather than through `Request.stream()`, an async generator that costs more
    than the usual one-message body it yields."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return b"".join([*chunks, chunk]) if chunks else chunk
        chunks.append(chunk)


def _too_large(limit: int) -> ApiError:
    return ApiError(errors.PAYLOAD_TOO_LARGE, f"request body exceeds {limit} bytes")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json(raw: bytes) -> Any:
    """Parse strict JSON (no NaN or Infinity) regardless of the declared content type.

    One decoder for every request (json.loads with an argument builds a new one each time); the byte-order-mark
    check is json.loads's own."""
    if not raw.strip():
        raise invalid(None, "request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except UnicodeDecodeError:
        raise invalid(None, "request body is not valid UTF-8") from None
    except RecursionError:
        raise invalid(None, "request body is nested too deeply") from None
    except ValueError as exc:
        raise invalid(None, f"request body is not valid JSON: {exc}") from None
