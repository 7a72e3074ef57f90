"""What the control layer's journal reads of a BFL request (simulator.journal_view): the `x-key` header, the model its
endpoint names (/v1/flux-pro), the body's `prompt` (it has no n, and width and height for a size), and the `error`
a rate limit's answer names beside its `detail`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import Asked, JournalView

KEY_HEADER = "x-key"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    endpoint = path.rsplit("/", 1)[-1]
    return endpoint if endpoint.startswith("flux-") else None, None, None, body.get("prompt")


def error_type(answer: dict[str, Any]) -> str | None:
    """Only a rate limit's answer names a type (`error`); every answer has its message in `detail`."""
    error = answer.get("error")
    return error if isinstance(error, str) and "detail" in answer else None


JOURNAL_VIEW = JournalView(key_headers=(KEY_HEADER,), key=key, asked=asked, error_type=error_type)
