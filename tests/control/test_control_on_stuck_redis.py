"""A control call answered 503 because Redis was stuck changed nothing, so the retry its 503 asks for is safe; and a
change Redis made is known to every worker, whatever happened to the call after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis

from load.redis_server import RedisServer, Stall
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control.redis_rules import RedisRuleStore
from simulator.state.base import CLOCK_MANUAL
from simulator.state.on_time import LATE_AFTER_SECONDS
from simulator.state.redis import SOCKET_TIMEOUT_SECONDS
from spec import tiers

# Redis kept stuck past the state's timeout in every test: the slow pass (CI runs it).
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KEY = f"{tiers.TEST_KEY_PREFIX}pro_a"
TWICE = {"match": {"key": KEY}, "action": {"status": 418}, "times": 2}
STALL_SECONDS = SOCKET_TIMEOUT_SECONDS + 0.6
"""Longer than the state's timeout, so the call in flight is answered 503, and under Redis's busy threshold (5 s), so
Redis still runs what it was sent when it wakes (`Stall`)."""
LATE_STALL_SECONDS = LATE_AFTER_SECONDS + 0.4
"""Past a control write's deadline, but within the state's timeout: the caller hears Redis refuse the late write."""


@asynccontextmanager
async def simulator_on(server: RedisServer) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A simulator app on Redis (manual clock) in this process, and the app, to hook its Redis calls."""
    with redis.Redis(port=server.port) as plain:
        plain.flushall()
    app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=server.url))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client, app


async def statuses(client: httpx.AsyncClient, count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {KEY}"}
    return [(await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=headers)).status_code for _ in range(count)]


async def test_a_fault_rule_whose_post_answered_503_on_a_stuck_redis_was_not_added_and_its_retry_adds_it_once(
    stuck_redis: RedisServer,
) -> None:
    """Stored by Redis once it woke, but told to no worker, the rule was listed and fired nowhere; the retry then made
    every worker reload, and `times: 2` fired 4 times."""
    async with simulator_on(stuck_redis) as (client, _):
        (await client.post("/_sim/faults", json=TWICE)).raise_for_status()  # Redis knows the rules' scripts from now on
        (await client.delete("/_sim/faults")).raise_for_status()
        stall = Stall(stuck_redis, STALL_SECONDS)
        answer = await client.post("/_sim/faults", json=TWICE)
        assert answer.status_code == 503 and answer.json()["error"]["retry_after"] == 1
        await asyncio.to_thread(stall.wait)
        assert (await client.get("/_sim/faults")).json()["faults"] == []
        assert await statuses(client, 2) == [200, 200]
        assert (await client.post("/_sim/faults", json=TWICE)).status_code == 201
        assert await statuses(client, 4) == [418, 418, 200, 200]
        assert len((await client.get("/_sim/faults")).json()["faults"]) == 1


async def test_a_rule_stored_just_before_redis_stalls_is_answered_201_and_fires(
    stuck_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once Redis has stored the rule, every worker is told in the same step: the call answers for the rule (a 503 had
    said "retry" of a rule already made) and the rule fires once Redis answers, though no acknowledgement came."""
    async with simulator_on(stuck_redis) as (client, app):
        (await client.post("/_sim/faults", json=TWICE)).raise_for_status()  # the worker listens for changes from now on
        (await client.delete("/_sim/faults")).raise_for_status()
        store: RedisRuleStore = app.state.control.rules
        add = store._add
        stalls: list[Stall] = []

        async def stored_then_stuck(**kwargs: Any) -> Any:
            stored = await add(**kwargs)
            stalls.append(Stall(stuck_redis, STALL_SECONDS))
            return stored

        monkeypatch.setattr(store, "_add", stored_then_stuck)
        answer = await client.post("/_sim/faults", json=TWICE)
        assert answer.status_code == 201, answer.text
        await asyncio.to_thread(stalls[0].wait)
        assert await statuses(client, 3) == [418, 418, 200]


Write = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
WRITES: dict[str, Write] = {
    "add a rule": lambda client, _: client.post("/_sim/faults", json=TWICE),
    "delete a rule": lambda client, rule_id: client.delete(f"/_sim/faults/{rule_id}"),
    "clear the rules": lambda client, _: client.delete("/_sim/faults"),
    "advance the clock": lambda client, _: client.post("/_sim/clock/advance", json={"seconds": 60}),
    "clear the journal": lambda client, _: client.delete("/_sim/requests"),
}


async def snapshot(client: httpx.AsyncClient) -> tuple[object, ...]:
    faults = [rule["id"] for rule in (await client.get("/_sim/faults")).json()["faults"]]
    return faults, (await client.get("/_sim/clock")).json()["now"], (await client.post("/_sim/requests/count", json={})).json()["count"]


@pytest.mark.parametrize("write", WRITES)
async def test_a_control_write_that_reaches_redis_past_its_deadline_changes_nothing_and_answers_503(
    stuck_redis: RedisServer, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """Redis stalls just after the call took its deadline from Redis's clock: the write, run late, refuses."""
    async with simulator_on(stuck_redis) as (client, app):
        rule_id = (await client.post("/_sim/faults", json={"match": {"key": "pk_test_free_other"}, "action": {"status": 500}})).json()["id"]
        await statuses(client, 1)
        before = await snapshot(client)
        stalls: list[Stall] = []
        for store in (app.state.engine.state, app.state.control):
            read_time = store._redis.time

            async def time_then_stuck(read_time: Callable[[], Awaitable[Any]] = read_time) -> Any:
                now = await read_time()
                if not stalls:
                    stalls.append(Stall(stuck_redis, LATE_STALL_SECONDS))
                return now

            monkeypatch.setattr(store._redis, "time", time_then_stuck)
        answer = await WRITES[write](client, rule_id)
        assert answer.status_code == 503, answer.text
        assert "was too slow" in answer.json()["error"]["message"] and "nothing was changed" in answer.json()["error"]["message"]
        await asyncio.to_thread(stalls[0].wait)
        assert await snapshot(client) == before
