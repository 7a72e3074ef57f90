"""LiteLLM, the multi-provider client many apps call image models through, pointed at the simulator's faces by
`api_base` alone: its `openai` provider at the Perf API and the OpenAI face, `stability` at the Stability face,
`gemini` at the Google face; `vertex_ai` by the Google face's full Vertex `:predict` URL, the key in
`extra_headers`. Its errors are its own exception classes, mapped from the answer's status.

LiteLLM's `black_forest_labs` provider cannot be pointed at the simulator: it polls only `https` URLs on `bfl.ai`
(an SSRF guard), so the docs send FLUX through the Perf API (`openai/flux-pro` at `/v1`) instead.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulator.launcher import RunningServer
from spec.models import MODELS

# LiteLLM fetches its model price map from GitHub when imported, unless told to use the copy it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
from litellm.types.utils import ImageResponse
from openai.types.image import Image

litellm.suppress_debug_info = True
KEY = "pk_test_pro_litellm"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def base(sim: RunningServer) -> Iterator[str]:
    yield sim.base_url


def images(result: ImageResponse) -> list[Image]:
    assert result.data is not None
    return result.data


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_openai_provider_gets_a_perf_api_image_url_serving_a_png(base: str) -> None:
    result = litellm.image_generation(
        model="openai/dall-e-3", prompt="a red fox", size="1792x1024", api_base=f"{base}/v1", api_key=KEY, max_retries=0
    )
    url = images(result)[0].url
    assert url and url.startswith(f"{base}/images/")
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and png_size(fetched.content) == (1792, 1024)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_openai_provider_reaches_every_perf_model_through_the_perf_api(base: str, model: str) -> None:
    result = litellm.image_generation(model=f"openai/{model}", prompt="a red fox", api_base=f"{base}/v1", api_key=KEY, max_retries=0)
    fetched = httpx.get(images(result)[0].url or "")
    assert fetched.status_code == 200 and fetched.content.startswith(PNG)


def test_openai_provider_gets_several_images_from_the_openai_face(base: str) -> None:
    result = litellm.image_generation(
        model="openai/dall-e-2", prompt="a red fox", n=3, size="256x256", api_base=f"{base}/openai/v1", api_key=KEY, max_retries=0
    )
    urls = {image.url for image in images(result)}
    assert len(urls) == 3
    for url in urls:
        assert png_size(httpx.get(url or "").content) == (256, 256)


@pytest.mark.parametrize("face_path", ["/v1", "/openai/v1"])
def test_openai_provider_gets_b64_json_through_extra_body_as_it_refuses_response_format(base: str, face_path: str) -> None:
    """docs/providers.md: LiteLLM 1.110 applies its gpt-image parameter list to dall-e-3 too, so `response_format=`
    raises before any request, and `extra_body=` is the way to b64 output. A LiteLLM release that changes either
    fails here, and the docs must follow."""
    call: dict[str, Any] = {
        "model": "openai/dall-e-3",
        "prompt": "a red fox",
        "api_base": f"{base}{face_path}",
        "api_key": KEY,
        "max_retries": 0,
    }
    with pytest.raises(litellm.UnsupportedParamsError):
        litellm.image_generation(**call, response_format="b64_json")
    result = litellm.image_generation(**call, extra_body={"response_format": "b64_json"})
    assert png_size(base64.b64decode(images(result)[0].b64_json or "")) == (1024, 1024)


def test_stability_provider_gets_a_png_from_the_stability_face(base: str) -> None:
    result = litellm.image_generation(model="stability/sd3", prompt="a red fox", api_base=f"{base}/stability", api_key=KEY)
    assert png_size(base64.b64decode(images(result)[0].b64_json or "")) == (1024, 1024)


@pytest.mark.parametrize("size", [None, "1024x1024"])
def test_gemini_provider_gets_an_imagen_png_from_the_google_face(base: str, size: str | None) -> None:
    """With `size=`, LiteLLM adds an `imageSize` parameter Google does not document for Imagen 3: Google takes unknown
    names inside `parameters`, and so must the face, or LiteLLM's documented call is a 400."""
    result = litellm.image_generation(
        model="gemini/imagen-3.0-generate-002",
        prompt="a red fox",
        api_base=f"{base}/google/v1beta",
        api_key=KEY,
        size=size,
    )
    assert png_size(base64.b64decode(images(result)[0].b64_json or "")) == (1024, 1024)


VERTEX_PREDICT = "/google/v1/projects/p/locations/us-central1/publishers/google/models/imagen-3.0-generate-002:predict"
EXPRESS_PREDICT = "/google/v1/publishers/google/models/imagen-3.0-generate-002:predict"


