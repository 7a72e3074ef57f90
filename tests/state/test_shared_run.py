"""A run on Redis starts from an empty state, as a run in memory does, and never empties one another simulator is
using: what a user restarting `perf-sim --state redis://...` with the same seed relies on to get the same bytes."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from starlette.applications import Starlette

from load.redis_server import RedisServer, redis_available, running_redis
from simulator.config import SimulatorConfig
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator, wait_until_up
from simulator.startup import after_redis_restart, start_shared_run, started_app
from simulator.state.redis import CLIENT_NAME

# Real Redis servers stopped, restarted and shared by simulators started in turn: the slow pass (CI runs it).
pytestmark = pytest.mark.slow

KEY = {"Authorization": "Bearer pk_test_pro_shared_run"}
BODY = {"prompt": "a harbour at dawn", "model": "dall-e-2", "size": "256x256"}


def test_a_restart_on_the_same_redis_database_starts_from_the_seed_not_from_the_last_runs_state(redis_server: RedisServer) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/5"
    answers = []
    for seed in ("7", "8", "7"):
        with (
            running_simulator("--state", url, "--seed", seed, "--clock", "manual", "--public-url", "http://sim.test", "--quiet") as server,
            httpx.Client(base_url=server.base_url) as client,
        ):
            assert client.get("/_sim/faults").json()["faults"] == []
            assert client.get("/_sim/requests").json()["requests"] == []
            answers.append(client.post("/v1/images/generations", json=BODY, headers=KEY).content)
            client.post("/_sim/clock/advance", json={"seconds": 3600}).raise_for_status()
            client.post("/_sim/faults", json={"action": {"status": 500}}).raise_for_status()
    first, other_seed, again = answers
    assert again == first and other_seed != first


def test_a_restart_on_the_same_redis_database_numbers_its_fault_rules_from_fault_1_as_memory_does(redis_server: RedisServer) -> None:
    """The control API's answers repeat run after run too: the rule-id counter, kept outside the prefix so that a reset
    never gives an id twice, starts over with a run as the journal's does (it kept counting: fault_3 in the second run)."""
    url = f"redis://127.0.0.1:{redis_server.port}/8"
    rule = {"match": {"model": "dall-e-2"}, "action": {"status": 503}, "probability": 0.5}
    answers = []
    for state in ("memory", url, url):
        with (
            running_simulator("--state", state, "--seed", "7", "--clock", "manual", "--quiet") as server,
            httpx.Client(base_url=server.base_url) as client,
        ):
            added = [client.post("/_sim/faults", json=rule).json()["id"] for _ in range(2)]
            client.post("/_sim/reset").raise_for_status()
            added.append(client.post("/_sim/faults", json=rule).json()["id"])
            statuses = [client.post("/v1/images/generations", json=BODY, headers=KEY).status_code for _ in range(8)]
            answers.append((added, statuses, client.get("/_sim/faults").json()))
    in_memory, first, again = answers
    assert first[0] == ["fault_1", "fault_2", "fault_3"], "a reset never gives an id twice"
    assert again == first == in_memory


