"""What the control layer's journal reads of a BFL request (simulator.journal_view): the `x-key` header, the model its
endpoint names (/v1/flux-pro), the body's `prompt` (it has no n, and width and height for a size), the `error` a
rate limit's answer names beside its `detail`, an answer's `message` and the field a 422's `detail` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import Asked, ErrorSaid, JournalView, dict_or_empty, text_or_none

KEY_HEADER = "x-key"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    endpoint = path.rsplit("/", 1)[-1]
    return endpoint if endpoint.startswith("flux-") else None, None, None, body.get("prompt")


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
