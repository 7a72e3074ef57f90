"""Imagen 3's native :predict API through the official google-genai SDK (Gemini and Vertex modes) and raw HTTP."""

from __future__ import annotations

import base64
import io

import google.oauth2.credentials
import httpx
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from simulator.launcher import RunningServer
from spec.errors import MAX_BODY_BYTES
from spec.policy import OUTPUT_FILTER_PHRASE, TRIGGER_PHRASE
from spec.providers import google as google_spec

MODEL = "imagen-3.0-generate-002"
PREDICT = f"/google/v1beta/models/{MODEL}:predict"


def gemini(sim: RunningServer, key: str = "pk_live_abc123") -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=sim.base_url + "/google"))


def vertex(sim: RunningServer, token: str = "pk_live_abc123") -> genai.Client:
    credentials = google.oauth2.credentials.Credentials(token=token)
    return genai.Client(
        vertexai=True,
        project="sim-project",
        location="us-central1",
        credentials=credentials,
        http_options=types.HttpOptions(base_url=sim.base_url + "/google"),
    )


def in_namespace(sim: RunningServer, mode: str, namespace: str) -> genai.Client:
    """A google-genai client of each mode whose every call names `namespace` by header, as docs/testing.md shows."""
    options = types.HttpOptions(base_url=sim.base_url + "/google", headers={"X-Sim-Namespace": namespace})
    if mode == "gemini":
        return genai.Client(api_key="pk_test_pro_ns", http_options=options)
    if mode == "express":
        return genai.Client(vertexai=True, api_key="pk_test_pro_ns", http_options=options)
    credentials = google.oauth2.credentials.Credentials(token="pk_test_pro_ns")
    return genai.Client(vertexai=True, project="sim-project", location="us-central1", credentials=credentials, http_options=options)


def sizes(response: types.GenerateImagesResponse) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO(g.image.image_bytes)).size for g in response.generated_images or [] if g.image and g.image.image_bytes]


def test_sdk_gemini_mode_keeps_the_base_url_path_and_gets_each_aspect_ratio(sim: RunningServer) -> None:
    config = types.GenerateImagesConfig(number_of_images=3, aspect_ratio="16:9")
    response = gemini(sim).models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
    assert sizes(response) == [(1408, 768)] * 3
    first = response.generated_images[0].image if response.generated_images else None
    assert first is not None and first.mime_type == "image/png"


def test_sdk_vertex_mode_with_bearer_token_and_jpeg_output(sim: RunningServer) -> None:
    config = types.GenerateImagesConfig(number_of_images=1, aspect_ratio="3:4", output_mime_type="image/jpeg")
    response = vertex(sim).models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
    image = response.generated_images[0].image if response.generated_images else None
    assert image is not None and image.image_bytes is not None
    assert image.mime_type == "image/jpeg" and Image.open(io.BytesIO(image.image_bytes)).size == (896, 1280)


def test_sdk_vertex_express_mode_with_an_api_key(sim: RunningServer, client: httpx.Client) -> None:
    express = genai.Client(vertexai=True, api_key="pk_test_pro_express", http_options=types.HttpOptions(base_url=sim.base_url + "/google"))
    config = types.GenerateImagesConfig(number_of_images=2, aspect_ratio="4:3")
    response = express.models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
    assert sizes(response) == [(1280, 896)] * 2
    (entry,) = client.get("/_sim/requests", params={"key": "pk_test_pro_express"}).json()["requests"]
    assert entry["face"] == "google" and entry["status"] == 200


