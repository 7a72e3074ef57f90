"""A reset on Redis is many calls (a page of keys at a time); requests of the namespace it resets, arriving on any
worker meanwhile, are held back until it is over, so none of them lands half before and half after it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import redis

from load.redis_server import RedisServer, Stall
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.context import in_namespace
from simulator.state.base import CLOCK_MANUAL, DEFAULT_MANUAL_START, Limits, StateUnavailable
from simulator.state.redis import SOCKET_TIMEOUT_SECONDS, RedisState, as_text
from spec import tiers

# Resets stalled on a real Redis: the slow pass (CI runs it).
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KEY = f"{tiers.TEST_KEY_PREFIX}pro_a"
LIMIT = tiers.TIERS["pro"].images_per_minute
BODY = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256", "n": 1}
ROOMY = Limits(1000, 100_000)
NAMESPACE_KEYS = "perf-sim:ns:A:"
A_CALL_TAKES = 0.05
"""Long enough for one admission on an idle local Redis, many times over."""


def flush(server: RedisServer) -> None:
    with redis.Redis(port=server.port) as client:
        client.flushall()


def window_keys_first(key: str) -> int:
    """The order that rebuilt a window in the old reset: the window's keys deleted before its clock offset."""
    return 0 if key.startswith(NAMESPACE_KEYS + "minute:") else 1 if key.startswith(NAMESPACE_KEYS + "totals:") else 2


@dataclass
class Racing:
    sent: list[asyncio.Task[httpx.Response]] = field(default_factory=list)
    answered_during_reset: list[bool] = field(default_factory=list)


def interleave_admissions(monkeypatch: pytest.MonkeyPatch, state: RedisState, admit: Callable[[], Awaitable[httpx.Response]]) -> Racing:
    """Make the reset delete namespace A's keys one at a time and send a request of A after each, given
    A_CALL_TAKES to be answered before the reset goes on: a reset in pages of a store of thousands of keys lets
    requests in between its pages, wherever A's keys fall."""
    unlink = state._redis.unlink
    racing = Racing()

    async def one_at_a_time(*keys: bytes | str) -> int:
        names = [as_text(key) for key in keys]
        ours = sorted((name for name in names if name.startswith(NAMESPACE_KEYS)), key=window_keys_first)
        others = [name for name in names if name not in ours]
        deleted = int(await unlink(*others)) if others else 0
        for name in ours:
            deleted += int(await unlink(name))
            request = asyncio.ensure_future(admit())
            await asyncio.wait([request], timeout=A_CALL_TAKES)
            racing.sent.append(request)
            racing.answered_during_reset.append(request.done())
        return deleted

    monkeypatch.setattr(state._redis, "unlink", one_at_a_time)
    return racing


@asynccontextmanager
async def simulator_on(redis_server: RedisServer) -> AsyncIterator[tuple[httpx.AsyncClient, RedisState]]:
    """A simulator app on Redis (manual clock) in this process, and its state, for hooking the reset's calls."""
    flush(redis_server)
    state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=redis_server.url), state=state)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client, state


