"""Every bad input gets its documented status, error type and param, in the envelope, and consumes no quota.

contract_tests/test_validation.py draws its cases from the spec for any implementation; this table stays because
it pins the simulator's decisions at their edges (JSON oddities, body limits, auth forms) and what its messages say."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.launcher import RunningServer
from spec import errors
from spec.models import MODELS
from tests.conftest import PerfSim
from tests.test_request_log_server import perf_sim_output, request_lines

KEY = "pk_test_free_badinputs"
AUTH = {"Authorization": f"Bearer {KEY}"}
OK = {"prompt": "a fox"}

# (case id, JSON body or raw bytes, expected status, error type, param)
CASES: list[tuple[str, object, int, str, str | None]] = [
    ("prompt missing", {"model": "dall-e-3"}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt null", {"prompt": None}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt empty", {"prompt": ""}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt blank", {"prompt": " \n\t "}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt number", {"prompt": 42}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt list", {"prompt": ["a"]}, 400, errors.INVALID_REQUEST, "prompt"),
    ("prompt 4001 chars", {"prompt": "x" * 4001}, 400, errors.INVALID_REQUEST, "prompt"),
    ("dall-e-2 prompt 1001 chars", {"prompt": "x" * 1001, "model": "dall-e-2"}, 400, errors.INVALID_REQUEST, "prompt"),
    ("unknown model", {"prompt": "a", "model": "dall-e-4"}, 400, errors.INVALID_REQUEST, "model"),
    ("empty model", {"prompt": "a", "model": ""}, 400, errors.INVALID_REQUEST, "model"),
    ("model number", {"prompt": "a", "model": 3}, 400, errors.INVALID_REQUEST, "model"),
    ("n 2 on dall-e-3", {"prompt": "a", "n": 2}, 400, errors.INVALID_REQUEST, "n"),
    ("n 0", {"prompt": "a", "model": "dall-e-2", "n": 0}, 400, errors.INVALID_REQUEST, "n"),
    ("n negative", {"prompt": "a", "model": "flux-dev", "n": -1}, 400, errors.INVALID_REQUEST, "n"),
    ("n 5 on flux-pro", {"prompt": "a", "model": "flux-pro", "n": 5}, 400, errors.INVALID_REQUEST, "n"),
    ("n 11 on dall-e-2", {"prompt": "a", "model": "dall-e-2", "n": 11}, 400, errors.INVALID_REQUEST, "n"),
    ("n fractional", {"prompt": "a", "model": "dall-e-2", "n": 1.5}, 400, errors.INVALID_REQUEST, "n"),
    ("n string", {"prompt": "a", "n": "1"}, 400, errors.INVALID_REQUEST, "n"),
    ("n boolean", {"prompt": "a", "n": True}, 400, errors.INVALID_REQUEST, "n"),
    ("n above free tier minute limit", {"prompt": "a", "model": "dall-e-2", "n": 6}, 400, errors.INVALID_REQUEST, "n"),
    ("dall-e-2 size on dall-e-3", {"prompt": "a", "size": "512x512"}, 400, errors.INVALID_REQUEST, "size"),
    ("dall-e-3 size on dall-e-2", {"prompt": "a", "model": "dall-e-2", "size": "1792x1024"}, 400, errors.INVALID_REQUEST, "size"),
    ("flux size not multiple of 32", {"prompt": "a", "model": "flux-dev", "size": "1000x1000"}, 400, errors.INVALID_REQUEST, "size"),
    ("flux size too big", {"prompt": "a", "model": "flux-pro", "size": "1472x1024"}, 400, errors.INVALID_REQUEST, "size"),
    (
        "sd3 size off its aspect table",
        {"prompt": "a", "model": "stable-diffusion-3", "size": "1024x768"},
        400,
        errors.INVALID_REQUEST,
        "size",
    ),
    ("imagen custom size", {"prompt": "a", "model": "imagen-3", "size": "1408x768"}, 400, errors.INVALID_REQUEST, "size"),
    ("size garbage", {"prompt": "a", "size": "big"}, 400, errors.INVALID_REQUEST, "size"),
    ("size number", {"prompt": "a", "size": 1024}, 400, errors.INVALID_REQUEST, "size"),
    ("quality unknown", {"prompt": "a", "quality": "ultra"}, 400, errors.INVALID_REQUEST, "quality"),
    ("quality hd on flux", {"prompt": "a", "model": "flux-pro", "quality": "hd"}, 400, errors.INVALID_REQUEST, "quality"),
    ("style unknown", {"prompt": "a", "style": "noir"}, 400, errors.INVALID_REQUEST, "style"),
    ("style on dall-e-2", {"prompt": "a", "model": "dall-e-2", "style": "vivid"}, 400, errors.INVALID_REQUEST, "style"),
    ("response_format unknown", {"prompt": "a", "response_format": "jpeg"}, 400, errors.INVALID_REQUEST, "response_format"),
    ("unknown field", {"prompt": "a", "seed": 3}, 400, errors.INVALID_REQUEST, "seed"),
    ("body is a list", [OK], 400, errors.INVALID_REQUEST, None),
    ("body is a string", "a fox", 400, errors.INVALID_REQUEST, None),
    ("malformed JSON", b'{"prompt": "a",', 400, errors.INVALID_REQUEST, None),
    ("not JSON at all", b"prompt=a+fox", 400, errors.INVALID_REQUEST, None),
    ("NaN is not JSON", b'{"prompt": "a", "n": NaN}', 400, errors.INVALID_REQUEST, None),
    ("empty body", b"", 400, errors.INVALID_REQUEST, None),
    ("invalid UTF-8", b'{"prompt": "\xff"}', 400, errors.INVALID_REQUEST, None),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 400, errors.INVALID_REQUEST, None),
    ("oversized body", json.dumps({"prompt": "a" * (errors.MAX_BODY_BYTES + 1)}).encode(), 413, errors.PAYLOAD_TOO_LARGE, None),
    ("content policy trigger", {"prompt": "test SIM_CONTENT_POLICY_VIOLATION please"}, 400, errors.CONTENT_POLICY_VIOLATION, None),
    ("content policy blocked term", {"prompt": "a GORE scene"}, 400, errors.CONTENT_POLICY_VIOLATION, None),
]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (gzip.compress(json.dumps(OK).encode()), "gzip-compressed; send it uncompressed"),
        (b"\x28\xb5\x2f\xfd" + json.dumps(OK).encode(), "zstd-compressed; send it uncompressed"),
        (b'{"prompt": "\xff"}', "not valid UTF-8"),
    ],
    ids=["gzip", "zstd", "latin-1"],
)
def test_a_body_that_is_not_text_is_told_apart_from_a_compressed_one(client: httpx.Client, body: bytes, fragment: str) -> None:
    response = _send(client, body, {**AUTH, "Content-Encoding": "gzip"} if body[:1] == b"\x1f" else AUTH)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def _send(client: httpx.Client, body: object, headers: dict[str, str]) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/images/generations", content=content, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize(("body", "status", "error_type", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_its_error_and_consumes_nothing(
    client: httpx.Client, body: object, status: int, error_type: str, param: str | None
) -> None:
    response = _send(client, body, AUTH)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == error_type
    assert error.get("param") == param
    assert error["message"]
    usage = client.get(f"/_sim/usage/{KEY}").json()
    assert usage["minute"]["used"] == 0 and usage["day"]["used"] == 0


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "Missing API key"),
        ({"Authorization": "pk_live_abc123"}, "Malformed Authorization"),
        ({"Authorization": "Basic cGs6cGs="}, "Malformed Authorization"),
        ({"Authorization": "Bearer"}, "Malformed Authorization"),
        ({"Authorization": "Bearer has spaces in it"}, "Malformed API key"),
        ({"Authorization": "Bearer pk_live_unknown_key"}, "Incorrect API key"),
        ({"Authorization": "Bearer pk_test_gold_x"}, "Incorrect API key"),
    ],
    ids=["missing", "no scheme", "basic", "empty bearer", "malformed key", "unknown key", "unknown test tier"],
)
def test_bad_credentials_get_401_in_the_envelope(client: httpx.Client, headers: dict[str, str], fragment: str) -> None:
    response = _send(client, OK, headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == errors.AUTHENTICATION_ERROR and fragment in error["message"]


@pytest.mark.parametrize(
    ("key", "first_sentence"),
    [
        ("pk_test_gold_me", "Incorrect API key provided: pk_test_****."),
        ("sk-proj-abcdefghijklmnop", "Incorrect API key provided: sk-proj-****."),
        ("has spaces in it", "Malformed API key: expected 8-200 of A-Z a-z 0-9 _ -."),
    ],
    ids=["tier typo", "real provider key", "malformed key"],
)
def test_a_refused_key_says_which_keys_the_simulator_accepts_as_the_native_faces_do(
    client: httpx.Client, key: str, first_sentence: str
) -> None:
    """A tier typo or a real key picked up from OPENAI_API_KEY got only the first sentence on the Perf API, where every
    native face also says which keys work; the first sentence stays as it was."""
    hint = (
        "perf-image-sim accepts pk_test_<tier>_<anything> (<tier>: free, pro, enterprise), pk_live_abc123 and the keys of its --keys file."
    )
    perf = _send(client, OK, {"Authorization": f"Bearer {key}"})
    assert perf.status_code == 401 and perf.json()["error"]["message"] == f"{first_sentence} {hint}"
    native = client.post(
        "/stability/v2beta/stable-image/generate/sd3", headers={"Authorization": f"Bearer {key}"}, files={"prompt": (None, "x")}
    )
    assert native.status_code == 401 and native.json()["errors"] == [f"{first_sentence} {hint}"]


@pytest.mark.parametrize(
    ("method", "path", "status", "error_type"),
    [
        ("GET", "/v1/images/generations", 405, errors.METHOD_NOT_ALLOWED),
        ("PUT", "/v1/images/generations", 405, errors.METHOD_NOT_ALLOWED),
        ("POST", "/v1/images/edits", 404, errors.NOT_FOUND),
        ("GET", "/nothing/here", 404, errors.NOT_FOUND),
        ("GET", "/images/img_000000000000000000000000.png", 404, errors.NOT_FOUND),
        ("GET", "/images/not-a-png", 404, errors.NOT_FOUND),
    ],
)
def test_wrong_routes_get_the_envelope(client: httpx.Client, method: str, path: str, status: int, error_type: str) -> None:
    response = client.request(method, path, headers=AUTH)
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type


def test_a_client_whose_base_url_lacks_v1_gets_a_404_hinting_at_the_api_path(client: httpx.Client) -> None:
    response = client.post("/images/generations", headers=AUTH, json={"prompt": "a fox"})
    assert response.status_code == 404 and "allow" not in response.headers
    message = response.json()["error"]["message"]
    assert "did you mean /v1/images/generations (perf)" in message and "allowed" not in message


@pytest.mark.parametrize("path", ["/v1/images/edits", "/v1/a%0ab"])
def test_an_api_path_no_route_serves_is_journalled_with_the_404_it_got(client: httpx.Client, path: str) -> None:
    assert client.post(path, headers=AUTH, json={"prompt": "x"}).status_code == 404
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert (entry["status"], entry["error_type"]) == (404, errors.NOT_FOUND)


def test_null_optionals_mean_defaults(client: httpx.Client) -> None:
    body = {"prompt": "a fox", "model": None, "n": None, "size": None, "quality": None, "style": None, "response_format": None}
    perf = _send(client, body, AUTH).json()["perf"]
    assert (perf["model_used"], perf["size"], perf["quality"]) == ("dall-e-3", "1024x1024", "standard")


def test_a_field_named_twice_is_read_as_its_last_value(client: httpx.Client) -> None:
    """The spec's decision (spec.schemas): as Python's json and most JSON readers read it, so the first value, however
    wrong, is not judged."""
    pro = {"Authorization": "Bearer pk_test_pro_badinputs"}
    answer = _send(client, b'{"prompt": "a fox", "model": "dall-e-2", "n": "x", "n": 2}', pro)
    assert answer.status_code == 200 and len(answer.json()["data"]) == 2
    answer = _send(client, b'{"prompt": "a fox", "model": "dall-e-2", "n": 2, "n": "x"}', pro)
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "n")


def test_every_model_charges_its_table_price_per_image_times_n(client: httpx.Client) -> None:
    """The expected cost is read from the price table here, not through `ModelSpec.cost_usd`, which the engine prices
    with: a defect there must not be in the expectation too."""
    headers = {"Authorization": "Bearer pk_test_enterprise_prices"}
    for name, model in MODELS.items():
        for size in model.sizes[:3]:
            for quality in model.qualities:
                for n in sorted({1, model.max_n}):
                    body = {"prompt": "a fox", "model": name, "size": size, "quality": quality, "n": n}
                    perf = _send(client, body, headers).json()["perf"]
                    per_image = next(model.price_usd[key] for key in (quality, size, "*") if key in model.price_usd)
                    assert perf["cost_usd"] == float(per_image * n), (name, size, quality, n)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"prompt": "a", "size": "512x512"}, "it takes 1024x1024, 1792x1024, 1024x1792"),
        ({"prompt": "a", "model": "ideogram-2", "size": "1000x1000"}, ", 1312x736, 736x1312, "),
        ({"prompt": "a", "model": "flux-dev", "size": "1000x1000"}, "from 256 to 1440 in steps of 32"),
        ({"prompt": "a", "n": 2}, "must be 1: it generates one image per request; got 2"),
        ({"prompt": "a", "model": "flux-pro", "n": 5}, "must be between 1 and 4; got 5"),
    ],
    ids=["dall-e-3 sizes listed", "ideogram-2 sizes listed", "flux rule stated", "dall-e-3 makes one image", "flux-pro n range"],
)
def test_an_error_says_what_is_valid(client: httpx.Client, body: dict[str, object], says: str) -> None:
    response = _send(client, body, AUTH)
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        (b'{"prompt": "a", "n": 1e308}', "n", "; got 1000000000000000010979063629440455417404… (309 characters)"),
        (b'{"prompt": "a", "n": ' + b"9" * 5000 + b"}", None, "request body holds an integer of more than 4300 digits"),
        ({"prompt": "a", "model": "m" * 5000}, "model", "model '" + "m" * 40 + "'… (5000 characters) does not exist"),
        ({"prompt": "a", "size": "9" * 5000}, "size", "'… (5000 characters) is not supported"),
        ({"prompt": "a", "k" * 5000: 1}, "k" * 100 + "… (5000 characters)", "unknown parameter '" + "k" * 40 + "'… (5000 characters);"),
        (
            {"prompt": "a", "n": "9" * 5000},
            "n",
            "n must be an integer, got string '" + "9" * 40 + "'… (5000 characters)",
        ),
    ],
    ids=["n 1e308", "n of 5000 digits", "long model", "long size", "long unknown field", "long n string"],
)
def test_an_error_quotes_at_most_a_short_prefix_of_what_was_sent(client: httpx.Client, body: object, param: str | None, says: str) -> None:
    response = _send(client, body, AUTH)
    error = response.json()["error"]
    assert (response.status_code, error["param"]) == (400, param)
    assert says in error["message"] and len(error["message"]) < 600, error["message"]
    assert "sys." not in error["message"]


@pytest.mark.parametrize(
    ("n", "says"),
    [
        (b"1e400", "got number 1e400"),
        (b"-1E999", "got number -1E999"),
        (b"[1e400]", "got array [1e400]"),
        (b'{"k": [0.5, 1e400]}', 'got object {"k": [0.5, 1e400]}'),
        (b"true", "got boolean true"),
    ],
    ids=["beyond a double", "negative, as written", "inside an array", "inside an object", "a boolean"],
)
def test_a_refused_n_is_quoted_as_the_client_wrote_it_in_json(client: httpx.Client, n: bytes, says: str) -> None:
    """A client sends JSON: `inf`, `[inf]`, `{'k': ...}` or `True` name values in a language it did not write."""
    response = _send(client, b'{"prompt": "a", "n": ' + n + b"}", AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"n must be an integer, {says}"


NAMED = "n" * 100
"""A field name as long as `param` gives whole (simulator.engine.errors.PARAM_LIMIT)."""
TOO_LONG = "t" * 300
TOO_LONG_PARAM = "t" * 100 + "… (300 characters)"


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/v1/images/generations", {"prompt": "a", NAMED: 1}, NAMED),
        ("POST", "/v1/images/generations", {"prompt": "a", TOO_LONG: 1}, TOO_LONG_PARAM),
        ("POST", "/_sim/faults", {"action": {"drop": True}, NAMED: 1}, NAMED),
        ("POST", "/_sim/faults", {"action": {"drop": True}, TOO_LONG: 1}, TOO_LONG_PARAM),
        ("POST", "/_sim/faults", {"action": {"drop": True, NAMED[7:]: 1}}, f"action.{NAMED[7:]}"),
        ("POST", "/_sim/faults", {"match": {TOO_LONG: 1}, "action": {"drop": True}}, "match." + TOO_LONG[:94] + "… (306 characters)"),
        ("POST", "/_sim/requests/count", {TOO_LONG: 1}, TOO_LONG_PARAM),
        ("POST", "/_sim/clock/advance", {NAMED: 1}, NAMED),
        ("POST", "/_sim/clock/advance", {TOO_LONG: 1}, TOO_LONG_PARAM),
        ("POST", "/_sim/reset", {TOO_LONG: 1}, TOO_LONG_PARAM),
        ("GET", f"/_sim/faults?{NAMED}=1", None, NAMED),
        ("GET", f"/_sim/faults?{TOO_LONG}=1", None, TOO_LONG_PARAM),
    ],
    ids=[
        "perf field",
        "perf long field",
        "rule field",
        "long rule field",
        "action field",
        "long match field",
        "long count field",
        "advance field",
        "long advance field",
        "long reset body",
        "query",
        "long query",
    ],
)
def test_an_unknown_fields_param_names_it_whole_up_to_100_characters_then_cut_with_its_length(
    client: httpx.Client, method: str, path: str, body: object, param: str
) -> None:
    """`param` names the field for a client to find it, so it is not cut at the message's 40 characters; but a
    300-character name came back whole while the message cut it (and the control API's query cut it at 40)."""
    response = client.request(method, path, json=body, headers=AUTH if path.startswith("/v1") else {})
    assert (response.status_code, response.json()["error"]["param"]) == (400, param), response.text


LONG = "k" * 100_000
LONG_PATH = "p" * 20_000  # httpx sends URLs up to 64 KiB


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_sim/faults", {"action": {"drop": True}, LONG: 1}),
        ("POST", "/_sim/faults", {"action": {"drop": True, LONG: 1}}),
        ("POST", "/_sim/faults", {"match": {LONG: 1}, "action": {"drop": True}}),
        ("POST", "/_sim/requests/count", {LONG: 1}),
        ("POST", "/_sim/clock/advance", {LONG: 1}),
        ("POST", "/_sim/reset", {LONG: 1}),
        ("GET", f"/_sim/faults?{LONG_PATH}=1", None),
        ("DELETE", f"/_sim/faults/{LONG_PATH}", None),
        ("GET", f"/v1/{LONG_PATH}", None),
        ("GET", f"/_sim/{LONG_PATH}", None),
        ("POST", "/openai/v1/images/generations", {"prompt": "a", LONG: 1}),
    ],
    ids=[
        "rule field",
        "action field",
        "match field",
        "count field",
        "advance field",
        "reset body",
        "query",
        "rule id",
        "perf path",
        "control path",
        "openai field",
    ],
)
def test_every_error_quotes_at_most_a_short_prefix_of_a_long_name_or_path(
    client: httpx.Client, method: str, path: str, body: object
) -> None:
    """A 100,000-character field name, or a 20,000-character path, came back whole in the message."""
    response = client.request(method, path, json=body, headers=AUTH if path.startswith("/openai") else {})
    error = response.json()["error"]
    message = error["message"] if isinstance(error, dict) else str(error)
    assert 400 <= response.status_code < 500 and len(message) < 600, (response.status_code, message[:200])


