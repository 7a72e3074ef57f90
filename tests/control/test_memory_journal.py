"""The in-process journal keeps entries packed, with each one's namespace beside it: what a reader gets back, of one
namespace or of all, must be the entries kept, in order, however resets of other namespaces have thinned them."""

from __future__ import annotations

import asyncio

from simulator.control.inspect import RequestEntry
from simulator.control.journal import EntryFilter
from simulator.control.memory_journal import MemoryJournal


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
