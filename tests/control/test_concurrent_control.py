"""Control-plane promises under calls sent at once, in memory and on Redis with two workers: a rule's `times` is
claimed atomically by matching requests, clock advances near the year-9999 bound apply exactly those that fit, and
each advance answers the clock its own move left.

The sequential tests (test_shared_control, test_faults, test_control_api) pass whatever a claim or an advance awaits
between its check and its write; these send the calls together, on fresh connections so the kernel spreads them over
both workers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from simulator.config import LATEST_CLOCK_TIME
from simulator.launcher import RunningServer, running_simulator
from simulator.state.base import DEFAULT_MANUAL_START, namespace_prefix
from simulator.state.redis import DEFAULT_PREFIX
from tests.conftest import app_on_own_redis, state_for

# A database of its own on the session's Redis (see tests/conftest.py's state_for).
STATE_DB = 9
BURST = 50
"""Calls sent at once: enough that, with a check and a write two round trips apart, several pass the check together
(the advance that did so let 16 to 26 of 50 through, in each of 13 runs), and few enough to take well under a second."""
STEP = 1_000
FITTING = 10
START = LATEST_CLOCK_TIME - FITTING * STEP
"""The clock starts FITTING steps before the bound (exact in floating point), so exactly FITTING advances fit."""
KEY = "pk_test_enterprise_concurrent"
"""An enterprise key: its 300 images a minute leave the burst unrefused by the rate windows."""


@pytest.fixture(scope="module", params=["memory", "redis"])
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One simulator on the memory state, then two workers on Redis; manual clock, started FITTING steps before the bound."""
    shared = request.param == "redis"
    state = state_for(request, shared, STATE_DB)
    workers = ["--workers", "2"] if shared else []
    with running_simulator("--clock", "manual", "--start-time", repr(START), "--state", state, *workers, "--quiet") as running:
        yield running


@pytest.fixture
def sim(server: RunningServer) -> RunningServer:
    httpx.post(server.base_url + "/_sim/reset", timeout=30).raise_for_status()
    return server