@pytest.mark.parametrize(
    ("path", "credential", "vertex"),
    [
        (VERTEX_PREDICT, {"Authorization": f"Bearer {KEY}"}, {"vertex_project": "p", "vertex_location": "us-central1"}),
        (EXPRESS_PREDICT, {"x-goog-api-key": KEY}, {}),
    ],
    ids=["vertex-bearer", "express-api-key"],
)
def test_vertex_ai_provider_gets_an_imagen_png_from_the_full_predict_url_with_the_key_in_extra_headers(
    base: str, path: str, credential: dict[str, str], vertex: dict[str, Any]
) -> None:
    """LiteLLM's `vertex_ai/` route uses `api_base` verbatim as the URL, sends only `extra_headers`, and copies them
    (the key included) and `vertex_project`/`vertex_location` into the body's `parameters`, which Vertex takes as
    free-form: the face refused them with a 400."""
    result = litellm.image_generation(
        model="vertex_ai/imagen-3.0-generate-002", prompt="a red fox", api_base=f"{base}{path}", extra_headers=credential, **vertex
    )
    assert png_size(base64.b64decode(images(result)[0].b64_json or "")) == (1024, 1024)
    (entry,) = httpx.get(f"{base}/_sim/requests", params={"face": "google"}).json()["requests"]
    assert entry["status"] == 200 and entry["body"]["parameters"]["extra_headers"] == credential, "as docs/providers.md warns"


def test_a_free_keys_sixth_image_in_a_minute_is_litellms_rate_limit_error(base: str) -> None:
    def generate() -> None:
        litellm.image_generation(
            model="openai/dall-e-2", prompt="a fox", size="256x256", api_base=f"{base}/v1", api_key="pk_test_free_litellm", max_retries=0
        )

    for _ in range(5):
        generate()
    with pytest.raises(litellm.RateLimitError) as refused:
        generate()
    assert refused.value.status_code == 429


def test_retries_get_through_two_injected_503s_and_the_journal_shows_three_attempts(base: str) -> None:
    rule = {"match": {"face": "perf", "key": KEY}, "action": {"status": 503}, "times": 2}
    httpx.post(f"{base}/_sim/faults", json=rule).raise_for_status()
    result = litellm.image_generation(model="openai/dall-e-3", prompt="a red fox", api_base=f"{base}/v1", api_key=KEY, max_retries=2)
    assert images(result)[0].url
    attempts = httpx.get(f"{base}/_sim/requests", params={"key": KEY}).json()["requests"]
    assert [attempt["status"] for attempt in attempts] == [200, 503, 503]


def steering(model: str, headers: dict[str, str]) -> dict[str, Any]:
    """The keyword that sends headers on `model`'s LiteLLM route (docs/providers.md, "Steering a LiteLLM call"): on
    `openai/...` LiteLLM also writes `extra_headers` into the JSON body, which both faces refuse with a 400; its
    `stability/` and `gemini/` providers send `headers=` nowhere."""
    return {"headers" if model.startswith("openai/") else "extra_headers": headers}


ROUTES = [
    ("/v1", "openai/flux-pro"),
    ("/openai/v1", "openai/dall-e-2"),
    ("/stability", "stability/sd3"),
    ("/google/v1beta", "gemini/imagen-3.0-generate-002"),
]