def test_every_perf_answer_carries_a_request_id_errors_included(client: httpx.Client) -> None:
    answers = [
        _send(client, OK, AUTH),
        _send(client, {"prompt": ""}, AUTH),
        _send(client, OK, {"Authorization": "Bearer pk_live_unknown_key"}),
        client.get("/v1/images/generations"),
        client.post("/v1/images/edits"),
    ]
    ids = [answer.headers.get("x-request-id") for answer in answers]
    assert all(ids) and len(set(ids)) == len(ids), ids


def _raw_exchange(sim: RunningServer, head: bytes, body: bytes, wait_for_answer: bool) -> bytes:
    """Send a request's head and (part of) its body over a raw socket; the answer, or b"" when the client gives up."""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as connection:
        connection.sendall(head + body)
        if not wait_for_answer:
            time.sleep(0.3)
            return b""
        return connection.recv(65536)


def _head(length: int, *extra: str) -> bytes:
    lines = ["POST /v1/images/generations HTTP/1.1", "Host: sim", "Authorization: Bearer pk_test_free_cut", f"Content-Length: {length}"]
    return "\r\n".join([*lines, "Content-Type: application/json", *extra, "", ""]).encode()


@pytest.mark.parametrize(
    ("head", "sent"),
    [
        (_head(1000), b'{"prompt": "a cut upload", "n": 2}'),
        (
            b"POST /v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer pk_test_free_cut\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            b'22\r\n{"prompt": "a cut upload", "n": 2}\r\n',
        ),
    ],
    ids=["short-of-its-length", "chunked-without-its-last-chunk"],
)
def test_an_upload_the_client_cut_short_generates_nothing_and_costs_nothing(
    sim: RunningServer, client: httpx.Client, head: bytes, sent: bytes
) -> None:
    _raw_exchange(sim, head, sent, wait_for_answer=False)
    deadline = time.monotonic() + 10
    while not (entries := client.get("/_sim/requests").json()["requests"]) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notes the cut once it reads the closed connection
    assert client.get("/_sim/usage/pk_test_free_cut").json()["minute"]["used"] == 0
    (entry,) = entries
    assert entry["status"] is None and entry["image_ids"] == []


