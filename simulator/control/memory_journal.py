"""The request journal kept in this process: the newest `size` entries, each packed into one bytes object.

Entries are kept packed (`RequestEntry.packed`), not as the objects requests filled in: ten thousand entry objects,
each with its own strings and tuples, were ten thousand more objects for the collector to scan and a scatter of small
blocks to free as the oldest dropped out, which cost a url request a twentieth of its throughput. A bytes object is
never scanned and frees as one block; reading the journal (rare, against every request) unpacks what it reads.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

from simulator.control.inspect import RequestEntry
from simulator.control.journal import DEFAULT_JOURNAL_SIZE, Journal, JournalEntry, tell_each

BATCH = 64
"""The batch listeners (the metrics) are told of entries in lists of this many, and before a scrape (`flush`). Small,
so the entries waiting (live objects, unlike the packed ones kept) are few."""


class MemoryJournal(Journal):
    in_process = True

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        super().__init__(size)
        self._rows: deque[bytes] = deque(maxlen=size)
        self._namespaces: deque[str] = deque(maxlen=size)
        """Each kept entry's namespace, beside its row: a reader of one namespace unpacks only its entries."""
        self._ids = itertools.count(1)
        self._seen: set[str] = set()
        self._untold: list[JournalEntry] = []

    def record(self, entry: JournalEntry) -> None:
        entry.id = f"request_{next(self._ids)}"
        self._rows.append(entry.packed())
        self._namespaces.append(entry.namespace)
        self._seen.add(entry.namespace)
        if self.listeners:
            tell_each(self.listeners, entry)
        untold = self._untold
        untold.append(entry)
        if len(untold) >= BATCH:
            self.flush()

    def flush(self) -> None:
        untold, self._untold = self._untold, []
        if untold:
            tell_each(self.batch_listeners, untold)

    async def seen(self) -> set[str]:
        return set(self._seen)

    async def entries(self, namespace: str | None = None) -> Iterable[JournalEntry]:
        if namespace is None:
            return map(RequestEntry.unpacked, reversed(self._rows))
        rows = zip(reversed(self._namespaces), reversed(self._rows), strict=True)
        return (RequestEntry.unpacked(row) for name, row in rows if name == namespace)

    async def delete(self, namespace: str | None) -> int:
        before = len(self._rows)
        if namespace is None:
            self._seen.clear()
            self._rows.clear()
            self._namespaces.clear()
        else:
            self._seen.discard(namespace)
            kept = [(name, row) for name, row in zip(self._namespaces, self._rows, strict=True) if name != namespace]
            self._namespaces = deque((name for name, _ in kept), maxlen=self.size)
            self._rows = deque((row for _, row in kept), maxlen=self.size)
        return before - len(self._rows)

    async def close(self) -> None:
        """Nothing to release in process."""
