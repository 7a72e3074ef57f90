"""What the control layer's journal reads of a Stability request (simulator.journal_view): a bearer key, the form's
`prompt` and `model` (it has no n or size: one image, an aspect ratio), the error's `name` and its `errors` (the
messages; the envelope names no field, the message starts with it)."""

from __future__ import annotations

from typing import Any

from simulator.journal_view import ErrorSaid, JournalView, bearer_key, text_or_none
from simulator.providers.stability.face import PREFIX
from simulator.providers.stability.mapping import PATH
from spec.providers.stability import STABILITY_DEFAULT_MODEL


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
    generation=(f"{PREFIX}{PATH}", STABILITY_DEFAULT_MODEL),
)