_FORM = b'--cut\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na cut upload\r\n'
CUT_UPLOADS = [
    ("/v1/images/generations", "Authorization: Bearer pk_test_pro_cut", "application/json", b'{"prompt": "a cut'),
    ("/openai/v1/images/generations", "Authorization: Bearer pk_test_pro_cut", "application/json", b'{"prompt": "a cut'),
    ("/stability/v2beta/stable-image/generate/sd3", "Authorization: Bearer pk_test_pro_cut", "multipart/form-data; boundary=cut", _FORM),
]
"""A request of each kind of body whose client leaves part way through it (each declares 1,000 bytes)."""


def test_a_client_that_leaves_mid_body_is_journalled_logged_and_counted_unanswered_not_as_a_400(tmp_path: Path) -> None:
    """While any rule is in force the control layer watches every answer, and saw the bare 400 the server gave the
    departed client: a 400 with no error in it was journalled, logged and counted (for each sibling call a gateway
    cancelled mid-body, too), where `status: null` was promised."""
    with perf_sim_output(tmp_path, "--seed", "7") as (base_url, out):
        rule = {"match": {"face": "google"}, "action": {"status": 503}}
        httpx.post(base_url + "/_sim/faults", json=rule).raise_for_status()
        port = int(base_url.rsplit(":", 1)[1])
        for path, key, content_type, sent in CUT_UPLOADS:
            head = f"POST {path} HTTP/1.1\r\nHost: sim\r\n{key}\r\nContent-Type: {content_type}\r\nContent-Length: 1000\r\n\r\n"
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(head.encode() + sent)
                time.sleep(0.1)
        deadline = time.monotonic() + 10
        while len(entries := httpx.get(base_url + "/_sim/requests").json()["requests"]) < len(CUT_UPLOADS) and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = httpx.get(base_url + "/metrics").text
    assert [(e["path"], e["status"], e["error_type"], e["request_id"]) for e in reversed(entries)] == [
        (path, None, None, None) for path, *_ in CUT_UPLOADS
    ]
    assert 'status="400"' not in metrics and metrics.count('status="dropped"') == len(CUT_UPLOADS), metrics
    lines = request_lines(out.read_text(), " ns=")
    assert len(lines) == len(CUT_UPLOADS) and not [line for line in lines if " 400 " in line], lines


