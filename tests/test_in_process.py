"""`simulator_running`: a simulator inside the caller's process, for code outside pytest."""

from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from simulator import in_process
from simulator.config import SimulatorConfig
from simulator.control.client import ControlError
from simulator.in_process import PerfSim, simulator_running
from simulator.launcher import PROJECT_ROOT
from simulator.state.base import DEFAULT_MANUAL_START
from tests.conftest import state_for

EXAMPLE = str(PROJECT_ROOT / "docs" / "scenario.example.toml")


def test_it_serves_on_a_free_local_port_with_a_manual_clock_and_stops_when_the_block_ends() -> None:
    with simulator_running(seed=7) as sim:
        [image] = sim.openai_client().images.generate(model="dall-e-2", prompt="a red fox", size="256x256").data or []
        assert image.url and httpx.get(image.url).headers["content-type"] == "image/png"
        assert sim.server_url.startswith("http://127.0.0.1:")
        assert sim.clock()["now"] == DEFAULT_MANUAL_START
        assert sim.config()["seed"] == 7
        server_url = sim.server_url
    with pytest.raises(httpx.TransportError):
        httpx.get(server_url + "/_sim/health")


def test_a_scenarios_settings_and_keys_apply_and_arguments_win_over_them() -> None:
    with simulator_running(scenario=EXAMPLE, seed=3) as sim:
        settings = sim.config()
        assert (settings["seed"], settings["start_time"]) == (3, 1772442000.0)
        assert sim.usage("pk_live_acme_checkout")["tier"] == "enterprise"


def test_prompt_tokens_turned_off_leave_a_sim_bracket_as_prompt_text_and_on_keep_a_token_in_the_revised_prompt() -> None:
    """Off (an app that sends its users' text on): `[sim:` is the prompt's own text, the header still faults. On (the
    default): a token's request answered normally revises its prompt with the token in it, so sending the revision
    back applies the token again (docs/control.md says so)."""
    body = {"model": "dall-e-3", "prompt": "x = arr[sim:end]; a fox [sim:status=503]"}
    with simulator_running(prompt_tokens=False) as sim:
        url, headers = sim.base_url + "/v1/images/generations", {"Authorization": f"Bearer {sim.key}"}
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 200 and "[sim:status=503]" in answer.json()["data"][0]["revised_prompt"], answer.text
        assert httpx.post(url, json=body, headers={**headers, "X-Sim-Fault": "status=502"}).status_code == 502
        assert sim.config()["prompt_tokens"] is False
    with simulator_running() as sim:
        url, headers = sim.base_url + "/v1/images/generations", {"Authorization": f"Bearer {sim.key}"}
        assert httpx.post(url, json=body, headers=headers).status_code == 400  # `end` is no part of an action
        answer = httpx.post(url, json={"model": "dall-e-3", "prompt": "a fox [sim:delay_ms=1]"}, headers=headers)
        revised = answer.json()["data"][0]["revised_prompt"]
        assert "[sim:delay_ms=1]" in revised
        httpx.post(url, json={"model": "dall-e-3", "prompt": revised}, headers=headers).raise_for_status()
        assert [entry["fault"] for entry in sim.requests()][:2] == ["delay_ms=1"] * 2


def test_two_simulators_run_side_by_side() -> None:
    with simulator_running() as first, simulator_running() as second:
        assert first.server_url != second.server_url
        first.advance(60)
        assert second.clock()["now"] == DEFAULT_MANUAL_START


