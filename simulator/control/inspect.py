"""What the control layer reads from a request before any face sees it: key, model, n, prompt, a trimmed body.

Face-agnostic on purpose: it looks where the six wire formats put these (a JSON body's `prompt`, Ideogram's
`image_request`, Imagen's `instances`/`parameters` and model path, BFL's model path, Stability's form), so the
faces stay untouched. What the engine later reports (`simulator.context.Made`) wins over these guesses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from simulator.control.journal import trimmed
from simulator.keys import bearer_token

_KEY_HEADERS = ("x-key", "api-key", "x-goog-api-key")


@dataclass(frozen=True)
class Inspected:
    key: str | None
    model: str | None
    n: int | None
    size: str | None
    prompt: str | None
    body: Any


def request_key(headers: Headers, query: str) -> str | None:
    """The caller's key, wherever its face carries it."""
    key = bearer_token(headers.get("authorization"))
    if key:
        return key
    for name in _KEY_HEADERS:
        if name in headers:
            return headers[name].strip() or None
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "key" and value:
            return value
    return None


def _model_from_path(path: str) -> str | None:
    """Imagen names its model in the path (models/{model}:predict), BFL in its endpoint (/v1/flux-pro)."""
    if path.endswith(":predict") and "/models/" in path:
        return path.rsplit("/models/", 1)[1].removesuffix(":predict")
    tail = path.rsplit("/", 1)[-1]
    return tail if tail.startswith("flux-") else None


async def _form(headers: Headers, raw: bytes) -> dict[str, Any]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield raw

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except MultiPartException:
        return {}
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            fields[name] = f"<file {value.content_type or 'unknown type'}, {value.size} bytes>"
            await value.close()
        else:
            fields[name] = value
    return fields


async def parsed_body(headers: Headers, raw: bytes) -> Any:
    content_type = headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _form(headers, raw)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return f"<{len(raw)} bytes, not JSON>"


def _first(*values: object) -> Any:
    return next((v for v in values if v is not None), None)


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def inspect(path: str, headers: Headers, query: str, raw: bytes) -> Inspected:
    body = await parsed_body(headers, raw)
    top = _as_dict(body)
    ideogram = _as_dict(top.get("image_request"))
    instances = top.get("instances")
    instance = _as_dict(instances[0]) if isinstance(instances, list) and instances else {}
    parameters = _as_dict(top.get("parameters"))
    prompt = _first(top.get("prompt"), ideogram.get("prompt"), instance.get("prompt"))
    model = _first(top.get("model"), ideogram.get("model"), _model_from_path(path))
    n = _first(top.get("n"), ideogram.get("num_images"), parameters.get("sampleCount"))
    size = top.get("size")
    return Inspected(
        key=request_key(headers, query),
        model=model if isinstance(model, str) else None,
        n=n if isinstance(n, int) and not isinstance(n, bool) else None,
        size=size if isinstance(size, str) else None,
        prompt=prompt if isinstance(prompt, str) else None,
        body=trimmed(body),
    )
