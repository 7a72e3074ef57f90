"""RedisState keeps MemoryState's semantics, shares them across processes, and fails fast when Redis is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis

from load.redis_server import RedisServer
from simulator.context import in_namespace
from simulator.state.base import CLOCK_MANUAL, DEFAULT_MANUAL_START, ImageBatch, ImageRecord, Limits, State, StateUnavailable, Ticket
from simulator.state.memory import MemoryState
from simulator.state.redis import RedisState
from spec import tiers
from spec.models import IMAGE_URL_TTL_SECONDS

pytestmark = pytest.mark.anyio

FREE = Limits(tiers.TIERS["free"].images_per_minute, tiers.TIERS["free"].images_per_day)
MANY = Limits(1000, 1000)


def flush(server: RedisServer) -> None:
    with redis.Redis(port=server.port) as client:
        client.flushall()


BATCH = ImageBatch("dall-e-2", 'a "fox" \ud800 at dawn', "256x256", "default", 3, "7\x1fimage\x1f")


async def script(state: State) -> list[object]:
    """Admissions across minute and day boundaries, n > 1, usage, retry_after, sequence numbers and the images
    recorded: everything an admitted request writes."""
    out: list[object] = []
    steps = [(0, 2), (10, 2), (5, 2), (30, 1), (14, 1), (1, 1), (0.5, 3), (59, 4), (0, 5), (120, 1)]
    for advance, n in steps:
        now = await state.advance_clock(advance)
        ticket = await state.admit_and_record("perf:k", n, FREE, BATCH)
        out += [ticket, await state.usage("perf:k", FREE, now)]
        if ticket.sequence is not None:
            out += [await state.get_image(image_id) for image_id, _ in BATCH.records(ticket.sequence, n, now)]
    for _ in range(12):  # walk through the day limit, one full minute apart
        await state.advance_clock(61)
        out.append(await state.admit_and_record("perf:k", 5, FREE, None))
    now = await state.advance_clock(tiers.seconds_to_utc_midnight(await state.now()))
    out.append(await state.admit_and_record("perf:k", 5, FREE, None))
    out.append(await state.usage("perf:other", FREE, now))
    return out


@pytest.fixture
async def redis_state(redis_server: RedisServer) -> AsyncIterator[RedisState]:
    flush(redis_server)
    state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    yield state
    await state.close()


async def expiries_by_the_maker_clock(state: State) -> list[bool]:
    """Whether an image and a blob made in namespace "late" are there, read from the default namespace, as each
    namespace's clock moves."""
    with in_namespace("late"):
        ticket = await state.admit_and_record("perf:k", 1, FREE, ImageBatch("dall-e-2", "a fox", "256x256", "late", 0, "salt"))
        await state.put_blob("task", b"record", ticket.now + IMAGE_URL_TTL_SECONDS)
    (image,) = ticket.image_ids
    seen = []
    for name, seconds in [("default", 2 * IMAGE_URL_TTL_SECONDS), ("late", IMAGE_URL_TTL_SECONDS - 1), ("late", 1)]:
        with in_namespace(name):
            await state.advance_clock(seconds)
        seen += [await state.get_image(image) is not None, await state.get_blob("task") is not None]
    return seen


async def test_images_and_blobs_expire_by_the_clock_of_the_namespace_that_made_them(redis_state: RedisState) -> None:
    expected = [True, True, True, True, False, False]
    assert await expiries_by_the_maker_clock(MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START)) == expected
    assert await expiries_by_the_maker_clock(redis_state) == expected


async def records_after_a_namespace_reset(state: State) -> list[bool]:
    """Whether images and blobs made in namespaces "gone" and "kept" are there after "gone" is reset, and whether
    "gone" then makes the ids of a fresh start again."""
    made = {}
    for name in ("gone", "kept"):
        with in_namespace(name):
            ticket = await state.admit_and_record("perf:k", 1, FREE, ImageBatch("dall-e-2", "a fox", "256x256", name, 0, f"salt@{name}"))
            await state.put_blob(f"task:{name}", b"record", ticket.now + IMAGE_URL_TTL_SECONDS)
            made[name] = ticket.image_ids
    await state.reset("gone")
    seen = [await state.get_image(made[name][0]) is not None for name in ("gone", "kept")]
    seen += [await state.get_blob(f"task:{name}") is not None for name in ("gone", "kept")]
    with in_namespace("gone"):
        again = await state.admit_and_record("perf:k", 1, FREE, ImageBatch("dall-e-2", "a hen", "256x256", "gone", 0, "salt@gone"))
    return [*seen, again.image_ids == made["gone"]]


