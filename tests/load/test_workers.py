"""perf-sim --workers N --state redis://...: several processes, one set of limits, and a clear 503 while Redis is down."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from load.redis_server import RedisServer
from simulator.launcher import PROJECT_ROOT, RunningServer, free_port, running_simulator
from simulator.state.redis import SOCKET_TIMEOUT_SECONDS
from spec import errors, tiers
from tests.load.conftest import needs_redis

GENERATIONS = "/v1/images/generations"


@pytest.fixture(scope="module")
def four_workers(redis_server: RedisServer) -> Iterator[RunningServer]:
    with running_simulator("--workers", "4", "--state", redis_server.url) as server:
        yield server


def generate(client: httpx.Client, key: str, **body: object) -> httpx.Response:
    """A new connection per request, so the kernel spreads requests over the workers."""
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    return client.post(GENERATIONS, headers=headers, json={"prompt": "a lighthouse at dusk", **body})


async def burst(base_url: str, key: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        body = {"prompt": "a lighthouse at dusk", "model": "dall-e-2", "size": "256x256"}
        headers = {"Authorization": f"Bearer {key}"}
        return list(await asyncio.gather(*(client.post(GENERATIONS, headers=headers, json=body) for _ in range(count))))


def test_four_workers_admit_exactly_the_free_minute_limit_under_200_concurrent_requests(four_workers: RunningServer) -> None:
    key = f"pk_test_free_{uuid.uuid4().hex[:12]}"
    responses = asyncio.run(burst(four_workers.base_url, key, 200))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, {r.text for r in responses if r.status_code not in (200, 429)}
    assert statuses.count(200) == tiers.TIERS["free"].images_per_minute
    assert statuses.count(429) == 200 - tiers.TIERS["free"].images_per_minute
    # 60 s from the first admission, rounded up: a refusal a second or more after it (a cold, loaded machine) waits 59
    assert {r.json()["error"]["retry_after"] for r in responses if r.status_code == 429} <= {59, 60}
    usage = httpx.get(f"{four_workers.base_url}/_sim/usage/{key}").json()
    assert usage["minute"]["used"] == 5 and usage["day"]["used"] == 5


def test_a_burst_of_200_concurrent_requests_across_four_workers_on_a_healthy_redis_never_answers_503(four_workers: RunningServer) -> None:
    """Each worker keeps a bounded pool of warm Redis connections; when all are busy a request waits for one."""
    for _ in range(3):
        key = f"pk_test_enterprise_{uuid.uuid4().hex[:12]}"
        responses = asyncio.run(burst(four_workers.base_url, key, 200))
        assert [r.status_code for r in responses] == [200] * 200, {r.text for r in responses if r.status_code != 200}
        urls = {r.json()["data"][0]["url"] for r in responses}
        assert len(urls) == 200, "every admitted request has its own image"
    usage = httpx.get(f"{four_workers.base_url}/_sim/usage/{key}").json()
    assert usage["minute"]["used"] == 200


def test_one_worker_given_more_concurrent_requests_than_redis_connections_queues_them_never_503(redis_server: RedisServer) -> None:
    """300 requests at once on one worker: more than its pool holds (and than redis-py's default cap of 100)."""
    with running_simulator("--state", redis_server.database(1)) as server:
        enterprise = asyncio.run(burst(server.base_url, f"pk_test_enterprise_{uuid.uuid4().hex[:12]}", 300))
        free = asyncio.run(burst(server.base_url, f"pk_test_free_{uuid.uuid4().hex[:12]}", 300))
    assert [r.status_code for r in enterprise] == [200] * 300, {r.text for r in enterprise if r.status_code != 200}
    assert sorted(r.status_code for r in free) == [200] * 5 + [429] * 295, {r.text for r in free if r.status_code not in (200, 429)}


def test_a_burst_that_a_fault_rule_matches_queues_for_redis_never_503(redis_server: RedisServer) -> None:
    """300 requests at once, each matched by a rule (a 1 ms delay), so each counts its match and claims a firing in
    Redis: more at once than the control plane's client has connections. They queue, and the rule fires for each;
    before, the pool ran out, and the requests it refused were answered 503 (earlier still, they silently skipped
    the rule)."""
    with running_simulator("--state", redis_server.database(2), "--quiet") as server:
        namespace = f"burst-{uuid.uuid4().hex[:8]}"
        rule = {"match": {"prompt": "lighthouse"}, "action": {"delay_ms": 1}, "namespace": namespace}
        httpx.post(server.base_url + "/_sim/faults", json=rule).raise_for_status()
        base = f"{server.base_url}/_sim/ns/{namespace}"
        answers = asyncio.run(burst(base, f"pk_test_enterprise_{uuid.uuid4().hex[:12]}", 300))
        (counted,) = httpx.get(server.base_url + "/_sim/faults", params={"namespace": namespace}).json()["faults"]
    assert [r.status_code for r in answers] == [200] * 300, {r.text for r in answers if r.status_code != 200}
    assert counted["fired"] == 300


def test_any_worker_serves_any_image_and_sees_the_same_clock(four_workers: RunningServer) -> None:
    with httpx.Client(base_url=four_workers.base_url, timeout=10) as client:
        url = generate(client, f"pk_test_pro_{uuid.uuid4().hex[:12]}").json()["data"][0]["url"]
    # A new connection per request lets the kernel spread them over the workers.
    for _ in range(12):
        assert httpx.get(url, headers={"Connection": "close"}).status_code == 200
    before = httpx.get(four_workers.base_url + "/_sim/clock").json()["now"]
    httpx.post(four_workers.base_url + "/_sim/clock/advance", json={"seconds": 3601}).raise_for_status()
    nows = [httpx.get(four_workers.base_url + "/_sim/clock", headers={"Connection": "close"}).json()["now"] for _ in range(8)]
    assert all(now - before >= 3601 for now in nows)
    assert httpx.get(url).status_code == 404, "an hour later by the shared clock, the URL has expired in every worker"


@needs_redis
def test_redis_down_gives_a_quick_503_envelope_and_service_resumes() -> None:
    redis = RedisServer(free_port())
    redis.start()
    try:
        with running_simulator("--workers", "2", "--state", redis.url) as sim, httpx.Client(base_url=sim.base_url, timeout=10) as client:
            key = f"pk_test_pro_{uuid.uuid4().hex[:12]}"
            assert generate(client, key).status_code == 200
            redis.stop()
            for _ in range(4):
                started = time.monotonic()
                response = generate(client, key, n=1)
                assert time.monotonic() - started < 3
                assert response.status_code == 503
                assert response.json()["error"]["type"] == errors.SERVICE_UNAVAILABLE
                assert "Redis at 127.0.0.1" in response.json()["error"]["message"]
                assert response.headers["retry-after"] == "1"
            redis.start()
            statuses = []
            for _ in range(8):
                statuses.append(generate(client, key, n=1).status_code)
            assert statuses == [200] * 8, "every worker serves again with the first request after Redis is back"
    finally:
        redis.stop()


def stuck_redis_answer(client: httpx.Client, path: str, key: str) -> str:
    """The answer to one request while Redis is stuck: a 503 naming Redis, within twice the state's timeout."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    response = client.post(path, headers=headers, json={"prompt": "a lighthouse at dusk", "model": "dall-e-2", "size": "256x256"})
    waited = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert "Redis at 127.0.0.1" in response.text and "did not answer" in response.text
    assert waited < 2 * SOCKET_TIMEOUT_SECONDS, f"{path}: 503 after {waited:.1f} s"
    return response.text


@pytest.mark.slow
@needs_redis
def test_a_stuck_redis_answers_503_after_one_state_timeout_not_three() -> None:
    """A Redis that stops answering (paused, or cut off by the network) holds each call for the state's timeout. The
    503 comes after one such wait: the journal entry of that 503 is not made to wait for a clock read and a write to
    the same stuck Redis first, and a request that must read the fault rules gets its 503 once that read fails,
    without the face then asking the same Redis again; on the Perf API and on a native face alike."""
    redis = RedisServer(free_port())
    redis.start()
    assert redis.process is not None
    try:
        with running_simulator("--workers", "2", "--state", redis.url) as sim, httpx.Client(base_url=sim.base_url, timeout=30) as client:
            key = f"pk_test_pro_{uuid.uuid4().hex[:12]}"
            assert generate(client, key).status_code == 200
            redis.process.send_signal(signal.SIGSTOP)
            for path in (GENERATIONS, "/openai/v1/images/generations"):
                stuck_redis_answer(client, path, key)
            redis.process.send_signal(signal.SIGCONT)
            rule = {"match": {"prompt": "lighthouse"}, "action": {"delay_ms": 1}}
            assert client.post("/_sim/faults", json=rule).status_code == 201
            redis.process.send_signal(signal.SIGSTOP)
            for path in (GENERATIONS, "/openai/v1/images/generations"):
                assert '"error"' in stuck_redis_answer(client, path, key), "in the face's own envelope"
            redis.process.send_signal(signal.SIGCONT)
            assert [generate(client, key).status_code for _ in range(6)] == [200] * 6, "service resumes with Redis"
    finally:
        if redis.process is not None:
            redis.process.send_signal(signal.SIGCONT)
        redis.stop()


@pytest.mark.slow
@needs_redis
def test_requests_meeting_a_stuck_redis_together_all_get_their_503_after_one_timeout() -> None:
    """Requests queued behind a batch Redis did not answer fail with it: they waited a timeout of their own after it,
    so most of ten concurrent requests got their 503 after twice the documented 3 s."""
    redis = RedisServer(free_port())
    redis.start()
    assert redis.process is not None
    try:
        with running_simulator("--workers", "2", "--state", redis.url, "--quiet") as sim:
            key = f"pk_test_enterprise_{uuid.uuid4().hex[:12]}"
            body = {"prompt": "a lighthouse at dusk", "model": "dall-e-2", "size": "256x256"}
            headers = {"Authorization": f"Bearer {key}"}

            def timed(_: int) -> tuple[int, float]:
                started = time.monotonic()
                status = httpx.post(sim.base_url + GENERATIONS, json=body, headers=headers, timeout=30).status_code
                return status, time.monotonic() - started

            with ThreadPoolExecutor(10) as pool:
                assert {status for status, _ in pool.map(timed, range(20))} == {200}, "every worker's connection is open"
                redis.process.send_signal(signal.SIGSTOP)
                answers = list(pool.map(timed, range(10)))
            assert {status for status, _ in answers} == {503}
            assert max(waited for _, waited in answers) < 1.5 * SOCKET_TIMEOUT_SECONDS, answers
    finally:
        if redis.process is not None:
            redis.process.send_signal(signal.SIGCONT)
        redis.stop()


def test_more_than_one_worker_without_shared_state_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--workers", "2", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--workers 2 needs a shared state" in result.stderr and "--state redis://" in result.stderr


def test_unreachable_redis_is_refused_at_start_with_the_reason() -> None:
    port = free_port()
    command = [sys.executable, "-m", "simulator", "--state", f"redis://127.0.0.1:{port}/0"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"--state: cannot reach Redis at 127.0.0.1:{port}/0: Error 111 connecting to" in result.stderr, result.stderr
