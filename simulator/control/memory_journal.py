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
from simulator.control.journal import DEFAULT_JOURNAL_SIZE, Journal, JournalEntry

BATCH = 64
"""The batch listeners (the metrics) are told of entries in lists of this many, and before a scrape (`flush`). Small,
so the entries waiting (live objects, unlike the packed ones kept) are few."""


class MemoryJournal(Journal):
    in_process = True

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        super().__init__(size)
        self._rows: deque[bytes] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._seen: set[str] = set()
        self._untold: list[JournalEntry] = []

    def record(self, entry: JournalEntry) -> None:
        entry.id = f"request_{next(self._ids)}"
        self._rows.append(entry.packed())
        self._seen.add(entry.namespace)
        if self.listeners:
            self._tell(entry)
        untold = self._untold
        untold.append(entry)
        if len(untold) >= BATCH:
            self.flush()

    def flush(self) -> None:
        untold, self._untold = self._untold, []
        if untold:
            self._tell_batch(untold)

    async def seen(self) -> set[str]:
        return set(self._seen)

    async def entries(self) -> Iterable[JournalEntry]:
        return map(RequestEntry.unpacked, reversed(self._rows))

    async def delete(self, namespace: str | None) -> int:
        before = len(self._rows)
        if namespace is None:
            self._seen.clear()
            self._rows.clear()
        else:
            self._seen.discard(namespace)
            kept = [row for row in self._rows if RequestEntry.unpacked(row).namespace != namespace]
            self._rows = deque(kept, maxlen=self.size)
        return before - len(self._rows)

    async def close(self) -> None:
        """Nothing to release in process."""