@pytest.mark.parametrize(("face_path", "model"), ROUTES, ids=[f"{model}@{face_path}" for face_path, model in ROUTES])
@pytest.mark.parametrize("fault", [None, "delay_ms=5"])
def test_a_namespace_and_a_fault_the_face_answers_after_reach_the_face_through_the_documented_keyword(
    base: str, face_path: str, model: str, fault: str | None
) -> None:
    """A fault that lets the face answer (a delay) or a namespace alone shows whether the face got a clean request: a
    status fault answers before the face and hid LiteLLM's `extra_headers` body field on `openai/...`. A LiteLLM
    release that moves its headers elsewhere fails here."""
    namespace = f"litellm-{model.split('/')[0]}-{face_path.strip('/').replace('/', '-')}-{fault is not None}"
    headers = {"X-Sim-Namespace": namespace, **({"X-Sim-Fault": fault} if fault else {})}
    result = litellm.image_generation(
        model=model, prompt="a red fox", api_base=f"{base}{face_path}", api_key=KEY, max_retries=0, **steering(model, headers)
    )
    assert images(result)
    (entry,) = httpx.get(f"{base}/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert (entry["status"], entry["fault"]) == (200, fault)
    assert "extra_headers" not in (entry["body"] or {}), entry["body"]


@pytest.mark.parametrize(
    ("face_path", "model", "fault", "raised"),
    [
        ("/v1", "openai/dall-e-3", "status=503", litellm.ServiceUnavailableError),
        ("/v1", "openai/dall-e-3", "status=500", litellm.InternalServerError),
        ("/openai/v1", "openai/dall-e-3", "status=400", litellm.BadRequestError),
        ("/openai/v1", "openai/dall-e-3", "status=401", litellm.AuthenticationError),
        ("/v1", "openai/dall-e-3", "status=429;retry_after=1", litellm.RateLimitError),
        ("/stability", "stability/sd3", "status=503", litellm.ServiceUnavailableError),
        ("/google/v1beta", "gemini/imagen-3.0-generate-002", "status=429", litellm.RateLimitError),
    ],
)
def test_an_injected_fault_is_the_litellm_exception_of_its_status(
    base: str, face_path: str, model: str, fault: str, raised: type[Exception]
) -> None:
    with pytest.raises(raised):
        litellm.image_generation(
            model=model,
            prompt="a red fox",
            api_base=f"{base}{face_path}",
            api_key=KEY,
            max_retries=0,
            **steering(model, {"X-Sim-Fault": fault}),
        )
    faulted = httpx.get(f"{base}/_sim/requests", params={"key": KEY}).json()["requests"]
    assert len(faulted) == 1 and faulted[0]["fault"].startswith(fault), "one attempt, answered by the fault"


# docs/control.md, "What each SDK raises", LiteLLM's columns: what each action raises, and the attempts the journal
# shows with `max_retries=2`. `openai/...` retries as the openai SDK does; its other providers make one attempt.
DELAY_MS = 1500
DELAY = f"delay_ms={DELAY_MS}"
OPENAI_CELLS = [
    ("malformed", litellm.InternalServerError, 1),
    ("truncate", litellm.InternalServerError, 3),
    ("drop", litellm.InternalServerError, 3),
    ("reset", litellm.InternalServerError, 3),
    (DELAY, litellm.Timeout, 3),
    ("status=429;retry_after=1", litellm.RateLimitError, 3),
    ("status=429;retry_after=61", litellm.RateLimitError, 1),
]
ONE_ATTEMPT_CELLS = [
    ("malformed", litellm.APIConnectionError),
    ("truncate", litellm.InternalServerError),
    ("drop", litellm.InternalServerError),
    ("reset", litellm.InternalServerError),
    (DELAY, litellm.Timeout),
    ("status=429;retry_after=1", litellm.RateLimitError),
]
ONE_ATTEMPT_ROUTES = [
    ("/stability", "stability/sd3"),
    ("/google/v1beta", "gemini/imagen-3.0-generate-002"),
    (EXPRESS_PREDICT, "vertex_ai/imagen-3.0-generate-002"),
]
TABLE = [
    *[(path, "openai/dall-e-2", fault, raised, tries) for path in ("/v1", "/openai/v1") for fault, raised, tries in OPENAI_CELLS],
    *[(path, model, fault, raised, 1) for path, model in ONE_ATTEMPT_ROUTES for fault, raised in ONE_ATTEMPT_CELLS],
]


def table_id(path: str, model: str, fault: str) -> str:
    provider = model.split("/")[0]
    return f"{provider}@{path}-{fault}" if provider == "openai" else f"{provider}-{fault}"


def faulted(base: str, face_path: str, model: str, fault: str) -> dict[str, Any]:
    """The keywords that send `fault` on `model`'s route: `vertex_ai/` takes its key in `extra_headers` too."""
    headers = {"X-Sim-Fault": fault}
    if model.startswith("vertex_ai/"):
        return {"api_base": f"{base}{face_path}", "extra_headers": {"x-goog-api-key": KEY, **headers}}
    return {"api_base": f"{base}{face_path}", "api_key": KEY, **steering(model, headers)}


@pytest.mark.parametrize(
    ("face_path", "model", "fault", "raised", "tries"), TABLE, ids=[table_id(path, model, fault) for path, model, fault, _, _ in TABLE]
)
def test_each_fault_action_is_the_litellm_exception_and_the_attempts_the_docs_table_gives(
    base: str, face_path: str, model: str, fault: str, raised: type[Exception], tries: int
) -> None:
    """docs/control.md, "What each SDK raises": `openai/...` retries a cut or lost answer, a timeout and a 429, but
    not a malformed answer nor a 429 whose `retry_after` is over 60 s (`x-should-retry: false`); `stability/`,
    `gemini/` and `vertex_ai/` make one attempt whatever happens. These pin LiteLLM 1.110's behaviour against the
    simulator's answers, so they passed on the code before they were written: a LiteLLM release that changes a cell
    fails here, and the table must follow."""
    delayed = fault == DELAY
    with pytest.raises(raised) as caught:
        litellm.image_generation(
            model=model, prompt="a red fox", max_retries=2, timeout=0.5 if delayed else 30, **faulted(base, face_path, model, fault)
        )
    assert type(caught.value) is raised, "the exact class the table names"
    if delayed:
        time.sleep(DELAY_MS / 1000)  # every attempt's delay is over by now, so each is journalled
    entries = httpx.get(f"{base}/_sim/requests", params={"key": KEY}).json()["requests"]
    assert [entry["fault"] for entry in entries] == [fault] * tries
