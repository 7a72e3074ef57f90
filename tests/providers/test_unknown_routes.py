"""Every face answers a path it does not serve, and a method a path does not take, in its own envelope, for any
method: a client of one provider never gets another provider's error format (the openai SDK's `images.edit` once
got a bare 405 in the Perf envelope)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from blackforest import BFLClient
from blackforest.client import BFLError

from simulator.launcher import RunningServer
from simulator.registry import BY_NAME, FACE_NAMES, face_for_path
from spec.models import PROVIDERS

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

ENVELOPES: dict[str, Callable[[Any], bool]] = {
    "perf": lambda b: set(b["error"]) >= {"type", "message", "param"} and b["error"]["type"] in ("not_found", "method_not_allowed"),
    "openai": lambda b: set(b["error"]) == {"message", "type", "param", "code"} and b["error"]["message"].startswith("Invalid URL"),
    "stability": lambda b: set(b) == {"id", "name", "errors"} and b["name"] in ("not_found", "method_not_allowed"),
    "bfl": lambda b: b["detail"] == b["message"] and b["detail"] in ("Not Found", "Method Not Allowed"),
    "ideogram": lambda b: list(b) == ["error"] and isinstance(b["error"], str),
    "google": lambda b: b["error"]["status"] == "NOT_FOUND" and b["error"]["code"] == 404,
}
UNKNOWN_PATHS = {
    "perf": "/v1/images/variations",
    "openai": "/openai/v1/images/edits",
    "stability": "/stability/v2beta/stable-image/generate/ultra",
    "bfl": "/bfl/v1/flux-pro-1.1-ultra",
    "ideogram": "/ideogram/v1/ideogram-v3/generate",
    "google": "/google/v1beta/models/imagen-4.0-generate-001:generateImages",
}
# A path each face serves, and the status a wrong method on it gets: OpenAI and Google answer 404 as they do.
KNOWN_PATHS = {
    "perf": ("/v1/images/generations", 405),
    "openai": ("/openai/v1/images/generations", 404),
    "stability": ("/stability/v2beta/stable-image/generate/sd3", 405),
    "bfl": ("/v1/flux-pro", 405),
    "ideogram": ("/ideogram/generate", 405),
    "google": ("/google/v1beta/models/imagen-3.0-generate-002:predict", 404),
}


def test_every_face_is_covered() -> None:
    assert set(ENVELOPES) == set(UNKNOWN_PATHS) == set(KNOWN_PATHS) == set(FACE_NAMES)
    assert ("perf", *PROVIDERS) == FACE_NAMES, "every provider of the model table is served by one face"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("face", FACE_NAMES)
def test_an_unknown_path_gets_the_faces_own_404(limited: RunningServer, face: str, method: str) -> None:
    path = UNKNOWN_PATHS[face]
    assert face_for_path(path) == face
    answer = httpx.request(method, limited.base_url + path, json={"prompt": "a kite"} if method != "GET" else None, timeout=30)
    assert answer.status_code == 404
    assert ENVELOPES[face](answer.json()), answer.text


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("face", FACE_NAMES)
def test_a_bare_face_prefix_gets_the_faces_own_404_not_a_redirect(limited: RunningServer, face: str, method: str) -> None:
    prefix = BY_NAME[face].prefix
    answer = httpx.request(method, limited.base_url + prefix, json={} if method != "GET" else None, timeout=30)
    assert answer.status_code == 404 and "location" not in answer.headers
    assert ENVELOPES[face](answer.json()), answer.text
    (entry,) = httpx.get(limited.base_url + "/_sim/requests", params={"path": prefix, "method": method, "limit": 1}).json()["requests"]
    assert (entry["path"], entry["face"], entry["status"]) == (prefix, face, 404)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "POST"] + ["HEAD"])
@pytest.mark.parametrize("face", FACE_NAMES)
def test_a_wrong_method_gets_the_faces_own_error(limited: RunningServer, face: str, method: str) -> None:
    path, status = KNOWN_PATHS[face]
    assert face_for_path(path) == face
    answer = httpx.request(method, limited.base_url + path, timeout=30)
    assert answer.status_code == status
    if status == 405:
        assert answer.headers["allow"] == "POST"
    if method != "HEAD":
        assert ENVELOPES[face](answer.json()), answer.text


def test_the_openai_sdk_gets_openais_not_found_for_an_endpoint_not_emulated(limited: RunningServer) -> None:
    client = openai.OpenAI(api_key="pk_test_pro_edits", base_url=f"{limited.base_url}/openai/v1", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.images.edit(image=("a.png", io.BytesIO(b"\x89PNG"), "image/png"), prompt="a kite")
    assert "Invalid URL (POST /v1/images/edits)" in str(caught.value)
    assert "perf-image-sim" not in str(caught.value), "no route to name: edits are not emulated"


@pytest.mark.parametrize("base_path", ["", "/_sim/ns/jobA"])
def test_an_openai_base_url_without_v1_gets_openais_404_naming_the_path_to_use(limited: RunningServer, base_path: str) -> None:
    """The likeliest OpenAI-face misconfiguration got a bare "Invalid URL (POST /images/generations)"; OpenAI's words
    stay first, and a perf-image-sim sentence names the route, under the namespace base path the client used."""
    client = openai.OpenAI(api_key="pk_test_pro_nov1", base_url=f"{limited.base_url}{base_path}/openai", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.images.generate(prompt="a kite")
    assert caught.value.message.startswith("Error code: 404")
    assert caught.value.body == {
        "message": (
            "Invalid URL (POST /images/generations) (perf-image-sim: did you mean "
            f"{base_path}/openai/v1/images/generations? The face's base URL ends in /openai/v1.)"
        ),
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_a_wrong_method_on_a_path_without_v1_gets_openais_plain_404(limited: RunningServer) -> None:
    """The route takes only POST, so a GET is told nothing about it, as the Perf API names only routes taking the
    request's method."""
    answer = httpx.get(f"{limited.base_url}/openai/images/generations", timeout=30)
    assert answer.status_code == 404 and answer.json()["error"]["message"] == "Invalid URL (GET /images/generations)"


