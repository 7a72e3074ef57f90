"""What the control layer's journal reads of a BFL request (simulator.journal_view): the `x-key` header, the model its
endpoint names (/v1/flux-pro), the body's `prompt`, n 1 and the size `width`x`height` of a submit (one image per task;
a dimension it leaves out is BFL's default), the `error` a rate limit's answer names beside its `detail`, an answer's
`message` and the field a 422's `detail` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import NO_DEFAULTS, Asked, Defaults, ErrorSaid, JournalView, dict_or_empty, text_or_none
from simulator.providers.bfl.face import PREFIX
from spec.providers.bfl import BFL_DEFAULT_HEIGHT, BFL_DEFAULT_WIDTH, BFL_IMAGES_PER_TASK, BFL_MODELS

KEY_HEADER = "x-key"
SUBMIT_PATHS = frozenset(f"{prefix}/v1/{endpoint}" for prefix in ("", PREFIX) for endpoint in BFL_MODELS)
"""The submit endpoints the face serves, under /bfl and at the root (face.BflFace.routes)."""


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    """A submit asks for one image (BFL has no n) of `width`x`height` when both are whole numbers. That n is the
    format's, not a default: an entry the engine refused (a 429) or a fault answered shows it as one it answered does.
    Only on a submit's path: the view also reads other faces' requests for what theirs does not read
    (simulator.control.inspect), where one image is not implied."""
    endpoint = path.rsplit("/", 1)[-1]
    if not endpoint.startswith("flux-"):
        return None, None, None, body.get("prompt")
    width, height = body.get("width"), body.get("height")
    size = f"{width}x{height}" if _whole(width) and _whole(height) else None
    return endpoint, BFL_IMAGES_PER_TASK, size, body.get("prompt")


def defaults(path: str, body: dict[str, Any]) -> Defaults:
    """A served submit that leaves `width` or `height` out (or null) renders BFL's default there (1024 and 768), as the
    face reads them (mapping.request_from_native); no size when a dimension it gives is not a whole number."""
    if path not in SUBMIT_PATHS:
        return NO_DEFAULTS
    width, height = body.get("width"), body.get("height")
    width = BFL_DEFAULT_WIDTH if width is None else width
    height = BFL_DEFAULT_HEIGHT if height is None else height
    return Defaults(None, None, f"{width}x{height}" if _whole(width) and _whole(height) else None)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def error(answer: dict[str, Any]) -> ErrorSaid:
    """Only a rate limit's answer names a type (`error`). Every answer of the face has its message in `message` and
    `detail` (FastAPI's own 404 and 405 only in `detail`); a 422's `detail` is FastAPI's list of broken fields instead,
    each with its `loc` (`["body", "width"]`), the first of which is the field (as the face's own error names it)."""
    detail = answer.get("detail")
    kind = text_or_none(answer.get("error")) if "detail" in answer else None
    problems = detail if isinstance(detail, list) else []
    loc = dict_or_empty(problems[0]).get("loc") if problems else None
    field = text_or_none(loc[-1]) if isinstance(loc, list) and loc else None
    return ErrorSaid(kind, text_or_none(answer.get("message")) or text_or_none(detail), field)


JOURNAL_VIEW = JournalView(key_headers=(KEY_HEADER,), key=key, asked=asked, error=error, defaults=defaults)
