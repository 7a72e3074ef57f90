"""With --workers 2 --state redis://..., the journal, the fault rules and the namespaces are one for all workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette

from load.redis_server import RedisServer
from simulator.config import SimulatorConfig
from simulator.control.open import RedisControlPlane
from simulator.control.redis_rules import PutBack
from simulator.launcher import PROJECT_ROOT, RunningServer, running_simulator
from simulator.scenario import load_scenario
from simulator.startup import after_redis_restart, start_shared_run, started_app

KEY = "pk_test_pro_shared"


@pytest.fixture(scope="module")
def two_workers(redis_server: RedisServer) -> Iterator[RunningServer]:
    with redis.Redis(port=redis_server.port) as client:
        client.flushall()
    with running_simulator("--workers", "2", "--state", redis_server.url, "--clock", "manual", "--journal-size", "20") as server:
        yield server
    with redis.Redis(port=redis_server.port) as client:
        client.flushall()  # the session's Redis is shared: later modules start without these rules and journals


@pytest.fixture
def shared(two_workers: RunningServer) -> RunningServer:
    httpx.post(two_workers.base_url + "/_sim/reset").raise_for_status()
    return two_workers


def fresh(server: RunningServer) -> httpx.Client:
    """A new connection for every request, so the kernel spreads them over both workers."""
    return httpx.Client(base_url=server.base_url, headers={"Connection": "close"}, timeout=30)


def generate(client: httpx.Client, namespace: str = "default") -> int:
    headers = {"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": namespace}
    return client.post("/v1/images/generations", json={"prompt": "two workers"}, headers=headers).status_code


def test_a_new_rule_holds_at_once_on_every_worker(shared: RunningServer) -> None:
    with fresh(shared) as client:
        for _ in range(8):
            client.post("/_sim/faults", json={"action": {"status": 503}, "times": 1}).raise_for_status()
            assert generate(client) == 503
        assert generate(client) == 200
        faults = client.get("/_sim/faults").json()["faults"]
        assert [(rule["fired"], rule["remaining"]) for rule in faults] == [(1, 0)] * 8


def test_times_are_counted_across_workers(shared: RunningServer) -> None:
    with fresh(shared) as client:
        client.post("/_sim/faults", json={"action": {"status": 500}, "times": 3}).raise_for_status()
        assert sorted(generate(client) for _ in range(8)) == [200] * 5 + [500] * 3


def test_every_worker_reads_the_whole_journal_bounded_by_its_size(shared: RunningServer) -> None:
    with fresh(shared) as client:
        for _ in range(25):
            generate(client, "busy")
        views = [client.get("/_sim/requests", params={"limit": 100}).json()["requests"] for _ in range(4)]
        assert all(len(view) == 20 for view in views) and all(view == views[0] for view in views)
        numbers = [int(entry["id"].removeprefix("request_")) for entry in views[0]]
        assert numbers == list(range(numbers[0], numbers[0] - 20, -1)), "newest first, the oldest dropped"
        assert client.post("/_sim/requests/count", json={"namespace": "busy"}).json() == {"count": 20}
        assert client.get("/_sim/namespaces").json()["namespaces"] == ["default", "busy"]


def test_namespaces_partition_windows_and_journal_in_redis(shared: RunningServer) -> None:
    with fresh(shared) as client:
        generate(client, "left")
        generate(client, "left")
        generate(client, "right")
        usage = {ns: client.get(f"/_sim/usage/{KEY}", params={"namespace": ns}).json()["minute"]["used"] for ns in ("left", "right")}
        assert usage == {"left": 2, "right": 1}
        client.post("/_sim/reset", params={"namespace": "left"}).raise_for_status()
        assert client.get(f"/_sim/usage/{KEY}", params={"namespace": "left"}).json()["minute"]["used"] == 0
        assert client.get(f"/_sim/usage/{KEY}", params={"namespace": "right"}).json()["minute"]["used"] == 1
        assert [e["namespace"] for e in client.get("/_sim/requests").json()["requests"]] == ["right"]


def test_each_answer_is_journalled_before_it_arrives_whichever_worker_is_asked(shared: RunningServer) -> None:
    """The entry is written to Redis before the answer's last bytes leave, so a read on a new connection (either
    worker) right after an answer finds it, an error the face answers itself included."""
    with fresh(shared) as client:
        for count in range(1, 11):
            assert generate(client, "read-after") == 200
            assert client.post("/_sim/requests/count", json={"namespace": "read-after"}).json() == {"count": count}
        keyless = client.post("/v1/images/generations", json={"prompt": "no key"}, headers={"X-Sim-Namespace": "read-after"})
        assert keyless.status_code == 401
        [entry] = client.get("/_sim/requests", params={"namespace": "read-after", "limit": 1}).json()["requests"]
        assert (entry["status"], entry["error_type"], entry["prompt"]) == (401, "authentication_error", "no key")


def test_two_simulators_on_one_redis_server_in_different_databases_are_independent(
    shared: RunningServer, redis_server: RedisServer
) -> None:
    """Redis's Pub/Sub is one for the whole server, whatever the database: the other simulator's workers must neither
    be waited for nor taken as this one's when a rule changes."""
    with redis.Redis(port=redis_server.port, db=1) as client:
        client.flushdb()
    other_url = f"redis://127.0.0.1:{redis_server.port}/1"
    with running_simulator("--workers", "2", "--state", other_url, "--clock", "manual", "--quiet") as other, fresh(shared) as client:
        for server in (shared, other, shared, other):  # waiting for the other's workers takes the whole 2 s
            started = time.monotonic()
            added = httpx.post(server.base_url + "/_sim/faults", json={"action": {"status": 503}, "times": 1}, timeout=30)
            assert added.status_code == 201 and time.monotonic() - started < 1.5, "every rule change waited for the other simulator"
        assert len(client.get("/_sim/faults").json()["faults"]) == 2
        assert generate(client) == 503 and generate(client) == 503 and generate(client) == 200
        assert [rule["remaining"] for rule in httpx.get(other.base_url + "/_sim/faults").json()["faults"]] == [1, 1]


