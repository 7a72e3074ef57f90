"""The namespace header, the fault header and the journal work the same on the Perf face and all five native faces."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

KEY = "pk_test_pro_faces"


@dataclass(frozen=True)
class Call:
    face: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    def send(self, client: httpx.Client, extra: dict[str, str]) -> httpx.Response:
        headers = {**self.headers, **extra}
        if self.form is not None:
            return client.post(self.path, headers=headers, files={k: (None, v) for k, v in self.form.items()})
        return client.post(self.path, headers=headers, json=self.json)


BEARER = {"Authorization": f"Bearer {KEY}"}
CALLS = [
    Call("perf", "/v1/images/generations", BEARER, {"prompt": "a kite"}),
    Call("openai", "/openai/v1/images/generations", BEARER, {"prompt": "a kite", "size": "256x256"}),
    Call("stability", "/stability/v2beta/stable-image/generate/sd3", {**BEARER, "Accept": "application/json"}, form={"prompt": "a kite"}),
    Call("bfl", "/v1/flux-pro", {"x-key": KEY}, {"prompt": "a kite"}),
    Call("ideogram", "/ideogram/generate", {"Api-Key": KEY}, {"image_request": {"prompt": "a kite"}}),
    Call("google", "/google/v1beta/models/imagen-3.0-generate-002:predict", {"x-goog-api-key": KEY}, {"instances": [{"prompt": "a kite"}]}),
]


def envelope_of(face: str, body: Any) -> str:
    """Where each provider puts an error's kind: what tells the envelopes apart."""
    return {
        "perf": lambda: body["error"]["type"],
        "openai": lambda: body["error"]["type"],
        "stability": lambda: body["name"],
        "bfl": lambda: body["detail"],
        "ideogram": lambda: body["error"],
        "google": lambda: body["error"]["status"],
    }[face]()


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_namespace_header_puts_a_request_of_any_face_in_its_namespace_and_journal(client: httpx.Client, call: Call) -> None:
    namespace = f"face-{call.face}"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert (entry["face"], entry["status"], entry["prompt"]) == (call.face, 200, "a kite")
    assert entry["key"] is not None and entry["model"] is not None
    assert client.get("/_sim/usage", params={"namespace": namespace}).json()["keys"][0]["face"] in (call.face, "perf")


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_fault_header_answers_in_the_face_own_envelope(client: httpx.Client, call: Call) -> None:
    response = call.send(client, {"X-Sim-Fault": "status=503;message=down for a test"})
    assert response.status_code == 503
    expected = {
        "perf": "service_unavailable",
        "openai": "server_error",
        "stability": "service_unavailable",  # its `name` carries the type; it was internal_error for any but seven
        "bfl": "down for a test",
        "ideogram": "down for a test",
        "google": "UNAVAILABLE",
    }[call.face]
    assert envelope_of(call.face, response.json()) == expected
    assert "down for a test" in response.text
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert entry["fault"] == "status=503;message=down for a test" and entry["face"] == call.face


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
@pytest.mark.parametrize("bad", [{"X-Sim-Fault": "status=5O3"}, {"X-Sim-Namespace": "no spaces"}], ids=["fault", "namespace"])
def test_a_bad_control_header_is_a_perf_400_the_faces_own_client_can_read_too(
    client: httpx.Client, call: Call, bad: dict[str, str]
) -> None:
    """The Perf envelope names the header (issue 9); the face's own error fields beside it carry the message to its
    client: the blackforest client reads a top-level `message`, google-genai the error's `status`, and a Stability
    client the `id` every Stability error has (the body lacked it: it is the refusal's x-request-id)."""
    response = call.send(client, bad)
    assert response.status_code == 400
    body = response.json()
    (header,) = bad
    assert (body["error"]["type"], body["error"]["param"]) == ("invalid_request", header)
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_err_")
    assert body.get("id") == (request_id if call.face == "stability" else None), "Stability's errors carry their id; none made up"
    message = body["error"]["message"]
    if call.face == "stability":
        assert (body["name"], body["errors"]) == ("bad_request", [message]), body
    elif call.face == "bfl":
        assert body["message"] == body["detail"] == message, body
    elif call.face == "google":
        assert (body["error"]["status"], body["error"]["code"]) == ("INVALID_ARGUMENT", 400), body


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_rule_matching_a_face_leaves_the_other_faces_alone(client: httpx.Client, call: Call) -> None:
    client.post("/_sim/faults", json={"match": {"face": call.face}, "action": {"status": 502}}).raise_for_status()
    assert {other.face: other.send(client, {}).status_code for other in CALLS} == {c.face: 502 if c is call else 200 for c in CALLS}


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_an_error_the_face_answers_itself_is_journalled_with_its_status_and_type(client: httpx.Client, call: Call) -> None:
    """With no fault possible the layer does not watch the answer: the face's endpoint notes it in the journal."""
    namespace = f"keyless-{call.face}"
    keyless = Call(call.face, call.path, {k: v for k, v in call.headers.items() if k == "Accept"}, call.json, call.form)
    response = keyless.send(client, {"X-Sim-Namespace": namespace})
    assert response.status_code in (401, 403)
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert (entry["face"], entry["status"], entry["fault"]) == (call.face, response.status_code, None)
    if call.face in ("perf", "openai", "google", "stability"):  # the envelopes whose kind is a type field
        assert entry["error_type"] == envelope_of(call.face, response.json())


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
@pytest.mark.parametrize("status", [400, 503])
def test_an_injected_status_and_message_are_answered_as_given_whatever_the_face_answers_its_type_with(
    client: httpx.Client, call: Call, status: int
) -> None:
    # A refused prompt is Stability's 403, Ideogram's 422 and OpenAI's 400, each with stock text of its own.
    response = call.send(client, {"X-Sim-Fault": f"status={status};type=content_policy_violation;message=held for a test"})
    assert response.status_code == status and "held for a test" in response.text


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_malformed_answer_is_the_start_of_the_faces_own_answer_cut_short(client: httpx.Client, call: Call) -> None:
    """A client's parse error quotes the body: a Perf answer there misled a BFL or Google user about what answered."""
    first_field = next(iter(call.send(client, {}).json()))
    response = call.send(client, {"X-Sim-Fault": "malformed"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.content.startswith(f'{{"{first_field}": '.encode()), response.content
    with pytest.raises(ValueError):
        json.loads(response.content)


@pytest.mark.parametrize(
    ("accept", "image_type", "magic"),
    [
        (None, "image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/*", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/png, application/json;q=0.5", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/jpeg", "image/jpeg", b"\xff\xd8\xff"),
    ],
)
def test_a_malformed_answer_to_a_stability_client_that_asked_for_the_image_bytes_is_an_image_cut_short(
    client: httpx.Client, accept: str | None, image_type: str, magic: bytes
) -> None:
    """Stability answers Accept image/* (its default) with the image bytes: the start of that answer is a cut image
    with the bytes' headers, what the client's image code must survive; it was the JSON form's start, typed JSON
    (and for a client asking for `image/jpeg`, still the JSON form after PNG's came in)."""
    headers = {**BEARER, **({} if accept is None else {"Accept": accept}), "X-Sim-Fault": "malformed"}
    response = client.post("/stability/v2beta/stable-image/generate/sd3", headers=headers, files={"prompt": (None, "a kite")})
    assert response.status_code == 200 and response.headers["content-type"] == image_type
    assert (response.headers["finish-reason"], response.headers["seed"]) == ("SUCCESS", "0")
    assert re.fullmatch(ERROR_ID_FORMS["stability"] or "", response.headers["x-request-id"])
    assert response.content.startswith(magic) and len(response.content) == int(response.headers["content-length"])
    with pytest.raises(OSError):
        Image.open(io.BytesIO(response.content)).load()


# The x-request-id each face's error answers carry (none where the provider sends none): the openai SDKs show it as
# `request_id`, so a malformed answer's must be in the face's own form, not the Perf API's `req_err_...` on every face.
ERROR_ID_FORMS = {
    "perf": r"req_err_[0-9a-f]{24}",
    "openai": r"req_[0-9a-f]{32}",
    "stability": r"[0-9a-f]{32}",
    "bfl": None,
    "ideogram": None,
    "google": None,
}
# What every answer carries whatever the face: not the face's own.
SERVER_HEADERS = {"date", "server", "content-length", "content-type", "vary"}


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_malformed_answer_carries_the_request_id_form_and_headers_of_the_faces_own_error_answers(
    client: httpx.Client, call: Call
) -> None:
    error = call.send(client, {"X-Sim-Fault": "status=500"})
    malformed = call.send(client, {"X-Sim-Fault": "malformed"})
    form = ERROR_ID_FORMS[call.face]
    for answer in (error, malformed):
        request_id = answer.headers.get("x-request-id")
        assert (request_id is None) if form is None else re.fullmatch(form, request_id or ""), (answer.status_code, request_id)
    assert set(malformed.headers) - SERVER_HEADERS == set(error.headers) - SERVER_HEADERS  # OpenAI's openai-version too
    assert malformed.headers.get("x-request-id") is None or malformed.headers["x-request-id"] != error.headers["x-request-id"]


def test_an_injected_bfl_rate_limit_has_the_fields_of_bfl_own(client: httpx.Client) -> None:
    bfl = CALLS[3]
    body = bfl.send(client, {"X-Sim-Fault": "status=429;retry_after=7"}).json()
    assert body["error"] == "rate_limit_exceeded" and body["retry_after"] == 7
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert entry["error_type"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (
            Call("stability", CALLS[2].path, CALLS[2].headers, form={"prompt": "a kite", "model": "sd3-medium"}),
            ("stable-diffusion-3", "sd3-medium"),
        ),
        (CALLS[5], ("imagen-3", "imagen-3.0-generate-002")),
    ],
    ids=["stability", "google"],
)
def test_a_models_perf_name_and_its_provider_name_select_the_same_requests(
    client: httpx.Client, call: Call, names: tuple[str, str]
) -> None:
    """A success is journalled with the engine's (Perf) name, a faulted request with the name it gave: a count or a
    rule by either name finds both."""
    namespace = f"model-names-{call.face}"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    assert call.send(client, {"X-Sim-Namespace": namespace, "X-Sim-Fault": "status=503"}).status_code == 503
    for name in names:
        count = client.post("/_sim/requests/count", json={"match": {"model": name}, "namespace": namespace})
        assert count.json() == {"count": 2}, name
        listed = client.get("/_sim/requests", params={"namespace": namespace, "model": name}).json()["requests"]
        assert len(listed) == 2, name
    for name in names:
        rule = {"match": {"model": name}, "action": {"status": 502}, "times": 1, "namespace": namespace}
        client.post("/_sim/faults", json=rule).raise_for_status()
        assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 502, name


@pytest.mark.parametrize(("call", "own_header"), [(CALLS[3], "x-key"), (CALLS[4], "Api-Key")], ids=["bfl", "ideogram"])
def test_the_journal_and_rules_see_the_key_the_face_authenticates_with(client: httpx.Client, call: Call, own_header: str) -> None:
    """A stray bearer token beside the face's own key header is not the caller's key there."""
    namespace = f"own-key-{call.face}"
    charged = "pk_test_enterprise_charged"
    headers = {"X-Sim-Namespace": namespace, "Authorization": "Bearer pk_test_free_stray", own_header: charged}
    assert call.send(client, headers).status_code == 200
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace, "key": charged}).json()["requests"]
    assert entry["key"].startswith("pk_test_ent")
    rule = {"match": {"key": charged}, "action": {"status": 503}, "times": 1, "namespace": namespace}
    client.post("/_sim/faults", json=rule).raise_for_status()
    assert call.send(client, headers).status_code == 503


