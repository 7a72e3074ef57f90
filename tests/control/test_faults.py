"""Fault actions seen through real clients: the openai SDK's retries, timeouts and connection errors, httpx on
truncated and malformed answers, native envelopes through the official SDKs, and reproducible rules."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from simulator.control.rules import rule_spec_from_json
from simulator.launcher import RunningServer
from simulator.registry import face_for_path
from spec.models import PERF_FACE
from spec.providers.bfl import BFL_MAX_BODY_BYTES

KEY = "pk_test_pro_control"
PERF_BODY = {"prompt": "a lighthouse at dusk"}
TOKEN_OPT_OUT = (
    "; it was read as a perf-sim fault token [sim:...] (docs/control.md), and perf-sim --no-prompt-tokens"
    " (a scenario's prompt_tokens = false) makes such text ordinary"
)
"""How every bad token's 400 ends: its writer may have meant ordinary text."""


def sdk(server: RunningServer, max_retries: int = 0, timeout: float = 30.0) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=f"{server.base_url}/openai/v1", max_retries=max_retries, timeout=timeout)


def add_fault(client: httpx.Client, rule: dict[str, object]) -> dict[str, object]:
    response = client.post("/_sim/faults", json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


def generate(client: httpx.Client, headers: dict[str, str] | None = None, body: dict[str, object] | None = None) -> httpx.Response:
    return client.post("/v1/images/generations", json=body or PERF_BODY, headers={"Authorization": f"Bearer {KEY}", **(headers or {})})


def test_openai_sdk_retries_through_two_503s_then_succeeds_and_the_journal_shows_three_attempts(
    sim: RunningServer, client: httpx.Client
) -> None:
    add_fault(client, {"match": {"face": "openai"}, "action": {"status": 503}, "times": 2})
    result = sdk(sim, max_retries=2).images.generate(model="dall-e-2", prompt="a red fox", size="256x256")
    assert result.data and result.data[0].url
    attempts = client.get("/_sim/requests", params={"face": "openai"}).json()["requests"]
    assert [entry["status"] for entry in attempts] == [200, 503, 503]
    assert [entry["fault"] for entry in attempts] == [None, "status=503", "status=503"]
    assert client.post("/_sim/requests/count", json={"match": {"face": "openai", "status": 503}}).json() == {"count": 2}
    (rule,) = client.get("/_sim/faults").json()["faults"]
    assert rule["fired"] == 2 and rule["remaining"] == 0


def test_openai_sdk_raises_its_timeout_error_on_a_delay_longer_than_its_timeout(sim: RunningServer) -> None:
    with pytest.raises(openai.APITimeoutError):
        sdk(sim, timeout=0.5).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "delay_ms=3000"})


def test_openai_sdk_raises_its_connection_error_on_drop(sim: RunningServer, client: httpx.Client) -> None:
    add_fault(client, {"match": {"path": "/openai/"}, "action": {"drop": True}})
    with pytest.raises(openai.APIConnectionError):
        sdk(sim).images.generate(prompt="a red fox", size="256x256")
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert entry["status"] is None and entry["fault"] == "drop"


def test_reset_is_a_connection_reset_by_peer_not_an_end_of_stream(sim: RunningServer, client: httpx.Client) -> None:
    """What a client under `reset` reads is ECONNRESET (a TCP RST), where `drop` gives it an orderly end of stream."""

    def read_after_sending(fault: str) -> bytes | type[OSError]:
        body = json.dumps(PERF_BODY).encode()
        request = (
            f"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nX-Sim-Fault: {fault}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as connection:
            connection.sendall(request + body)
            try:
                return connection.recv(1024)
            except ConnectionResetError:
                return ConnectionResetError

    assert read_after_sending("reset") is ConnectionResetError
    assert read_after_sending("drop") == b""
    entries = client.get("/_sim/requests").json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(None, "drop"), (None, "reset")]
    assert client.get(f"/_sim/usage/{KEY}").json()["minute"]["used"] == 0, "a reset runs no face: no quota"


def test_openai_sdk_raises_its_connection_error_on_reset_and_retries_through_it(sim: RunningServer, client: httpx.Client) -> None:
    with pytest.raises(openai.APIConnectionError):
        sdk(sim).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "reset"})
    add_fault(client, {"match": {"face": "openai"}, "action": {"reset": True}, "times": 1})
    assert sdk(sim, max_retries=1).images.generate(prompt="a red fox", size="256x256").data
    attempts = client.get("/_sim/requests").json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in attempts] == [(200, None), (None, "reset"), (None, "reset")]


def test_a_dribbled_answer_sends_its_headers_at_once_and_its_whole_body_in_parts_over_the_time_asked(
    sim: RunningServer, client: httpx.Client
) -> None:
    started = time.monotonic()
    with client.stream(
        "POST", "/v1/images/generations", json=PERF_BODY, headers={"Authorization": f"Bearer {KEY}", "X-Sim-Fault": "dribble_ms=1500"}
    ) as answer:
        headers_after = time.monotonic() - started
        parts = list(answer.iter_raw())
    body_after = time.monotonic() - started
    assert answer.status_code == 200 and json.loads(b"".join(parts))["data"][0]["url"]
    assert len(parts) > 3, "the body came in parts"
    assert body_after - headers_after >= 1.3, "the parts were spread over the 1.5 s asked"
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert (entry["status"], entry["fault"]) == (200, "dribble_ms=1500")
    assert client.get(f"/_sim/usage/{KEY}").json()["minute"]["used"] == 1, "the face answered: the image counts"


def test_openai_sdks_per_read_timeout_outlasts_a_body_dribbled_in_shorter_gaps_but_not_in_longer_ones(
    sim: RunningServer, client: httpx.Client
) -> None:
    """What `dribble_ms` is for: the SDK's `timeout` bounds each read, not the answer, so a body whose parts come
    0.25 s apart takes its 2.25 s under a 1 s timeout, while parts 1.5 s apart time it out. Both are journalled as the
    200 their status line said (docs/control.md): the entry is written as the first bytes leave."""
    started = time.monotonic()
    result = sdk(sim, timeout=1.0).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "dribble_ms=2250"})
    assert result.data and time.monotonic() - started >= 2.0
    with pytest.raises(openai.APITimeoutError):
        sdk(sim, timeout=1.0).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "dribble_ms=13500"})
    entries = client.get("/_sim/requests").json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(200, "dribble_ms=13500"), (200, "dribble_ms=2250")]


def test_openai_sdk_raises_a_bare_json_error_on_a_malformed_answer_and_does_not_retry_it(sim: RunningServer, client: httpx.Client) -> None:
    """Not an `openai.APIError`: an app's `except openai.APIError` does not catch it (docs/control.md's SDK table)."""
    with pytest.raises(json.JSONDecodeError) as raised:
        sdk(sim, max_retries=2).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "malformed"})
    assert not isinstance(raised.value, openai.APIError)
    assert [entry["fault"] for entry in client.get("/_sim/requests").json()["requests"]] == ["malformed"]