PATIENT_BODY_TIMEOUT = 120
"""The --body-timeout of `patient`: far past the client's own wait (_raw_exchange's 10 s), so a body awaited before
the refusal is a client timing out, not a late 408."""
PROMPT_SECONDS = 5.0


@pytest.fixture(scope="module")
def patient(perf_sim: PerfSim) -> Iterator[RunningServer]:
    with perf_sim("--clock", "manual", "--seed", "7", "--body-timeout", str(PATIENT_BODY_TIMEOUT)) as running:
        yield running


@pytest.mark.parametrize("sent", [b"", b"{"], ids=["no-byte-sent", "its-first-byte-sent"])
@pytest.mark.parametrize("expect", [(), ("Expect: 100-continue",)], ids=["sent-at-once", "asking-to-continue"])
def test_a_body_declared_past_the_limit_is_refused_before_it_is_sent(patient: RunningServer, expect: tuple[str, ...], sent: bytes) -> None:
    """Without `Expect` and before any body byte, the layer awaited the body: a 408 after --body-timeout."""
    httpx.post(patient.base_url + "/_sim/reset").raise_for_status()
    started = time.monotonic()
    answer = _raw_exchange(patient, _head(errors.MAX_BODY_BYTES + 1, *expect), sent, wait_for_answer=True)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert time.monotonic() - started < PROMPT_SECONDS
    (entry,) = httpx.get(patient.base_url + "/_sim/requests").json()["requests"]
    assert (entry["status"], entry["body"]) == (413, f"<a body over {errors.MAX_BODY_BYTES} bytes, not read>")