@pytest.mark.parametrize("base_path", ["", "/_sim/ns/jobA"])
@pytest.mark.parametrize(
    ("method", "path", "built"),
    [
        ("POST", UNKNOWN_PATHS["google"], UNKNOWN_PATHS["google"].removeprefix("/google")),
        ("GET", KNOWN_PATHS["google"][0], KNOWN_PATHS["google"][0].removeprefix("/google")),
    ],
)
def test_googles_404_quotes_the_path_its_client_built_without_the_simulators_mount_prefix(
    limited: RunningServer, base_path: str, method: str, path: str, built: str
) -> None:
    """A google-genai client's base URL ends in `/google`; Google's front end sees only the path after its host."""
    answer = httpx.request(method, limited.base_url + base_path + path, timeout=30)
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == f"The requested URL {built} was not found on this server."


@pytest.mark.parametrize("path", ["/google", "/_sim/ns/jobA/google"])
def test_googles_404_for_the_bare_prefix_names_the_prefix_not_the_root(limited: RunningServer, path: str) -> None:
    """LiteLLM's `vertex_ai/` given `api_base=".../google"` posts to the prefix itself; "The requested URL / was not
    found" pointed nowhere near the mistake."""
    answer = httpx.post(limited.base_url + path, json={}, timeout=30)
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "The requested URL /google was not found on this server."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/flux-pro-1.1"),
        ("POST", "/v1/flux-kontext-pro"),
        ("POST", "/v1/licenses/models/flux-1-dev/usage"),
        ("GET", "/v1/get_result/"),
        ("PUT", "/v1/flux-dev/"),
    ],
)
def test_bfl_root_paths_not_emulated_get_bfls_own_404(limited: RunningServer, method: str, path: str) -> None:
    answer = httpx.request(method, limited.base_url + path, headers={"x-key": "pk_live_abc123"}, json={"prompt": "a kite"}, timeout=30)
    assert answer.status_code == 404 and ENVELOPES["bfl"](answer.json()), answer.text
    assert httpx.get(limited.base_url + "/_sim/requests", params={"path": path, "limit": 1}).json()["requests"][0]["face"] == "bfl"


def test_the_blackforest_client_gets_bfls_not_found_for_a_model_or_call_not_emulated(limited: RunningServer) -> None:
    client = BFLClient(api_key="pk_live_abc123", base_url=limited.base_url, timeout=10)
    with pytest.raises(BFLError, match="API request failed: Not Found"):
        client.generate("flux-pro-1.1", {"prompt": "a kite"})
    with pytest.raises(BFLError, match="API request failed: Not Found"):
        client.track_usage_via_api("flux-dev")


@pytest.mark.parametrize(
    ("path", "face"),
    [
        ("/", None),
        ("/openapi.json", None),
        ("/_sim/usage/pk_live_abc123", None),
        ("/images/img_0.png", None),
        ("/v1/images/generations", "perf"),
        ("/v1/flux-dev", "bfl"),
        ("/v1/get_result", "bfl"),
        ("/v1/get_result/", "bfl"),
        ("/v1/flux-pro-1.1-ultra", "bfl"),
        ("/v1/licenses/models/flux-1-dev/usage", "bfl"),
        ("/v1/image", "perf"),
        ("/v1/models", "perf"),
        ("/v1/images/edits", "perf"),
        ("/bfl/delivery/t/sample.jpg", "bfl"),
        ("/openai", "openai"),
        ("/openaix", None),
        ("/google/v1beta1/projects/p/locations/l/publishers/google/models/m:predict", "google"),
    ],
)
def test_a_path_belongs_to_the_face_that_answers_it(path: str, face: str | None) -> None:
    assert face_for_path(path) == face
