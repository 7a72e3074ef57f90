"""What the control layer's journal reads of an Ideogram request (simulator.journal_view): the `Api-Key` header, the
body's `image_request` (`prompt`, `model`, `num_images`; no size, an aspect ratio or a resolution, whose size the
journal shows); its error envelope names no type and no field (`error` is the message, which names the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import NO_DEFAULTS, Asked, Defaults, ErrorSaid, JournalView, dict_or_empty, text_or_none
from simulator.providers.ideogram.face import PREFIX
from simulator.providers.ideogram.mapping import PATH
from spec.models import IDEOGRAM_ASPECT_SIZES
from spec.providers.ideogram import (
    IDEOGRAM_DEFAULT_ASPECT_RATIO,
    IDEOGRAM_DEFAULT_MODEL,
    IDEOGRAM_DEFAULT_NUM_IMAGES,
    IDEOGRAM_RESOLUTIONS,
)

KEY_HEADER = "api-key"
GENERATION_PATH = f"{PREFIX}{PATH}"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    request = dict_or_empty(body.get("image_request"))
    return request.get("model"), request.get("num_images"), None, request.get("prompt")


def defaults(path: str, body: dict[str, Any]) -> Defaults:
    """`num_images` 1, at the size of the request's `resolution`, else of its `aspect_ratio` (1:1 when it names
    neither), as the face reads them (mapping.request_from_native); no size for a value the face does not know."""
    if path != GENERATION_PATH:
        return NO_DEFAULTS
    request = dict_or_empty(body.get("image_request"))
    resolution, aspect_ratio = request.get("resolution"), request.get("aspect_ratio")
    if resolution is not None:
        size = IDEOGRAM_RESOLUTIONS.get(resolution) if isinstance(resolution, str) else None
    else:
        aspect_ratio = IDEOGRAM_DEFAULT_ASPECT_RATIO if aspect_ratio is None else aspect_ratio
        size = IDEOGRAM_ASPECT_SIZES.get(aspect_ratio) if isinstance(aspect_ratio, str) else None
    return Defaults(IDEOGRAM_DEFAULT_MODEL, IDEOGRAM_DEFAULT_NUM_IMAGES, size)


JOURNAL_VIEW = JournalView(
    key_headers=(KEY_HEADER,),
    key=key,
    asked=asked,
    error=lambda answer: ErrorSaid(None, text_or_none(answer.get("error")), None),
    defaults=defaults,
)
