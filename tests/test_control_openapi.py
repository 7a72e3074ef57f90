"""The control API's own OpenAPI document: valid OpenAPI 3.1, served by the simulator, and covering every control route."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from load.redis_server import redis_available, running_redis
from simulator import keys, namespace_path
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control import actions, journal, prompt_pattern, state_api
from simulator.control import api as control_api
from simulator.control import rules as control_rules
from simulator.control.client import SimulatorControl
from simulator.launcher import RunningServer, running_simulator
from simulator.registry import FACE_NAMES
from simulator.state.base import CLOCK_MANUAL
from spec import errors
from spec.control_openapi import (
    DRIBBLE_PARTS,
    FACES,
    KEY_ID_CHARS,
    KEY_PATTERN,
    MATCH_METHODS,
    MAX_ADVANCE_SECONDS,
    MAX_DELAY_MS,
    MAX_FAULT_STATUS,
    MAX_LIST_LIMIT,
    MAX_MESSAGE_CHARS,
    MAX_PATH_CHARS,
    MAX_PATTERN_CHARS,
    MAX_RETRY_AFTER_SECONDS,
    MAX_TIMES,
    MIN_DELAY_MS,
    MIN_FAULT_STATUS,
    MIN_RETRY_AFTER_SECONDS,
    NAMESPACE_HEADER,
    REQUEST_ID_CHARS,
    STATELESS_PATHS,
    control_openapi_document,
)
from spec.openapi import openapi_document


def test_the_control_document_is_valid_openapi_3_1() -> None:
    document = control_openapi_document()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_sim_route_is_in_the_control_document_and_none_in_the_perf_one() -> None:
    documented = {(path, method) for path, item in control_openapi_document()["paths"].items() for method in item}
    routes = [route for route in create_app(SimulatorConfig()).routes if isinstance(route, Route) and route.path.startswith("/_sim/")]
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
            "FaultRule": [rule, control.add_fault({"key": "pk_live_someone_else"}, status=503), *control.faults()],
            "JournalEntry": control.requests(),
            "Clock": [control.clock(), control.advance(5)],
            "Usage": [control.usage("pk_test_pro_openapi")],
        }
    for component, bodies in answers.items():
        for body in bodies:
            _validator(component).validate(body)
    assert len(answers["JournalEntry"]) == 2


@pytest.mark.parametrize(
    "action",
    [
        {"status": 503, "dribble_ms": 500},
        {"truncate": True, "dribble_ms": 500, "delay_ms": 5},
        {"reset": True, "delay_ms": 5},
        {"drop": True, "dribble_ms": 500},
        {"reset": True, "dribble_ms": 500},
        {"status": 503, "reset": True},
        {"drop": True, "reset": True},
        {"truncate": True, "malformed": True},
        {"retry_after": 2},
        {"type": "internal_error", "drop": True},
    ],
)
def test_the_document_calls_valid_exactly_the_actions_the_simulator_takes(client: httpx.Client, action: dict[str, Any]) -> None:
    """A client generated from the document, or a fuzzer trusting it, builds only actions the simulator takes: the
    combinations it refuses (two answers, a dribble of a closed connection, an error's details without a status) are
    invalid in the document too."""
    documented = _validator("Action").is_valid(action)
    response = client.post("/_sim/faults", json={"match": {"path": "/nowhere"}, "action": action})
    assert (response.status_code == 201) == documented, response.text


@pytest.mark.parametrize("probability", [0, 0.0, 1e-9, 0.5, 1, 1.5, -0.1, None])
def test_the_document_calls_valid_exactly_the_probabilities_the_simulator_takes(client: httpx.Client, probability: float | None) -> None:
    """0 is refused (a rule that could never fire), so the document's lower bound is exclusive."""
    rule = {"match": {"path": "/nowhere"}, "action": {"drop": True}, "probability": probability}
    documented = _validator("FaultRuleRequest").is_valid(rule)
    response = client.post("/_sim/faults", json=rule)
    assert (response.status_code == 201) == documented, response.text


def test_the_documents_limits_and_faces_are_the_control_codes() -> None:
    assert FACES == FACE_NAMES
    assert MAX_TIMES == control_rules.MAX_TIMES
    assert (MIN_DELAY_MS, MAX_DELAY_MS, MIN_FAULT_STATUS, MAX_FAULT_STATUS, DRIBBLE_PARTS, MIN_RETRY_AFTER_SECONDS) == (
        actions.MIN_DELAY_MS,
        actions.MAX_DELAY_MS,
        actions.MIN_FAULT_STATUS,
        actions.MAX_FAULT_STATUS,
        actions.DRIBBLE_PARTS,
        actions.MIN_RETRY_AFTER_SECONDS,
    )
    assert (MAX_RETRY_AFTER_SECONDS, MAX_MESSAGE_CHARS) == (
        actions.MAX_RETRY_AFTER_SECONDS,
        actions.MAX_MESSAGE_CHARS,
    )
    assert MAX_LIST_LIMIT == control_api.MAX_LIST_LIMIT
    assert MAX_PATH_CHARS == journal.PATH_CHARS
    assert KEY_ID_CHARS == journal.KEY_ID_CHARS
    assert REQUEST_ID_CHARS == journal.REQUEST_ID_CHARS
    assert MAX_PATTERN_CHARS == prompt_pattern.MAX_PATTERN_CHARS
    assert keys.KEY_PATTERN.pattern == KEY_PATTERN
    assert MATCH_METHODS == control_rules.MATCH_METHODS
    assert MAX_ADVANCE_SECONDS == state_api.MAX_ADVANCE_SECONDS


_JSON = {"content-type": "application/json"}


def _documented_answer(path: str, method: str, response: httpx.Response) -> None:
    """The answer's status is one the document lists for the call, and its JSON body fits that status's schema."""
    document = control_openapi_document()
    answers = document["paths"][path][method]["responses"]
    assert str(response.status_code) in answers, f"{method.upper()} {path} answered {response.status_code}, undocumented"
    content = answers[str(response.status_code)].get("content")
    if content is None:  # an answer documented without a body (the dashboard's 303)
        return
    if "application/json" not in content:
        assert response.headers["content-type"].startswith(next(iter(content)))
        return
    schema = content["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(response.json())


def test_every_control_call_answers_as_the_document_says(sim: RunningServer) -> None:
    """Each documented call, made for real (successes and refusals, in a namespace and across all), with only the
    parameters the document lists; every answer fits the document's schema for its status."""
    document = control_openapi_document()
    key = "pk_test_pro_openapi"
    api = {"Authorization": f"Bearer {key}", "X-Sim-Namespace": "doc"}
    with httpx.Client(base_url=sim.base_url, timeout=30) as client:
        client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=api)
        with pytest.raises(httpx.TransportError):
            client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={**api, "X-Sim-Fault": "drop"})
        client.options("/v1/images/generations", headers={"Origin": "http://localhost", "Access-Control-Request-Method": "POST"})
        rule = {"match": {"face": "perf", "method": "POST"}, "action": {"status": 503, "message": "down", "retry_after": 2}}
        made = client.post("/_sim/faults", json={**rule, "namespace": "doc"}).json()
        entry = client.get("/_sim/requests", params={"namespace": "doc", "limit": 1}).json()["requests"][0]
        calls: list[tuple[str, str, str, dict[str, Any]]] = [
            ("/_sim/health", "get", "/_sim/health", {}),
            ("/_sim/health", "get", "/_sim/health", {"headers": {NAMESPACE_HEADER: "no such"}}),
            ("/_sim/ready", "get", "/_sim/ready", {"params": {"namespace": "doc"}}),
            ("/_sim/ready", "get", "/_sim/ready", {"headers": {NAMESPACE_HEADER: "doc"}}),
            ("/_sim/config", "get", "/_sim/config", {"params": {"namespace": "doc"}}),
            ("/_sim/ui", "get", "/_sim/ui", {}),
            ("/_sim/ui", "get", "/_sim/ui", {"params": {"namespace": "doc"}}),
            ("/_sim/ui", "get", "/_sim/ui", {"params": {"namespace": "no such"}}),
            ("/_sim/ui", "get", "/_sim/ui", {"headers": {NAMESPACE_HEADER: "doc"}}),
            ("/_sim/openapi.json", "get", "/_sim/openapi.json", {}),
            ("/_sim/openapi.json", "get", "/_sim/openapi.json", {"params": {"namespace": "doc"}}),
            ("/_sim/openapi.json", "get", "/_sim/openapi.json", {"params": {"foo": "1"}}),
            ("/_sim/namespaces", "get", "/_sim/namespaces", {}),
            ("/_sim/namespaces", "get", "/_sim/namespaces", {"params": {"foo": "1"}}),
            ("/_sim/faults", "post", "/_sim/faults", {"json": {"action": {"status": 500, "type": "made_up"}}}),
            ("/_sim/faults", "post", "/_sim/faults", {"json": {"action": {"delay_ms": 5}, "times": 2}, "params": {"namespace": "doc"}}),
            ("/_sim/faults", "post", "/_sim/faults", {"content": b" " * (errors.MAX_BODY_BYTES + 1), "headers": _JSON}),
            ("/_sim/faults", "get", "/_sim/faults", {}),
            ("/_sim/faults", "get", "/_sim/faults", {"params": {"namespace": "doc"}}),
            ("/_sim/faults/{rule_id}", "delete", f"/_sim/faults/{made['id']}", {"params": {"namespace": "other"}}),
            ("/_sim/faults/{rule_id}", "delete", f"/_sim/faults/{made['id']}", {"params": {"namespace": "doc"}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"namespace": "doc", "limit": 10}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"method": "OPTIONS", "face": "perf", "status": 200}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"model": "dall-e-3", "key": key, "path": "/v1", "prompt": "^a"}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"limit": 0}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"since": entry["iso"], "fault": "drop"}}),
            ("/_sim/requests", "get", "/_sim/requests", {"params": {"since": "yesterday"}}),
            ("/_sim/requests/{id}", "get", f"/_sim/requests/{entry['id']}", {"params": {"namespace": "doc"}}),
            ("/_sim/requests/{id}", "get", f"/_sim/requests/{entry['id']}", {"params": {"namespace": "other"}}),
            ("/_sim/requests/{id}", "get", "/_sim/requests/request_0", {}),
            ("/_sim/requests/count", "post", "/_sim/requests/count", {"json": {"match": {"status": 200}, "namespace": "doc"}}),
            ("/_sim/requests/count", "post", "/_sim/requests/count", {"json": {"match": {"colour": "red"}}}),
            ("/_sim/requests/count", "post", "/_sim/requests/count", {"json": {"match": {"since": entry["time"]}}}),
            (
                "/_sim/requests/count",
                "post",
                "/_sim/requests/count",
                {"json": {"namespace": "doc"}, "headers": {NAMESPACE_HEADER: "other"}},
            ),
            ("/_sim/usage", "get", "/_sim/usage", {"params": {"namespace": "doc"}}),
            ("/_sim/usage", "get", "/_sim/usage", {"params": {"namespace": ""}}),
            ("/_sim/usage", "get", "/_sim/usage", {"params": {"namespace": "doc"}, "headers": {NAMESPACE_HEADER: "doc"}}),
            ("/_sim/usage", "get", "/_sim/usage", {"params": {"namespace": "doc"}, "headers": {NAMESPACE_HEADER: "other"}}),
            ("/_sim/usage/{key}", "get", f"/_sim/usage/{key}", {"params": {"namespace": "doc"}}),
            ("/_sim/usage/{key}", "get", "/_sim/usage/nope", {}),
            ("/_sim/clock", "get", "/_sim/clock", {"params": {"namespace": "doc"}}),
            ("/_sim/clock", "get", "/_sim/clock", {"headers": [(NAMESPACE_HEADER, "doc"), (NAMESPACE_HEADER, "other")]}),
            ("/_sim/clock/advance", "post", "/_sim/clock/advance", {"json": {"seconds": 60}, "params": {"namespace": "doc"}}),
            ("/_sim/clock/advance", "post", "/_sim/clock/advance", {"json": {"seconds": -1}}),
            ("/_sim/requests", "delete", "/_sim/requests", {"params": {"namespace": "doc"}}),
            ("/_sim/requests", "delete", "/_sim/requests", {"content": b" " * (errors.MAX_BODY_BYTES + 1), "headers": _JSON}),
            ("/_sim/faults", "delete", "/_sim/faults", {}),
            ("/_sim/reset", "post", "/_sim/reset", {"params": {"namespace": "doc"}}),
            ("/_sim/reset", "post", "/_sim/reset", {}),
        ]
        for path, method, url, options in calls:
            parameters = document["paths"][path][method].get("parameters", [])
            listed = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
            assert set(options.get("params", {})) - {"foo"} <= listed, (path, method)
            headers = {parameter["name"].lower() for parameter in parameters if parameter["in"] == "header"}
            assert {name.lower() for name, _ in httpx.Headers(options.get("headers")).multi_items()} - {"content-type"} <= headers
            _documented_answer(path, method, client.request(method.upper(), url, **options))
    made_calls = {(path, method) for path, method, _, _ in calls}
    assert made_calls == {(path, method) for path, item in document["paths"].items() for method in item}