def test_a_second_simulator_on_a_database_another_is_using_is_refused_at_start_and_the_first_keeps_its_state(
    redis_server: RedisServer,
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/6"
    with running_simulator("--state", url, "--workers", "2", "--quiet") as first, httpx.Client(base_url=first.base_url) as client:
        client.post("/_sim/faults", json={"action": {"status": 503}, "times": 1}).raise_for_status()
        command = [sys.executable, "-m", "simulator", "--port", str(free_port()), "--state", url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"--state: another perf-sim is using Redis at 127.0.0.1:{redis_server.port}/6" in result.stderr.splitlines()[-1]
        assert len(client.get("/_sim/faults").json()["faults"]) == 1
        assert client.post("/v1/images/generations", json=BODY, headers=KEY).status_code == 503
    with running_simulator("--state", url, "--quiet") as after_it:
        assert httpx.get(after_it.base_url + "/_sim/faults").json()["faults"] == []


def test_two_simulators_started_in_the_same_instant_on_one_database_never_both_serve(redis_server: RedisServer) -> None:
    """Parallel CI jobs starting their simulators at once on a shared Redis: each start empties its database, so the
    two must not both serve it. Each claims the database before looking for another, so at least one is refused."""
    url = f"redis://127.0.0.1:{redis_server.port}/7"
    for _ in range(3):
        ports = [free_port()]
        while len(ports) < 2:  # two calls can give one port
            ports = list(dict.fromkeys([*ports, free_port()]))
        commands = [[sys.executable, "-m", "simulator", "--port", str(port), "--state", url, "--workers", "2", "--quiet"] for port in ports]
        processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for command in commands]
        try:
            serving = []
            for port, process in zip(ports, processes, strict=True):
                try:
                    wait_until_up(f"http://127.0.0.1:{port}/_sim/health", process, timeout=60)  # type: ignore[arg-type]
                    serving.append(port)
                except RuntimeError:
                    assert process.returncode == 2 and "another perf-sim is using Redis" in process.communicate()[1]
            assert len(serving) <= 1, "two simulators serve one database"
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)


def test_after_redis_restarts_an_idle_simulator_holds_its_database_again_and_says_its_state_is_gone(tmp_path: Path) -> None:
    """An idle simulator has no other connection to Redis (its workers reconnect at their next request), so without
    its claim back a second simulator started, emptied the database and shared it; and nothing said that the run's
    state, and its id sequence, had started over."""
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    port, errors = free_port(), tmp_path / "stderr"
    with running_redis() as redis_server, errors.open("w") as sink:
        command = [sys.executable, "-m", "simulator", "--port", str(port), "--state", redis_server.url, "--workers", "2", "--quiet"]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_sim/health", first)
            httpx.post(f"http://127.0.0.1:{port}/v1/images/generations", json=BODY, headers=KEY).raise_for_status()
            assert redis_server.process is not None
            redis_server.process.send_signal(signal.SIGSTOP)  # a stall is no restart: nothing is said of it
            time.sleep(2.5)
            redis_server.process.send_signal(signal.SIGCONT)
            time.sleep(2.5)
            assert "restarted" not in errors.read_text(), errors.read_text()
            redis_server.stop()
            redis_server.start()
            watcher = redis.Redis(port=redis_server.port)
            deadline = time.monotonic() + 30
            while not any(client.get("name") == CLIENT_NAME for client in watcher.client_list()):
                assert time.monotonic() < deadline, "the simulator never claimed its database again"
                time.sleep(0.1)
            watcher.close()
            second = [sys.executable, "-m", "simulator", "--port", str(free_port()), "--state", redis_server.url]
            result = subprocess.run(second, capture_output=True, text=True, timeout=60)
            assert result.returncode == 2 and "another perf-sim is using Redis" in result.stderr, result.stderr
        finally:
            first.terminate()
            first.wait(timeout=30)
    assert "restarted without this run's data, so the run started over as after a full POST /_sim/reset" in errors.read_text()


SCENARIO = PROJECT_ROOT / "docs" / "scenario.example.toml"
ACME = {"Authorization": "Bearer pk_live_acme_checkout", "Connection": "close"}  # a new connection each: both workers
FOX = {"model": "dall-e-3", "prompt": "a red fox"}


