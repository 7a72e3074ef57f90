"""What the control layer's journal reads of a Perf API request (simulator.journal_view): a bearer key, a body that
names everything at its top level, the document's `error.type`.

Every face refuses a bad control input in this envelope (simulator.registry.control_refusal), so the control layer
reads an error answer as this face does first, on any face."""

from __future__ import annotations

from simulator.journal_view import JournalView, bearer_key, error_field, top_level_asked
from simulator.perf.wire import PATH, PREFIX
from spec.models import DEFAULT_MODEL

JOURNAL_VIEW = JournalView(
    key_headers=(),
    key=bearer_key,
    asked=top_level_asked,
    error_type=lambda answer: error_field(answer, "type"),
    generation=(f"{PREFIX}{PATH}", DEFAULT_MODEL),
)
