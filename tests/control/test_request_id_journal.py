"""A journal entry carries the `x-request-id` its client got, on every face, in memory and in Redis alike: a success's
(the Perf API's `perf.request_id`), an error's own, an injected answer's; none where the face's answer carries none,
and none for a dropped connection. So an app that logged the id finds its request with `?request_id=` or a count's
`match.request_id`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.control.test_error_answers_journal import REFUSED, latest
from tests.control.test_every_face import CALLS, Call

FACES = [call.face for call in CALLS]
SENDS_NO_ID_ON_SUCCESS = {"bfl", "google"}
SENDS_NO_ID_ON_ERROR = {"bfl", "google", "ideogram"}


def sent_and_journalled(client: httpx.Client, call: Call, extra: dict[str, str]) -> tuple[httpx.Response, Any]:
    response = call.send(client, extra)
    entry = latest(client)
    assert (entry["face"], entry["status"]) == (call.face, response.status_code)
    return response, entry["request_id"]


@pytest.mark.parametrize("call", CALLS, ids=FACES)
def test_a_successs_entry_carries_the_x_request_id_its_client_got(each_state: httpx.Client, call: Call) -> None:
    """On the control layer's fast path (no fault can apply) the face notes its answer's id where it builds it."""
    response, request_id = sent_and_journalled(each_state, call, {})
    assert response.status_code == 200
    assert request_id == response.headers.get("x-request-id")
    assert (request_id is None) == (call.face in SENDS_NO_ID_ON_SUCCESS)
    if call.face == "perf":
        assert request_id == response.json()["perf"]["request_id"] and request_id.startswith("req_img_")


@pytest.mark.parametrize("face", list(REFUSED))
def test_a_refused_requests_entry_carries_the_error_id_its_client_got(each_state: httpx.Client, face: str) -> None:
    """An error's id is drawn only as the answer is sent: the entry has that one, not the stand-in it was built with."""
    call, _ = REFUSED[face]
    response, request_id = sent_and_journalled(each_state, call, {})
    assert 400 <= response.status_code < 500
    assert request_id == response.headers.get("x-request-id")
    assert (request_id is None) == (face in SENDS_NO_ID_ON_ERROR)
    assert request_id is None or "0" * 32 not in request_id


@pytest.mark.parametrize("fault", ["status=503", "malformed", "delay_ms=1", "status=5O3"])
@pytest.mark.parametrize("call", CALLS, ids=FACES)
def test_a_faulted_requests_entry_carries_the_x_request_id_its_client_got(each_state: httpx.Client, call: Call, fault: str) -> None:
    """A request a fault may apply to is watched on its way out: its entry has the id of the answer sent, whether the
    fault answered (status, malformed), the face did after a delay, or the fault itself was refused (the Perf
    envelope's `req_err_...`, on every face)."""
    response, request_id = sent_and_journalled(each_state, call, {"X-Sim-Fault": fault})
    assert request_id == response.headers.get("x-request-id")
    if fault == "status=5O3":
        assert response.status_code == 400 and request_id.startswith("req_err_")


def test_a_fault_rules_answer_carries_its_id_too(each_state: httpx.Client) -> None:
    each_state.post("/_sim/faults", json={"match": {"face": "openai"}, "action": {"status": 429}, "times": 1}).raise_for_status()
    response, request_id = sent_and_journalled(each_state, CALLS[FACES.index("openai")], {})
    assert response.status_code == 429 and request_id == response.headers["x-request-id"] and request_id.startswith("req_")


def test_a_truncated_answers_entry_carries_the_id_its_status_line_gave(each_state: httpx.Client) -> None:
    call = CALLS[FACES.index("perf")]
    with each_state.stream("POST", call.path, headers={**call.headers, "X-Sim-Fault": "truncate"}, json=call.json) as response:
        sent = response.headers["x-request-id"]
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    entry = latest(each_state)
    assert (entry["fault"], entry["request_id"]) == ("truncate", sent) and sent.startswith("req_img_")


def test_a_request_whose_body_is_too_large_to_keep_unread_carries_its_id(each_state: httpx.Client) -> None:
    """A body past what an entry keeps unread takes the path that writes the entry before the last bytes."""
    call = Call("perf", "/v1/images/generations", CALLS[0].headers, {"prompt": "x" * 5000})
    response, request_id = sent_and_journalled(each_state, call, {})
    assert response.status_code == 400 and request_id == response.headers["x-request-id"]


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_dropped_connection_has_no_request_id(each_state: httpx.Client, fault: str) -> None:
    with pytest.raises(httpx.TransportError):
        CALLS[0].send(each_state, {"X-Sim-Fault": fault})
    entry = latest(each_state)
    assert (entry["status"], entry["request_id"]) == (None, None)


def test_the_listing_and_the_count_select_the_entry_of_an_id(each_state: httpx.Client) -> None:
    sent = [call.send(each_state, {}).headers.get("x-request-id") for call in CALLS]
    refused = REFUSED["openai"][0].send(each_state, {}).headers["x-request-id"]
    for request_id in [*filter(None, sent), refused]:
        (entry,) = each_state.get("/_sim/requests", params={"request_id": request_id}).json()["requests"]
        assert entry["request_id"] == request_id
        assert each_state.post("/_sim/requests/count", json={"match": {"request_id": request_id}}).json() == {"count": 1}
    unknown = "req_img_000000000000000000000000"
    assert each_state.get("/_sim/requests", params={"request_id": unknown}).json()["requests"] == []
    assert each_state.post("/_sim/requests/count", json={"match": {"request_id": unknown}}).json() == {"count": 0}
    both = {"request_id": refused, "status": 400, "face": "openai"}
    assert each_state.post("/_sim/requests/count", json={"match": both}).json() == {"count": 1}
    assert each_state.post("/_sim/requests/count", json={"match": {**both, "status": 200}}).json() == {"count": 0}


def refused_as_no_request_id(response: httpx.Response, field: str) -> bool:
    """A 400 naming `field` and saying what it takes (not a refusal of an unknown field)."""
    error = response.json()["error"]
    return response.status_code == 400 and error["param"] == field and "printable ASCII" in error["message"]


@pytest.mark.parametrize("value", ["", "req_img_ 1", " req_img_1", "req\timg", "req_é", "x" * 129])
def test_a_request_id_no_answer_can_have_is_a_400_naming_it(client: httpx.Client, value: str) -> None:
    listed = client.get("/_sim/requests", params={"request_id": value})
    assert refused_as_no_request_id(listed, "request_id"), listed.text
    counted = client.post("/_sim/requests/count", json={"match": {"request_id": value}})
    assert refused_as_no_request_id(counted, "match.request_id"), counted.text


@pytest.mark.parametrize("value", [123, None, ["req_img_1"]])
def test_a_count_by_a_request_id_that_is_no_string_is_a_400_naming_it(client: httpx.Client, value: object) -> None:
    counted = client.post("/_sim/requests/count", json={"match": {"request_id": value}})
    assert refused_as_no_request_id(counted, "match.request_id"), counted.text


def test_the_longest_request_id_a_filter_takes_is_taken(client: httpx.Client) -> None:
    assert client.get("/_sim/requests", params={"request_id": "x" * 128}).json() == {"requests": []}
