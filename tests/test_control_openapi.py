"""The control API's own OpenAPI document: valid OpenAPI 3.1, served by the simulator, and covering every control route."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from openapi_spec_validator import validate
from starlette.routing import Route

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control import rules as control_rules
from simulator.control.api import ControlApi
from simulator.control.client import SimulatorControl
from simulator.faces.control import ControlFace
from simulator.launcher import RunningServer
from simulator.registry import FACE_NAMES
from spec.control_openapi import FACES, MAX_TIMES, control_openapi_document
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


def _validator(component: str) -> jsonschema.Draft202012Validator:
    document = control_openapi_document()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{component}", "components": document["components"]})


def test_real_control_answers_match_the_documents_schemas(sim: RunningServer) -> None:
    with SimulatorControl(sim.base_url, namespace="openapi-check") as control:
        rule = control.add_fault({"face": "perf", "prompt": "^fail"}, status=429, retry_after=3, times=1)
        headers = {"Authorization": "Bearer pk_test_pro_openapi", **control.headers}
        httpx.post(sim.base_url + "/v1/images/generations", json={"prompt": "fail once"}, headers=headers)
        httpx.post(sim.base_url + "/v1/images/generations", json={"prompt": "a fox"}, headers=headers)
        answers: dict[str, list[Any]] = {
            "FaultRule": [rule, *control.faults()],
            "JournalEntry": control.requests(),
            "Clock": [control.clock(), control.advance(5)],
            "Usage": [control.usage("pk_test_pro_openapi")],
        }
    for component, bodies in answers.items():
        for body in bodies:
            _validator(component).validate(body)
    assert len(answers["JournalEntry"]) == 2


def test_the_documents_limits_and_faces_are_the_control_codes() -> None:
    assert FACES == FACE_NAMES
    assert MAX_TIMES == control_rules.MAX_TIMES