def test_each_run_on_redis_numbers_its_journal_from_request_1_as_a_run_in_memory_does(redis_server: RedisServer) -> None:
    database = redis_server.database(5)
    for _ in range(2):
        with (
            running_simulator("--state", database, "--clock", "manual", "--quiet") as server,
            httpx.Client(base_url=server.base_url) as client,
        ):
            assert generate(client) == 200
            assert [entry["id"] for entry in client.get("/_sim/requests").json()["requests"]] == ["request_1"]


def test_a_runs_starting_rules_go_back_once_after_redis_lost_its_data_however_many_ask_and_not_if_it_kept_it(
    redis_server: RedisServer,
) -> None:
    """After a Redis restart without its data the scenario's rules are put back (simulator.startup.after_redis_restart):
    whoever asks, and however many at once, they go in once, and a Redis that kept its data gets none twice."""
    database = redis_server.database(11)
    config = SimulatorConfig(state=database, seed=7)
    specs = load_scenario(PROJECT_ROOT / "docs" / "scenario.example.toml").rule_specs()

    async def restart() -> tuple[list[str], PutBack | None, list[PutBack | None], list[str]]:
        planes = [RedisControlPlane(database, config) for _ in range(4)]
        try:
            first = planes[0].shared_rules
            started = await first.add_starting(specs)
            kept = await first.put_back_starting(specs)
            with redis.Redis(port=redis_server.port, db=11) as client:
                client.flushdb()  # what a restart without persistence leaves
            again = await asyncio.gather(*(plane.shared_rules.put_back_starting(specs) for plane in planes))
            return started, kept, again, [rule.id for rule in await first.rules()]
        finally:
            for plane in planes:
                await plane.close()

    with redis.Redis(port=redis_server.port, db=11) as client:
        client.flushdb()
    started, kept, again, rules = asyncio.run(restart())
    assert started == ["fault_1", "fault_2", "fault_3"] and kept is None
    assert sorted(again, key=str) == [None, None, None, PutBack(["fault_1", "fault_2", "fault_3"], [], False)]
    assert rules == ["fault_1", "fault_2", "fault_3"]