def test_openai_sdk_retries_a_truncated_answer_as_a_connection_error(sim: RunningServer, client: httpx.Client) -> None:
    with pytest.raises(openai.APIConnectionError):
        sdk(sim, max_retries=1).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "truncate"})
    attempts = client.get("/_sim/requests").json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in attempts] == [(200, "truncate"), (200, "truncate")]


def test_a_dribbled_error_keeps_its_envelope_and_a_dribble_cannot_join_a_dropped_connection(client: httpx.Client) -> None:
    answer = generate(client, headers={"X-Sim-Fault": "status=503;dribble_ms=200"})
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "service_unavailable"
    refused = generate(client, headers={"X-Sim-Fault": "dribble_ms=200;drop"})
    assert refused.status_code == 400 and "dribble_ms" in refused.json()["error"]["message"]


@pytest.mark.parametrize(("status", "raised_as"), [(429, openai.RateLimitError), (503, openai.InternalServerError)])
def test_openai_sdk_raises_at_once_on_an_injected_wait_longer_than_it_would_sleep(
    sim: RunningServer, client: httpx.Client, status: int, raised_as: type[openai.APIStatusError]
) -> None:
    """As on the Perf face: the SDK (which honours a Retry-After of up to two minutes) slept 120 s on a 503."""
    add_fault(client, {"match": {"face": "openai"}, "action": {"status": status, "retry_after": 120}})
    with pytest.raises(raised_as) as raised:
        sdk(sim, max_retries=2).images.generate(prompt="a storm", size="256x256")
    headers = raised.value.response.headers
    assert (headers["x-should-retry"], headers["retry-after"], headers["retry-after-ms"]) == ("false", "120", "120000")
    assert client.post("/_sim/requests/count", json={"match": {"status": status}}).json() == {"count": 1}, "no retry"


def test_a_rule_on_a_masked_key_as_the_journal_shows_it_fires_for_that_key(client: httpx.Client) -> None:
    generate(client)
    (entry,) = client.get("/_sim/requests").json()["requests"]
    add_fault(client, {"match": {"key": entry["key"]}, "action": {"status": 507}})
    assert generate(client).status_code == 507


def test_a_rules_key_is_shown_masked_as_the_journal_shows_it_and_still_matches_by_the_full_key(client: httpx.Client) -> None:
    """GET /_sim/faults echoed a rule's key whole, to any page (CORS is open), where every other listing masks it; a
    gateway's callers send their real provider keys."""
    secret = "pk_live_acme_trial_0123456789"
    created = add_fault(client, {"match": {"key": secret}, "action": {"status": 507}})
    generate(client, headers={"Authorization": f"Bearer {secret}"})
    (entry,) = client.get("/_sim/requests").json()["requests"]
    (listed,) = client.get("/_sim/faults").json()["faults"]
    assert created["match"] == listed["match"] == {"key": entry["key"], "key_id": entry["key_id"]}
    assert entry["status"] == 507 and listed["fired"] == 1
    assert secret not in client.get("/_sim/faults").text
    assert generate(client).status_code == 200, "another key is not matched by the masked form shown"


def test_a_rule_given_a_masked_key_shows_it_as_given(client: httpx.Client) -> None:
    assert add_fault(client, {"match": {"key": "pk_test_pro_…"}, "action": {"status": 507}})["match"] == {"key": "pk_test_pro_…"}


def test_openai_face_answers_a_fault_in_openai_envelope_through_the_sdk(sim: RunningServer) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        sdk(sim).images.generate(prompt="a red fox", size="256x256", extra_headers={"X-Sim-Fault": "status=429;retry_after=7"})
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.code == "rate_limit_exceeded"


def test_google_face_answers_a_fault_in_google_rpc_envelope_through_google_genai(sim: RunningServer, client: httpx.Client) -> None:
    add_fault(client, {"match": {"face": "google"}, "action": {"status": 503, "message": "try later"}})
    gemini = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=sim.base_url + "/google"))
    with pytest.raises(genai_errors.ServerError) as raised:
        gemini.models.generate_images(model="imagen-3.0-generate-002", prompt="a red fox")
    assert raised.value.code == 503 and raised.value.status == "UNAVAILABLE" and raised.value.message == "try later"


