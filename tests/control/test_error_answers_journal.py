"""A journal entry says what a refused request was told: the error's message and the field it names, as the client
read them in its face's envelope, in memory and in Redis alike; nothing for a success, a dropped connection or an
answer that is no error envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator.control.actions import MAX_MESSAGE_CHARS
from simulator.engine.errors import param_name
from spec import errors
from tests.control.test_every_face import CALLS, Call

KEY = "pk_test_pro_refusals"
ERROR_CHARS = 200
"""Where docs/control.md says an error's message (and field) is cut, as a prompt is."""

# A request each face refuses for one field, the field its envelope names (None: its envelope names none, its message
# does), and where its envelope puts the message and the field.
BEARER = {"Authorization": f"Bearer {KEY}"}
BAD_SIZE = {"prompt": "x", "model": "dall-e-2", "size": "1x1"}
REFUSED = {
    "perf": (Call("perf", "/v1/images/generations", BEARER, BAD_SIZE), "size"),
    "openai": (Call("openai", "/openai/v1/images/generations", BEARER, BAD_SIZE), "size"),
    "stability": (
        Call(
            "stability",
            "/stability/v2beta/stable-image/generate/sd3",
            {**BEARER, "Accept": "application/json"},
            form={"prompt": "x", "aspect_ratio": "9:9"},
        ),
        None,
    ),
    "bfl": (Call("bfl", "/v1/flux-pro", {"x-key": KEY}, {"prompt": "x", "width": 3}), "width"),
    "ideogram": (Call("ideogram", "/ideogram/generate", {"Api-Key": KEY}, {"image_request": {"prompt": "x", "num_images": 99}}), None),
    "google": (
        Call(
            "google",
            "/google/v1beta/models/imagen-3.0-generate-002:predict",
            {"x-goog-api-key": KEY},
            {"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 99}},
        ),
        None,
    ),
}
SAID: dict[str, Callable[[Any], tuple[str, str | None]]] = {
    "perf": lambda body: (body["error"]["message"], body["error"]["param"]),
    "openai": lambda body: (body["error"]["message"], body["error"]["param"]),
    "stability": lambda body: (body["errors"][0], None),
    "bfl": lambda body: (body["message"], body["detail"][0]["loc"][-1] if isinstance(body["detail"], list) else None),
    "ideogram": lambda body: (body["error"], None),
    "google": lambda body: (body["error"]["message"], None),
}


def latest(client: httpx.Client) -> dict[str, Any]:
    entry: dict[str, Any] = client.get("/_sim/requests", params={"limit": 1}).json()["requests"][0]
    return entry


def error_fields(entry: dict[str, Any]) -> tuple[object, object]:
    return entry["error_message"], entry["error_param"]


@pytest.mark.parametrize("face", list(REFUSED))
def test_a_refused_requests_entry_carries_the_message_and_field_its_client_read(each_state: httpx.Client, face: str) -> None:
    call, field = REFUSED[face]
    response = call.send(each_state, {})
    assert 400 <= response.status_code < 500, response.text
    message, param = SAID[face](response.json())
    assert param == field and message
    entry = latest(each_state)
    assert (entry["face"], entry["status"]) == (face, response.status_code)
    assert error_fields(entry) == (message, param)


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_faulted_status_is_journalled_with_the_message_it_was_given(each_state: httpx.Client, call: Call) -> None:
    response = call.send(each_state, {"X-Sim-Fault": "status=503;message=down for a test"})
    assert response.status_code == 503
    assert SAID[call.face](response.json()) == ("down for a test", None)
    assert error_fields(latest(each_state)) == ("down for a test", None)


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_fault_rules_stock_message_is_journalled_as_answered(each_state: httpx.Client, call: Call) -> None:
    each_state.post("/_sim/faults", json={"match": {"face": call.face}, "action": {"status": 429}, "times": 1}).raise_for_status()
    response = call.send(each_state, {})
    assert response.status_code == 429
    message, _ = SAID[call.face](response.json())
    assert "injected" in message and error_fields(latest(each_state)) == (message, None)


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_bad_control_header_is_journalled_with_the_perf_envelopes_message_and_the_header_it_names(
    each_state: httpx.Client, call: Call
) -> None:
    response = call.send(each_state, {"X-Sim-Fault": "status=5O3"})
    assert response.status_code == 400
    assert error_fields(latest(each_state)) == (response.json()["error"]["message"], "X-Sim-Fault")


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_success_has_no_error_message_or_param(each_state: httpx.Client, call: Call) -> None:
    assert call.send(each_state, {}).status_code == 200
    entry = latest(each_state)
    assert (entry["status"], entry["error_type"], *error_fields(entry)) == (200, None, None, None)


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_dropped_connection_has_no_error_message_or_param(each_state: httpx.Client, fault: str) -> None:
    with pytest.raises(httpx.TransportError):
        CALLS[0].send(each_state, {"X-Sim-Fault": fault})
    entry = latest(each_state)
    assert (entry["status"], entry["error_type"], *error_fields(entry)) == (None, None, None, None)


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_malformed_answer_is_no_error_envelope_and_says_nothing(each_state: httpx.Client, call: Call) -> None:
    assert call.send(each_state, {"X-Sim-Fault": "malformed"}).status_code == 200
    entry = latest(each_state)
    assert (entry["status"], *error_fields(entry)) == (200, None, None)


def test_a_long_message_and_field_are_cut_as_a_prompt_is(each_state: httpx.Client) -> None:
    call = CALLS[0]
    long = "m" * MAX_MESSAGE_CHARS
    assert call.send(each_state, {"X-Sim-Fault": f"status=400;message={long}"}).json()["error"]["message"] == long
    assert error_fields(latest(each_state)) == ("m" * ERROR_CHARS + "…", None)
    name = "f" * 300
    refused = each_state.post(call.path, headers=call.headers, json={"prompt": "x", name: 1}).json()["error"]
    assert refused["param"] == param_name(name) and len(refused["message"]) <= ERROR_CHARS  # both cut short
    assert error_fields(latest(each_state)) == (refused["message"], refused["param"])


def test_an_error_answer_longer_than_the_journal_keeps_says_nothing_rather_than_half(each_state: httpx.Client) -> None:
    """The layer keeps an error body's first 16 KiB: one cut there no longer parses, and its type, message and field
    are all null (documented), never a guess from half an envelope."""
    call = REFUSED["bfl"][0]
    response = each_state.post(call.path, headers=call.headers, json={"prompt": "x", "width": "w" * 20_000})
    assert response.status_code == 422 and len(response.content) > 20_000, "BFL's 422 echoes the input it refused"
    entry = latest(each_state)
    assert (entry["status"], entry["error_type"], *error_fields(entry)) == (422, None, None, None)


@pytest.mark.parametrize("face", ["perf", "openai", "ideogram", "google"])
def test_a_body_past_the_limit_is_journalled_with_its_refusals_message(each_state: httpx.Client, face: str) -> None:
    call = REFUSED[face][0]
    response = each_state.post(call.path, headers=call.headers, json={"prompt": "a" * (errors.MAX_BODY_BYTES + 1)})
    assert response.status_code == (400 if face == "google" else 413), "Google answers a payload too large 400"
    assert error_fields(latest(each_state)) == SAID[face](response.json())
