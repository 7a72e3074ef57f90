"""The control API (/_sim/) as a test harness relies on it: a clock move it cannot show is refused and the clock
keeps working, and the running settings it publishes (any page may read them: CORS is open) hold no secret."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.testclient import TestClient

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control.state_api import MAX_ADVANCE_SECONDS
from simulator.state.base import LATEST_CLOCK_TIME


@pytest.mark.parametrize("seconds", [1e12, 10**400, -1, "60", None])
def test_an_advance_the_clock_cannot_show_is_refused_and_the_clock_keeps_working(client: httpx.Client, seconds: object) -> None:
    body = b'{"seconds": 1' + b"0" * 400 + b"}" if seconds == 10**400 else None
    response = client.post("/_sim/clock/advance", content=body) if body else client.post("/_sim/clock/advance", json={"seconds": seconds})
    assert response.status_code == 400 and response.json()["error"]["param"] == "seconds"
    assert client.get("/_sim/clock").status_code == 200
    key = {"Api-Key": "pk_test_pro_clock"}
    assert client.post("/ideogram/generate", json={"image_request": {"prompt": "a fox"}}, headers=key).status_code == 200


@pytest.mark.parametrize(("params", "body"), [({"seconds": "60"}, None), ({}, None), ({}, b" ")])
def test_an_advance_without_its_body_says_the_body_it_takes(client: httpx.Client, params: dict[str, str], body: bytes | None) -> None:
    """`POST /_sim/clock/advance?seconds=60` and a bare POST are what a reader of the path alone tries first."""
    response = client.post("/_sim/clock/advance", params=params, content=body)
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "seconds" and 'send {"seconds": N} as JSON' in error["message"]


@pytest.mark.parametrize(
    ("seconds", "quoted"),
    [("1e400", "1e400"), ("true", "true"), ('"5"', "'5'"), ("-1", "-1"), ("[]", "[]"), ("3155760001", "3155760001")],
)
def test_a_refused_advance_ends_with_the_value_it_got_as_the_client_wrote_it(client: httpx.Client, seconds: str, quoted: str) -> None:
    """Every other control refusal ends with `got X`: `"5"`, `true` and `1e400` all read the same without it."""
    response = client.post("/_sim/clock/advance", content=f'{{"seconds": {seconds}}}', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"].endswith(f"year 9999, got {quoted}"), response.text


def test_an_advance_past_the_bound_says_where_the_clock_is_and_what_still_fits() -> None:
    """It used to say only "from 0 to 3155760000 (100 years)": a reader could not tell how much room was left."""
    config = SimulatorConfig(clock="manual", start_time=LATEST_CLOCK_TIME - 1000.5)
    with TestClient(create_app(config)) as test_client:
        refused = test_client.post("/_sim/clock/advance", json={"seconds": 2000})
        assert refused.status_code == 400 and refused.json()["error"]["message"] == (
            'send {"seconds": N} with N a number from 0 to 1000.5: the clock is at 9998-12-31T23:43:19.500000+00:00, '
            "and an advance must keep it before the year 9999, got 2000"
        )
        assert test_client.post("/_sim/clock/advance", json={"seconds": 1000.5}).status_code == 200


def test_a_real_clock_run_past_the_bound_is_told_so_not_told_to_send_0_and_refused_it() -> None:
    """A real clock advanced near 9999-01-01 runs on past it with wall time; then no advance fits, not even 0. The
    400 used to offer "N a number from 0 to 3155760000" and refuse the 0 it offered."""
    with TestClient(create_app(SimulatorConfig())) as test_client:
        while (left := LATEST_CLOCK_TIME - test_client.get("/_sim/clock").json()["now"] - 0.2) > 0:  # 100 years a step
            assert test_client.post("/_sim/clock/advance", json={"seconds": min(left, MAX_ADVANCE_SECONDS)}).status_code == 200
        time.sleep(0.4)
        refused = test_client.post("/_sim/clock/advance", json={"seconds": 0})
        message = refused.json()["error"]["message"]
        assert refused.status_code == 400 and message.startswith("the clock is at 9999-01-01T00:00:00."), message
        assert "no advance fits, not even 0; POST /_sim/reset" in message and message.endswith("got 0"), message
        assert test_client.post("/_sim/reset").status_code == 200
        assert test_client.post("/_sim/clock/advance", json={"seconds": 0}).status_code == 200


@pytest.mark.parametrize("body", ["{}", "[]", "null"])
def test_an_advance_body_without_seconds_is_quoted_whole(client: httpx.Client, body: str) -> None:
    response = client.post("/_sim/clock/advance", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"].endswith(f"got {body}"), response.text


def test_config_shows_no_secret() -> None:
    config = SimulatorConfig(upstream="https://user:pw@gw.example", upstream_overrides={"bfl": "https://k:pw@api.example"},
                             upstream_key="sk-provider-secret")  # fmt: skip
    with TestClient(create_app(config)) as test_client:
        shown = test_client.get("/_sim/config").text
    assert "pw@" not in shown and "sk-provider-secret" not in shown


@pytest.mark.parametrize(
    ("path", "allowed"), [("/_sim/faults", {"GET", "HEAD", "POST", "DELETE"}), ("/_sim/requests", {"GET", "HEAD", "DELETE"})]
)
def test_a_wrong_method_on_a_control_path_names_every_method_it_takes(client: httpx.Client, path: str, allowed: set[str]) -> None:
    response = client.put(path)
    assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == allowed


def test_an_advance_with_a_field_it_does_not_take_is_a_400_naming_it(client: httpx.Client) -> None:
    start = client.get("/_sim/clock").json()["now"]
    response = client.post("/_sim/clock/advance", json={"seconds": 5, "extra": 1})
    assert response.status_code == 400 and response.json()["error"]["param"] == "extra"
    assert client.get("/_sim/clock").json()["now"] == start


@pytest.mark.parametrize("path", ["/_sim/nothing", "/_sim"])
def test_a_control_path_no_route_serves_points_to_the_control_apis_own_document_and_is_not_journalled(
    client: httpx.Client, path: str
) -> None:
    client.post("/_sim/faults", json={"action": {"status": 500}}).raise_for_status()
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"no route for GET {path}; see /_sim/openapi.json"
    assert client.get("/_sim/requests").json()["requests"] == []
    client.delete("/_sim/faults").raise_for_status()


@pytest.mark.parametrize(("key", "status", "error_type"), [("short", 400, "invalid_request"), ("pk_test_nosuchtier_abc", 404, "not_found")])
def test_usage_of_a_malformed_or_unknown_key_is_a_400_or_404_naming_the_key(
    client: httpx.Client, key: str, status: int, error_type: str
) -> None:
    answer = client.get(f"/_sim/usage/{key}")
    assert answer.status_code == status
    assert (answer.json()["error"]["type"], answer.json()["error"]["param"]) == (error_type, "key")
