"""A request no route serves (a client sent to a wrong base URL) is the Perf API's unmatched request: journalled,
faulted and counted like any API request, answered naming the routes it was probably meant for, while requests for
the simulator itself stay out of the journal."""

from __future__ import annotations

import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types

from simulator.launcher import RunningServer

KEY = "pk_test_pro_unmatched"


def journal(client: httpx.Client, namespace: str) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    return requests


def test_the_openai_sdk_given_a_base_url_without_v1_finds_its_request_in_the_journal(sim: RunningServer, client: httpx.Client) -> None:
    sdk = openai.OpenAI(api_key=KEY, base_url=sim.base_url, max_retries=0, default_headers={"X-Sim-Namespace": "wrong-url"})
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.images.generate(prompt="a lighthouse", model="dall-e-3")
    assert caught.value.status_code == 404
    assert "did you mean /v1/images/generations (perf) or /openai/v1/images/generations (openai)?" in str(caught.value)
    (entry,) = journal(client, "wrong-url")
    assert (entry["method"], entry["path"], entry["face"], entry["status"]) == ("POST", "/images/generations", "perf", 404)
    assert (entry["error_type"], entry["model"], entry["key"]) == ("not_found", "dall-e-3", "pk_test_pro_…")
    count = client.post("/_sim/requests/count", json={"match": {"path": "/images/"}, "namespace": "wrong-url"})
    assert count.json() == {"count": 1}


def test_a_path_nothing_serves_is_faulted_and_journalled_in_the_perf_envelope(each_state: httpx.Client) -> None:
    client = each_state
    answer = client.get("/nowhere", headers={"X-Sim-Namespace": "lost", "X-Sim-Fault": "status=503"})
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "service_unavailable"
    plain = client.post("/v2/images/generations", json={"prompt": "a kite"}, headers={"X-Sim-Namespace": "lost"})
    assert plain.status_code == 404 and plain.json()["error"]["type"] == "not_found"
    newest, oldest = journal(client, "lost")
    assert (newest["path"], newest["face"], newest["status"], newest["fault"]) == ("/v2/images/generations", "perf", 404, None)
    assert (oldest["path"], oldest["status"], oldest["fault"]) == ("/nowhere", 503, "status=503")


def test_a_namespace_base_path_to_nothing_is_journalled_in_its_namespace(client: httpx.Client) -> None:
    assert client.post("/_sim/ns/based/v9/images", json={"prompt": "a kite"}).status_code == 404
    (entry,) = journal(client, "based")
    assert (entry["path"], entry["face"], entry["status"]) == ("/v9/images", "perf", 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),
        ("GET", "/images/img_unknown.png"),
        ("GET", "/favicon.ico"),
        ("GET", "/_sim/nope"),
        ("POST", "/_sim/requests/nope"),
    ],
)
def test_requests_for_the_simulator_itself_stay_out_of_the_journal(client: httpx.Client, method: str, path: str) -> None:
    client.request(method, path, headers={"X-Sim-Namespace": "own-pages"})
    assert journal(client, "own-pages") == []


def test_an_image_download_stays_out_of_the_journal(client: httpx.Client) -> None:
    made = client.post(
        "/v1/images/generations", json={"prompt": "a kite"}, headers={"Authorization": f"Bearer {KEY}", "X-Sim-Namespace": "gallery"}
    )
    assert httpx.get(made.json()["data"][0]["url"]).status_code == 200
    assert [entry["path"] for entry in journal(client, "gallery")] == ["/v1/images/generations"]


def test_google_genai_given_a_base_url_without_google_is_told_the_base_url_it_meant(sim: RunningServer) -> None:
    sdk = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=sim.base_url))
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_images(model="imagen-3.0-generate-002", prompt="a lighthouse")
    assert caught.value.code == 404
    assert "did you mean /google/v1beta/models/imagen-3.0-generate-002:predict (google)?" in str(caught.value)