def test_truncated_answer_breaks_off_mid_body(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        generate(client, {"X-Sim-Fault": "truncate"})


def test_malformed_answer_is_a_200_whose_body_is_not_json(client: httpx.Client) -> None:
    response = generate(client, {"X-Sim-Fault": "malformed"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_prompt_token_applies_its_action_for_clients_that_cannot_set_headers(client: httpx.Client) -> None:
    response = generate(client, body={"prompt": "a fox [sim:status=500;type=internal_error]"})
    assert response.status_code == 500 and response.json()["error"]["type"] == "internal_error"


def test_an_error_fault_consumes_no_quota_but_a_delayed_answer_does(client: httpx.Client) -> None:
    generate(client, {"X-Sim-Fault": "status=503"})
    assert client.get(f"/_sim/usage/{KEY}").json()["minute"]["used"] == 0
    assert generate(client, {"X-Sim-Fault": "delay_ms=10"}).status_code == 200
    assert client.get(f"/_sim/usage/{KEY}").json()["minute"]["used"] == 1


def statuses_under_a_half_probability_rule(client: httpx.Client) -> list[int]:
    client.post("/_sim/reset").raise_for_status()
    add_fault(client, {"match": {"face": "perf"}, "action": {"status": 503}, "probability": 0.5})
    return [generate(client).status_code for _ in range(16)]


def test_probability_faults_are_the_same_on_every_run_with_one_seed(client: httpx.Client) -> None:
    first = statuses_under_a_half_probability_rule(client)
    assert 0 < first.count(503) < 16
    assert statuses_under_a_half_probability_rule(client) == first
    (rule,) = client.get("/_sim/faults").json()["faults"]
    assert rule["fired"] == first.count(503) and rule["remaining"] is None


def test_times_applies_a_rule_to_the_next_n_matching_requests_only(client: httpx.Client) -> None:
    add_fault(client, {"match": {"prompt": "^storm"}, "action": {"status": 502}, "times": 2})
    assert generate(client).status_code == 200
    assert [generate(client, body={"prompt": "storm over sea"}).status_code for _ in range(3)] == [502, 502, 200]


def test_rules_are_listed_deleted_one_by_one_and_all_at_once(client: httpx.Client) -> None:
    first = add_fault(client, {"match": {"model": "dall-e-3"}, "action": {"delay_ms": 5}})
    add_fault(client, {"action": {"drop": True}, "namespace": "other"})
    assert client.delete(f"/_sim/faults/{first['id']}").json() == {"deleted": 1}
    missing = client.delete(f"/_sim/faults/{first['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    assert [r["namespace"] for r in client.get("/_sim/faults").json()["faults"]] == ["other"]
    assert client.delete("/_sim/faults").json() == {"deleted": 1}


@pytest.mark.parametrize(
    ("rule", "param"),
    [
        ({"action": {"status": 200}}, "action.status"),
        ({"action": {"status": 503, "drop": True}}, "action"),
        ({"action": {"delay": 5}}, "action.delay"),
        ({"action": {"retry_after": 5}}, "action.retry_after"),
        ({"action": {"status": 429, "retry_after": 0}}, "action.retry_after"),
        ({"match": {"face": "dalle"}, "action": {"drop": True}}, "match.face"),
        ({"match": {"prompt": "("}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "a{4294967296}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "a{1000000000}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "x(?:[ab]{1000}){1000}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "(?:(?:a{1000}){0,1}){1000}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "a{" + "9" * 5000 + "}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "a{000000010000000}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "(?#[)a{10000000}(?#])"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "(?x)a{3 000 000}"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "(?V0)(?V1)a"}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "|".join(["fox"] * 3000)}, "action": {"drop": True}}, "match.prompt"),
        ({"match": {"prompt": "(" * 500 + ")" * 500}, "action": {"drop": True}}, "match.prompt"),
        ({"action": {"delay_ms": 0}}, "action.delay_ms"),
        ({"action": {"drop": True}, "times": 0}, "times"),
        ({"action": {"drop": True}, "probability": 2}, "probability"),
        ({"action": {"drop": True}, "probability": 0}, "probability"),
        ({"match": {"face": "perf", "path": "/openai/"}, "action": {"drop": True}}, "match.path"),
        ({"action": {"drop": True}, "namespace": "no spaces"}, "namespace"),
        ({"match": {}}, "action"),
        ({"action": {"status": 500, "type": "made_up_error"}}, "action.type"),
        ({"match": None, "action": {"drop": True}}, "match"),
        ({"match": {"path": ""}, "action": {"drop": True}}, "match.path"),
        ({"match": {"path": "v1/images"}, "action": {"drop": True}}, "match.path"),
        ({"action": {"status": True}}, "action.status"),
        ({"action": {"status": 503.5}}, "action.status"),
        ({"action": {"drop": True}, "times": 2.5}, "times"),
        ({"match": {"status": 200.5}, "action": {"drop": True}}, "match.status"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(client: httpx.Client, rule: dict[str, object], param: str) -> None:
    response = client.post("/_sim/faults", json=rule)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert "True" not in response.json()["error"]["message"], "a value is shown as JSON, not as Python"


@pytest.mark.parametrize(
    "pattern", ["a{4000}", r"\{1000000000\}", "[{1000000000}]", "fox{0,1000000000}", "(?x) a{40 00} # a{9999999}", "f" * 10_000]
)
def test_a_prompt_pattern_whose_repeats_need_few_items_is_taken_however_large_its_numbers(client: httpx.Client, pattern: str) -> None:
    """Only a repeat's least count is written out when a pattern compiles: a literal brace, a class or an upper bound
    costs nothing, so the bound on repeats refuses none of them."""
    assert client.post("/_sim/faults", json={"match": {"prompt": pattern}, "action": {"drop": True}}).status_code == 201


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("openai/v1", "must start with /"),
        ("/_sim/ns/job-a/v1/images", "without a /_sim/ns/<name> base path"),
        ("/_sim/health", "never faulted"),
        ("/v1/" + "a" * 600, "could never match"),
        ("/v1/images?x=1", "without its query"),
        ("/_sim", "never faulted"),
    ],
)
def test_a_path_prefix_no_request_can_have_is_refused_by_rules_the_journals_filter_and_count(
    client: httpx.Client, path: str, says: str
) -> None:
    listed = client.get("/_sim/requests", params={"path": path})
    counted = client.post("/_sim/requests/count", json={"match": {"path": path}})
    added = client.post("/_sim/faults", json={"match": {"path": path}, "action": {"status": 503}})
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, "path")
    assert (counted.status_code, counted.json()["error"]["param"]) == (400, "match.path")
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.path")
    assert says in added.json()["error"]["message"]


PERF_TAKES = "(which takes the paths no other face serves)"
"""How a refusal says the Perf API's paths: any path no other face serves is its (/v2/x, /nope), not only /v1/..."""


@pytest.mark.parametrize(
    ("face", "path", "owner", "said"),
    [
        ("perf", "/openai/v1/images", "openai", f"openai face (whose paths start with /openai/), not of match.face 'perf' {PERF_TAKES}"),
        ("openai", "/v1/images/generations", "perf", "perf face, not of match.face 'openai' (whose paths start with /openai/)"),
        (
            "bfl",
            "/v1/images",
            "perf",
            "perf face, not of match.face 'bfl' (whose paths start with /bfl/, /v1/flux-, /v1/get_result/, /v1/licenses/, /v1/get_result)",
        ),
        (
            "perf",
            "/v1/flux-pro",
            "bfl",
            "bfl face (whose paths start with /bfl/, /v1/flux-, /v1/get_result/, /v1/licenses/, /v1/get_result), not of match.face "
            f"'perf' {PERF_TAKES}",
        ),
        ("google", "/images/generations", "perf", "perf face, not of match.face 'google' (whose paths start with /google/)"),
        (
            "stability",
            "/openai",
            "perf or openai",
            "perf or openai face, not of match.face 'stability' (whose paths start with /stability/)",
        ),
    ],
)
def test_a_face_and_a_path_no_request_can_have_together_are_refused_by_rules_the_journals_filter_and_count(
    client: httpx.Client, face: str, path: str, owner: str, said: str
) -> None:
    """`{"face": "perf", "path": "/openai/"}` was taken, listed and never fired: the silent typo a path without its `/`
    is refused for. The refusal says the Perf API takes every path no other face serves: it said its paths "start
    with /v1/", though /v2/x and /nope are journalled as its, as if a perf rule could not match a 404 there."""
    listed = client.get("/_sim/requests", params={"face": face, "path": path})
    counted = client.post("/_sim/requests/count", json={"match": {"face": face, "path": path}})
    added = client.post("/_sim/faults", json={"match": {"face": face, "path": path}, "action": {"status": 503}})
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, "path")
    assert (counted.status_code, counted.json()["error"]["param"]) == (400, "match.path")
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.path")
    assert added.json()["error"]["message"] == f"match.path '{path}' is a path of the {said}, so it could never match"
    assert listed.json()["error"]["message"].startswith(f"path '{path}' is a path of the {owner} face")
    assert f"not of face '{face}'" in listed.json()["error"]["message"]
    assert client.get("/_sim/faults").json()["faults"] == []


@pytest.mark.parametrize(
    ("face", "path", "sent"),
    [
        ("bfl", "/v1/", "/v1/flux-pro"),
        ("perf", "/v1/", "/v1/images/generations"),
        ("perf", "/", "/v1/images/generations"),
        ("openai", "/openai", "/openai/v1/images/generations"),
        ("perf", "/openai", "/openaiv1/images/generations"),
        ("bfl", "/v1/get_result", "/v1/get_result"),
        ("perf", "/v1/get_result", "/v1/get_results"),
        ("perf", "/v2/", "/v2/images/generations"),
    ],
)
def test_a_face_and_a_path_some_request_has_together_are_taken_and_fault_it(client: httpx.Client, face: str, path: str, sent: str) -> None:
    """A prefix several faces' paths start with is taken with any of them (`/v1/` is the Perf API's and BFL's root
    paths'), and a path no face serves is the Perf API's (its 404), as the journal shows it."""
    add_fault(client, {"match": {"face": face, "path": path}, "action": {"status": 503}, "times": 1})
    assert client.post(sent, json=PERF_BODY, headers={"Authorization": f"Bearer {KEY}", "x-key": KEY}).status_code == 503
    [entry] = client.get("/_sim/requests", params={"face": face, "path": path}).json()["requests"]
    assert (entry["face"], entry["path"], entry["status"]) == (face, sent, 503)


SERVED_PATHS = (
    "/v1/images/generations",
    "/v1/models",
    "/v1/flux-pro",
    "/v1/flux-pro-1.1",
    "/v1/get_result",
    "/v1/get_result/",
    "/v1/licenses/x",
    "/openai/v1/images/generations",
    "/openai",
    "/stability/v2beta/stable-image/generate/sd3",
    "/bfl/v1/flux-dev",
    "/ideogram/generate",
    "/google/v1beta/models/imagen-3.0-generate-002:predict",
    "/google/v1beta1/projects/p/locations/l/publishers/google/models/imagen-3.0-generate-002:predict",
    "/images/generations",
    "/openaiv1/images",
    "/v1/get_results",
)
"""Paths of every face (and paths no face serves, which are the Perf API's 404s), for the agreement of face and path."""


def test_every_prefix_of_a_requests_path_is_taken_with_the_face_the_request_has() -> None:
    """The face-and-path check refuses only what can never match: never a prefix of a path with its own face."""
    for path in SERVED_PATHS:
        face = face_for_path(path) or PERF_FACE
        for end in range(1, len(path) + 1):
            rule_spec_from_json({"match": {"face": face, "path": path[:end]}, "action": {"drop": True}})


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("times", 0, "0"),
        ("times", -1, "-1"),
        ("times", 2.5, "2.5"),
        ("probability", 0, "0"),
        ("probability", 1.5, "1.5"),
        ("probability", "0.5", "'0.5'"),
    ],
)
def test_a_refused_times_or_probability_ends_with_the_value_it_got(client: httpx.Client, field: str, value: object, shown: str) -> None:
    """Every other field's refusal ends `got <value>`; these two said only what they take."""
    added = client.post("/_sim/faults", json={"action": {"drop": True}, field: value})
    assert (added.status_code, added.json()["error"]["param"]) == (400, field)
    assert added.json()["error"]["message"].endswith(f", got {shown}")
    if field == "probability":
        assert "above 0 and at most 1" in added.json()["error"]["message"]