def test_more_workers_in_process_are_refused_with_advice_that_helps() -> None:
    """Advice to add a shared state, which the check of a config gives first, would only lead to the same refusal."""
    with pytest.raises(ValueError, match="start perf-sim --workers N"), simulator_running(workers=2):
        pytest.fail("the simulator started")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"clock": "Manual"}, "clock"),
        ({"journal_size": 0}, "journal_size"),
        ({"journal_size": -5}, "journal_size"),
        ({"journal_size": 10**20}, "journal_size"),
        ({"start_time": -1e20}, "start_time"),
        ({"latency_scale": -1}, "latency_scale"),
        ({"seed": "abc"}, "seed"),
        ({"port": 1234}, "port"),
        ({"host": "0.0.0.0"}, "host"),
        ({"workers": 2}, "workers"),
        ({"state": "postgres://db/0"}, "state"),
        ({"state": "unix:///nonexistent/redis.sock"}, "state"),
        ({"public_url": "sim.test:8080"}, "public_url"),
        ({"upstream_timeout": 0}, "upstream_timeout"),
        ({"upstream_timeout": 60}, "upstream_timeout"),
        ({"upstream": "http://"}, "upstream"),
        ({"upstream_overrides": {"openai": "ftp://x"}}, "upstream_overrides"),
        ({"upstream_overrides": {"opneai": "http://127.0.0.1:9"}}, "upstream_overrides"),
        ({"log_format": "xml"}, "log_format"),
        ({"scenario": ""}, "scenario"),
        ({"keys_file": ""}, "keys_file"),
        ({"clock": "real", "start_time": 5}, "start_time"),
        ({"prompt_tokens": "no"}, "prompt_tokens"),
        ({"quiet": "no"}, "quiet"),
        ({"keys_file": "/nonexistent/keys.toml"}, "keys_file"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items()),
)
def test_settings_perf_sim_would_refuse_raise_a_value_error_naming_the_field_before_it_starts(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}\b"), simulator_running(**settings):
        pytest.fail("the simulator started")


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_a_scenarios_fault_rules_hold_on_either_state(request: pytest.FixtureRequest, shared: bool) -> None:
    with simulator_running(scenario=EXAMPLE, state=state_for(request, shared, db=8)) as sim:
        assert [rule["action"].get("status") for rule in sim.faults()] == [503, None, None]
        body = {"model": "dall-e-3", "prompt": "a red fox"}
        headers = {"Authorization": "Bearer pk_live_acme_checkout"}
        url = sim.base_url + "/openai/v1/images/generations"
        assert [httpx.post(url, json=body, headers=headers).status_code for _ in range(3)] == [503, 503, 200]


def test_openai_client_without_the_sdk_names_the_extra_that_brings_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # an environment without the `clients` extra
    with simulator_running() as sim, pytest.raises(ModuleNotFoundError, match=r"pip install 'perf-image-sim\[clients\]'"):
        sim.openai_client()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def proxies_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment proxies, as a corporate machine or CI exports them, pointing at a port nothing listens on."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def _in_flight(sim: PerfSim, outcome: dict[str, object]) -> threading.Thread:
    """A request the simulator holds in a 30 s delay, sent from a thread of its own (an app's worker, a test that
    stopped waiting), already being answered when this returns."""
    sim.fault(delay_ms=30_000, times=1)

    def send() -> None:
        url, headers = sim.base_url + "/v1/images/generations", {"Authorization": f"Bearer {sim.key}"}
        try:
            outcome["status"] = httpx.post(url, json={"prompt": "a fox"}, headers=headers, timeout=60).status_code
        except httpx.TransportError as exc:
            outcome["error"] = exc

    client = threading.Thread(target=send, daemon=True)
    client.start()
    deadline = time.monotonic() + 20
    while not sim.faults()[0]["fired"]:  # the request is journalled only when it ends: its rule fires as it arrives
        assert time.monotonic() < deadline, "the request did not reach the simulator"
        time.sleep(0.05)
    return client


def _server_thread(sim: PerfSim) -> threading.Thread | None:
    name = f"perf-sim:{httpx.URL(sim.server_url).port}"
    return next((thread for thread in threading.enumerate() if thread.name == name), None)


def test_a_request_still_in_a_delay_is_cut_when_the_block_ends_and_the_server_stops() -> None:
    """As perf-sim's graceful stop: the block does not wait for the delay, nor leave the server answering after it."""
    outcome: dict[str, object] = {}
    with simulator_running() as sim:
        client = _in_flight(sim, outcome)
        started = time.monotonic()
    took = time.monotonic() - started
    assert took < 20, f"the block's end took {took:.1f}s: it waited for the 30 s delay"
    assert _server_thread(sim) is None, "the server's thread is still running"
    client.join(20)
    assert not client.is_alive() and "status" not in outcome, f"the delayed request was answered after the stop: {outcome}"