def test_a_gemini_key_in_the_query_string_is_journalled_decoded(client: httpx.Client) -> None:
    namespace = "query-key"
    answer = client.post(
        f"{CALLS[5].path}?key=pk_test_pro_enc%2Dkey", headers={"X-Sim-Namespace": namespace}, json={"instances": [{"prompt": "a kite"}]}
    )
    assert answer.status_code == 200
    found = client.get("/_sim/requests", params={"namespace": namespace, "key": "pk_test_pro_enc-key"}).json()["requests"]
    assert len(found) == 1


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_a_rule_on_the_model_a_request_gets_by_default_fires_and_counts_as_that_model(client: httpx.Client, call: Call) -> None:
    """None of these requests names a model in its body (an openai-SDK call leaving it to dall-e-2, LiteLLM's
    `stability/sd3`): a rule and a count given the same `match` select the same requests."""
    namespace = f"default-model-{call.face}"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    match = {"model": entry["model"]}
    client.post("/_sim/faults", json={"match": match, "action": {"status": 503}, "namespace": namespace}).raise_for_status()
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 503
    assert client.post("/_sim/requests/count", json={"match": match, "namespace": namespace}).json()["count"] == 2


def test_a_path_the_face_does_not_serve_gets_no_default_model(client: httpx.Client) -> None:
    """Only a POST to the generation endpoint renders the default: `/ideogram/v1/ideogram-v3/generate` is the face's
    404 and makes nothing, so a rule on V_2 leaves it alone and the journal names no model."""
    client.post("/_sim/faults", json={"match": {"model": "V_2"}, "action": {"status": 503}}).raise_for_status()
    answer = client.post("/ideogram/v1/ideogram-v3/generate", json={"image_request": {"prompt": "a kite"}}, headers={"Api-Key": KEY})
    assert answer.status_code == 404
    (entry,) = client.get("/_sim/requests").json()["requests"]
    assert entry["model"] is None