def test_a_control_call_declared_past_the_limit_is_refused_before_it_is_sent(patient: RunningServer) -> None:
    head = f"POST /_sim/faults HTTP/1.1\r\nHost: sim\r\nContent-Length: {errors.MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    started = time.monotonic()
    answer = _raw_exchange(patient, head, b"", wait_for_answer=True)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert time.monotonic() - started < PROMPT_SECONDS


@pytest.mark.parametrize("times_the_limit", [3, 1.2], ids=["far past", "its last part crossing the limit"])
def test_a_body_sent_past_the_limit_is_journalled_as_not_read_and_holds_no_token(client: httpx.Client, times_the_limit: float) -> None:
    body = json.dumps({"prompt": "[sim:status=503] " + "a" * int(errors.MAX_BODY_BYTES * times_the_limit)}).encode()
    response = client.post("/v1/images/generations", content=iter([body[:65536], body[65536:]]), headers=AUTH)
    assert response.status_code == 413
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert (entry["body"], entry["fault"]) == (f"<a body over {errors.MAX_BODY_BYTES} bytes, not read>", None)


SENT = "v" * 100
HUGE = 10**99
STABILITY = "/stability/v2beta/stable-image/generate/sd3"
GOOGLE = "/google/v1beta/models/{model}:predict"
IDEOGRAM_KEY = {"Api-Key": KEY}


