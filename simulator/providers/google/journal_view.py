"""What the control layer's journal reads of a Google request (simulator.journal_view): the key where the face reads
it (`x-goog-api-key` or `?key=`, but a bearer token on a Vertex project path), the model its path names
(models/{model}:predict), the first instance's `prompt` and `parameters.sampleCount` (no size, an aspect ratio),
and the error's `status` and `message` (the face's RPC errors name no field: their message does)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import Asked, ErrorSaid, JournalView, bearer_key, dict_or_empty, error_field
from simulator.providers.google.face import API_KEY_HEADER, API_KEY_QUERY, given_api_key


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    if "/projects/" in path:
        return bearer_key(path, headers, query)
    return (given_api_key(headers.get(API_KEY_HEADER), query) or "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    model = path.rsplit("/models/", 1)[1].removesuffix(":predict") if path.endswith(":predict") and "/models/" in path else None
    instances = body.get("instances")
    instance = dict_or_empty(instances[0]) if isinstance(instances, list) and instances else {}
    return model, dict_or_empty(body.get("parameters")).get("sampleCount"), None, instance.get("prompt")


def error(answer: dict[str, Any]) -> ErrorSaid:
    return ErrorSaid(error_field(answer, "status"), error_field(answer, "message"), None)


JOURNAL_VIEW = JournalView(key_headers=(API_KEY_HEADER,), key=key, asked=asked, error=error, query_key=API_KEY_QUERY)