@pytest.mark.parametrize("mode", ["gemini", "vertex", "express"])
def test_sdk_calls_with_the_namespace_header_are_journalled_and_faulted_in_that_namespace(
    sim: RunningServer, client: httpx.Client, mode: str
) -> None:
    """google-genai builds each mode's URL its own way; the header its HttpOptions carries reaches the face on all
    three, so the namespace's rule fires on the SDK's call and the journal lists both calls there, none in default.
    The SDK sends no sampleCount when number_of_images is unset: the faulted call is journalled with Google's
    default 4, as the answered one is (it was null)."""
    namespace = f"genai-{mode}"
    sdk, config = in_namespace(sim, mode, namespace), types.GenerateImagesConfig(aspect_ratio="16:9")
    assert sizes(sdk.models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)) == [(1408, 768)] * 4
    rule = {"match": {"face": "google"}, "action": {"status": 503, "message": "held in the namespace"}, "times": 1}
    client.post("/_sim/faults", params={"namespace": namespace}, json=rule).raise_for_status()
    with pytest.raises(errors.ServerError) as raised:
        sdk.models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
    assert (raised.value.code, raised.value.status, raised.value.message) == (503, "UNAVAILABLE", "held in the namespace")
    entries = client.get("/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert [(e["namespace"], e["status"], e["fault"], e["n"], e["size"]) for e in entries] == [
        (namespace, 503, "status=503;message=held in the namespace", 4, "1408x768"),
        (namespace, 200, None, 4, "1408x768"),
    ]
    (fired,) = client.get("/_sim/faults", params={"namespace": namespace}).json()["faults"]
    assert (fired["namespace"], fired["fired"], fired["remaining"]) == (namespace, 1, 0)
    assert client.get("/_sim/requests", params={"namespace": "default"}).json()["requests"] == []


def test_sdk_safety_options_are_accepted_as_the_sdk_sends_them(sim: RunningServer) -> None:
    """google-genai sends the enum names (ALLOW_ADULT), where Google's REST docs write allow_adult."""
    config = types.GenerateImagesConfig(
        number_of_images=1,
        person_generation=types.PersonGeneration.ALLOW_ADULT,
        safety_filter_level=types.SafetyFilterLevel.BLOCK_MEDIUM_AND_ABOVE,
    )
    for client in (gemini(sim), vertex(sim)):
        response = client.models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
        assert sizes(response) == [(1024, 1024)]


def perf_imagen_b64(client: httpx.Client, prompt: str, n: int) -> list[str]:
    """The base64 images the Perf API makes for `prompt` on imagen-3, which the Google face must match."""
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": "Bearer pk_live_abc123"},
        json={"prompt": prompt, "model": "imagen-3", "n": n, "response_format": "b64_json"},
    ).json()
    return [d["b64_json"] for d in perf["data"]]


def test_predictions_are_byte_identical_to_the_perf_api(sim: RunningServer, client: httpx.Client) -> None:
    prompt = "a paper boat on a pond"
    perf_images = perf_imagen_b64(client, prompt, 2)
    response = gemini(sim).models.generate_images(model=MODEL, prompt=prompt, config=types.GenerateImagesConfig(number_of_images=2))
    assert [g.image.image_bytes for g in response.generated_images] == [base64.b64decode(image) for image in perf_images]  # type: ignore[union-attr]


def test_blocked_prompt_is_a_400_with_a_support_code_like_the_perf_api_refuses_it(sim: RunningServer, client: httpx.Client) -> None:
    prompt = f"a mural {TRIGGER_PHRASE}"
    with pytest.raises(errors.ClientError) as raised:
        gemini(sim).models.generate_images(model=MODEL, prompt=prompt)
    assert raised.value.code == 400 and raised.value.status == "INVALID_ARGUMENT"
    assert f"Support codes: {google_spec.IMAGEN_PROMPT_BLOCKED_CODE}" in (raised.value.message or "")
    perf = client.post(
        "/v1/images/generations", headers={"Authorization": "Bearer pk_live_abc123"}, json={"prompt": prompt, "model": "imagen-3"}
    )
    assert perf.json()["error"]["type"] == "content_policy_violation"


def test_filtered_outputs_are_omitted_or_explained(sim: RunningServer) -> None:
    prompt = f"a statue {OUTPUT_FILTER_PHRASE}"
    silent = gemini(sim).models.generate_images(model=MODEL, prompt=prompt, config=types.GenerateImagesConfig(number_of_images=2))
    assert silent.generated_images is None
    config = types.GenerateImagesConfig(number_of_images=2, include_rai_reason=True)
    explained = gemini(sim).models.generate_images(model=MODEL, prompt=prompt, config=config)
    (only,) = explained.generated_images or []
    assert only.image is None or only.image.image_bytes is None
    assert google_spec.IMAGEN_OUTPUT_FILTERED_CODE in (only.rai_filtered_reason or "")