SCENARIO = PROJECT_ROOT / "docs" / "scenario.example.toml"


def in_the_restarts_window(
    redis_server: RedisServer, database: int, step: Callable[[httpx.AsyncClient], Awaitable[object]]
) -> tuple[list[Any], list[Any], str]:
    """A --scenario run on Redis whose Redis restarts without its data, then `step` before the claim's next check
    finds the restart (by Redis's new run_id; here the claim's step is called by hand), then that check: the faults
    GET /_sim/faults listed at the start and at the end, and what the claim's warning says after "restarted"."""
    config = SimulatorConfig(state=redis_server.database(database), scenario=str(SCENARIO), quiet=True)
    with redis.Redis(port=redis_server.port, db=database) as client:
        client.flushdb()
    start_shared_run(config)
    claims_check = after_redis_restart(config)

    async def run() -> tuple[list[Any], list[Any], str]:
        app = started_app(config)
        assert isinstance(app, Starlette)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
            started = (await client.get("/_sim/faults")).json()["faults"]
            with redis.Redis(port=redis_server.port, db=database) as direct:
                direct.flushdb()  # what a restart without persistence leaves
            await step(client)
            said = await asyncio.to_thread(claims_check)  # in a thread of its own, as the claim's
            return started, (await client.get("/_sim/faults")).json()["faults"], said

    return asyncio.run(run())


async def full_reset(client: httpx.AsyncClient) -> None:
    (await client.post("/_sim/reset")).raise_for_status()


async def reset_of_the_rules_namespace(client: httpx.AsyncClient) -> None:
    (await client.post("/_sim/reset", params={"namespace": "default"})).raise_for_status()


@pytest.mark.parametrize(
    ("reset", "by"), [(full_reset, "a full POST /_sim/reset"), (reset_of_the_rules_namespace, "POST /_sim/reset of their namespaces")]
)
def test_a_reset_between_a_redis_restart_without_its_data_and_the_claims_check_leaves_the_scenarios_rules_in_once(
    redis_server: RedisServer, reset: Callable[[httpx.AsyncClient], Awaitable[None]], by: str
) -> None:
    """The reset put the scenario's rules back without the mark the claim's check looks for, which then put them in a
    second time (fault_1 and fault_2 the same rule: a times=3 503 fired 6 times)."""
    started, faults, said = in_the_restarts_window(redis_server, 12, reset)
    assert [rule["id"] for rule in started] == ["fault_1", "fault_2", "fault_3"]
    assert faults == started
    assert said.endswith(f"; {by} since the restart had put the scenario's 3 fault rules back already"), said


def test_a_rule_added_between_a_redis_restart_and_the_claims_check_is_said_to_come_before_the_scenarios_put_back(
    redis_server: RedisServer,
) -> None:
    """The client's rule took fault_1 and the scenario's came after it, while the warning said only that they were
    put back, as after a full reset (where they come first)."""

    async def add_a_rule(client: httpx.AsyncClient) -> None:
        (await client.post("/_sim/faults", json={"action": {"status": 500}, "times": 1})).raise_for_status()

    started, faults, said = in_the_restarts_window(redis_server, 13, add_a_rule)
    assert [rule["id"] for rule in faults] == ["fault_1", "fault_2", "fault_3", "fault_4"]
    assert [{**rule, "id": None} for rule in faults[1:]] == [{**rule, "id": None} for rule in started]
    assert said.endswith(
        "; the scenario's 3 fault rules were put back (fault_2 to fault_4), after the rule added since the restart (fault_1)"
    ), said