@pytest.mark.parametrize("method", ["POTS", "x", "/", "(?", "\u0000", "P" * 5000, "BREW", "poſt", "GET "])
def test_a_method_no_request_to_a_face_can_have_is_refused_by_rules_the_journals_filter_and_count(
    client: httpx.Client, method: str
) -> None:
    """A rule with `method = "POTS"` (a typo) was taken, listed and never fired: a scenario that quietly never faulted."""
    listed = client.get("/_sim/requests", params={"method": method})
    counted = client.post("/_sim/requests/count", json={"match": {"method": method}})
    added = client.post("/_sim/faults", json={"match": {"method": method}, "action": {"status": 503}})
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, "method")
    assert (counted.status_code, counted.json()["error"]["param"]) == (400, "match.method")
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.method")
    assert (
        "an HTTP method, in any case (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, PURGE, ...), got"
        in (added.json()["error"]["message"])
    )
    assert len(added.json()["error"]["message"]) < 200
    assert client.get("/_sim/faults").json()["faults"] == []


@pytest.mark.parametrize("method", ["TRACE", "PURGE", "PROPFIND", "M-SEARCH"])
def test_a_method_the_journal_lists_can_be_selected_counted_and_faulted(client: httpx.Client, method: str) -> None:
    """uvicorn's parser passes RFC 9110's TRACE and CONNECT, Varnish's PURGE, WebDAV's PROPFIND, ...: each gets a 405
    the journal lists, and `?method=` refused them (a 400), so the journal's filter could not select its own entries."""
    path = f"/v1/images/generations/{method.lower()}"
    assert client.request(method, path).status_code in (404, 405)
    listed = client.get("/_sim/requests", params={"method": method.lower(), "path": path})
    assert listed.status_code == 200 and [entry["method"] for entry in listed.json()["requests"]] == [method]
    assert client.post("/_sim/requests/count", json={"match": {"method": method, "path": path}}).json() == {"count": 1}
    rule = client.post("/_sim/faults", json={"match": {"method": method.lower(), "path": path}, "action": {"status": 503}})
    assert rule.status_code == 201 and rule.json()["match"]["method"] == method
    assert client.request(method, path).status_code == 503


@pytest.mark.parametrize(("method", "sent"), [("post", "POST"), ("Put", "PUT"), ("options", "OPTIONS")])
def test_a_rules_method_in_any_case_faults_the_requests_of_that_method(client: httpx.Client, method: str, sent: str) -> None:
    """PUT is answered 405 by every face, and a rule may still fault it; OPTIONS is a browser's preflight."""
    rule = client.post("/_sim/faults", json={"match": {"method": method, "path": "/v1/images/"}, "action": {"status": 503}})
    assert rule.status_code == 201 and rule.json()["match"]["method"] == sent
    assert client.request(sent, "/v1/images/generations", json={"prompt": "a fox"}).status_code == 503


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"action": {"status": 503}, "action": {"drop": true}}', "action"),
        (b'{"action": {"status": 503, "status": 504}}', "action.status"),
        (b'{"action": {"drop": true}, "namespace": "a", "namespace": "b"}', "namespace"),
    ],
)
def test_a_rule_naming_a_field_twice_is_refused_not_read_as_its_last_value(client: httpx.Client, body: bytes, param: str) -> None:
    added = client.post("/_sim/faults", content=body, headers={"Content-Type": "application/json"})
    assert (added.status_code, added.json()["error"]["param"]) == (400, param)
    assert "twice" in added.json()["error"]["message"]
    assert client.get("/_sim/faults").json()["faults"] == []


def test_a_path_prefix_beside_the_simulators_own_is_taken(client: httpx.Client) -> None:
    assert client.post("/_simple/thing").status_code == 404
    assert client.post("/_sim/requests/count", json={"match": {"path": "/_simple"}}).json() == {"count": 1}


@pytest.mark.parametrize("masked", ["pk_test_free…", "pk_test_ente…", "pk_test_pro…"])
def test_a_ready_made_keys_mask_without_its_whole_tier_is_refused_naming_the_form_it_now_has(client: httpx.Client, masked: str) -> None:
    added = client.post("/_sim/faults", json={"match": {"key": masked}, "action": {"status": 503}})
    listed = client.get("/_sim/requests", params={"key": masked})
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.key")
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, "key")
    assert "pk_test_" in added.json()["error"]["message"] and "_…" in added.json()["error"]["message"]