def test_after_redis_restarts_without_its_data_a_scenario_run_is_back_at_its_start_with_its_rules_once(tmp_path: Path) -> None:
    """The clock and windows of a run whose Redis restarted without its data were back at the scenario's start, but its
    rules were gone, and the warning said only that they "started over": a retry test's 503s silently stopped. The
    rules come back as a full reset puts them back, once for the run (two workers, one claim), and stderr says so."""
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    port, errors = free_port(), tmp_path / "stderr"
    with running_redis() as redis_server, errors.open("w") as sink:
        command = [sys.executable, "-m", "simulator", "--port", str(port), "--state", redis_server.url, "--scenario", str(SCENARIO)]
        run = subprocess.Popen([*command, "--workers", "2", "--quiet"], stdout=subprocess.DEVNULL, stderr=sink)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/_sim/health", run)
            with httpx.Client(base_url=base, headers=ACME) as client:
                clock = client.get("/_sim/clock").json()
                assert [client.post("/openai/v1/images/generations", json=FOX).status_code for _ in range(3)] == [503, 503, 200]
                used = client.get("/_sim/faults").json()["faults"]
                client.post("/_sim/clock/advance", json={"seconds": 3600}).raise_for_status()
                redis_server.stop()
                redis_server.start()
                # At once, before the claim's check each second: each worker reconnects with its request.
                assert [client.post("/openai/v1/images/generations", json=FOX).status_code for _ in range(3)] == [503, 503, 200]
                deadline = time.monotonic() + 30
                while "restarted" not in errors.read_text():
                    assert time.monotonic() < deadline, "the run never noticed that Redis restarted"
                    time.sleep(0.1)
                assert client.get("/_sim/faults").json()["faults"] == used
                assert client.get("/_sim/clock").json() == clock
        finally:
            run.terminate()
            run.wait(timeout=30)
    said = [line for line in errors.read_text().splitlines() if "restarted" in line]
    assert len(said) == 1 and said[0].startswith(f"perf-sim: warning: Redis at 127.0.0.1:{redis_server.port}/0 restarted without")
    assert said[0].endswith("the fault rules added before it are gone; the scenario's 3 fault rules were put back (fault_1 to fault_3)")


def test_after_redis_restarts_without_its_data_the_first_request_meets_the_scenarios_rules_and_the_claim_says_so_once(
    tmp_path: Path,
) -> None:
    """A worker reconnected at its first request after the restart and served it against the empty rule set until the
    claim's check (each second) put the scenario's rules back: a times=1 rule fired on the third request after the
    restart instead of the first. The worker puts them back itself before it matches the request, and the claim's
    check, which comes later (here called by hand: no claim in this process), says so, as when it did it itself."""
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    scenario = tmp_path / "once.toml"
    scenario.write_text('[[faults]]\nmatch = { face = "perf" }\naction = { status = 503 }\ntimes = 1\n')

    async def run(redis_server: RedisServer, config: SimulatorConfig) -> tuple[list[str], list[str], str, str, list[str]]:
        claims_check = after_redis_restart(config)
        app = started_app(config)
        assert isinstance(app, Starlette)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:

            async def statuses() -> list[str]:
                """Each answer's status, and the fault it says it injected (not a 503 for a Redis that did not answer)."""
                answers = [await client.post("/v1/images/generations", json=BODY, headers=KEY) for _ in range(2)]
                return [f"{answer.status_code} {answer.json().get('error', {}).get('message', '')}".strip() for answer in answers]

            before = await statuses()
            redis_server.stop()
            await asyncio.sleep(0.2)  # as a server's idle event loop does, the worker finds its connections broken
            redis_server.start()
            after = await statuses()
            said = await asyncio.to_thread(claims_check)
            again = await asyncio.to_thread(claims_check)  # a later restart's check, where Redis kept the data
            faults = [rule["id"] for rule in (await client.get("/_sim/faults")).json()["faults"]]
            return before, after, said, again, faults

    with running_redis() as redis_server:
        config = SimulatorConfig(state=redis_server.url, scenario=str(scenario), quiet=True)
        start_shared_run(config)
        before, after, said, again, faults = asyncio.run(run(redis_server, config))
    injected = "503 perf-image-sim injected this error (fault status=503)"
    assert before == [injected, "200"]
    assert after == [injected, "200"], "the first request after the restart met no rule"
    assert said.startswith("without this run's data, so the run started over as after a full POST /_sim/reset"), said
    assert said.endswith("; the scenario's fault rule was put back (fault_1)"), said
    assert again == "and kept this run's data (it persists it): the run goes on where it was"
    assert faults == ["fault_1"]
