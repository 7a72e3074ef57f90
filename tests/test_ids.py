"""Ids are digests of the seed, the namespace and the sequence: the same run repeats them, and no two namespaces
share one."""

from __future__ import annotations

import httpx
import pytest

from load.redis_server import redis_available, running_redis
from simulator.context import in_namespace
from simulator.engine.generate import Engine
from simulator.in_process import simulator_running
from simulator.keys import KeyRegistry
from simulator.launcher import running_simulator
from simulator.state.memory import MemoryState


def test_a_request_id_repeats_under_its_seed_and_no_two_namespaces_or_sequences_share_one() -> None:
    """Each namespace counts its own sequence from 1, so its request ids must differ from every other namespace's."""

    def request_ids(seed: int, name: str) -> list[str]:
        engine = Engine(MemoryState("manual"), KeyRegistry(), seed=seed, real_clock=False)
        with in_namespace(name):
            return [engine.request_id(sequence) for sequence in (1, 2, 3)]

    ids = {name: request_ids(7, name) for name in ("default", "team-a", "team-b")}
    assert request_ids(7, "team-a") == ids["team-a"] and request_ids(7, "default") == ids["default"]
    assert len({id_ for name_ids in ids.values() for id_ in name_ids}) == 9
    assert not set(request_ids(8, "team-a")) & set(ids["team-a"])


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


def test_the_simulators_own_error_answers_do_not_shift_the_apps_next_error_id() -> None:
    """A helper looking up a missing journal entry, an `<img>` of an expired URL, a misspelt control call (in the
    default namespace or the test's): the app's next API error keeps the id it has without them."""
    own_errors = [
        ("GET", "/_sim/requests/request_999", None),
        ("POST", "/_sim/faults", {"bogus": 1}),
        ("GET", "/images/img_000000000000000000000000.png", None),
        ("GET", "/_sim/ns/team-a/_sim/requests/request_999", None),
        ("GET", "/_sim/nope", None),
    ]
    with running_simulator("--clock", "manual", "--seed", "5", "--quiet") as server:
        alone = _error_ids(server.base_url, times=2) + _error_ids(server.base_url, "team-a", times=2)
        httpx.post(f"{server.base_url}/_sim/reset").raise_for_status()
        between = []
        for namespace in ("default", "team-a"):
            between += _error_ids(server.base_url, namespace, times=1)
            for method, path, body in own_errors:
                answer = httpx.request(method, server.base_url + path, json=body, headers={"X-Sim-Namespace": namespace})
                assert answer.status_code in (400, 404), (path, answer.status_code)
                assert answer.headers["x-request-id"] not in alone
            between += _error_ids(server.base_url, namespace, times=1)
        assert between == alone


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