async def test_a_namespace_reset_forgets_that_namespace_images_and_blobs_only(redis_state: RedisState) -> None:
    expected = [False, True, False, True, True]
    assert await records_after_a_namespace_reset(MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START)) == expected
    assert await records_after_a_namespace_reset(redis_state) == expected


async def test_a_namespace_reset_reads_no_other_namespaces_records(redis_state: RedisState, redis_server: RedisServer) -> None:
    for name, requests in (("gone", 2), ("kept", 50)):
        with in_namespace(name):
            for _ in range(requests):
                ticket = await redis_state.admit_and_record(
                    "perf:k", 2, Limits(1000, 1000), ImageBatch("dall-e-2", "a fox", "256x256", name, 0, name)
                )
                await redis_state.put_blob(f"task:{ticket.image_ids[0]}", b"record", ticket.now + IMAGE_URL_TTL_SECONDS)
    with redis.Redis(port=redis_server.port) as client:
        client.config_resetstat()
        await redis_state.reset("gone")
        calls = {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in client.info("commandstats").items()}
        kept = client.keys("perf-sim:image:*") + client.keys("perf-sim:blob:*")
    assert not {"get", "mget"} & set(calls), f"a record was read to learn its namespace: {calls}"
    assert len(kept) == 50 * 2 + 50, "the other namespace keeps its images and blobs"


async def test_a_namespaces_indexes_expire_when_the_records_they_name_have(redis_server: RedisServer) -> None:
    flush(redis_server)
    state = RedisState(redis_server.url, "real")
    try:
        with in_namespace("team"):
            ticket = await state.admit_and_record("perf:k", 1, FREE, ImageBatch("dall-e-2", "a fox", "256x256", "team", 0, "team"))
            await state.put_blob("task", b"record", ticket.now + IMAGE_URL_TTL_SECONDS)
    finally:
        await state.close()
    with redis.Redis(port=redis_server.port) as client:
        for kind in ("image", "blob"):
            (index,) = client.keys(f"perf-sim:ns:team:{kind}-index:*")
            (record,) = client.keys(f"perf-sim:{kind}:*")
            assert 0 < client.ttl(record) <= client.ttl(index) <= 2 * IMAGE_URL_TTL_SECONDS


async def test_on_the_manual_clock_images_expire_by_the_simulator_clock_alone_and_their_count_is_bounded(
    redis_server: RedisServer,
) -> None:
    """Wall time says nothing about a manual clock: an image lived an hour of it in Redis (PTTL 3599909 however far the
    clock stood), so a session over an hour of wall time got 404s that memory did not give. Redis memory stays bounded
    as memory's is, by count: the oldest images go first, with their index entries."""
    flush(redis_server)
    most = 5
    redis_state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START, max_images=most)
    memory_state = MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START, max_images=most)
    try:
        seen: dict[str, list[object]] = {}
        for name, state in (("redis", redis_state), ("memory", memory_state)):
            with in_namespace("team"):
                first = await state.admit_and_record("perf:k", 2, FREE, ImageBatch("dall-e-2", "a fox", "256x256", "team", 0, "s"))
                if state is redis_state:
                    with redis.Redis(port=redis_server.port) as client:
                        record_ttls = {client.pttl(f"perf-sim:image:{image}") for image in first.image_ids}
                        index_ttls = {client.pttl(index) for index in client.keys("perf-sim:ns:team:image-index:*")}
                    assert record_ttls == {-1} and index_ttls == {-1}, "no wall-clock expiry on the manual clock"
                await state.advance_clock(IMAGE_URL_TTL_SECONDS - 1)
                there = [await state.get_image(image) is not None for image in first.image_ids]
                await state.advance_clock(1)
                there += [await state.get_image(image) is not None for image in first.image_ids]
                await state.reset("team")
                made = [
                    await state.admit_and_record("perf:k", 2, MANY, ImageBatch("dall-e-2", "a hen", "256x256", "team", 0, f"s{i}"))
                    for i in range(3)
                ]
                kept = [await state.get_image(image) is not None for ticket in made for image in ticket.image_ids]
            seen[name] = [there, kept]
        assert seen["redis"] == seen["memory"] == [[True, True, False, False], [False, True, True, True, True, True]]
        with redis.Redis(port=redis_server.port) as client:
            assert len(client.keys("perf-sim:image:*")) == most and client.zcard("perf-sim:image-order") == most
            (index,) = client.keys("perf-sim:ns:team:image-index:*")
            assert client.scard(index) == most, "the index drops the ids of the images it no longer holds"
    finally:
        await redis_state.close()