def test_auth_errors_as_each_google_api_answers(sim: RunningServer, client: httpx.Client) -> None:
    with pytest.raises(errors.ClientError) as bad_key:
        gemini(sim, key="not_a_known_key").models.generate_images(model=MODEL, prompt="x")
    assert bad_key.value.code == 400 and "API key not valid" in (bad_key.value.message or "")
    with pytest.raises(errors.ClientError) as bad_token:
        vertex(sim, token="not_a_known_token").models.generate_images(model=MODEL, prompt="x")
    assert bad_token.value.code == 401 and bad_token.value.status == "UNAUTHENTICATED"
    no_key = client.post(PREDICT, json={"instances": [{"prompt": "x"}]})
    assert no_key.status_code == 403 and no_key.json()["error"]["status"] == "PERMISSION_DENIED"
    vertex_path = f"/google/v1/projects/p/locations/us-central1/publishers/google/models/{MODEL}:predict"
    no_token = client.post(vertex_path, json={"instances": [{"prompt": "x"}]}).json()["error"]
    assert (no_token["code"], no_token["status"]) == (401, "UNAUTHENTICATED")
    assert no_token["message"].startswith("Request is missing required authentication credential")
    assert no_token["details"][0]["reason"] == "CREDENTIALS_MISSING"
    bad_token_body = client.post(vertex_path, json={"instances": [{"prompt": "x"}]}, headers={"Authorization": "Bearer nope_nope_nope"})
    assert bad_token_body.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"


