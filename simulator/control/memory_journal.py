"""The request journal kept in this process: the newest `size` entries, each a row (simulator.control.journal_row).

Entries are kept as rows, not as the objects requests filled in. Ten thousand entry objects, each with its own
dictionary, were ten thousand more objects for the collector to scan in every full collection, which cost a url
request a twentieth of its throughput. A row is a tuple of strings, bytes and numbers nested at most one level (its
image ids), which the collector stops tracking when it first looks at it in the second generation, so the rows kept
cost collections nothing. (Packing each row with marshal did the same and cost a request more than the rest of the
journal: its format 2 encodes every string anew.) Reading the journal (rare, against every request) makes entry
objects of the rows it reads.

The batch listeners (the metrics) are told of rows in lists of `BATCH`, and of those waiting before a read or a
scrape (`flush`); the rows' numbers (their ids) are given a batch at a time too. A request pays for appending its row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from simulator.control.inspect import RequestEntry
from simulator.control.journal import DEFAULT_JOURNAL_SIZE, Journal, JournalEntry, tell_each
from simulator.control.journal_row import Row, row_namespace

BATCH = 64
"""Rows wait for this many before the batch listeners are told of them (and always before a read or a scrape,
`flush`)."""


class MemoryJournal(Journal):
    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        super().__init__(size)
        self._rows: deque[Row] = deque(maxlen=size)
        self._numbers: deque[int] = deque(maxlen=size)
        """Each kept row's entry number (its id), beside it; numbered when its batch is told of."""
        self._numbered = 0
        self._seen: set[str] = set()
        self._waiting: list[Row] = []

    def record(self, entry: JournalEntry) -> None:
        entry.id = f"request_{self._numbered + len(self._waiting) + 1}"
        if self.listeners:
            tell_each(self.listeners, entry)
        self._store(entry.row())

    def keep(self, row: Row) -> None:
        """Record the entry `row` holds (the control layer's fast path gives its row, making no entry object)."""
        if self.listeners:
            entry: JournalEntry = RequestEntry.from_row(row, self._numbered + len(self._waiting) + 1)
            tell_each(self.listeners, entry)
        self._store(row)

    def _store(self, row: Row) -> None:
        self._rows.append(row)
        waiting = self._waiting
        waiting.append(row)
        if len(waiting) >= BATCH:
            self.flush()

    def flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        first = self._numbered + 1
        self._numbered += len(waiting)
        self._numbers.extend(range(first, self._numbered + 1))
        self._seen.update(map(row_namespace, waiting))
        tell_each(self.batch_listeners, waiting)

    async def seen(self) -> set[str]:
        self.flush()
        return set(self._seen)

    async def entries(self, namespace: str | None = None) -> Iterable[JournalEntry]:
        self.flush()
        kept = zip(reversed(self._numbers), reversed(self._rows), strict=True)
        if namespace is None:
            return (RequestEntry.from_row(row, number) for number, row in kept)
        return (RequestEntry.from_row(row, number) for number, row in kept if row_namespace(row) == namespace)

    async def delete(self, namespace: str | None) -> int:
        self.flush()
        before = len(self._rows)
        if namespace is None:
            self._seen.clear()
            self._rows.clear()
            self._numbers.clear()
        else:
            self._seen.discard(namespace)
            kept = [(number, row) for number, row in zip(self._numbers, self._rows, strict=True) if row_namespace(row) != namespace]
            self._numbers = deque((number for number, _ in kept), maxlen=self.size)
            self._rows = deque((row for _, row in kept), maxlen=self.size)
        return before - len(self._rows)

    async def close(self) -> None:
        """Nothing to release in process."""
