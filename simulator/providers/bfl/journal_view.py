"""What the control layer's journal reads of a BFL request (simulator.journal_view): the `x-key` header, the model its
endpoint names (/v1/flux-pro), the body's `prompt`, n 1 and the size `width`x`height` of a submit (one image per task),
the `error` a rate limit's answer names beside its `detail`, an answer's `message` and the field a 422's `detail` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import Asked, ErrorSaid, JournalView, dict_or_empty, text_or_none

KEY_HEADER = "x-key"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    """A submit asks for one image (BFL has no n) of `width`x`height` when both are whole numbers, as the other faces
    fill n and size from their requests: an entry the engine refused (a 429) or a fault answered then still shows
    them, and rules and counts can select BFL requests by size. Only on a submit's path: the view also reads other
    faces' requests for what theirs does not read (simulator.control.inspect), where one image is not implied."""
    endpoint = path.rsplit("/", 1)[-1]
    if not endpoint.startswith("flux-"):
        return None, None, None, body.get("prompt")
    width, height = body.get("width"), body.get("height")
    size = f"{width}x{height}" if _whole(width) and _whole(height) else None
    return endpoint, 1, size, body.get("prompt")


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


JOURNAL_VIEW = JournalView(key_headers=(KEY_HEADER,), key=key, asked=asked, error=error)