@pytest.mark.parametrize("key", [" pk_test_pro_control", "pk_test_pro_control\n", "pk_test_pro_…\t", "\u00a0x"])
def test_a_key_with_white_space_at_either_end_is_refused_as_it_can_select_no_request(client: httpx.Client, key: str) -> None:
    """Every face strips the key it reads, so no entry's key starts or ends with white space: a pasted key with a
    space or a line break listed nothing and counted 0, and its rule never fired."""
    assert generate(client, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    listed = client.get("/_sim/requests", params={"key": key})
    counted = client.post("/_sim/requests/count", json={"match": {"key": key}})
    added = client.post("/_sim/faults", json={"match": {"key": key}, "action": {"status": 503}})
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, "key")
    assert (counted.status_code, counted.json()["error"]["param"]) == (400, "match.key")
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.key")
    assert "white space" in added.json()["error"]["message"] and client.get("/_sim/faults").json()["faults"] == []


def test_a_match_key_holding_a_lone_surrogate_is_refused_as_no_key_read_holds_one(client: httpx.Client) -> None:
    body = b'{"match": {"key": "pk_test_pro_\\ud800x"}, "action": {"status": 503}}'
    added = client.post("/_sim/faults", content=body, headers={"Content-Type": "application/json"})
    counted = client.post("/_sim/requests/count", content=body.replace(b', "action": {"status": 503}', b""))
    assert (added.status_code, added.json()["error"]["param"]) == (400, "match.key")
    assert (counted.status_code, counted.json()["error"]["param"]) == (400, "match.key")


@pytest.mark.parametrize(
    ("sent", "asked"),
    [("x", "x"), ("x", "…"), ("ab cd efghij", "ab cd …"), ("%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9", "éééééééé")],
    ids=["short", "short-masked", "inner-spaces-masked", "non-ascii"],
)
def test_a_key_breaking_the_key_rule_still_selects_the_requests_that_sent_it(client: httpx.Client, sent: str, asked: str) -> None:
    """Such a key is journalled with the face's refusal; which request sent it is what someone reading that answer
    asks, so only what no request can carry is refused (Google's `?key=` carries any text)."""
    path = f"/google/v1beta/models/imagen-4.0-generate-001:predict?key={sent}"
    assert client.post(path, json={"instances": [{"prompt": "a"}]}).status_code == 400
    listed = client.get("/_sim/requests", params={"key": asked})
    assert listed.status_code == 200 and [entry["path"] for entry in listed.json()["requests"]] == [path.split("?")[0]]
    assert client.post("/_sim/requests/count", json={"match": {"key": asked}}).json() == {"count": 1}
    assert client.post("/_sim/faults", json={"match": {"key": asked}, "action": {"status": 503}}).status_code == 201


@pytest.mark.parametrize("name", ["path", "method", "model", "key"])
def test_an_empty_journal_filter_is_refused_not_read_as_any_or_as_none(client: httpx.Client, name: str) -> None:
    listed = client.get("/_sim/requests", params={name: ""})
    assert (listed.status_code, listed.json()["error"]["param"]) == (400, name)


def test_a_whole_number_written_with_a_zero_fraction_is_that_number_as_the_openapi_document_says(client: httpx.Client) -> None:
    """JSON Schema's "integer" takes 503.0 (what some encoders write for a whole float), as the Perf API takes n=2.0."""
    rule = add_fault(client, {"match": {"prompt": "^storm"}, "action": {"status": 503.0, "retry_after": 2.0}, "times": 2.0})
    assert (rule["action"], rule["times"]) == ({"status": 503, "retry_after": 2}, 2)
    assert [generate(client, body={"prompt": "storm"}).status_code for _ in range(3)] == [503, 503, 200]
    assert client.post("/_sim/requests/count", json={"match": {"status": 503.0}}).json() == {"count": 2}


def test_null_times_or_probability_is_the_field_left_out(client: httpx.Client) -> None:
    rule = add_fault(client, {"match": {"prompt": "^storm"}, "action": {"status": 502}, "times": None, "probability": None})
    assert (rule["times"], rule["probability"]) == (None, 1.0)
    assert [generate(client, body={"prompt": "storm"}).status_code for _ in range(3)] == [502, 502, 502]


@pytest.mark.parametrize(
    ("headers", "body", "param"),
    [
        ({"X-Sim-Fault": "status=abc"}, PERF_BODY, "X-Sim-Fault"),
        ({"X-Sim-Fault": "explode"}, PERF_BODY, "X-Sim-Fault"),
        ({}, {"prompt": "a fox [sim:status=700]"}, "prompt"),
        ({"X-Sim-Fault": "status=503;status=500"}, PERF_BODY, "X-Sim-Fault"),
        ({}, {"prompt": "a fox [sim:status=\u00b2]"}, "prompt"),
        ({}, {"prompt": "a fox [sim:status=\u0665\u0660\u0663]"}, "prompt"),
        ({}, {"prompt": "a fox [sim:delay_ms=" + "1" * 4400 + "]"}, "prompt"),
        ({"X-Sim-Namespace": "../etc"}, PERF_BODY, "X-Sim-Namespace"),
        ({"X-Sim-Fault": "status=500;type=made_up_error"}, PERF_BODY, "X-Sim-Fault"),
        ({"X-Sim-Fault": "status=500"}, {"prompt": "a fox [sim:status=abc]"}, "prompt"),
        ({"X-Sim-Fault": "status=500"}, {"prompt": "a fox [sim:status=503"}, "prompt"),
        ({"X-Sim-Fault": "status=503;message=%FF"}, PERF_BODY, "X-Sim-Fault"),
    ],
)
def test_a_bad_header_or_token_is_a_400_in_the_perf_envelope(
    client: httpx.Client, headers: dict[str, str], body: dict[str, object], param: str
) -> None:
    response = generate(client, headers, body)
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request", "message": response.json()["error"]["message"], "param": param}
    # Journalled like any API request (one refused for its namespace in the default namespace), so the log shows it.
    assert client.post("/_sim/requests/count", json={"match": {"status": 400}}).json() == {"count": 1}


