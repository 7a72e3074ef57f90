"""`simulator_running`: a simulator inside the caller's process, for code outside pytest."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from simulator.in_process import simulator_running
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
        ({"upstream": "http://"}, "upstream"),
        ({"upstream_overrides": {"openai": "ftp://x"}}, "upstream_overrides"),
        ({"upstream_overrides": {"opneai": "http://127.0.0.1:9"}}, "upstream_overrides"),
        ({"log_format": "xml"}, "log_format"),
        ({"scenario": ""}, "scenario"),
        ({"keys_file": ""}, "keys_file"),
        ({"clock": "real", "start_time": 5}, "start_time"),
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
