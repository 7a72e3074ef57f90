"""A base URL that implies a namespace (`/_sim/ns/<name>/...`), for apps that take a base URL and no headers."""

from __future__ import annotations

import httpx
import openai
import pytest
from blackforest import BFLClient
from blackforest.client import BFLError

from simulator.control.client import SimulatorControl
from simulator.launcher import RunningServer

KEY = "pk_test_pro_prefix"


def test_an_app_pointed_at_a_namespaced_base_url_is_served_journalled_and_faulted_in_that_namespace(sim: RunningServer) -> None:
    control = SimulatorControl(sim.base_url, namespace="app-under-test")
    control.add_fault({"model": "dall-e-2"}, status=503, times=1)
    client = openai.OpenAI(api_key=KEY, base_url=control.base_url + "/openai/v1", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="dall-e-2", prompt="a fox", size="256x256")
    [image] = client.images.generate(model="dall-e-2", prompt="a fox", size="256x256").data or []
    assert image.url and httpx.get(image.url).status_code == 200
    assert [entry["status"] for entry in control.requests(path="/openai/v1/images/generations")] == [200, 503]
    assert control.usage(KEY)["providers"]["openai"]["minute"]["used"] == 1
    assert SimulatorControl(sim.base_url, namespace="someone-else").count() == 0


def test_a_malformed_namespace_in_the_path_is_refused_naming_the_base_path_not_a_header_the_client_never_sent(sim: RunningServer) -> None:
    response = httpx.post(sim.base_url + "/_sim/ns/bad name!/v1/images/generations", json={"prompt": "a fox"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "namespace"
    assert "base path" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/images/generations", "/_sim/faults"], ids=["API call", "control call"])
def test_a_base_path_and_a_header_naming_two_namespaces_are_a_400_and_act_on_neither(sim: RunningServer, path: str) -> None:
    """A client's session header on top of a namespaced base URL must not move its requests without a word."""
    control = SimulatorControl(sim.base_url)
    control.clear_requests()
    body = {"prompt": "a fox"} if path.startswith("/v1") else {"action": {"status": 503}}
    headers = {"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": "other"}
    refused = httpx.post(f"{sim.base_url}/_sim/ns/mine{path}", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "X-Sim-Namespace"
    assert "/_sim/ns/mine/" in refused.json()["error"]["message"]
    assert [SimulatorControl(sim.base_url, namespace=name).count() for name in ("mine", "other")] == [0, 0]
    assert SimulatorControl(sim.base_url).faults() == []
    agreeing = httpx.post(f"{sim.base_url}/_sim/ns/mine{path}", json=body, headers={**headers, "X-Sim-Namespace": "mine"})
    assert agreeing.status_code in (200, 201)
    control.clear_faults()


@pytest.mark.parametrize(("method", "path"), [("POST", "/_sim/reset/"), ("DELETE", "/_sim/faults/"), ("GET", "/_sim/requests/")])
def test_a_control_path_with_a_trailing_slash_under_a_base_path_is_a_404_not_a_redirect_out_of_the_namespace(
    client: httpx.Client, method: str, path: str
) -> None:
    client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "bystander"}).raise_for_status()
    answer = client.request(method, "/_sim/ns/job-a" + path)
    assert answer.status_code == 404 and answer.json()["error"]["type"] == "not_found"
    assert [rule["namespace"] for rule in client.get("/_sim/faults").json()["faults"]] == ["bystander"]


def test_a_base_path_whose_name_holds_an_encoded_slash_is_refused_as_a_name_not_split_into_a_path(client: httpx.Client) -> None:
    answer = client.post("/_sim/ns/a%2Fb/v1/images/generations", json={"prompt": "a fox"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "namespace" and error["message"].startswith("the base path /_sim/ns/<name>/'s name must be")
    assert "'a/b'" in error["message"]


def test_a_base_path_name_percent_encoded_is_the_name_it_spells(client: httpx.Client) -> None:
    assert client.post("/_sim/ns/job%2Da/v1/images/generations", json={"prompt": "a fox"}).status_code == 401
    assert client.get("/_sim/requests", params={"namespace": "job-a"}).json()["requests"][0]["path"] == "/v1/images/generations"


def test_a_wrong_path_under_a_base_path_is_named_as_sent_and_its_hint_keeps_the_base_path(client: httpx.Client) -> None:
    """Followed literally, a hint without the base path would take the app out of its test's namespace."""
    response = client.post("/_sim/ns/job-a/v2/images/generations", json={"prompt": "a fox"}, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert message.startswith("no route for POST /_sim/ns/job-a/v2/images/generations;"), message
    assert "did you mean /_sim/ns/job-a/v1/images/generations (perf)" in message
    assert "did you mean /v1/images/generations" not in message


def test_a_native_faces_404_under_a_base_path_names_the_path_as_its_provider_would(client: httpx.Client) -> None:
    response = client.post("/_sim/ns/job-a/openai/v1/nope", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 404 and response.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"


def test_the_blackforest_client_given_a_namespace_base_url_is_told_it_drops_the_last_segment_not_steered_into_namespace_v1(
    sim: RunningServer, client: httpx.Client
) -> None:
    """urljoin(".../_sim/ns/job7", "v1/flux-dev") is /_sim/ns/v1/flux-dev: the 404's hint named routes inside
    namespace `v1`, which only urljoin chose, and the client showed none of it (it reads a top-level `message`)."""
    bfl_client = BFLClient(api_key=KEY, base_url=f"{sim.base_url}/_sim/ns/job7", timeout=10)
    with pytest.raises(BFLError) as raised:
        bfl_client.generate("flux-dev", {"prompt": "a cat", "width": 1024, "height": 768})
    shown = str(raised.value)
    assert "drops the last path segment of its base URL" in shown and "X-Sim-Namespace" in shown, shown
    assert "did you mean" not in shown and "/_sim/ns/v1/v1/" not in shown
    answer = client.post("/_sim/ns/v1/flux-pro", json={"prompt": "a cat"}, headers={"x-key": KEY})
    body = answer.json()
    assert answer.status_code == 404 and body["error"]["type"] == "not_found" and body["message"] == body["error"]["message"]
    other = client.post("/_sim/ns/v1/images/generations", json={"prompt": "a cat"}).json()["error"]["message"]
    assert "did you mean /_sim/ns/v1/v1/images/generations (perf)" in other, "any other path keeps its hint"
