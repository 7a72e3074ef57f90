"""What the control layer's journal reads of a Stability request (simulator.journal_view): a bearer key, the form's
`prompt` and `model` (it has no n or size: one image, an aspect ratio), the error's `name`."""

from __future__ import annotations

from typing import Any

from simulator.journal_view import JournalView, bearer_key
from simulator.providers.stability.face import PREFIX
from simulator.providers.stability.mapping import PATH
from spec.providers.stability import STABILITY_DEFAULT_MODEL


def error_type(answer: dict[str, Any]) -> str | None:
    name = answer.get("name")
    return name if isinstance(name, str) else None


JOURNAL_VIEW = JournalView(
    key_headers=(),
    key=bearer_key,
    asked=lambda path, body: (body.get("model"), None, None, body.get("prompt")),
    error_type=error_type,
    generation=(f"{PREFIX}{PATH}", STABILITY_DEFAULT_MODEL),
)
