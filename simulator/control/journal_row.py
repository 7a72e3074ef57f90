"""A journal entry as a row: one plain tuple of its fields, in `ROW_FIELDS` order.

The in-process journal keeps rows, not entry objects (simulator.control.memory_journal), and its batch listeners (the
metrics) read them. The control layer's fast path writes a request's row straight from what it holds, making no
entry object at all; `RequestEntry.row` and `RequestEntry.from_row` turn an entry into a row and back. A row costs a
request one tuple, and the journal's and the metrics' work on it happens in C, a batch at a time (`operator`
getters, `zip`, `map`, `marshal`): that is most of what brought the control plane's cost toward issue 9's bound.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

Row = tuple[Any, ...]

LABEL_FIELDS = ("face", "path", "status", "made_model", "fault", "image_count")
"""What the metrics label a request by, next to each other in a row, so one slice (`LABELS`) takes them all."""
ROW_FIELDS = (
    "time", "method", "namespace", "latency_ms", "image_ids", *LABEL_FIELDS,
    "made_n", "made_size", "answer_error", "request_id", "_key_headers", "_query", "_body",
)  # fmt: skip
"""The entry's attributes a row holds, in its order (`image_count` is the number of image ids, which an entry reads
from `image_ids`); the row's last item is what was read from the request body (`Inspected`'s fields), or None when
nothing has read it. The id is not in the row: the journal numbers rows as it keeps them.

A row holds no tuple: the image ids are one string, joined by spaces (`join_ids`), and the key headers one bytes
object (simulator.control.inspect.KeyHeaders). While a row waits for its batch to be packed, the cyclic collector
may look at it: it stops tracking a tuple of strings, bytes and numbers the first time, but a tuple holding a tuple
only the time after, by when the row has moved to an older generation that is scanned whole."""

NAMESPACE = ROW_FIELDS.index("namespace")
FACE, STATUS, MADE_MODEL = ROW_FIELDS.index("face"), ROW_FIELDS.index("status"), ROW_FIELDS.index("made_model")
LATENCY_MS, IMAGE_IDS = ROW_FIELDS.index("latency_ms"), ROW_FIELDS.index("image_ids")
LABELS = slice(FACE, FACE + len(LABEL_FIELDS))


join_ids = " ".join
"""The image ids as a row holds them (a bound method of C: the control layer joins on every request)."""


def split_ids(joined: str) -> tuple[str, ...]:
    return tuple(joined.split())


row_namespace = itemgetter(NAMESPACE)
row_status = itemgetter(STATUS)
row_made_model = itemgetter(MADE_MODEL)
