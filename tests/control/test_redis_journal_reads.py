"""The journal in Redis is read a bounded page at a time: a listing of `limit` entries (the dashboard's poll, every
second per open tab) reads about `limit` entries whatever the journal's size, a namespace's reads only its own, and
a lookup by id only that entry; and it answers exactly what the in-process journal does.

Each listing read and decoded the whole journal before: with a large `--journal-size` (up to 1,000,000, which the
docs advise for shared runs) a poll took seconds, held Redis (so every worker's API requests) meanwhile, and the
dashboard said the simulator was not answering. The bounds are read from a Redis of the module's own: the bytes it
sent (INFO stats), and the most one reply may hold (its output-buffer limit), never a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from load.redis_server import RedisServer, redis_available, running_redis
from simulator.control.inspect import RequestEntry
from simulator.control.journal import EntryFilter, Journal, JournalEntry
from simulator.control.memory_journal import MemoryJournal
from simulator.control.redis_journal import PAGE, TRIM_EVERY, RedisJournal
from simulator.http import dump_json
from simulator.state.base import StateUnavailable

pytestmark = pytest.mark.anyio

PREFIX = "perf-sim:"
FILLER = ", ".join(f'"field_{number}": "{"x" * 150}"' for number in range(5))
"""Long enough that an entry is about 1 kB, as a real one with a prompt and a body is (the review's were 1.7 kB)."""


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this module's own: what it sends is what the journal read, with no other client's bytes."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    with running_redis() as server:
        yield server


@pytest.fixture
def stats(own_redis: RedisServer) -> Iterator[redis.Redis]:
    with redis.Redis(port=own_redis.port) as client:
        client.flushall()
        yield client


@asynccontextmanager
async def redis_journal(server: RedisServer, size: int) -> AsyncIterator[RedisJournal]:
    client = Redis(port=server.port)
    journal = RedisJournal(client, PREFIX, size)
    try:
        await journal.start_numbering()
        yield journal
    finally:
        await journal.close()
        await client.aclose()


def made(namespace: str, number: int) -> RequestEntry:
    body = f'{{"prompt": "{namespace} number {number}", "model": "dall-e-3", {FILLER}}}'.encode()
    entry = RequestEntry("POST", "/v1/images/generations", "openai", namespace, b"authorization\nBearer pk_test_pro_abcdefgh", b"", body)
    entry.time, entry.status = 1.0 + number, 200
    return entry


async def record(journal: Journal, namespaces: list[str]) -> list[str]:
    """Record one entry per name, in order, each written before the next (so ids follow the list); their ids."""
    ids = []
    for number, namespace in enumerate(namespaces):
        entry = made(namespace, number)
        written = journal.record(entry)
        if written is not None:
            await written
        ids.append(entry.id)
    return ids


async def fill(journal: RedisJournal, namespace: str, count: int) -> None:
    """`count` entries, written together in batches as concurrent requests' are (the quick way to a large journal)."""
    await asyncio.gather(*(journal.record(made(namespace, number)) for number in range(count)))


def sent(client: redis.Redis) -> int:
    return int(client.info("stats")["total_net_output_bytes"])


async def bytes_sent_by(client: redis.Redis, read: Any) -> tuple[Any, int]:
    """What `read` answered, and how many bytes Redis sent meanwhile (an INFO reply of about 2 kB included)."""
    before = sent(client)
    answer = await read
    return answer, sent(client) - before


ONE = len(dump_json(made("bulk", 1000).stored()))
"""About the bytes of one entry as Redis keeps and sends it (every entry here is alike)."""


async def test_a_namespaces_listing_reads_its_limit_whatever_the_journal_holds(own_redis: RedisServer, stats: redis.Redis) -> None:
    async with redis_journal(own_redis, 10_000) as journal:
        ids = await record(journal, ["jobA" if number % 20 == 0 else "bulk" for number in range(300)])
        await fill(journal, "bulk", 3000)
        found, read = await bytes_sent_by(stats, journal.find(EntryFilter(namespace="jobA"), 10))
    assert [entry.id for entry in found] == [ids[number] for number in range(280, 80, -20)]
    assert read < 12 * ONE + 4096, f"a listing of 10 entries made Redis send {read:,} bytes, {read // ONE:,} entries' worth"


async def test_a_namespace_with_one_entry_beside_thousands_is_listed_and_counted_reading_that_one(
    own_redis: RedisServer, stats: redis.Redis
) -> None:
    """The review's case: the dashboard's poll of `jobA` (one entry) in a journal a load run has filled."""
    async with redis_journal(own_redis, 10_000) as journal:
        (mine,) = await record(journal, ["jobA"])
        await fill(journal, "bulk", 5000)
        found, listed = await bytes_sent_by(stats, journal.find(EntryFilter(namespace="jobA"), 50))
        count, counted = await bytes_sent_by(stats, journal.count(EntryFilter(namespace="jobA")))
    assert ([entry.id for entry in found], count) == ([mine], 1)
    assert listed < 2 * ONE + 4096, f"listing a namespace of one entry made Redis send {listed:,} bytes"
    assert counted < 2 * ONE + 4096, f"counting a namespace of one entry made Redis send {counted:,} bytes"


async def test_a_listing_of_every_namespace_reads_its_limit(own_redis: RedisServer, stats: redis.Redis) -> None:
    async with redis_journal(own_redis, 10_000) as journal:
        await fill(journal, "bulk", 3000)
        ids = await record(journal, ["jobA", "jobB"] * 30)
        newest, listed = await bytes_sent_by(stats, journal.find(EntryFilter(), 50))
    assert [entry.id for entry in newest] == ids[::-1][:50]
    assert listed < 52 * ONE + 4096, f"a listing of 50 entries made Redis send {listed:,} bytes, {listed // ONE:,} entries' worth"


async def test_an_entry_is_looked_up_by_its_id_reading_that_entry_alone(own_redis: RedisServer, stats: redis.Redis) -> None:
    async with redis_journal(own_redis, 10_000) as journal:
        (first,) = await record(journal, ["jobA"])
        await fill(journal, "bulk", 3000)
        entry, looked_up = await bytes_sent_by(stats, journal.entry(first, "jobA"))
        elsewhere = await journal.entry(first, "bulk")
    assert (entry is not None and entry.id, elsewhere) == (first, None)
    assert looked_up < 2 * ONE + 4096, f"one entry by its id made Redis send {looked_up:,} bytes"


async def test_a_count_of_the_whole_journal_reads_it_in_replies_of_a_page(own_redis: RedisServer, stats: redis.Redis) -> None:
    """Redis closes a client whose one reply passes its output-buffer limit: a count read in pages of PAGE entries
    stays under one of 1 MB, as a read of the whole journal (2 MB here) did not."""
    limits = str(stats.config_get("client-output-buffer-limit")["client-output-buffer-limit"])
    async with redis_journal(own_redis, 10_000) as journal:
        await fill(journal, "bulk", 2000)
        await record(journal, ["jobA"] * 3 + ["bulk"] * 3)
        assert PAGE * ONE < 700_000
        stats.config_set("client-output-buffer-limit", "normal 1mb 0 0")
        try:
            every = await journal.count(EntryFilter())
            bulk = await journal.count(EntryFilter(namespace="bulk"))
            listed = await journal.find(EntryFilter(namespace="bulk"), 1500)
        except StateUnavailable as exc:
            pytest.fail(f"a read of the journal sent Redis a reply past 1 MB, so Redis closed the connection: {exc}")
        finally:
            stats.config_set("client-output-buffer-limit", limits)
    assert (every, bulk, len(listed)) == (2006, 2003, 1500)


async def test_a_reader_sees_each_entry_once_while_others_are_written_dropped_and_deleted_between_its_pages(
    own_redis: RedisServer, stats: redis.Redis
) -> None:
    """Entries written, the oldest dropped past the size and another namespace's deleted, all between two pages: the
    reader sees each entry it started with once, and none written since, dropped or deleted before its page came (as
    the in-process journal's reader, which reads its batches as it goes)."""
    async with redis_journal(own_redis, 1300) as journal:
        ids = await record(journal, ["a" if number % 3 else "b" for number in range(2 * PAGE + 100)])
        read_all, read_a = journal.pages(None), journal.pages("a")
        seen_all = [entry.id for entry in await anext(read_all)]
        seen_a = [entry.id for entry in await anext(read_a)]
        await record(journal, ["a"] * 300 + ["c"] * 300)  # 1,700 written: the oldest 400 are dropped
        deleted = await journal.delete("b")
        seen_all += [entry.id async for page in read_all for entry in page]
        seen_a += [entry.id async for page in read_a for entry in page]
    a_ids = {entry_id for number, entry_id in enumerate(ids) if number % 3}
    kept = set(ids[400:])
    assert deleted == len(kept - a_ids)
    newest_first = ids[::-1]
    assert seen_all == newest_first[:PAGE] + [entry_id for entry_id in newest_first[PAGE:] if entry_id in a_ids & kept]
    newest_a = [entry_id for entry_id in newest_first if entry_id in a_ids]
    assert seen_a == newest_a[:PAGE] + [entry_id for entry_id in newest_a[PAGE:] if entry_id in kept]


async def test_a_namespace_deleted_while_its_reader_is_between_pages_ends_the_reader_with_what_it_had(
    own_redis: RedisServer, stats: redis.Redis
) -> None:
    async with redis_journal(own_redis, 3000) as journal:
        ids = await record(journal, ["a"] * (PAGE + 10))
        reader = journal.pages("a")
        first = [entry.id for entry in await anext(reader)]
        await journal.delete("a")
        await record(journal, ["a"] * 5)
        rest = [entry.id async for page in reader for entry in page]
    assert (first, rest) == (ids[::-1][:PAGE], [])


async def test_entries_dropped_past_the_size_leave_nothing_of_theirs_in_redis(own_redis: RedisServer, stats: redis.Redis) -> None:
    """The journal is trimmed once its numbers pass a multiple of TRIM_EVERY: what Redis holds beyond the size is less
    than that many entries, never shown, and every namespace's list holds the numbers of its kept entries alone."""
    async with redis_journal(own_redis, 100) as journal:
        await record(journal, [f"ns{number % 7}" for number in range(450)])
        await fill(journal, "bulk", 1500)
        await record(journal, ["ns1", "ns2"] * (TRIM_EVERY // 2))
        ordered, kept = stats.zcard(PREFIX + "journal-order"), stats.hlen(PREFIX + "journal-entries")
        listed = sum(stats.llen(key) for key in stats.keys(PREFIX + "journal-of:*"))
        count = await journal.count(EntryFilter(method="POST"))
        shown = len(await journal.find(EntryFilter()))
    assert (count, shown) == (100, 100)
    assert ordered == kept == listed and 100 <= kept < 100 + TRIM_EVERY


async def test_a_namespace_list_out_of_step_with_the_entries_never_loses_a_kept_entry_as_old_ones_drop(
    own_redis: RedisServer, stats: redis.Redis
) -> None:
    """A full reset that answered 503 may have deleted a namespace's list and not its entries: dropping those old
    entries later must not trim the numbers of the namespace's newer ones from its new list."""
    async with redis_journal(own_redis, TRIM_EVERY - 4) as journal:
        await record(journal, ["x"] * 5)
        stats.delete(PREFIX + "journal-of:x")
        newer = await record(journal, ["x"] * 2 + ["y"] * (TRIM_EVERY - 7))  # request_6 and _7, then y up to _64
        assert stats.zcard(PREFIX + "journal-order") == TRIM_EVERY - 4, "the four oldest x entries have been dropped"
        listed = [entry.id for entry in await journal.find(EntryFilter(namespace="x"))]
    assert listed == newer[:2][::-1]


SEQUENCE = [["a", "b", "c", "a", "a", "d"][number % 6] if number % 50 else "b" for number in range(700)]


async def read_back(journal: Journal, ids: list[str]) -> list[Any]:
    """Every listing, count and lookup a reader makes, as JSON, after a namespace's reset and more entries."""
    answers: list[Any] = []
    for namespace in [None, "a", "b", "c", "d", "none"]:
        for limit in [1, 7, 50, 120, 600, None]:
            found = await journal.find(EntryFilter(namespace=namespace), limit)
            answers.append([entry.as_json() for entry in found])
        answers.append(await journal.count(EntryFilter(namespace=namespace)))
        answers.append(await journal.count(EntryFilter(namespace=namespace, model="dall-e-3", face="openai")))
        for entry_id in [*ids[::37], "request_1", "request_9999"]:
            entry: JournalEntry | None = await journal.entry(entry_id, namespace)
            answers.append(None if entry is None else entry.as_json())
    return answers


async def test_redis_and_memory_journals_answer_alike_after_drops_and_a_reset(own_redis: RedisServer, stats: redis.Redis) -> None:
    async def answers(journal: Journal) -> list[Any]:
        ids = await record(journal, SEQUENCE)
        await journal.delete("c")
        ids += await record(journal, ["c", "d"] * 20)
        return await read_back(journal, ids)

    memory = await answers(MemoryJournal(size=400))
    async with redis_journal(own_redis, 400) as journal:
        shared = await answers(journal)
    assert len(memory) == len(shared)
    for number, (expected, got) in enumerate(zip(memory, shared, strict=True)):
        assert got == expected, number
