"""Ids are digests of the seed, the namespace and the sequence: the same run repeats them, and an id made from a
salt built once is the id made from scratch."""

from __future__ import annotations

import httpx
import pytest

from load.redis_server import redis_available, running_redis
from simulator.context import in_namespace
from simulator.engine.digest import hex_id, id_salt, salted_hex_id
from simulator.engine.generate import Engine
from simulator.in_process import simulator_running
from simulator.launcher import running_simulator
from simulator.state.memory import MemoryState


@pytest.mark.parametrize("parts", [("request", 1), ("request@team-a", 12345), ("task", "x\x1fy", 0), ("ünï\ud800", 7)])
def test_an_id_from_a_salt_is_the_id_from_scratch(parts: tuple[object, ...]) -> None:
    *head, last = parts
    for length in (24, 32):
        assert salted_hex_id(id_salt(7, *head), last, length) == hex_id(7, *parts, length=length)


@pytest.mark.parametrize("namespace", ["default", "team-a"])
def test_a_request_id_is_the_digest_of_seed_namespace_and_sequence(namespace: str) -> None:
    engine = Engine(MemoryState("manual"), seed=7)
    kind = "request" if namespace == "default" else f"request@{namespace}"
    with in_namespace(namespace):
        assert engine.request_id(42) == f"req_img_{hex_id(7, kind, 42)}"


def _error_ids(base_url: str, namespace: str = "default", times: int = 3) -> list[str]:
    """The x-request-ids of `times` bad requests (a 400 each) in `namespace`."""
    headers = {"Authorization": "Bearer pk_test_pro_ids", "X-Sim-Namespace": namespace}
    answers = [httpx.post(f"{base_url}/v1/images/generations", headers=headers, json={"prompt": ""}) for _ in range(times)]
    assert {answer.status_code for answer in answers} == {400}
    return [answer.headers["x-request-id"] for answer in answers]


def test_error_request_ids_repeat_after_a_reset_as_success_ids_do() -> None:
    with running_simulator("--clock", "manual", "--seed", "5", "--quiet") as server:
        ok = {"Authorization": "Bearer pk_test_pro_ids"}

        def one_run() -> tuple[str, list[str]]:
            success = httpx.post(f"{server.base_url}/v1/images/generations", headers=ok, json={"prompt": "a fox"})
            return success.headers["x-request-id"], _error_ids(server.base_url)

        first = one_run()
        httpx.post(f"{server.base_url}/_sim/reset").raise_for_status()
        assert one_run() == first
        assert len(set(first[1])) == 3


def test_one_namespaces_errors_do_not_shift_anothers_error_ids() -> None:
    with running_simulator("--clock", "manual", "--quiet") as server:
        alone = _error_ids(server.base_url, "team-b")
        httpx.post(f"{server.base_url}/_sim/reset").raise_for_status()
        _error_ids(server.base_url, "team-a")
        assert _error_ids(server.base_url, "team-b") == alone
        assert not set(alone) & set(_error_ids(server.base_url, "team-c")), "namespaces share no error id"


def test_two_simulators_in_one_process_each_repeat_their_own_error_ids() -> None:
    with simulator_running(seed=5) as alone:
        expected = _error_ids(alone.server_url)
    with simulator_running(seed=5) as one, simulator_running(seed=5) as two:
        interleaved = [(_error_ids(one.server_url, times=1)[0], _error_ids(two.server_url, times=1)[0]) for _ in range(3)]
    assert [first for first, _ in interleaved] == expected
    assert [second for _, second in interleaved] == expected


def test_error_request_ids_follow_the_seed() -> None:
    with running_simulator("--seed", "1", "--quiet") as one, running_simulator("--seed", "2", "--quiet") as two:
        assert _error_ids(one.base_url, times=1) != _error_ids(two.base_url, times=1)


def test_error_request_ids_are_unique_across_workers_sharing_redis() -> None:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    with running_redis() as redis, running_simulator("--workers", "3", "--state", redis.url, "--quiet") as server:
        with httpx.Client() as client:  # one connection after another, so the workers take turns
            ids = []
            for _ in range(60):
                answer = client.post(f"{server.base_url}/v1/images/generations", json={"prompt": ""}, headers={"Connection": "close"})
                ids.append(answer.headers["x-request-id"])
        assert len(set(ids)) == 60


def test_one_process_gives_the_same_error_ids_with_memory_and_redis_states() -> None:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    with running_redis() as redis, running_simulator("--state", redis.url, "--quiet") as shared, running_simulator("--quiet") as memory:
        assert _error_ids(shared.base_url) == _error_ids(memory.base_url)
