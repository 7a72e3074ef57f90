"""What the control layer's journal reads of a Stability request (simulator.journal_view): a bearer key, the form's
`prompt` and `model` (it has no n or size: one image, an aspect ratio, whose size the journal shows), the error's
`name` and its `errors` (the messages; the envelope names no field, the message starts with it)."""

from __future__ import annotations

from typing import Any

from simulator.journal_view import NO_DEFAULTS, Defaults, ErrorSaid, JournalView, bearer_key, text_or_none
from simulator.providers.stability.face import PREFIX
from simulator.providers.stability.mapping import PATH
from spec.models import STABILITY_ASPECT_SIZES
from spec.providers.stability import STABILITY_DEFAULT_ASPECT_RATIO, STABILITY_DEFAULT_MODEL, STABILITY_IMAGES_PER_CALL

GENERATION_PATH = f"{PREFIX}{PATH}"


def defaults(path: str, body: dict[str, Any]) -> Defaults:
    """One image (the endpoint has no count), at the size its `aspect_ratio` renders at, 1:1 when the form leaves it
    out or empty, as the face reads it (mapping.request_from_native); none for a ratio the face does not know."""
    if path != GENERATION_PATH:
        return NO_DEFAULTS
    aspect_ratio = body.get("aspect_ratio")
    aspect_ratio = STABILITY_DEFAULT_ASPECT_RATIO if aspect_ratio is None or aspect_ratio == "" else aspect_ratio
    size = STABILITY_ASPECT_SIZES.get(aspect_ratio) if isinstance(aspect_ratio, str) else None
    return Defaults(STABILITY_DEFAULT_MODEL, STABILITY_IMAGES_PER_CALL, size)


def error(answer: dict[str, Any]) -> ErrorSaid:
    """The messages joined as a gateway reads them (the face sends one)."""
    listed = answer.get("errors")
    messages = [item for item in listed if isinstance(item, str)] if isinstance(listed, list) else []
    return ErrorSaid(text_or_none(answer.get("name")), "; ".join(messages) or None, None)


JOURNAL_VIEW = JournalView(
    key_headers=(),
    key=bearer_key,
    asked=lambda path, body: (body.get("model"), None, None, body.get("prompt")),
    error=error,
    defaults=defaults,
)
