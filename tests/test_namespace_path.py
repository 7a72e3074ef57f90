"""A base URL that implies a namespace (`/_sim/ns/<name>/...`), for apps that take a base URL and no headers."""

from __future__ import annotations

import httpx
import openai
import pytest

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


def test_a_malformed_namespace_in_the_path_is_refused_naming_the_header(sim: RunningServer) -> None:
    response = httpx.post(sim.base_url + "/_sim/ns/bad name!/v1/images/generations", json={"prompt": "a fox"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "X-Sim-Namespace"
