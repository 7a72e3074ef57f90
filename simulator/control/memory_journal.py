"""The request journal kept in this process: the newest `size` entries, as rows (simulator.control.journal_row)
packed a batch at a time.

A request's row waits in a list until `BATCH` rows have come (or a read or a scrape comes: `flush`). The batch is
then numbered, packed into one bytes object (marshal, format 4) and handed to the batch listeners (the metrics), all
in C calls over the batch; a request pays for appending its row.

Why packed, and by the batch: the journal holds ten thousand requests while the server makes new ones. Kept as
objects, each row with its own strings, bytes and numbers, every request freed the oldest row's scatter of small
blocks and filled them again, long out of the processor's caches: that cost a url request a fortieth of its
throughput (entry objects, which the collector also scanned, a twentieth). A packed batch is one block, never
scanned by the collector. marshal's format 4 writes a string's ASCII bytes as they are and each object shared by
the batch's rows (a face, a model, a namespace) once; packing a whole batch in one call took a row a third of what
packing it alone in format 2 did, which encodes every string anew. Reading the journal (rare, against every request)
unpacks what it reads.
"""

from __future__ import annotations

import marshal
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from simulator.control.inspect import RequestEntry
from simulator.control.journal import DEFAULT_JOURNAL_SIZE, Journal, JournalEntry, entry_number, tell_each
from simulator.control.journal_row import NAMESPACE, Row, row_namespace

BATCH = 64
"""Rows wait for this many before they are packed and the batch listeners told (and always before a read or a
scrape, `flush`). Small, so the rows waiting (live objects, unlike the packed ones kept) are few."""
_MARSHAL_FORMAT = 4


class _Batch(NamedTuple):
    numbers: Sequence[int]
    """Each row's entry number (its id): a range, until a reset of one namespace thins the batch."""
    namespaces: frozenset[str]
    """The namespaces of its rows: a reader of one namespace unpacks only the batches holding some of its rows."""
    packed: bytes


def _packed(numbers: Sequence[int], rows: list[Row]) -> _Batch:
    return _Batch(numbers, frozenset(map(row_namespace, rows)), marshal.dumps(rows, _MARSHAL_FORMAT))


class MemoryJournal(Journal):
    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        super().__init__(size)
        self._batches: deque[_Batch] = deque()
        self._kept = 0
        """Rows in `_batches`: at most `size` plus a batch's, since batches drop whole (a reader sees the newest
        `size`)."""
        self._numbered = 0
        self._seen: set[str] = set()
        self._waiting: list[Row] = []

    def record(self, entry: JournalEntry) -> None:
        entry.id = f"request_{self._numbered + len(self._waiting) + 1}"
        self.keep(entry.row(), entry)

    def keep(self, row: Row, entry: JournalEntry | None = None) -> None:
        """Record the entry `row` holds (the control layer's fast path gives its row alone, making no entry object;
        `record` gives the entry too, for the listeners)."""
        if self.listeners:
            told = entry or RequestEntry.from_row(row, self._numbered + len(self._waiting) + 1)
            tell_each(self.listeners, told)
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
        batch = _packed(range(first, self._numbered + 1), waiting)
        self._batches.append(batch)
        self._kept += len(waiting)
        while self._kept - len(self._batches[0].numbers) >= self.size:
            self._kept -= len(self._batches.popleft().numbers)
        self._seen |= batch.namespaces
        tell_each(self.batch_listeners, waiting)

    async def start_numbering(self) -> None:
        """Nothing to do: a journal in process is new with its run."""

    async def seen(self) -> set[str]:
        self.flush()
        return set(self._seen)

    async def entries(self, namespace: str | None = None) -> Iterable[JournalEntry]:
        self.flush()
        return self._newest_first(list(self._batches), namespace)

    def _newest_first(self, batches: list[_Batch], namespace: str | None) -> Iterator[JournalEntry]:
        for batch, shown in self._shown(batches):
            if namespace is not None and namespace not in batch.namespaces:
                continue
            rows = marshal.loads(batch.packed)
            for index in range(len(rows) - 1, len(rows) - 1 - shown, -1):
                row = rows[index]
                if namespace is None or row[NAMESPACE] == namespace:
                    yield RequestEntry.from_row(row, batch.numbers[index])

    def _shown(self, batches: list[_Batch]) -> Iterator[tuple[_Batch, int]]:
        """The batches newest first, each with how many of its newest rows a reader sees: the journal's newest `size`
        (the oldest batch may still hold rows beyond them)."""
        left = self.size
        for batch in reversed(batches):
            if left <= 0:
                return
            shown = min(len(batch.numbers), left)
            left -= shown
            yield batch, shown

    async def entry(self, entry_id: str, namespace: str | None) -> JournalEntry | None:
        """Unpacks only the batch holding the entry, found by its number."""
        number = entry_number(entry_id)
        if number is None:
            return None
        self.flush()
        for batch, shown in self._shown(list(self._batches)):
            if number not in batch.numbers:
                continue
            index = batch.numbers.index(number)
            if index < len(batch.numbers) - shown or (namespace is not None and namespace not in batch.namespaces):
                return None
            row = marshal.loads(batch.packed)[index]
            return RequestEntry.from_row(row, number) if namespace is None or row[NAMESPACE] == namespace else None
        return None

    async def delete(self, namespace: str | None) -> int:
        self.flush()
        self._drop_hidden()
        before = self._kept
        if namespace is None:
            self._seen.clear()
            self._batches.clear()
            self._kept = 0
            return before
        self._seen.discard(namespace)
        thinned: deque[_Batch] = deque()
        for batch in self._batches:
            if namespace not in batch.namespaces:
                thinned.append(batch)
                continue
            rows: list[Row] = marshal.loads(batch.packed)
            kept = [(number, row) for number, row in zip(batch.numbers, rows, strict=True) if row[NAMESPACE] != namespace]
            if kept:
                thinned.append(_packed(tuple(number for number, _ in kept), [row for _, row in kept]))
        self._batches = thinned
        self._kept = sum(len(batch.numbers) for batch in thinned)
        return before - self._kept

    def _drop_hidden(self) -> None:
        """Drop the rows beyond the newest `size`, which the oldest batch may still hold (so that thinning the
        journal never brings them back)."""
        excess = self._kept - self.size
        if excess > 0:
            oldest = self._batches.popleft()
            rows: list[Row] = marshal.loads(oldest.packed)
            self._batches.appendleft(_packed(oldest.numbers[excess:], rows[excess:]))
            self._kept -= excess

    async def close(self) -> None:
        """Nothing to release in process."""