@pytest.mark.parametrize(
    ("via", "gateway"),
    [
        ([("Via", "1.1 perf-sim")], True),
        ([("Via", "1.0 fred, 1.1 perf-sim")], True),
        ([("Via", "HTTP/1.1 perf-sim (a gateway, on 127.0.0.1)")], True),
        ([("Via", "1.0 fred"), ("Via", "1.1 perf-sim")], True),
        ([("Via", "1.1 corp-perf-simple-lb")], False),
        ([("Via", "1.1 perf-simulator")], False),
        ([("Via", "1.1 proxy (in front of perf-sim)")], False),
        ([("Via", "1.1 proxy (x, 1.1 perf-sim)")], False),
    ],
    ids=[
        "gateway",
        "gateway-after-a-proxy",
        "gateway-with-a-comment",
        "gateway-in-a-second-line",
        "name-holding-it",
        "longer-name",
        "named-in-a-comment",
        "hop-in-a-comment",
    ],
)
def test_only_a_via_hop_received_by_perf_sim_itself_marks_a_gateways_call_whose_prompt_token_is_not_applied_again(
    client: httpx.Client, via: list[tuple[str, str]], gateway: bool
) -> None:
    """A received-by of exactly `perf-sim`, in any hop of any `Via` line. Any `Via` holding the text "perf-sim"
    used to pass, so a proxy named `corp-perf-simple-lb` silently turned prompt tokens off, a broken one included."""
    headers = [("Authorization", f"Bearer {KEY}"), *via]
    path = "/v1/images/generations"
    applied = client.post(path, json={"prompt": "a fox [sim:status=503]"}, headers=headers)
    broken = client.post(path, json={"prompt": "a fox [sim:bogus]"}, headers=headers)
    assert (applied.status_code, broken.status_code) == ((200, 200) if gateway else (503, 400)), (applied.text, broken.text)


@pytest.mark.parametrize(
    ("headers", "body", "says"),
    [
        ({"X-Sim-Fault": "=503"}, PERF_BODY, "X-Sim-Fault: '=503' has no name before its '='"),
        ({"X-Sim-Fault": "status=503; = 2"}, PERF_BODY, "X-Sim-Fault: '= 2' has no name before its '='"),
        ({}, {"prompt": "a fox [sim:=503]"}, "prompt: '=503' has no name before its '='"),
    ],
)
def test_a_fault_part_with_no_name_says_the_name_is_missing(
    client: httpx.Client, headers: dict[str, str], body: dict[str, object], says: str
) -> None:
    """It read as an empty name: "X-Sim-Fault:  is not an action field", two spaces where the name should be."""
    response = generate(client, headers, body)
    assert response.status_code == 400 and response.json()["error"]["message"].startswith(says)
    listed = client.get("/_sim/requests", params={"fault": "=503"})
    assert listed.status_code == 400 and listed.json()["error"]["message"].startswith("fault: '=503' has no name before its '='")


