"""The in-process journal keeps entries packed a batch at a time: what a reader gets back, of one namespace or of all,
must be the newest `size` entries, in order, however the batches fall and however resets of other namespaces have
thinned them."""

from __future__ import annotations

import asyncio

from simulator.control.inspect import RequestEntry
from simulator.control.journal import EntryFilter
from simulator.control.memory_journal import BATCH, MemoryJournal


def kept(journal: MemoryJournal, namespace: str) -> RequestEntry:
    entry = RequestEntry("POST", "/v1/images/generations", "perf", namespace, b"", b"", b'{"prompt": "' + namespace.encode() + b'"}')
    entry.status, entry.time = 200, 1.0
    journal.record(entry)
    return entry


def test_entries_of_a_namespace_are_its_own_newest_first_after_another_is_reset() -> None:
    journal = MemoryJournal(size=5)
    for namespace in ["a", "b", "a", "c", "b", "a", "c"]:  # the first two drop out: the journal keeps five
        kept(journal, namespace)

    async def read() -> tuple[list[str], list[str], list[str], int, int]:
        removed = await journal.delete("b")
        only_a = [entry.id for entry in await journal.entries("a")]
        every = [f"{entry.namespace}:{entry.id}" for entry in await journal.entries()]
        prompts = [entry.prompt or "" for entry in await journal.entries("c")]
        return only_a, every, prompts, removed, await journal.count(EntryFilter(namespace="a"))

    only_a, every, prompts, removed, count_a = asyncio.run(read())
    assert removed == 1
    assert only_a == ["request_6", "request_3"]
    assert every == ["c:request_7", "a:request_6", "c:request_4", "a:request_3"]
    assert prompts == ["c", "c"]
    assert count_a == 2
    assert asyncio.run(journal.seen()) == {"a", "c"}


def test_the_newest_entries_are_kept_across_batches_and_dropped_ones_stay_dropped_after_a_reset() -> None:
    journal = MemoryJournal(size=100)
    for number in range(1, 3 * BATCH + 11):  # batches of BATCH, the oldest partly beyond the newest hundred
        kept(journal, "odd" if number % 2 else "even")

    async def read() -> tuple[list[str], list[str], int, list[str], int]:
        every = [entry.id for entry in await journal.entries()]
        odd = [entry.id for entry in await journal.entries("odd")]
        removed = await journal.delete("even")
        after = [entry.id for entry in await journal.entries()]
        for _ in range(3):
            kept(journal, "even")
        return every, odd, removed, after, await journal.count(EntryFilter())

    every, odd, removed, after, count = asyncio.run(read())
    newest = 3 * BATCH + 10
    assert every == [f"request_{number}" for number in range(newest, newest - 100, -1)]
    assert odd == [f"request_{number}" for number in range(newest, newest - 100, -1) if number % 2]
    assert removed == 50
    assert after == odd
    assert count == 53