def test_a_native_call_sent_without_its_faces_prefix_is_journalled_with_the_model_n_and_prompt_it_sent(each_state: httpx.Client) -> None:
    client = each_state
    imagen = {"instances": [{"prompt": "a lighthouse"}], "parameters": {"sampleCount": 2}}
    ideogram = {"image_request": {"prompt": "a neon sign", "model": "V_2_TURBO", "num_images": 3}}
    assert (
        client.post("/v1beta/models/imagen-3.0-generate-002:predict", json=imagen, headers={"X-Sim-Namespace": "no-prefix"}).status_code
        == 404
    )
    assert client.post("/generate", json=ideogram, headers={"X-Sim-Namespace": "no-prefix"}).status_code == 404
    ideogram_entry, imagen_entry = journal(client, "no-prefix")
    assert (imagen_entry["face"], imagen_entry["model"], imagen_entry["n"], imagen_entry["prompt"]) == (
        "perf",
        "imagen-3.0-generate-002",
        2,
        "a lighthouse",
    )
    assert (ideogram_entry["face"], ideogram_entry["model"], ideogram_entry["n"], ideogram_entry["prompt"]) == (
        "perf",
        "V_2_TURBO",
        3,
        "a neon sign",
    )


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        (
            "POST",
            "/v1/images/generationz",
            "no route for POST /v1/images/generationz; see /openapi.json; did you mean /v1/images/generations (perf)?",
        ),
        (
            "POST",
            "/v1/v1/images/generations",
            "no route for POST /v1/v1/images/generations; see /openapi.json; "
            "did you mean /v1/images/generations (perf) or /openai/v1/images/generations (openai)?",
        ),
        ("POST", "/generate", "no route for POST /generate; see /openapi.json; did you mean /ideogram/generate (ideogram)?"),
        (
            "POST",
            "/v1/images/generate",
            "no route for POST /v1/images/generate; see /openapi.json; "
            "did you mean /v1/images/generations (perf) or /ideogram/generate (ideogram)?",
        ),
        (
            "POST",
            "/_sim/ns/jobA/v1/images/generate",
            "no route for POST /_sim/ns/jobA/v1/images/generate; see /openapi.json; "
            "did you mean /_sim/ns/jobA/v1/images/generations (perf) or /_sim/ns/jobA/ideogram/generate (ideogram)?",
        ),
        ("GET", "/nowhere", "no route for GET /nowhere; see /openapi.json"),
        ("POST", "/_sim/ns/jobA/v1/nothing", "no route for POST /_sim/ns/jobA/v1/nothing; see /openapi.json"),
        (
            "POST",
            "/_sim/ns/jobA/v1/images/generation",
            "no route for POST /_sim/ns/jobA/v1/images/generation; see /openapi.json; "
            "did you mean /_sim/ns/jobA/v1/images/generations (perf)?",
        ),
        ("GET", "/v1/images/generations", "method GET is not allowed on /v1/images/generations; allowed: POST"),
    ],
)
def test_the_perf_api_names_the_routes_a_request_nothing_serves_was_meant_for(
    client: httpx.Client, method: str, path: str, message: str
) -> None:
    assert client.request(method, path, json={"prompt": "a kite"}).json()["error"]["message"] == message


def test_a_provider_face_answers_an_unknown_path_in_its_providers_own_words(client: httpx.Client) -> None:
    answer = client.post("/openai/v1/images/edits", json={"prompt": "a kite"})
    assert answer.json()["error"]["message"] == "Invalid URL (POST /v1/images/edits)"


def test_the_openai_faces_404_for_a_path_missing_v1_names_the_route_after_openais_words(client: httpx.Client) -> None:
    answer = client.post("/openai/images/generations", json={"prompt": "a kite"})
    assert answer.json()["error"]["message"] == (
        "Invalid URL (POST /images/generations) "
        "(perf-image-sim: did you mean /openai/v1/images/generations? The face's base URL ends in /openai/v1.)"
    )


def test_a_long_unrouted_path_is_kept_cut_and_still_matches_its_prefix(each_state: httpx.Client) -> None:
    client = each_state
    path = "/v1/" + "a" * 60_000
    assert client.get(path, headers={"X-Sim-Namespace": "long-path", "X-Sim-Fault": "status=503"}).status_code == 503
    assert client.get(path, headers={"X-Sim-Namespace": "long-path"}).status_code == 404
    newest, oldest = journal(client, "long-path")
    assert newest["path"] == oldest["path"] == f"{path[:512]}… ({len(path)} characters)"
    count = client.post("/_sim/requests/count", json={"match": {"path": "/v1/aaaa", "status": 404}, "namespace": "long-path"})
    assert count.json() == {"count": 1}
