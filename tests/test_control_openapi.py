"""The control API's own OpenAPI document: valid OpenAPI 3.1, served by the simulator, and covering every control route."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate
from simulator.control.api import ControlApi
from starlette.routing import Route

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.faces.control import ControlFace
from simulator.launcher import RunningServer
from spec.control_openapi import control_openapi_document
from spec.openapi import openapi_document


def test_the_control_document_is_valid_openapi_3_1() -> None:
    document = control_openapi_document()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_control_route_is_in_the_control_document_and_none_in_the_perf_one() -> None:
    documented = {(path, method) for path, item in control_openapi_document()["paths"].items() for method in item}
    routes = [
        route
        for route in create_app(SimulatorConfig()).routes
        if isinstance(route, Route) and isinstance(getattr(route.endpoint, "__self__", None), ControlApi | ControlFace)
    ]
    served = {(route.path, method.lower()) for route in routes for method in route.methods or () if method != "HEAD"}
    assert served and served <= documented, sorted(served - documented)
    assert not any(path.startswith("/_sim/") for path in openapi_document()["paths"])


def test_the_simulator_serves_it_at_sim_openapi_json(sim: RunningServer) -> None:
    response = httpx.get(sim.base_url + "/_sim/openapi.json")
    assert response.status_code == 200 and response.json() == control_openapi_document()
