"""What the control layer's journal reads of a Google request (simulator.journal_view): the key where the face reads
it (`x-goog-api-key` or `?key=`, but a bearer token on a Vertex project path), the model its path names
(models/{model}:predict), the first instance's `prompt` and `parameters.sampleCount` (no size, an aspect ratio),
and the error's `status`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from simulator.journal_view import Asked, JournalView, bearer_key, dict_or_empty, error_field

KEY_HEADER = "x-goog-api-key"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    if "/projects/" in path:
        return bearer_key(path, headers, query)
    return headers.get(KEY_HEADER, "").strip() or _query_key(query)


def _query_key(query: str) -> str | None:
    """The query's first `key`, as the face reads it: an empty one is no key (the face's 403), not a pass to the next."""
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if unquote_plus(name) == "key":  # the face reads the query decoded: ?%6Bey= is its key too
            return unquote_plus(value).strip() or None
    return None


def asked(path: str, body: dict[str, Any]) -> Asked:
    model = path.rsplit("/models/", 1)[1].removesuffix(":predict") if path.endswith(":predict") and "/models/" in path else None
    instances = body.get("instances")
    instance = dict_or_empty(instances[0]) if isinstance(instances, list) and instances else {}
    return model, dict_or_empty(body.get("parameters")).get("sampleCount"), None, instance.get("prompt")


JOURNAL_VIEW = JournalView(key_headers=(KEY_HEADER,), key=key, asked=asked, error_type=lambda answer: error_field(answer, "status"))