async def images_kept_when_ids_repeat_after_a_reset(state: State) -> list[bool]:
    """Whether the images namespace "team" makes again after its reset, with the same salt (the same seed: the same
    ids), are all there once namespace "other" has pushed the store to its most."""
    team = ImageBatch("dall-e-2", "a fox", "256x256", "team", 0, "salt@team")
    with in_namespace("team"):
        before = await state.admit_and_record("perf:k", 2, MANY, team)
    await state.reset("team")
    with in_namespace("team"):
        again = await state.admit_and_record("perf:k", 2, MANY, team)
    assert again.image_ids == before.image_ids, "the same seed makes the same ids after a reset"
    with in_namespace("other"):
        await state.admit_and_record("perf:k", 2, MANY, ImageBatch("dall-e-2", "a hen", "256x256", "other", 0, "salt@other"))
    return [await state.get_image(image) is not None for image in again.image_ids]


async def test_on_the_manual_clock_images_made_again_after_a_namespace_reset_are_not_evicted_while_the_store_has_room(
    redis_server: RedisServer,
) -> None:
    """The order of storing held a reset namespace's old entries, and its ids come again after the reset (same seed,
    sequence restarted): evicting the old copy deleted the live image, a 404 with 4 images stored and room for 4."""
    flush(redis_server)
    most = 4
    redis_state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START, max_images=most)
    try:
        memory_state = MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START, max_images=most)
        assert await images_kept_when_ids_repeat_after_a_reset(memory_state) == [True, True]
        assert await images_kept_when_ids_repeat_after_a_reset(redis_state) == [True, True]
        with redis.Redis(port=redis_server.port) as client:
            assert client.zcard("perf-sim:image-order") == len(client.keys("perf-sim:image:*")) == 4, "only live images count"
            with in_namespace("other"):
                await redis_state.admit_and_record("perf:k", 1, MANY, ImageBatch("dall-e-2", "a hen", "256x256", "other", 0, "salt@more"))
            assert client.zcard("perf-sim:image-order") == len(client.keys("perf-sim:image:*")) == most, "past the most, the oldest goes"
    finally:
        await redis_state.close()


async def test_render_indices_wrap_at_the_batch_period_in_redis_as_in_memory(redis_state: RedisState) -> None:
    period = 2**31
    batch = ImageBatch("ideogram-2", "a sign", "1024x1024", "default", period - 2, "salt", index_period=period)
    for state in (redis_state, MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START)):
        ticket = await state.admit_and_record("ideogram:k", 4, Limits(100, 1000), batch)
        records = [await state.get_image(image_id) for image_id in ticket.image_ids]
        assert [record.index for record in records if record is not None] == [period - 2, period - 1, 0, 1]


async def test_redis_decides_exactly_as_memory(redis_state: RedisState) -> None:
    expected = await script(MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START))
    assert await script(redis_state) == expected
    refusals = [t.admission for t in expected if isinstance(t, Ticket) and not t.admission.admitted]
    assert any(a.retry_after is not None and a.retry_after > 60 for a in refusals), "the day window was never hit"
    assert None not in expected and sum(isinstance(r, ImageRecord) for r in expected) == 11, "every admitted image is recorded"


async def test_a_refusal_names_the_window_that_refused_it_in_redis_as_in_memory(redis_state: RedisState) -> None:
    """The window a 429 names (the OpenAI face's message says it) is the one the admission refused by: the day's when
    both refuse, as its wait is the retry_after."""
    limits = Limits(images_per_minute=2, images_per_day=3)
    for state in (redis_state, MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START)):
        windows = [(await state.admit_and_record("perf:w", 2, limits, None)).admission.window]
        windows.append((await state.admit_and_record("perf:w", 1, limits, None)).admission.window)
        await state.advance_clock(61)
        windows.append((await state.admit_and_record("perf:w", 1, limits, None)).admission.window)
        windows += [(await state.admit_and_record("perf:w", n, limits, None)).admission.window for n in (1, 2)]
        assert windows == [None, "minute", None, "day", "day"]