@pytest.mark.parametrize(
    ("query", "status", "key"),
    [("key=&key=pk_test_pro_second", 401, None), ("%6Bey=pk_test_pro_encoded", 200, "pk_test_pro_encoded")],
    ids=["first-empty", "name-encoded"],
)
def test_a_gemini_query_key_is_journalled_as_the_face_reads_it(client: httpx.Client, query: str, status: int, key: str | None) -> None:
    """The face reads the first `key` (an empty one is no key; given beside another, two different keys: its 401),
    with the query decoded (`?%6Bey=` is a key): the journal took the second, and missed the encoded one."""
    namespace = f"query-key-{status}"
    answer = client.post(f"{CALLS[5].path}?{query}", headers={"X-Sim-Namespace": namespace}, json={"instances": [{"prompt": "a kite"}]})
    assert answer.status_code == status
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    if key is None:
        assert entry["key"] is None
    else:
        assert client.post("/_sim/requests/count", json={"match": {"key": key}, "namespace": namespace}).json()["count"] == 1


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
def test_every_image_id_an_entry_names_is_fetched_as_a_png_at_images_id_png_whatever_face_made_it(client: httpx.Client, call: Call) -> None:
    """docs/control.md tells a test writer to fetch an entry's images there, whatever format the face answered in."""
    namespace = f"images-{call.face}"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    (entry,) = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert entry["image_ids"]
    for image_id in entry["image_ids"]:
        image = client.get(f"/images/{image_id}.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")


