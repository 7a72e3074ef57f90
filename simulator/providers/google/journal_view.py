"""What the control layer's journal reads of a Google request (simulator.journal_view): the key where the face reads
it (`x-goog-api-key` or `?key=`, but a bearer token on a Vertex project path), the model its path names
(models/{model}:predict), the first instance's `prompt` and `parameters.sampleCount` (no size, an aspect ratio, whose
size the journal shows), and the error's `status` and `message` (the face's RPC errors name no field: their message
does)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simulator.journal_view import NO_DEFAULTS, Asked, Defaults, ErrorSaid, JournalView, bearer_key, dict_or_empty, error_field
from simulator.providers.google.face import API_KEY_HEADER, API_KEY_QUERY, PREFIX, VERTEX_VERSIONS, given_api_key
from spec.models import IMAGEN_ASPECT_SIZES
from spec.providers.google import IMAGEN_DEFAULT_ASPECT_RATIO, IMAGEN_DEFAULT_SAMPLE_COUNT, IMAGEN_MODELS

_VERTEX = "|".join(map(re.escape, VERTEX_VERSIONS))
PREDICT_PATH = re.compile(
    rf"{re.escape(PREFIX)}/(?:v1beta/models|(?:{_VERTEX})/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models)/([^/]+):predict"
)
"""The `:predict` paths the face serves (face.GoogleFace.routes: Gemini, Vertex, Vertex express), the model their
path names in group 1."""


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    if "/projects/" in path:
        return bearer_key(path, headers, query)
    return (given_api_key(headers.get(API_KEY_HEADER), query) or "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    model = path.rsplit("/models/", 1)[1].removesuffix(":predict") if path.endswith(":predict") and "/models/" in path else None
    instances = body.get("instances")
    instance = dict_or_empty(instances[0]) if isinstance(instances, list) and instances else {}
    return model, dict_or_empty(body.get("parameters")).get("sampleCount"), None, instance.get("prompt")


def defaults(path: str, body: dict[str, Any]) -> Defaults:
    """A served `:predict` of an Imagen model renders `sampleCount` 4 (Google's documented default), at the size of
    `parameters.aspectRatio` (1:1 when it is left out or null), as the face reads them (mapping.request_from_native);
    no size for a ratio the face does not know. A model the face does not serve renders nothing (its 404)."""
    served = PREDICT_PATH.fullmatch(path)
    if served is None or served[1] not in IMAGEN_MODELS:
        return NO_DEFAULTS
    aspect_ratio = dict_or_empty(body.get("parameters")).get("aspectRatio")
    aspect_ratio = IMAGEN_DEFAULT_ASPECT_RATIO if aspect_ratio is None else aspect_ratio
    size = IMAGEN_ASPECT_SIZES.get(aspect_ratio) if isinstance(aspect_ratio, str) else None
    return Defaults(None, IMAGEN_DEFAULT_SAMPLE_COUNT, size)


def error(answer: dict[str, Any]) -> ErrorSaid:
    return ErrorSaid(error_field(answer, "status"), error_field(answer, "message"), None)


JOURNAL_VIEW = JournalView(key_headers=(API_KEY_HEADER,), key=key, asked=asked, error=error, query_key=API_KEY_QUERY, defaults=defaults)