def test_every_call_that_reads_the_state_documents_the_503_of_a_state_that_does_not_answer() -> None:
    """With --state redis, every call that reads or changes the state answers 503 service_unavailable while Redis
    does not answer (docs/control.md): a client generated from the document reads it as the error envelope it is,
    and learns that the retry is safe, or for a reset, that it may be partly done."""
    paths = control_openapi_document()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            answers = operation["responses"]
            if path in STATELESS_PATHS:
                assert "503" not in answers, (path, method)
                continue
            assert answers["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method)
            assert answers["503"]["description"].startswith("service_unavailable"), (path, method)
    assert "retry is safe" in paths["/_sim/faults"]["post"]["responses"]["503"]["description"]
    assert "done in part: repeat it" in paths["/_sim/reset"]["post"]["responses"]["503"]["description"]
    assert {"/_sim/health", "/_sim/config", "/_sim/ui", "/_sim/openapi.json"} == set(STATELESS_PATHS)


@pytest.mark.slow
@pytest.mark.anyio
async def test_every_control_call_on_a_stopped_redis_answers_the_documented_503() -> None:
    """Each documented call of a simulator whose Redis has stopped, made for real: a call of the state answers the
    503 the document lists (in its Error schema), a stateless one as usual; none answers a status the document
    leaves out."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    document = control_openapi_document()
    with running_redis() as redis_server:
        app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=redis_server.url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
            made = (await client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "doc"})).json()
            redis_server.stop()
            calls: list[tuple[str, str, str, dict[str, Any]]] = [
                ("/_sim/health", "get", "/_sim/health", {}),
                ("/_sim/ready", "get", "/_sim/ready", {}),
                ("/_sim/config", "get", "/_sim/config", {}),
                ("/_sim/ui", "get", "/_sim/ui", {}),
                ("/_sim/openapi.json", "get", "/_sim/openapi.json", {}),
                ("/_sim/namespaces", "get", "/_sim/namespaces", {}),
                ("/_sim/faults", "post", "/_sim/faults", {"json": {"action": {"status": 500}}}),
                ("/_sim/faults", "get", "/_sim/faults", {"params": {"namespace": "doc"}}),
                ("/_sim/faults/{rule_id}", "delete", f"/_sim/faults/{made['id']}", {}),
                ("/_sim/faults", "delete", "/_sim/faults", {}),
                ("/_sim/requests", "get", "/_sim/requests", {"params": {"limit": 5}}),
                ("/_sim/requests/{id}", "get", "/_sim/requests/request_1", {}),
                ("/_sim/requests/count", "post", "/_sim/requests/count", {"json": {"match": {"status": 200}}}),
                ("/_sim/requests", "delete", "/_sim/requests", {"params": {"namespace": "doc"}}),
                ("/_sim/usage", "get", "/_sim/usage", {}),
                ("/_sim/usage/{key}", "get", "/_sim/usage/pk_test_pro_openapi", {}),
                ("/_sim/clock", "get", "/_sim/clock", {}),
                ("/_sim/clock/advance", "post", "/_sim/clock/advance", {"json": {"seconds": 60}}),
                ("/_sim/reset", "post", "/_sim/reset", {"params": {"namespace": "doc"}}),
            ]
            for path, method, url, options in calls:
                response = await client.request(method.upper(), url, **options)
                _documented_answer(path, method, response)
                stateless = path in STATELESS_PATHS
                assert response.status_code < 400 if stateless else response.status_code == 503, (path, method, response.text)
    assert {(path, method) for path, method, _, _ in calls} == {
        (path, method) for path, item in document["paths"].items() for method in item
    }


def test_every_call_declares_the_x_sim_namespace_header_beside_its_namespace_parameter() -> None:
    """Every control call takes its namespace by `?namespace=` or the X-Sim-Namespace header (which a /_sim/ns/<name>/
    base path sends): a client generated from the document sees both, with the same rule for the name, and is told
    that the two naming different namespaces is a 400."""
    for path, item in control_openapi_document()["paths"].items():
        for method, operation in item.items():
            by_place = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
            query, header = by_place.get(("query", "namespace")), by_place.get(("header", NAMESPACE_HEADER))
            assert query is not None and header is not None, (path, method)
            assert header["schema"] == query["schema"] and header["required"] is False, (path, method)
            assert "?namespace=" in header["description"] and "a 400" in header["description"], (path, method)
    assert NAMESPACE_HEADER.lower().encode() == namespace_path.NAMESPACE_HEADER, "the header the control layer reads"


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"params": {"namespace": "jobA"}, "headers": {NAMESPACE_HEADER: "jobB"}}, "namespace"),
        ({"headers": {NAMESPACE_HEADER: "no such"}}, NAMESPACE_HEADER),
        ({"headers": [(NAMESPACE_HEADER, "jobA"), (NAMESPACE_HEADER, "jobB")]}, NAMESPACE_HEADER),
    ],
    ids=["differs from the query", "no namespace name", "sent twice differently"],
)
def test_the_headers_refusals_name_the_parameter_its_description_says(client: httpx.Client, options: dict[str, Any], param: str) -> None:
    """The description is the only place a generated client learns which `error.param` each refusal names; the same name
    both ways is one name, not a refusal."""
    header = next(p for p in control_openapi_document()["paths"]["/_sim/clock"]["get"]["parameters"] if p["name"] == NAMESPACE_HEADER)
    response = client.get("/_sim/clock", **options)
    assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert f"a 400 naming {param}" in header["description"]
    assert client.get("/_sim/clock", params={"namespace": "jobA"}, headers={NAMESPACE_HEADER: "jobA"}).status_code == 200


def test_the_namespace_parameter_says_what_leaving_it_out_does() -> None:
    """Over collections (rules, journal, count) and for a reset, no namespace means every namespace."""
    paths = control_openapi_document()["paths"]
    for path, method in [
        ("/_sim/faults", "get"),
        ("/_sim/faults", "delete"),
        ("/_sim/requests", "get"),
        ("/_sim/requests", "delete"),
        ("/_sim/requests/count", "post"),
        ("/_sim/reset", "post"),
    ]:
        [namespace] = [p for p in paths[path][method]["parameters"] if p["name"] == "namespace"]
        assert "every namespace" in namespace["description"], (path, method)
    for path, method in [("/_sim/clock", "get"), ("/_sim/clock/advance", "post"), ("/_sim/usage", "get"), ("/_sim/usage/{key}", "get")]:
        [namespace] = [p for p in paths[path][method]["parameters"] if p["name"] == "namespace"]
        assert "the default one" in namespace["description"], (path, method)


@pytest.mark.slow
def test_schemathesis_finds_no_control_answer_outside_the_document_and_no_invalid_call_accepted(tmp_path: Path) -> None:
    """Every schemathesis check but one, on a simulator of its own (its calls add rules, reset and move the clock): no
    500, every status and body as documented, every call the document calls invalid refused. Left out: "a valid call
    is accepted", because the document cannot say that a namespace named in a call's body must be the one its query or
    header names, nor that a match's path must be one of its face's (the simulator refuses either, a documented 400)."""
    document = tmp_path / "control-openapi.json"
    document.write_text(json.dumps(control_openapi_document()))
    with running_simulator("--clock", "manual", "--quiet") as server:
        result = subprocess.run(
            [
                sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
                "run", str(document), "--url", server.base_url,
                "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                "--max-examples", "20", "--seed", "20261203", "--generation-database", "none", "--workers", "1", "--no-color",
            ],
            capture_output=True, text=True, timeout=240, cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