def test_key_in_query_string_and_documented_default_of_four_samples(client: httpx.Client) -> None:
    answer = client.post(PREDICT, params={"key": "pk_live_abc123"}, json={"instances": [{"prompt": "a kite"}]})
    assert answer.status_code == 200
    assert len(answer.json()["predictions"]) == google_spec.IMAGEN_DEFAULT_SAMPLE_COUNT


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 5}}, "sampleCount"),
        ({"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": "2:1"}}, "aspectRatio"),
        (
            {"instances": [{"prompt": "x"}], "parameters": {"outputOptions": {"mimeType": "image/webp"}}},
            "parameters.outputOptions.mimeType",
        ),
        ({"instances": [{"prompt": "x"}], "parameters": {"personGeneration": "allow_everyone"}}, "personGeneration"),
        ({"instances": [{"prompt": "x"}], "parameters": {"safetySetting": 3}}, "safetySetting"),
        ({"instances": []}, "instances"),
        ({"instances": [{"prompt": " "}]}, "prompt"),
    ],
)
def test_bad_parameters_are_invalid_argument(client: httpx.Client, body: dict[str, object], fragment: str) -> None:
    answer = client.post(PREDICT, headers={"x-goog-api-key": "pk_live_abc123"}, json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT" and fragment in error["message"]


@pytest.mark.parametrize(
    ("parameters", "shown"),
    [({"sampleCount": True}, "got true."), ({"includeRaiReason": "yes"}, 'got "yes".'), ({"aspectRatio": "2:1"}, 'aspectRatio: "2:1".')],
)
def test_a_refused_value_is_quoted_as_the_client_wrote_it_in_json(client: httpx.Client, parameters: dict[str, object], shown: str) -> None:
    """A client sends JSON: `got True` or `'yes'` names a value in a language it did not write."""
    answer = client.post(
        PREDICT, headers={"x-goog-api-key": "pk_live_abc123"}, json={"instances": [{"prompt": "x"}], "parameters": parameters}
    )
    assert answer.status_code == 400
    assert shown in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("true", "got true."),
        ("1e400", "got 1e400."),
        ('"1"', 'got "1".'),
        ("[1e400]", "got [1e400]."),
        ('{"a": -1e400}', 'got {"a": -1e400}.'),
    ],
)
def test_a_refused_sample_count_is_quoted_as_written_in_the_body(client: httpx.Client, written: str, shown: str) -> None:
    """A number beyond a double's range read as `Infinity`, `inf` in Python: a value the client never wrote, at any
    depth."""
    body = '{"instances": [{"prompt": "x"}], "parameters": {"sampleCount": ' + written + "}}"
    answer = client.post(PREDICT, headers={"x-goog-api-key": "pk_live_abc123", "Content-Type": "application/json"}, content=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == f"parameters.sampleCount must be an integer from 1 to 4, {shown}"


@pytest.mark.parametrize(
    "parameters",
    [
        {"aspectRatio": None},
        {"outputOptions": {"mimeType": None}},
        {"outputOptions": None},
        {"sampleCount": None, "includeRaiReason": None},
        None,
    ],
    ids=["aspectRatio", "mimeType", "outputOptions", "sampleCount-includeRaiReason", "parameters"],
)
def test_a_null_parameter_is_the_parameter_left_unset_as_proto_json_reads_it(client: httpx.Client, parameters: object) -> None:
    """A raw REST client writing null (google-genai leaves such fields out) got a 500."""
    answer = client.post(
        PREDICT, headers={"x-goog-api-key": "pk_live_abc123"}, json={"instances": [{"prompt": "a kite"}], "parameters": parameters}
    )
    assert answer.status_code == 200, answer.text
    [first, *_] = answer.json()["predictions"]
    assert first["mimeType"] == google_spec.IMAGEN_DEFAULT_MIME_TYPE
    assert Image.open(io.BytesIO(base64.b64decode(first["bytesBase64Encoded"]))).size == (1024, 1024)


def test_unknown_model_and_path_are_google_404s(client: httpx.Client) -> None:
    unknown = client.post("/google/v1beta/models/imagen-9:predict", headers={"x-goog-api-key": "pk_live_abc123"}, json={})
    error = unknown.json()["error"]
    assert unknown.status_code == 404 and error["status"] == "NOT_FOUND"
    assert error["message"].startswith("models/imagen-9 is not found for API version v1beta, or is not supported for predict.")
    assert client.post(f"/google/v1beta/models/{MODEL}:countTokens", json={}).json()["error"]["code"] == 404


@pytest.mark.parametrize(
    ("call", "method"), [("generate_content", "generateContent"), ("generate_content_stream", "StreamGenerateContent")]
)
def test_generate_content_with_an_imagen_model_is_googles_404_naming_the_method(sim: RunningServer, call: str, method: str) -> None:
    """What a google-genai user who calls generate_content (or its stream) with an Imagen model meets on the real
    Gemini API."""
    models = gemini(sim).models
    with pytest.raises(errors.ClientError) as raised:
        if call == "generate_content_stream":
            list(models.generate_content_stream(model=MODEL, contents="a watercolor fox"))
        else:
            models.generate_content(model=MODEL, contents="a watercolor fox")
    assert raised.value.code == 404 and raised.value.status == "NOT_FOUND"
    assert raised.value.message == (
        f"models/{MODEL} is not found for API version v1beta, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods."
    )


def test_rate_limit_is_resource_exhausted_with_retry_info(sim: RunningServer) -> None:
    client = gemini(sim, key="pk_test_free_google")
    client.models.generate_images(model=MODEL, prompt="x", config=types.GenerateImagesConfig(number_of_images=4))
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_images(model=MODEL, prompt="x", config=types.GenerateImagesConfig(number_of_images=2))
    assert raised.value.code == 429 and raised.value.status == "RESOURCE_EXHAUSTED"
    details = raised.value.details["error"]["details"]
    assert details[0]["@type"].endswith("RetryInfo") and details[0]["retryDelay"].endswith("s")


def test_a_body_over_the_limit_is_googles_400_invalid_argument_naming_the_limit(client: httpx.Client) -> None:
    """Google's front end answers an oversized payload 400 INVALID_ARGUMENT, not 413: a client branching on the
    status (google-genai's ClientError.code) must see what it would see in production."""
    body = b'{"instances": [{"prompt": "' + b"x" * MAX_BODY_BYTES + b'"}]}'
    answer = client.post(PREDICT, headers={"x-goog-api-key": "pk_live_abc123", "Content-Type": "application/json"}, content=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert error["message"] == f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."


VERTEX_PREDICT = f"/google/v1/projects/p/locations/us-central1/publishers/google/models/{MODEL}:predict"


def google_used(client: httpx.Client, key: str) -> int:
    """The images the Google face has charged `key` this minute."""
    used: int = client.get(f"/_sim/usage/{key}").json()["providers"]["google"]["minute"]["used"]
    return used


def test_a_misspelt_top_level_name_is_googles_unknown_name_400_not_four_billed_images(client: httpx.Client, fresh_key: str) -> None:
    """`parameter` for `parameters`: Google's front end refuses the name; the face read the default sampleCount of 4
    and charged them."""
    body = {"instances": [{"prompt": "a kite"}], "parameter": {"sampleCount": 1}}
    answer = client.post(PREDICT, headers={"x-goog-api-key": fresh_key}, json=body)
    assert answer.status_code == 400
    message = 'Invalid JSON payload received. Unknown name "parameter": Cannot find field.'
    assert answer.json()["error"] == {
        "code": 400,
        "message": message,
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": message}]}],
    }
    assert google_used(client, fresh_key) == 0


def test_unknown_top_level_names_are_refused_together_each_in_its_own_field_violation(client: httpx.Client, fresh_key: str) -> None:
    body = {"instances": [{"prompt": "a kite"}], "parameters": {"sampleCount": 1}, "extra": True, "parameter": {}}
    answer = client.post(VERTEX_PREDICT, headers={"Authorization": f"Bearer {fresh_key}"}, json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    lines = [
        'Invalid JSON payload received. Unknown name "extra": Cannot find field.',
        'Invalid JSON payload received. Unknown name "parameter": Cannot find field.',
    ]
    assert error["message"] == "\n".join(lines)
    assert error["details"][0]["fieldViolations"] == [{"description": line} for line in lines]
    assert google_used(client, fresh_key) == 0


@pytest.mark.parametrize("path", [PREDICT, VERTEX_PREDICT], ids=["gemini", "vertex"])
def test_unknown_names_inside_instances_parameters_and_output_options_are_ignored_as_google_ignores_them(
    client: httpx.Client, fresh_key: str, path: str
) -> None:
    """Decision (spec.providers.google, beside IMAGEN_UNKNOWN_NAME_MESSAGE): Google's PredictRequest takes any name
    in these free-form values, and LiteLLM's `vertex_ai/` route relies on it (it copies `extra_headers`,
    `vertex_project` and `vertex_location` into `parameters`); the face refused them with a 400. A typo there is
    ignored too, as on Google: `samplecount` leaves sampleCount as set (or at its default)."""
    headers = {"x-goog-api-key": fresh_key} if path == PREDICT else {"Authorization": f"Bearer {fresh_key}"}
    body = {
        "instances": [{"prompt": "a kite", "negative": "rain"}],
        "parameters": {
            "sampleCount": 1,
            "samplecount": 3,
            "extra_headers": headers,
            "vertex_project": "p",
            "vertex_location": "us-central1",
            "outputOptions": {"mimeType": "image/jpeg", "quality": 80},
        },
    }
    answer = client.post(path, headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    [prediction] = answer.json()["predictions"]
    assert prediction["mimeType"] == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(prediction["bytesBase64Encoded"]))).format == "JPEG"
    assert google_used(client, fresh_key) == 1


def test_a_documented_parameter_beside_unknown_names_is_still_type_checked(client: httpx.Client, fresh_key: str) -> None:
    body = {"instances": [{"prompt": "a kite"}], "parameters": {"sampleCount": 1, "extra_headers": {}, "seed": "abc"}}
    answer = client.post(PREDICT, headers={"x-goog-api-key": fresh_key}, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == 'parameters.seed must be an integer from 0 to 4294967295, got "abc".'
    assert google_used(client, fresh_key) == 0


def test_labels_are_a_vertex_field_the_gemini_api_does_not_know(client: httpx.Client, fresh_key: str) -> None:
    """Vertex's PredictRequest has `labels` (billing labels for Imagen); the Gemini API's has none."""
    body = {"instances": [{"prompt": "a kite"}], "parameters": {"sampleCount": 1}, "labels": {"team": "web"}}
    assert client.post(VERTEX_PREDICT, headers={"Authorization": f"Bearer {fresh_key}"}, json=body).status_code == 200
    gemini_answer = client.post(PREDICT, headers={"x-goog-api-key": fresh_key}, json=body)
    assert gemini_answer.status_code == 400 and 'Unknown name "labels"' in gemini_answer.json()["error"]["message"]
    bad = client.post(VERTEX_PREDICT, headers={"Authorization": f"Bearer {fresh_key}"}, json={**body, "labels": {"team": 5}})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("labels must be an object whose values are strings")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"seed": "abc"}, 'parameters.seed must be an integer from 0 to 4294967295, got "abc".'),
        ({"seed": -1}, "parameters.seed must be an integer from 0 to 4294967295, got -1."),
        ({"seed": 4294967296}, "parameters.seed must be an integer from 0 to 4294967295, got 4294967296."),
        ({"seed": 1.5}, "parameters.seed must be an integer from 0 to 4294967295, got 1.5."),
        ({"addWatermark": "maybe"}, 'parameters.addWatermark must be a boolean, got "maybe".'),
        ({"enhancePrompt": 1}, "parameters.enhancePrompt must be a boolean, got 1."),
        ({"includeSafetyAttributes": "true"}, 'parameters.includeSafetyAttributes must be a boolean, got "true".'),
        ({"language": 5}, "parameters.language must be a string, got 5."),
        ({"sampleImageSize": 2048}, "parameters.sampleImageSize must be a string, got 2048."),
        ({"negativePrompt": ["rain"]}, 'parameters.negativePrompt must be a string, got ["rain"].'),
        (
            {"outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 500}},
            "parameters.outputOptions.compressionQuality must be an integer from 0 to 100, got 500.",
        ),
    ],
)
def test_a_documented_parameter_of_the_wrong_type_is_invalid_argument_before_any_quota_is_used(
    client: httpx.Client, fresh_key: str, parameters: dict[str, object], message: str
) -> None:
    """These change nothing in the picture here, but a body Google refuses must not pass the simulator."""
    body = {"instances": [{"prompt": "a fox"}], "parameters": {"sampleCount": 1, **parameters}}
    answer = client.post(VERTEX_PREDICT, headers={"Authorization": f"Bearer {fresh_key}"}, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    assert google_used(client, fresh_key) == 0


def test_every_parameter_google_genai_sends_on_vertex_is_accepted(sim: RunningServer) -> None:
    """The stricter face must not refuse what the official client sends: every GenerateImagesConfig field of 1.30."""
    config = types.GenerateImagesConfig(
        number_of_images=1,
        aspect_ratio="1:1",
        negative_prompt="rain",
        guidance_scale=7.5,
        seed=3,
        add_watermark=False,
        enhance_prompt=False,
        language=types.ImagePromptLanguage.en,
        include_safety_attributes=True,
        include_rai_reason=True,
        output_mime_type="image/jpeg",
        output_compression_quality=80,
        output_gcs_uri="gs://bucket/out",
        person_generation=types.PersonGeneration.DONT_ALLOW,
        safety_filter_level=types.SafetyFilterLevel.BLOCK_LOW_AND_ABOVE,
        image_size="1K",
    )
    response = vertex(sim).models.generate_images(model=MODEL, prompt="a watercolor fox", config=config)
    assert sizes(response) == [(1024, 1024)]


def test_a_vertex_seed_k_gives_the_perf_requests_images_from_index_k(client: httpx.Client) -> None:
    """As BFL, Stability and Ideogram seeds do (docs/providers.md, "Seeds mean the same on every face"); the face
    ignored it, so every seed gave the same picture."""
    prompt = "a fox in the snow"
    perf_images = perf_imagen_b64(client, prompt, 4)
    headers = {"Authorization": "Bearer pk_live_abc123"}

    def predicted(seed: int | None, count: int) -> list[str]:
        parameters = {"sampleCount": count, "addWatermark": False, **({} if seed is None else {"seed": seed})}
        answer = client.post(VERTEX_PREDICT, headers=headers, json={"instances": [{"prompt": prompt}], "parameters": parameters})
        return [p["bytesBase64Encoded"] for p in answer.json()["predictions"]]

    assert predicted(2, 2) == perf_images[2:4]
    assert predicted(1, 1) == perf_images[1:2] != predicted(None, 1) == predicted(0, 1) == perf_images[:1]