# The count each face makes of a request that names none: Google's sampleCount default is 4, every other face's 1.
DEFAULT_N = {"perf": 1, "openai": 1, "stability": 1, "bfl": 1, "ideogram": 1, "google": 4}


@pytest.mark.parametrize("call", CALLS, ids=[c.face for c in CALLS])
@pytest.mark.parametrize("fault", ["header", "rule"])
def test_a_faulted_request_that_leaves_n_out_is_journalled_with_the_n_and_size_its_face_makes(
    client: httpx.Client, call: Call, fault: str
) -> None:
    """None of these requests names a count (nor, but OpenAI's, a size): answered, the journal shows the engine's n
    and size; faulted, it showed `n: null` (on every face but BFL) and `size: null`, so a test adding up the images
    its app asked for across attempts (`sum(e["n"] ...)`) failed on the first faulted one."""
    namespace = f"default-n-{call.face}-{fault}"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    if fault == "rule":
        rule = {"match": {"face": call.face}, "action": {"status": 503}, "namespace": namespace}
        client.post("/_sim/faults", json=rule).raise_for_status()
    extra = {"X-Sim-Fault": "status=503"} if fault == "header" else {}
    assert call.send(client, {"X-Sim-Namespace": namespace, **extra}).status_code == 503
    entries = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    faulted, answered = sorted(entries, key=lambda entry: -entry["status"])
    assert faulted["image_ids"] == [] and answered["image_ids"]
    assert faulted["n"] == answered["n"] == DEFAULT_N[call.face]
    assert faulted["size"] == answered["size"] and re.fullmatch(r"\d+x\d+", answered["size"])


@pytest.mark.parametrize(
    "call",
    [
        Call("stability", CALLS[2].path, CALLS[2].headers, form={"prompt": "a kite", "aspect_ratio": "16:9"}),
        Call("bfl", "/bfl/v1/flux-dev", {"x-key": KEY}, {"prompt": "a kite", "width": 512}),
        Call("ideogram", CALLS[4].path, CALLS[4].headers, {"image_request": {"prompt": "a kite", "aspect_ratio": "ASPECT_16_9"}}),
        Call("ideogram", CALLS[4].path, CALLS[4].headers, {"image_request": {"prompt": "a kite", "resolution": "RESOLUTION_1024_768"}}),
        Call(
            "google",
            "/google/v1/publishers/google/models/imagen-3.0-fast-generate-001:predict",
            {"x-goog-api-key": KEY},
            {"instances": [{"prompt": "a kite"}], "parameters": {"aspectRatio": "16:9"}},
        ),
    ],
    ids=["stability-aspect", "bfl-width-only", "ideogram-aspect", "ideogram-resolution", "google-express-aspect"],
)
def test_a_faulted_request_is_journalled_with_the_size_its_aspect_ratio_or_its_one_dimension_renders(
    client: httpx.Client, call: Call
) -> None:
    """The size the face makes of what the request gave (an aspect ratio, a resolution, a width with the default
    height), as the same request answered shows it: not null because the request named no pixels."""
    namespace = "asked-size"
    assert call.send(client, {"X-Sim-Namespace": namespace}).status_code == 200
    assert call.send(client, {"X-Sim-Namespace": namespace, "X-Sim-Fault": "status=503"}).status_code == 503
    faulted, answered = sorted(client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"], key=lambda e: -e["status"])
    assert (faulted["n"], faulted["size"]) == (answered["n"], answered["size"])
    assert answered["size"] is not None and answered["size"] != "1024x1024"
