"""What the control layer's journal reads of a Perf API request (simulator.journal_view): a bearer key, a body that
names everything at its top level, the document's `error.type`.

Every face refuses a bad control input in this envelope (simulator.registry.control_refusal), so the control layer
reads an error answer as this face does first, on any face."""

from __future__ import annotations

from simulator.journal_view import images_api_view
from simulator.perf.wire import PATH, PREFIX
from spec.models import DEFAULT_MODEL

JOURNAL_VIEW = images_api_view(f"{PREFIX}{PATH}", DEFAULT_MODEL)