def _fault(header: str) -> dict[str, object]:
    return {"json": OK, "headers": {**AUTH, "X-Sim-Fault": header}}


# (case id, method, path, httpx request arguments, the value as the message repeats it)
QUOTING_CASES: list[tuple[str, str, str, dict[str, object], str]] = [
    ("?limit", "GET", f"/_sim/requests?limit={SENT}", {}, SENT),
    ("?status", "GET", f"/_sim/requests?status={SENT}", {}, SENT),
    ("?status twice", "GET", f"/_sim/requests?status=503&status={SENT}", {}, SENT),
    ("?face", "GET", f"/_sim/requests?face={SENT}", {}, SENT),
    ("?fault part", "GET", f"/_sim/requests?fault={SENT}", {}, SENT),
    ("?fault status", "GET", f"/_sim/requests?fault=status%3D{SENT}", {}, SENT),
    ("?namespace and the header", "GET", f"/_sim/requests?namespace={SENT}", {"headers": {"X-Sim-Namespace": "jobA"}}, SENT),
    ("count match.fault", "POST", "/_sim/requests/count", {"json": {"match": {"fault": SENT}}}, SENT),
    (
        "two namespaces",
        "POST",
        f"/_sim/faults?namespace={'q' * 64}",
        {"json": {"namespace": "b" * 64, "action": {"drop": True}}},
        "b" * 64,
    ),
    ("rule id's namespace", "DELETE", f"/_sim/faults/r1?namespace={'n' * 64}", {}, "n" * 64),
    ("X-Sim-Fault status", "POST", "/v1/images/generations", _fault(f"status={SENT}"), SENT),
    ("X-Sim-Fault bare part", "POST", "/v1/images/generations", _fault(SENT), SENT),
    ("X-Sim-Fault part twice", "POST", "/v1/images/generations", _fault(f"{SENT}=1;{SENT}=2"), SENT),
    ("X-Sim-Fault escapes", "POST", "/v1/images/generations", _fault(f"status=503;message=%FF{SENT}"), f"%FF{SENT}"),
    ("token status", "POST", "/v1/images/generations", {"json": {"prompt": f"a fox [sim:status={SENT}]"}, "headers": AUTH}, SENT),
    ("openai model", "POST", "/openai/v1/images/generations", {"json": {"prompt": "a", "model": SENT}, "headers": AUTH}, SENT),
    (
        "openai response_format",
        "POST",
        "/openai/v1/images/generations",
        {"json": {"prompt": "a", "model": "dall-e-2", "response_format": SENT}, "headers": AUTH},
        SENT,
    ),
    (
        "openai n",
        "POST",
        "/openai/v1/images/generations",
        {"json": {"prompt": "a", "model": "dall-e-2", "n": HUGE}, "headers": AUTH},
        str(HUGE),
    ),
    (
        "ideogram model",
        "POST",
        "/ideogram/generate",
        {"json": {"image_request": {"prompt": "a", "model": SENT}}, "headers": IDEOGRAM_KEY},
        SENT,
    ),
    (
        "ideogram resolution",
        "POST",
        "/ideogram/generate",
        {"json": {"image_request": {"prompt": "a", "resolution": SENT}}, "headers": IDEOGRAM_KEY},
        SENT,
    ),
    (
        "ideogram num_images",
        "POST",
        "/ideogram/generate",
        {"json": {"image_request": {"prompt": "a", "num_images": HUGE}}, "headers": IDEOGRAM_KEY},
        str(HUGE),
    ),
    (
        "google model",
        "POST",
        GOOGLE.format(model=SENT),
        {"json": {"instances": [{"prompt": "a"}]}, "headers": {"x-goog-api-key": KEY}},
        SENT,
    ),
    ("stability aspect_ratio", "POST", STABILITY, {"files": {"prompt": (None, "a"), "aspect_ratio": (None, SENT)}, "headers": AUTH}, SENT),
    ("stability Accept", "POST", STABILITY, {"files": {"prompt": (None, "a")}, "headers": {**AUTH, "Accept": SENT}}, SENT),
    (
        "stability Accept q",
        "POST",
        STABILITY,
        {"files": {"prompt": (None, "a")}, "headers": {**AUTH, "Accept": f"image/*;q={SENT}"}},
        f"image/*;q={SENT}",
    ),
]


def _message(response: httpx.Response) -> str:
    """The message of an error in any face's envelope (Stability's list, Ideogram's string, everyone else's object)."""
    body = response.json()
    if "errors" in body:
        return "; ".join(body["errors"])
    error = body["error"]
    return error if isinstance(error, str) else str(error["message"])


@pytest.mark.parametrize(("method", "path", "sent", "value"), [c[1:] for c in QUOTING_CASES], ids=[c[0] for c in QUOTING_CASES])
def test_every_refusal_quotes_a_long_value_as_its_first_40_characters_then_its_length(
    client: httpx.Client, method: str, path: str, sent: dict[str, Any], value: str
) -> None:
    """The README's promise, on every face and the control API: the value cut short with nothing saying so misled
    (a 100-character status read as a 40-character one), and quoted whole it buried what the message says."""
    response = client.request(method, path, **sent)
    message = _message(response)
    assert 400 <= response.status_code < 500, message
    assert value[:40] in message and f"… ({len(value)} characters)" in message and value[:41] not in message, message