@pytest.mark.parametrize(("name", "first", "second"), [("X-Sim-Fault", "status=503", "delay_ms=10"), ("X-Sim-Namespace", "job-a", "job-b")])
def test_a_control_header_given_twice_with_different_values_is_a_400_naming_both(
    client: httpx.Client, name: str, first: str, second: str
) -> None:
    """Neither value is ignored: the first winning would silently drop the other's fault or namespace."""
    headers = [("Authorization", f"Bearer {KEY}"), (name, first), (name, second)]
    response = client.post("/v1/images/generations", json=PERF_BODY, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and error["param"] == name
    assert error["message"] == f"{name} given 2 different values ({first!r}, {second!r}); send one"
    assert client.post("/_sim/requests/count", json={"match": {"status": 400}}).json() == {"count": 1}


def test_a_control_header_repeated_with_the_same_value_is_one_header(client: httpx.Client) -> None:
    headers = [("Authorization", f"Bearer {KEY}"), ("X-Sim-Fault", "status=503"), ("X-Sim-Fault", "status=503")]
    assert client.post("/v1/images/generations", json=PERF_BODY, headers=headers).status_code == 503
    namespaced = [("Authorization", f"Bearer {KEY}"), ("X-Sim-Namespace", "job-a"), ("X-Sim-Namespace", "job-a")]
    assert client.post("/v1/images/generations", json=PERF_BODY, headers=namespaced).status_code == 200
    assert client.post("/_sim/requests/count?namespace=job-a", json={"match": {"status": 200}}).json() == {"count": 1}


def test_a_fault_header_with_a_digit_of_another_script_is_a_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/images/generations", json=PERF_BODY, headers=[(b"Authorization", f"Bearer {KEY}".encode()), (b"X-Sim-Fault", b"status=\xb2")]
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "X-Sim-Fault"


def test_a_browser_app_sees_an_injected_fault_and_its_preflight_is_never_faulted(client: httpx.Client) -> None:
    add_fault(client, {"match": {"face": "perf"}, "action": {"status": 503}, "times": 1})
    origin = {"Origin": "http://app.example"}
    preflight = client.options("/v1/images/generations", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    faulted = generate(client, origin)
    assert faulted.status_code == 503 and faulted.headers["access-control-allow-origin"] == origin["Origin"]
    malformed = generate(client, {**origin, "X-Sim-Fault": "malformed"})
    assert malformed.status_code == 200 and malformed.headers["access-control-allow-origin"] == origin["Origin"]
    refused = generate(client, {**origin, "X-Sim-Namespace": "no spaces"})
    assert refused.status_code == 400 and refused.headers["access-control-allow-origin"] == origin["Origin"]


def test_a_rule_or_count_whose_prompt_pattern_backtracks_without_end_stops_in_time(client: httpx.Client) -> None:
    # `re` would search `^(a|aa)+$` in this prompt for minutes, holding every request.
    add_fault(client, {"match": {"prompt": "^(a|aa)+$"}, "action": {"status": 503}})
    stalling: dict[str, object] = {"prompt": "a" * 60 + "!"}
    assert generate(client, body=stalling).status_code == 200, "the rule does not match what it cannot search in time"
    assert generate(client, body={"prompt": "aaaa"}).status_code == 503
    count = client.post("/_sim/requests/count", json={"match": {"prompt": "^(a|aa)+$"}})
    assert count.status_code == 400 and count.json()["error"]["param"] == "match.prompt"
    listing = client.get("/_sim/requests", params={"prompt": "^(a|aa)+$"})
    assert listing.status_code == 400 and listing.json()["error"]["param"] == "prompt", "a listing gets a count's time, and says so"


def test_a_count_whose_prompt_pattern_backtracks_does_not_hold_up_other_requests(client: httpx.Client) -> None:
    for _ in range(30):
        generate(client, body={"prompt": "a" * 40 + "!"})
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=client.base_url, timeout=60) as counting:
        count = pool.submit(counting.post, "/_sim/requests/count", json={"match": {"prompt": "(a|aa)+$"}})
        time.sleep(0.3)  # the count is searching by now: it searches for COUNT_SEARCH_SECONDS (2 s)
        assert client.get("/_sim/health").status_code == 200
        assert not count.done(), "the health check was answered while the count searched"
        assert count.result().status_code == 400


def test_a_fault_message_reaches_the_client_as_the_test_wrote_it_from_a_header_or_a_token(client: httpx.Client) -> None:
    message = 'Café "closé"\nfor now'
    token = generate(client, body={"prompt": f"a fox [sim:status=503;message={message}]"})
    headers = {b"Authorization": f"Bearer {KEY}".encode(), b"X-Sim-Fault": "status=503;message=Café fermé".encode()}
    header = client.post("/v1/images/generations", json=PERF_BODY, headers=headers)
    assert token.json()["error"]["message"] == message
    assert header.json()["error"]["message"] == "Café fermé"
    escaped = generate(client, {"X-Sim-Fault": "status=503;message=a%3Bb%5D 100%25 caf%C3%A9"})
    assert escaped.json()["error"]["message"] == "a;b] 100% café", "a value's ; ] % and any character may be percent-encoded"
    in_token = generate(client, body={"prompt": "a fox [sim:status=503;message=one%3B two%5D] and the rest"})
    assert in_token.json()["error"]["message"] == "one; two]"
    form = {"prompt": (None, "a fox [sim:status=503;message=see C:\\new\\temp]")}
    stability = client.post("/stability/v2beta/stable-image/generate/sd3", files=form, headers={"Authorization": f"Bearer {KEY}"})
    assert stability.json()["errors"] == ["see C:\\new\\temp"], "a form holds the text as written, escapes and all"


def test_a_delayed_request_does_not_hold_up_other_requests(client: httpx.Client) -> None:
    with ThreadPoolExecutor(1) as pool:
        delayed = pool.submit(generate, httpx.Client(base_url=client.base_url, timeout=60), {"X-Sim-Fault": "delay_ms=5000"})
        while not client.get("/_sim/requests").json()["requests"] and not delayed.done():
            assert generate(client).status_code == 200
        assert not delayed.done(), "other requests were answered while the delayed one waited"
        assert delayed.result().status_code == 200


def test_a_delay_ends_when_its_client_gives_up(client: httpx.Client) -> None:
    """A forgotten ten-minute delay would otherwise hold its task long after the client's own timeout: the journal
    shows the request, unanswered, as soon as the client has left."""
    with pytest.raises(httpx.TimeoutException):
        headers = {"Authorization": f"Bearer {KEY}", "X-Sim-Fault": "delay_ms=600000"}
        client.post("/v1/images/generations", json=PERF_BODY, headers=headers, timeout=1)
    for _ in range(50):
        entries = client.get("/_sim/requests").json()["requests"]
        if entries:
            break
        time.sleep(0.1)
    (entry,) = entries
    assert (entry["fault"], entry["status"]) == ("delay_ms=600000", None)


@pytest.mark.parametrize(
    ("call", "body", "param"),
    [
        ("/_sim/requests/count", {"match": None}, "match"),
        ("/_sim/requests/count", {"match": {"status": None}}, "match.status"),
        ("/_sim/requests/count", {"match": {"method": ""}}, "match.method"),
        ("/_sim/clock/advance", {"seconds": 3_155_760_001}, "seconds"),
    ],
)
def test_a_control_call_refuses_what_its_document_refuses_naming_the_field(
    client: httpx.Client, call: str, body: dict[str, object], param: str
) -> None:
    """The control API's OpenAPI document says a match is an object of non-empty strings and a status, and an advance
    at most 100 years: a null or empty value is a 400, not "match everything"."""
    response = client.post(call, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize("status", ["1e400", "[1e400]"])
def test_a_number_past_a_floats_range_is_quoted_as_sent_not_as_null(client: httpx.Client, status: str) -> None:
    """1e400 parses as infinity, which JSON cannot write back: shown as JSON, it read "got null" (`[null]` in an array)."""
    body = b'{"action": {"status": ' + status.encode() + b"}}"
    response = client.post("/_sim/faults", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"].endswith(f"got {status}")


@pytest.mark.parametrize("value", ["1e400", "true", "[1e400]", '{"a": null}', '"-dash"'])
@pytest.mark.parametrize(
    ("call", "body", "param"),
    [
        ("/_sim/faults", '{"action": {"status": 503}, "namespace": VALUE}', "namespace"),
        ("/_sim/requests/count", '{"match": {}, "namespace": VALUE}', "namespace"),
        ("/_sim/faults", '{"action": {"status": 503, "type": VALUE}}', "action.type"),
    ],
)
def test_a_refused_namespace_or_error_type_is_quoted_as_the_client_wrote_it_in_json(
    client: httpx.Client, value: str, call: str, body: str, param: str
) -> None:
    """A JSON client reads `got true`, `got {"a": null}`: Python's `True`, `inf` and `{'a': None}` name values in a
    language it did not write. A string keeps its quotes, which show where it starts and ends."""
    sent = body.replace("VALUE", value).encode()
    response = client.post(call, content=sent, headers={"Content-Type": "application/json"})
    error = response.json()["error"]
    expected = f"'{json.loads(value)}'" if value.startswith('"') else value
    assert response.status_code == 400 and error["param"] == param and error["message"].endswith(f"got {expected}"), error


def test_an_unclosed_token_is_named_so_where_the_body_itself_holds_a_bracket_after_it(client: httpx.Client) -> None:
    """Google's body closes its instances list right after the prompt: that `]` is the body's, not the token's."""
    body = {"instances": [{"prompt": "a fox [sim:status=503"}], "parameters": {"sampleCount": 1}}
    response = client.post("/google/v1beta/models/imagen-3.0-generate-002:predict", json=body, headers={"x-goog-api-key": KEY})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("prompt holds '[sim:' without its closing ']'"), response.text
    quoted = generate(client, body={"prompt": 'say \\"hi\\" [sim:status=503;message=a \\"quoted\\" word]'})
    assert quoted.status_code == 503 and quoted.json()["error"]["message"] == 'a \\"quoted\\" word'


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        (
            {"headers": {"X-Sim-Fault": "status=9999999999999999999"}},
            "status must be a whole number from 400 to 599, got 9999999999999999999",
        ),
        ({"headers": {"X-Sim-Fault": "status=99999"}}, "status must be a whole number from 400 to 599, got 99999"),
        ({"headers": {"X-Sim-Fault": "status=429;retry_after=1.5"}}, "retry_after must be a whole number from 1 to 86400, got '1.5'"),
        (
            {"body": {"prompt": "a fox [sim:status=503;delay_ms=0]"}},
            "delay_ms must be a whole number from 1 to 600000, got 0" + TOKEN_OPT_OUT,
        ),
    ],
    ids=["more digits than any status", "a status out of range", "a fraction", "a token's zero"],
)
def test_a_refused_number_in_header_form_says_its_range_named_as_the_header_writes_it(
    client: httpx.Client, sent: dict[str, Any], says: str
) -> None:
    """A rule says `action.retry_after must be a whole number from 1 to 86400`; the header said only "must be a whole
    number", even of 19 nines, which is one: the header's own spelling now says the same range."""
    error = generate(client, **sent).json()["error"]
    assert error["message"] == f"{error['param']}: {says}", error


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("code arr[sim:end] here", "prompt: 'end' is neither name=value nor one of drop, reset, truncate, malformed"),
        ("x [sim:foo=1]", "prompt: foo is not an action field; fields: status, "),
        ("markdown [sim:]", "prompt: no action given; write one as status=503, delay_ms=1500 or drop"),
        ("a list [sim:", "prompt holds '[sim:' without its closing ']': write a fault token as [sim:status=503]"),
    ],
    ids=["code", "unknown-part", "empty", "unclosed"],
)
def test_a_bad_token_in_ordinary_text_says_it_was_read_as_a_fault_token_and_how_to_turn_tokens_off(
    client: httpx.Client, prompt: str, problem: str
) -> None:
    """An app that sends its users' text on meets `[sim:` in code or markdown: told only that 'end' is no action, its
    developer could not tell what in a prompt of no actions was read as one, nor that a flag makes it ordinary text."""
    response = generate(client, body={"prompt": prompt})
    error = response.json()["error"]
    assert (response.status_code, error["param"]) == (400, "prompt"), response.text
    assert error["message"].startswith(problem) and error["message"].endswith(TOKEN_OPT_OUT), error


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        ({"headers": {"X-Sim-Fault": ";"}}, "no action given; write one as status=503, delay_ms=1500 or drop"),
        ({"body": {"prompt": "a fox [sim:]"}}, "no action given; write one as status=503, delay_ms=1500 or drop"),
        ({"headers": {"X-Sim-Fault": "status=503;type=zzz"}}, "type must be one of "),
    ],
    ids=["an empty header", "an empty token", "a bad type"],
)
def test_a_header_or_token_is_refused_in_its_own_words_not_a_rules_json(client: httpx.Client, sent: dict[str, Any], says: str) -> None:
    """An empty token was told `action must be an object such as {"status": 503}`, a JSON its writer never wrote."""
    error = generate(client, **sent).json()["error"]
    assert error["message"].startswith(f"{error['param']}: {says}"), error