async def test_admission_is_exact_across_processes_sharing_redis(redis_server: RedisServer) -> None:
    flush(redis_server)
    states = [RedisState(redis_server.url, "real") for _ in range(4)]
    try:
        tickets = await asyncio.gather(*(states[i % 4].admit_and_record("perf:shared", 1, FREE, BATCH) for i in range(200)))
        results = [ticket.admission for ticket in tickets]
        assert sum(r.admitted for r in results) == FREE.images_per_minute
        assert all(r.retry_after == 60 for r in results if not r.admitted)
        assert sorted(t.sequence for t in tickets if t.sequence is not None) == list(range(1, FREE.images_per_minute + 1))
    finally:
        for state in states:
            await state.close()


async def test_clock_sequence_and_images_are_shared(redis_server: RedisServer) -> None:
    flush(redis_server)
    one, two = (RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START) for _ in range(2))
    try:
        assert [await one.next_sequence(), await two.next_sequence(), await one.next_sequence()] == [1, 2, 3]
        await one.advance_clock(90)
        assert await two.now() == DEFAULT_MANUAL_START + 90
        ticket = await one.admit_and_record("perf:k", 1, FREE, BATCH)
        assert (ticket.now, ticket.sequence) == (DEFAULT_MANUAL_START + 90, 4), "the clock and the sequence, in the same round trip"
        [(image, record)] = BATCH.records(4, 1, ticket.now)
        assert record == ImageRecord("dall-e-2", BATCH.prompt, "256x256", "default", 3, ticket.now + IMAGE_URL_TTL_SECONDS)
        assert await two.get_image(image) == record
        await one.advance_clock(IMAGE_URL_TTL_SECONDS)
        assert await two.get_image(image) is None
        with redis.Redis(port=redis_server.port) as client:
            assert client.ttl(f"perf-sim:image:{image}") == -1, "on the manual clock, the simulator clock alone expires images"
        await two.reset()
        assert await one.now() == DEFAULT_MANUAL_START
        assert await one.next_sequence() == 1
        assert await one.get_image(image) is None
    finally:
        await one.close()
        await two.close()


async def test_rate_windows_always_expire_in_redis_with_the_real_clock(redis_server: RedisServer) -> None:
    """A key's windows are set to expire a day and a minute after an admission (so one-off keys do not fill Redis),
    including a window emptied by expiry and made anew, though the script sets the expiry only once a minute."""
    flush(redis_server)
    state = RedisState(redis_server.url, "real")
    ttl_ms = (tiers.DAY_SECONDS + tiers.MINUTE_SECONDS) * 1000
    windows = ("perf-sim:ns:default:minute:perf:k", "perf-sim:ns:default:totals:perf:k")
    try:
        with redis.Redis(port=redis_server.port) as client:
            for advance in (0, 1, 1, tiers.MINUTE_SECONDS + 5, 1):
                await state.advance_clock(advance)
                assert (await state.admit_and_record("perf:k", 1, FREE, None)).admission.admitted
                for window in windows:
                    assert tiers.DAY_SECONDS * 1000 < client.pttl(window) <= ttl_ms, (advance, window)
    finally:
        await state.close()


async def test_blobs_are_shared_and_expire_by_the_simulator_clock(redis_state: RedisState, redis_server: RedisServer) -> None:
    other = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    try:
        now = await redis_state.now()
        await redis_state.put_blob("task-1", b"\x00payload\xff", now + 600)
        assert await other.get_blob("task-1") == b"\x00payload\xff"
        await other.advance_clock(600)
        assert await other.get_blob("task-1") is None
        assert await other.get_blob("never-stored") is None
        with redis.Redis(port=redis_server.port) as client:
            assert 0 < client.pttl("perf-sim:blob:task-1") <= 600_000, "Redis expiry bounds the blob store"
    finally:
        await other.close()


async def test_redis_down_fails_fast_and_service_resumes() -> None:
    from simulator.launcher import free_port

    server = RedisServer(free_port())
    server.start()
    state = RedisState(server.url, "real")
    try:
        assert (await state.admit_and_record("perf:k", 1, FREE, BATCH)).admission.admitted
        server.stop()
        started = time.monotonic()
        for call in (state.now(), state.next_sequence(), state.admit_and_record("perf:k", 1, FREE, BATCH)):
            with pytest.raises(StateUnavailable, match=r"Redis at 127\.0\.0\.1:\d+/0 did not answer"):
                await call
        assert time.monotonic() - started < 1, "a stopped Redis refuses at once: no waiting for timeouts"
        server.start()
        await asyncio.sleep(0.1)
        assert await state.next_sequence() == 1, "a restarted Redis starts empty, and the first call after it succeeds"
    finally:
        await state.close()
        server.stop()