async def at_once(base_url: str, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """(method, path, keyword arguments of httpx) calls, sent together, each on a new connection."""
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        return list(await asyncio.gather(*(client.request(method, path, **kwargs) for method, path, kwargs in calls)))


def generation(namespace: str) -> tuple[str, str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": namespace}
    return ("POST", "/v1/images/generations", {"headers": headers, "json": {"prompt": "at once", "model": "dall-e-2", "size": "256x256"}})


@pytest.mark.parametrize("times", [1, 7])
def test_a_rule_with_times_n_fires_exactly_n_times_under_concurrent_matching_requests(sim: RunningServer, times: int) -> None:
    """docs/control.md promises the claim of one of a rule's `times` is atomic across workers. A Redis claim made of a
    read of `remaining` and a write in two round trips fired a `times: 7` rule 11 to 19 times here."""
    with httpx.Client(base_url=sim.base_url, timeout=30) as client:
        rule = {"action": {"status": 503}, "times": times, "namespace": "burst"}
        client.post("/_sim/faults", json=rule).raise_for_status()
        answers = asyncio.run(at_once(sim.base_url, [generation("burst")] * BURST))
        assert Counter(answer.status_code for answer in answers) == {503: times, 200: BURST - times}
        [shown] = client.get("/_sim/faults").json()["faults"]
        assert (shown["fired"], shown["remaining"]) == (times, 0)
        assert client.post("/_sim/requests/count", json={"namespace": "burst", "match": {"status": 503}}).json() == {"count": times}


def test_a_probability_rule_fires_as_often_under_concurrent_requests_as_one_after_another(sim: RunningServer) -> None:
    """docs/control.md: which request is the k-th can change when requests are sent at once, but the k-th to arrive
    still draws what it drew before, so the number fired is the sequential run's."""
    rule = {"action": {"status": 503}, "probability": 0.3, "namespace": "draws"}
    fired = []
    for together in (False, True):
        httpx.post(sim.base_url + "/_sim/reset", params={"namespace": "draws"}, timeout=30).raise_for_status()
        httpx.post(sim.base_url + "/_sim/faults", json=rule, timeout=30).raise_for_status()
        if together:
            asyncio.run(at_once(sim.base_url, [generation("draws")] * BURST))
        else:
            for _ in range(BURST):
                asyncio.run(at_once(sim.base_url, [generation("draws")]))
        [shown] = httpx.get(sim.base_url + "/_sim/faults", timeout=30).json()["faults"]
        faulted = httpx.post(sim.base_url + "/_sim/requests/count", json={"namespace": "draws", "match": {"status": 503}}, timeout=30)
        assert faulted.json() == {"count": shown["fired"]}
        fired.append(shown["fired"])
    assert fired[0] == fired[1] and 0 < fired[0] < BURST, fired


def test_concurrent_advances_each_answer_the_clock_their_own_move_left(sim: RunningServer) -> None:
    """Not a read of the clock after it, which may already show other advances: every answer is a different step."""
    advance = ("POST", "/_sim/clock/advance?namespace=steps", {"json": {"seconds": 1.5}})
    answers = asyncio.run(at_once(sim.base_url, [advance] * BURST))
    assert sorted(answer.json()["now"] for answer in answers) == [START + 1.5 * k for k in range(1, BURST + 1)]
    assert httpx.get(sim.base_url + "/_sim/clock", params={"namespace": "steps"}).json()["now"] == START + 1.5 * BURST


def test_concurrent_advances_near_the_limit_apply_exactly_those_that_fit(sim: RunningServer) -> None:
    """Each refused advance is the documented 400 and moves nothing; the clock ends exactly at the bound, readable."""
    advance = ("POST", "/_sim/clock/advance?namespace=edge", {"json": {"seconds": STEP}})
    answers = asyncio.run(at_once(sim.base_url, [advance] * BURST))
    assert Counter(answer.status_code for answer in answers) == {200: FITTING, 400: BURST - FITTING}
    assert {answer.json()["error"]["message"] for answer in answers if answer.status_code == 400} == {
        f'send {{"seconds": N}} with N a number from 0 to 0: the clock is at 9999-01-01T00:00:00+00:00, and an advance must keep it '
        f"before the year 9999, got {STEP}"
    }
    made = sorted(answer.json()["now"] for answer in answers if answer.status_code == 200)
    assert made == [START + STEP * k for k in range(1, FITTING + 1)]
    with httpx.Client(base_url=sim.base_url, timeout=30) as client:
        clock = client.get("/_sim/clock", params={"namespace": "edge"})
        assert clock.json() == {"now": LATEST_CLOCK_TIME, "iso": "9999-01-01T00:00:00+00:00"}
        assert client.post("/_sim/clock/advance", params={"namespace": "edge"}, json={"seconds": 0.5}).status_code == 400
        assert client.get("/_sim/clock").json()["now"] == START, "the default namespace's clock did not move"
        assert client.get("/_sim/requests").status_code == 200


@pytest.mark.anyio
async def test_a_clock_past_the_year_9999_is_read_and_listed_not_a_500() -> None:
    """No advance carries a clock past the bound any more, but one that concurrent advances on Redis carried past it
    (here: set by hand) made every read of that clock a 500, and every listing of the whole journal while one of its
    entries was in it. Its `iso` now shows the last moment a date can name; its `time` keeps the Unix seconds."""
    past = 400_000_000_000.0
    async with app_on_own_redis() as (server, _, client):
        with redis.Redis(port=server.port) as direct:
            direct.set(DEFAULT_PREFIX + namespace_prefix("edge") + "clock-offset", repr(past))
        now = DEFAULT_MANUAL_START + past
        last = "9999-12-31T23:59:59.999999+00:00"
        clock = await client.get("/_sim/clock", params={"namespace": "edge"})
        assert (clock.status_code, clock.json()) == (200, {"now": now, "iso": last})
        headers = {"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": "edge"}
        assert (await client.post("/v1/images/generations", json={"prompt": "late"}, headers=headers)).status_code == 200
        listing = await client.get("/_sim/requests")
        assert listing.status_code == 200
        assert [(entry["time"], entry["iso"]) for entry in listing.json()["requests"]] == [(now, last)]
        count = await client.post("/_sim/requests/count", json={"match": {"since": "9999-06-01T00:00:00Z"}})
        assert count.json() == {"count": 1}
        assert (await client.post("/_sim/clock/advance", params={"namespace": "edge"}, json={"seconds": 0})).status_code == 400
        reset = await client.post("/_sim/reset", params={"namespace": "edge"})
        assert reset.json() == {"now": DEFAULT_MANUAL_START, "iso": "2026-01-01T00:00:00+00:00"}