def test_an_unnamed_query_parameter_is_refused_quoted(client: httpx.Client) -> None:
    error = client.delete("/_sim/requests?=1").json()["error"]
    assert (error["param"], error["message"]) == ("", "'' is not a parameter of this call; it takes: namespace")


def test_a_counts_fault_of_more_digits_than_any_status_says_the_range(client: httpx.Client) -> None:
    response = client.get("/_sim/requests", params={"fault": "status=9999999999999999999"})
    message = response.json()["error"]["message"]
    assert response.status_code == 400 and message.endswith("fault: status must be a whole number from 400 to 599, got 9999999999999999999")


IDEOGRAM = ("/ideogram/generate", {"Api-Key": KEY})
GOOGLE = ("/google/v1beta/models/imagen-3.0-generate-002:predict", {"x-goog-api-key": KEY})


@pytest.mark.parametrize(
    ("face", "body", "field", "problem"),
    [
        (("/v1/images/generations", {"Authorization": f"Bearer {KEY}"}), {"prompt": "a red fox", "user": "ticket [sim:bogus]"}, "user",
         ": 'bogus' is neither name=value nor one of drop, reset, truncate, malformed" + TOKEN_OPT_OUT),
        (("/openai/v1/images/generations", {"Authorization": f"Bearer {KEY}"}), {"prompt": "a red fox", "user": "[sim:status=503"},
         "user", " holds '[sim:' without its closing ']': write a fault token as [sim:status=503]" + TOKEN_OPT_OUT),
        (IDEOGRAM, {"image_request": {"prompt": "a red fox", "negative_prompt": "blur [sim:status=5O3]"}}, "image_request.negative_prompt",
         ": status must be a whole number from 400 to 599, got '5O3'" + TOKEN_OPT_OUT),
        (GOOGLE, {"instances": [{"prompt": "a red fox"}], "parameters": {"outputOptions": {"mimeType": "image/png[sim:drop=no]"}}},
         "parameters.outputOptions.mimeType", ": drop takes no value (or true)" + TOKEN_OPT_OUT),
        (GOOGLE, {"instances": [{"prompt": "a red fox"}], "parameters": {"[sim:bogus]": 1}}, "a key in parameters",
         ": 'bogus' is neither name=value nor one of drop, reset, truncate, malformed" + TOKEN_OPT_OUT),
    ],
    ids=["perf-user", "openai-user-unclosed", "ideogram-nested", "google-nested", "google-key"],
)  # fmt: skip
def test_a_bad_token_outside_the_prompt_is_a_400_naming_the_field_that_holds_it(
    client: httpx.Client, face: tuple[str, dict[str, str]], body: dict[str, object], field: str, problem: str
) -> None:
    """A token applies wherever it sits in the body; a 400 that named `prompt` sent its reader to a clean prompt."""
    path, headers = face
    error = client.post(path, json=body, headers=headers).json()["error"]
    assert (error["param"], error["message"]) == (field, field + problem)


def test_a_bad_token_nested_a_thousand_lists_deep_is_a_400_naming_its_field_cut(client: httpx.Client) -> None:
    """Found by a walk of the two parses, not by comparing them level by level, which recursed past Python's limit
    (a 500) and took the body's size times its depth on the event loop."""
    body = b'{"prompt": "a red fox", "user": ' + b"[" * 1000 + b'"[sim:bogus]"' + b"]" * 1000 + b"}"
    answer = client.post(
        "/v1/images/generations", content=body, headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    )
    error = answer.json()["error"]
    assert answer.status_code == 400 and error["param"] == "user[0][0][0][0][0][0][0][0][0][0][0][0]… (3004 characters)"


def test_a_bad_token_in_a_forms_text_names_its_field_and_one_in_a_file_or_in_no_json_names_the_request_body(client: httpx.Client) -> None:
    stability, headers = "/stability/v2beta/stable-image/generate/sd3", {"Authorization": f"Bearer {KEY}"}
    in_field = client.post(stability, files={"prompt": (None, "a red fox"), "style_preset": (None, "[sim:bogus]")}, headers=headers)
    assert in_field.json()["error"]["param"] == "style_preset"
    in_file = client.post(
        stability, files={"prompt": (None, "a red fox"), "image": ("a.png", b"[sim:bogus]", "image/png")}, headers=headers
    )
    assert in_file.json()["error"]["message"].startswith("request body: 'bogus' is neither")
    not_json = client.post("/v1/images/generations", content=b"a red fox [sim:bogus]", headers={"Authorization": f"Bearer {KEY}"})
    assert not_json.json()["error"]["param"] == "request body"


def test_a_body_at_its_limit_full_of_unclosed_tokens_is_refused_without_holding_up_other_requests(client: httpx.Client) -> None:
    """No `[sim:` here has its `]`: a search that scanned from each one to the body's end held the event loop, every
    request with it, for seconds on a Perf body of 240 KB and for hours on one this size. The timeouts are generous:
    this looks for a hang, not a time."""
    unclosed = b"[sim:status=503;"
    body = b'{"prompt": "' + unclosed * ((BFL_MAX_BODY_BYTES - 20) // len(unclosed)) + b'"}'
    headers = {"x-key": KEY, "Content-Type": "application/json"}
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=client.base_url, timeout=30) as sending:
        refused = pool.submit(sending.post, "/v1/flux-dev", content=body, headers=headers)
        assert httpx.get(f"{client.base_url}/_sim/health", timeout=30).status_code == 200
        response = refused.result()
    assert len(body) <= BFL_MAX_BODY_BYTES
    assert (response.status_code, response.json()["error"]["param"]) == (400, "prompt")