def test_the_end_of_a_block_warns_when_the_servers_thread_outlives_its_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(in_process, "_STOP_TIMEOUT_SECONDS", 0.2)
    outcome: dict[str, object] = {}
    with pytest.warns(RuntimeWarning, match=r"thread perf-sim:\d+ did not stop within 0.2s"), simulator_running() as sim:
        client = _in_flight(sim, outcome)
    server = _server_thread(sim)
    assert server is not None, "the warning came while the server's thread had stopped"
    server.join(20)  # the graceful stop goes on in the background and ends the request
    client.join(20)


def test_env_proxies_do_not_take_its_control_calls_or_its_sdk_clients_away(proxies_nowhere: None) -> None:
    """The simulator is in this process on 127.0.0.1: no proxy can reach it."""
    with simulator_running() as sim:
        assert sim.ready() and sim.count() == 0
        sim.openai_client(max_retries=0).images.generate(model="dall-e-2", prompt="a fox", size="256x256")
        assert sim.in_namespace("job").count() == 0 and sim.count(status=200) == 1


def test_a_call_after_the_block_ended_is_a_control_error_saying_the_simulator_stopped() -> None:
    with simulator_running() as sim:
        job = sim.in_namespace("job")
    for call in (sim.count, job.faults, sim.ready):
        with pytest.raises(ControlError, match="stopped when its simulator_running block ended") as stopped:
            call()
        assert (stopped.value.status, stopped.value.type) == (0, "closed")


def test_the_sdk_clients_it_made_are_closed_when_the_block_ends() -> None:
    """Their keep-alive connections would otherwise stay open until garbage collection. One given its own
    `http_client` is the caller's, left open."""
    with httpx.Client() as own:
        with simulator_running() as sim:
            made = [sim.openai_client(), sim.openai_client(path="/openai/v1")]
            given = sim.openai_client(http_client=own)
        assert all(client.is_closed() for client in made)
        assert not given.is_closed()


@pytest.mark.parametrize("key", [5, "not a key", "pk_test_gold_x", "pk_live_acme_checkout"])
def test_a_key_the_simulator_gives_no_tier_is_refused_at_the_with_line_naming_key(key: object) -> None:
    """Served, every request the app sent with `sim.key` was a 401 inside the app; the scenario's key is no key
    without the scenario."""
    with pytest.raises(ValueError, match=r"^key\b"), simulator_running(key=key):  # type: ignore[arg-type]
        pytest.fail("the simulator started")


def test_a_key_of_the_runs_scenario_or_a_ready_made_one_is_the_blocks_key() -> None:
    with simulator_running(scenario=EXAMPLE, key="pk_live_acme_checkout") as sim:
        assert sim.key == "pk_live_acme_checkout" and sim.usage(sim.key)["tier"] == "enterprise"
    with simulator_running(key="pk_test_free_mine") as sim:
        assert sim.usage(sim.key)["tier"] == "free"


@pytest.mark.parametrize("path", ["v1", "openai/v1", ""])
def test_openai_client_refuses_a_path_without_its_leading_slash_which_named_another_namespace(path: str) -> None:
    """`base_url + "v1"` was `.../_sim/ns/<namespace>v1`: another namespace, which the test's rules never saw."""
    with PerfSim("http://127.0.0.1:9", "t1-test") as sim, pytest.raises(ValueError, match=r"^path must start with '/'.*'/openai/v1'"):
        sim.openai_client(path=path)


def test_a_given_simulator_config_is_taken_as_it_is_its_real_clock_and_log_included() -> None:
    """The decision in `simulator_running`'s docstring: SimulatorConfig's own defaults are the real clock and the
    request log on; the manual clock and no log are this function's defaults only when no config is given."""
    with simulator_running(SimulatorConfig(seed=3), seed=4) as sim:
        settings = sim.config()
        assert (settings["seed"], settings["clock"], settings["quiet"]) == (4, "real", False)
    with simulator_running(SimulatorConfig(seed=3, clock="manual", quiet=True)) as sim:
        assert sim.clock()["now"] == DEFAULT_MANUAL_START and sim.config()["quiet"] is True
    with simulator_running(seed=3) as sim:
        assert (sim.config()["clock"], sim.config()["quiet"]) == ("manual", True)