async def generate(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/v1/images/generations", json=BODY, headers={"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": "A"})


@pytest.mark.parametrize("reset", ["/_sim/reset?namespace=A", "/_sim/reset"])
async def test_a_reset_racing_the_namespaces_requests_leaves_its_key_a_full_minute_a_minute_later(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, reset: str
) -> None:
    async with simulator_on(redis_server) as (client, state):
        (await client.post("/_sim/clock/advance?namespace=A", json={"seconds": 3600})).raise_for_status()
        assert [(await generate(client)).status_code for _ in range(5)] == [200] * 5
        racing = interleave_admissions(monkeypatch, state, lambda: generate(client))
        assert (await client.post(reset)).json()["now"] == DEFAULT_MANUAL_START
        assert racing.sent and [answer.status_code for answer in await asyncio.gather(*racing.sent)] == [200] * len(racing.sent)
        (await client.post("/_sim/clock/advance?namespace=A", json={"seconds": 61})).raise_for_status()
        minute = (await client.get(f"/_sim/usage/{KEY}?namespace=A")).json()["minute"]
        assert (minute["used"], minute["reset_seconds"]) == (0, 0), "the requests made during the reset were a minute ago"
        answers = await asyncio.gather(*(generate(client) for _ in range(LIMIT + 1)))
        assert sorted(answer.status_code for answer in answers) == [200] * LIMIT + [429]


async def test_a_request_arriving_during_a_reset_is_admitted_after_it_and_counted_once_everywhere(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with simulator_on(redis_server) as (client, state):
        (await client.post("/_sim/clock/advance?namespace=A", json={"seconds": 3600})).raise_for_status()
        assert (await generate(client)).status_code == 200
        racing = interleave_admissions(monkeypatch, state, lambda: generate(client))
        (await client.post("/_sim/reset?namespace=A")).raise_for_status()
        assert racing.sent and not any(racing.answered_during_reset), "held back until the reset was over"
        answers = await asyncio.gather(*racing.sent)
        assert [(answer.status_code, answer.json()["created"]) for answer in answers] == [(200, int(DEFAULT_MANUAL_START))] * len(answers)
        journal = (await client.post("/_sim/requests/count", json={"match": {"status": 200}, "namespace": "A"})).json()["count"]
        used = (await client.get(f"/_sim/usage/{KEY}?namespace=A")).json()["minute"]["used"]
        assert journal == used == len(answers)
        next_id = (await generate(client)).json()["perf"]["request_id"]
    async with simulator_on(redis_server) as (client, _):
        fresh_ids = [(await generate(client)).json()["perf"]["request_id"] for _ in range(len(answers) + 1)]
    assert next_id == fresh_ids[-1], "the id sequence counts the same requests as the journal and the window"


async def test_two_resets_of_one_namespace_hold_it_until_both_are_over(redis_server: RedisServer) -> None:
    flush(redis_server)
    one, two = (RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START) for _ in range(2))
    try:
        with in_namespace("A"):
            async with one.resetting("A"):
                async with two.resetting("A"):
                    pass
                admission = asyncio.ensure_future(two.admit_and_record("perf:k", 1, ROOMY, None))
                await asyncio.sleep(A_CALL_TAKES)
                assert not admission.done()
            assert (await admission).admission.admitted
        with redis.Redis(port=redis_server.port) as client:
            assert client.keys("*reset*") == [], "the last reset out takes its fence down"
    finally:
        await one.close()
        await two.close()


async def test_a_reset_holds_back_no_other_namespace_but_a_full_reset_holds_back_every_one(redis_server: RedisServer) -> None:
    flush(redis_server)
    state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    try:
        async with state.resetting("A"):
            with in_namespace("B"):
                assert (await asyncio.wait_for(state.admit_and_record("perf:k", 1, ROOMY, None), A_CALL_TAKES)).admission.admitted
        async with state.resetting(None):
            with in_namespace("B"):
                admission = asyncio.ensure_future(state.admit_and_record("perf:k", 1, ROOMY, None))
                await asyncio.sleep(A_CALL_TAKES)
                assert not admission.done()
        assert (await admission).admission.admitted
    finally:
        await state.close()


async def test_a_request_held_back_longer_than_the_states_timeout_is_the_503_of_a_stuck_redis(redis_server: RedisServer) -> None:
    flush(redis_server)
    state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    try:
        async with state.resetting("A"):
            started = time.monotonic()
            with in_namespace("A"), pytest.raises(StateUnavailable, match="a reset of the namespace was still under way"):
                await state.admit_and_record("perf:k", 1, ROOMY, None)
            assert SOCKET_TIMEOUT_SECONDS <= time.monotonic() - started < SOCKET_TIMEOUT_SECONDS + 1
    finally:
        await state.close()


DIES_MID_RESET = """
import asyncio, sys
import simulator.state.redis as redis_state
redis_state.FENCE_TTL_SECONDS = 1.0
async def main():
    state = redis_state.RedisState(sys.argv[1], "manual", 0.0)
    async with state.resetting("A"):
        print("resetting", flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


async def test_a_fence_left_by_a_worker_that_died_mid_reset_expires(redis_server: RedisServer) -> None:
    flush(redis_server)
    worker = subprocess.Popen([sys.executable, "-c", DIES_MID_RESET, redis_server.url], stdout=subprocess.PIPE, text=True)
    state = RedisState(redis_server.url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "resetting\n"
        await asyncio.sleep(1.5)  # the worker keeps its fence beyond its TTL while it lives
        worker.kill()
        worker.wait()
        started = time.monotonic()
        with in_namespace("A"):
            assert (await state.admit_and_record("perf:k", 1, ROOMY, None)).admission.admitted
        assert 0.3 < time.monotonic() - started < 2, "held back until the fence's TTL ran out, then admitted"
    finally:
        worker.kill()
        await state.close()


STALL_SECONDS = SOCKET_TIMEOUT_SECONDS + 0.6
"""Longer than the state's timeout, so the call in flight is answered 503, and under Redis's busy threshold (5 s), so
Redis still runs it when it wakes (`Stall`)."""
PROMPT = 1.0
"""Well under the state's timeout: a request held back by a fence waits that long, then answers 503."""


async def timed(call: Awaitable[httpx.Response]) -> tuple[int, float]:
    started = time.monotonic()
    answer = await call
    return answer.status_code, time.monotonic() - started


@pytest.mark.parametrize("reset", ["/_sim/reset?namespace=A", "/_sim/reset"])
async def test_a_reset_cut_off_by_a_stuck_redis_leaves_no_fence_once_redis_answers_again(stuck_redis: RedisServer, reset: str) -> None:
    """The reset's 503 came while Redis, stuck, still held its fence's raise, which it ran once it woke: the namespace's
    requests (every namespace's, for a full reset) then waited 3 s and answered 503 until the fence expired (10 s), a
    retried reset's 200 changed nothing, and /_sim/ready?namespace= said ready throughout."""
    async with simulator_on(stuck_redis) as (client, _):
        (await client.post(reset)).raise_for_status()  # Redis knows the reset's scripts from now on
        stall = Stall(stuck_redis, STALL_SECONDS)
        assert (await client.post(reset)).status_code == 503
        await asyncio.to_thread(stall.wait)
        status, took = await timed(generate(client))
        assert (status, took < PROMPT) == (200, True), f"{status} after {took:.1f} s"
        assert (await client.get("/_sim/ready?namespace=A")).status_code == 200
        assert (await client.post(reset)).status_code == 200
        status, took = await timed(generate(client))
        assert (status, took < PROMPT) == (200, True), f"{status} after {took:.1f} s"
        with redis.Redis(port=stuck_redis.port) as plain:
            assert [key for key in plain.keys("perf-sim-reset:*") if b"given-up" not in key] == [], "no fence left behind"


async def test_ready_is_a_503_for_a_namespace_a_reset_holds_back(redis_server: RedisServer) -> None:
    """A request of a namespace being reset waits, and answers 503 if the fence stays up (a worker that died
    mid-reset): a test polling readiness for its namespace must not be told it is ready meanwhile."""
    async with simulator_on(redis_server) as (client, state):

        async def ready(query: str = "") -> int:
            return (await client.get("/_sim/ready" + query)).status_code

        async with state.resetting("A"):
            answer = await client.get("/_sim/ready?namespace=A")
            assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
            assert "a reset holds back the requests of namespace 'A'" in answer.json()["error"]["message"]
            assert (await ready("?namespace=B"), await ready()) == (200, 200)
        assert await ready("?namespace=A") == 200
        async with state.resetting(None):
            assert (await ready("?namespace=B"), await ready()) == (503, 503)
        assert await ready() == 200
