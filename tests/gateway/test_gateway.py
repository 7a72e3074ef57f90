"""Gateway mode: a perf-sim process calling another perf-sim's native provider faces over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.gateway.adapter import call_upstream
from simulator.gateway.transport import UpstreamHttp
from simulator.http import Endpoint
from simulator.launcher import RunningServer, free_port, running_simulator
from simulator.mounting import FaceApp
from simulator.perf.gateway import GatewayFace
from simulator.providers.bfl import mapping as bfl
from simulator.providers.ideogram import mapping as ideogram
from simulator.providers.protocol import Upstream
from spec.models import DEFAULT_MODEL, DEFAULT_SIZE, MODELS
from spec.policy import OUTPUT_FILTER_PHRASE, TRIGGER_PHRASE
from tests.conftest import journal_once_it_lists

SEED = "7"
# Upstream Imagen takes 2 images a minute per key, fewer than the gateway's pro tier, so upstream 429s are reachable.
UPSTREAM_KEYS = "[providers.google]\nimages_per_minute = 2\nimages_per_day = 100\n"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    keys = tmp_path_factory.mktemp("upstream") / "keys.toml"
    keys.write_text(UPSTREAM_KEYS)
    with running_simulator("--seed", SEED, "--keys", str(keys)) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(upstream: RunningServer) -> Iterator[RunningServer]:
    with running_simulator("--seed", SEED, "--upstream", upstream.base_url, "--upstream-timeout", "20") as server:
        yield server


class GoogleInternalError(BaseHTTPRequestHandler):
    """An upstream that answers every call with Google's 500: the provider was reached, and failed."""

    def do_POST(self) -> None:
        body = json.dumps({"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}).encode()
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Stub(GoogleInternalError):
    """An upstream that fails as told: mode "500" answers an internal error, "hang" never answers in time."""

    mode = "500"

    def do_POST(self) -> None:
        if _Stub.mode == "hang":
            time.sleep(3)
            return
        super().do_POST()


@pytest.fixture(scope="module")
def failing_gateway() -> Iterator[tuple[RunningServer, type[_Stub]]]:
    """BFL points at a port nobody listens on; Google at a stub that fails as the test sets it."""
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    stub.daemon_threads = True
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    dead = f"http://127.0.0.1:{free_port()}"
    stub_url = f"http://127.0.0.1:{stub.server_address[1]}"
    try:
        args = ("--upstream-bfl", dead, "--upstream-google", stub_url, "--upstream-timeout", "1")
        with running_simulator("--seed", SEED, *args) as server:
            yield server, _Stub
    finally:
        stub.shutdown()


def generate(server: RunningServer, body: dict[str, object], key: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/images/generations", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30)


def in_process_images(upstream: RunningServer, body: dict[str, object], key: str) -> list[bytes]:
    answer = generate(upstream, {**body, "response_format": "b64_json"}, key)
    return [base64.b64decode(item["b64_json"]) for item in answer.json()["data"]]


def test_flux_through_bfl_polling_gives_the_in_process_bytes(upstream: RunningServer, gateway: RunningServer) -> None:
    body = {"prompt": "a tin robot", "model": "flux-dev", "size": "256x320", "n": 2, "response_format": "b64_json"}
    answer = generate(gateway, body, "pk_test_pro_gw_flux")
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert [base64.b64decode(d["b64_json"]) for d in payload["data"]] == in_process_images(upstream, body, "pk_test_pro_gw_flux2")
    perf = payload["perf"]
    assert perf["model_used"] == "flux-dev" and perf["cost_usd"] == 0.05
    # The latency is the one measured upstream (the upstream runs at --latency-scale 0, so its tasks are ready at once).
    assert isinstance(perf["latency_ms"], int) and perf["latency_ms"] >= 0
    assert answer.headers["x-request-id"] == perf["request_id"] and answer.headers["x-ratelimit-remaining-images"] == "28"


@pytest.mark.parametrize(("failing_polls", "status"), [(3, 200), (4, 503)])
def test_a_few_failed_bfl_polls_in_a_row_are_tried_again_but_not_more(
    upstream: RunningServer, gateway: RunningServer, failing_polls: int, status: int
) -> None:
    key = f"pk_test_pro_gw_polls_{failing_polls}"
    rule = {"match": {"path": "/v1/get_result", "key": key}, "action": {"status": 503}, "times": failing_polls}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    answer = generate(gateway, {"prompt": "a patient robot", "model": "flux-dev", "size": "256x256"}, key)
    assert answer.status_code == status, answer.text
    polls = httpx.get(f"{upstream.base_url}/_sim/requests", params={"key": key, "path": "/v1/get_result"}).json()["requests"]
    assert len(polls) == min(failing_polls + 1, 4)


# One case per model: a size other than the default where the model has one, and as many images as it allows (2 at most).
SEVEN_MODELS = [
    ("dall-e-3", "1792x1024", 1),
    ("dall-e-2", "512x512", 2),
    ("stable-diffusion-3", "1344x768", 2),
    ("flux-pro", "256x320", 2),
    ("flux-dev", "320x256", 2),
    ("ideogram-2", "1312x736", 2),
    ("imagen-3", "1024x1024", 2),
]


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
@pytest.mark.parametrize(("model", "size", "n"), SEVEN_MODELS)
def test_every_model_through_the_gateway_gives_the_in_process_images(
    upstream: RunningServer, gateway: RunningServer, model: str, size: str, n: int, response_format: str
) -> None:
    key = f"pk_test_pro_gw_same_{model}_{response_format}"
    body = {"prompt": "a harbour at dawn", "model": model, "size": size, "n": n, "response_format": response_format}
    answer = generate(gateway, body, key)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    if response_format == "url":
        assert all(item["url"].startswith(gateway.base_url + "/images/") for item in data)
        images = [httpx.get(item["url"]).content for item in data]
    else:
        images = [base64.b64decode(item["b64_json"]) for item in data]
    provider = MODELS[model].provider
    upstream_usage = httpx.get(f"{upstream.base_url}/_sim/usage/{key}").json()["providers"][provider]
    assert upstream_usage["minute"]["used"] == n, "the images were made upstream, by the provider's native face"
    in_process = generate(upstream, {**body, "response_format": "b64_json"}, key + "_direct").json()
    assert images == [base64.b64decode(item["b64_json"]) for item in in_process["data"]]
    assert len(set(images)) == n, "each image is its own, not n copies of the first"
    assert [item["revised_prompt"] for item in data] == [item["revised_prompt"] for item in in_process["data"]]
    assert answer.json()["perf"]["cost_usd"] == in_process["perf"]["cost_usd"]


@pytest.mark.parametrize(("model", "size", "n"), SEVEN_MODELS)
def test_a_prompt_with_a_lone_surrogate_is_never_a_500(
    upstream: RunningServer, gateway: RunningServer, model: str, size: str, n: int
) -> None:
    """JSON may carry lone surrogates and the Perf API accepts them; UTF-8 cannot, so JSON goes upstream as ASCII
    escapes (same prompt, same picture) and Stability's multipart form refuses the prompt with a clear 400."""
    body = f'{{"prompt": "a \\ud800 fox", "model": "{model}", "size": "{size}", "response_format": "b64_json"}}'.encode()
    headers = {"Authorization": "Bearer pk_test_pro_gw_surrogate", "content-type": "application/json"}
    answer = httpx.post(f"{gateway.base_url}/v1/images/generations", content=body, headers=headers, timeout=30)
    if model == "stable-diffusion-3":
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "prompt", answer.text
        return
    assert answer.status_code == 200, answer.text
    direct = httpx.post(f"{upstream.base_url}/v1/images/generations", content=body, headers=headers, timeout=30)
    assert answer.json()["data"][0]["b64_json"] == direct.json()["data"][0]["b64_json"]


def test_a_prompt_stabilitys_form_cannot_carry_is_refused_before_admission_at_no_cost(gateway: RunningServer) -> None:
    key = "pk_test_free_gw_surrogate"
    body = b'{"prompt": "a \\ud800 fox", "model": "stable-diffusion-3"}'
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    for _ in range(6):
        answer = httpx.post(f"{gateway.base_url}/v1/images/generations", content=body, headers=headers, timeout=30)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "prompt", answer.text
    assert httpx.get(f"{gateway.base_url}/_sim/usage/{key}").json()["minute"]["used"] == 0


def test_a_prompt_the_perf_policy_refuses_costs_no_quota_in_gateway_mode(gateway: RunningServer) -> None:
    key = "pk_test_free_gw_refused"
    for _ in range(3):
        assert generate(gateway, {"prompt": f"a flag {TRIGGER_PHRASE}", "model": "dall-e-2"}, key).status_code == 400
    answer = generate(gateway, {"prompt": "a flag", "model": "dall-e-2", "size": "256x256", "n": 5}, key)
    assert answer.status_code == 200 and answer.headers["x-ratelimit-remaining-images"] == "0"


def test_imagen_url_result_is_hosted_by_the_gateway(upstream: RunningServer, gateway: RunningServer) -> None:
    body = {"prompt": "a tin robot", "model": "imagen-3", "n": 2}
    answer = generate(gateway, body, "pk_test_pro_gw_imagen")
    assert answer.status_code == 200, answer.text
    urls = [d["url"] for d in answer.json()["data"]]
    assert all(url.startswith(gateway.base_url + "/images/") for url in urls)
    assert [httpx.get(url).content for url in urls] == in_process_images(upstream, body, "pk_test_pro_gw_imagen2")


@pytest.mark.parametrize(
    ("model", "prompt"),
    [
        ("flux-pro", f"a flag {TRIGGER_PHRASE}"),
        ("imagen-3", f"a flag {TRIGGER_PHRASE}"),
        ("flux-dev", f"a flag {OUTPUT_FILTER_PHRASE}"),
        ("imagen-3", f"a flag {OUTPUT_FILTER_PHRASE}"),
        ("stable-diffusion-3", f"a flag {OUTPUT_FILTER_PHRASE}"),
        ("ideogram-2", f"a flag {OUTPUT_FILTER_PHRASE}"),
    ],
)
def test_upstream_moderation_is_a_content_policy_violation(gateway: RunningServer, model: str, prompt: str) -> None:
    size = "256x256" if model.startswith("flux") else "1024x1024"
    answer = generate(gateway, {"prompt": prompt, "model": model, "size": size}, "pk_test_pro_gw_moderation")
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "content_policy_violation"


@pytest.mark.parametrize("model", ["dall-e-2", "stable-diffusion-3", "ideogram-2", "flux-dev", "imagen-3"])
def test_an_upstream_503_is_a_503_service_unavailable_whichever_provider_said_it(
    upstream: RunningServer, gateway: RunningServer, model: str
) -> None:
    """The upstream answers the gateway's next call to its face with a 503 in that face's own envelope (a fault rule)."""
    rule = {"match": {"face": MODELS[model].provider}, "action": {"status": 503}, "times": 1}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    size = "256x256" if model in ("flux-dev", "dall-e-2") else "1024x1024"
    answer = generate(gateway, {"prompt": "an outage", "model": model, "size": size}, "pk_test_pro_gw_outage")
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "service_unavailable", answer.text


@pytest.mark.parametrize("model", ["dall-e-2", "stable-diffusion-3", "ideogram-2"])
def test_an_upstream_400_is_a_400_naming_the_upstream_with_its_words(upstream: RunningServer, gateway: RunningServer, model: str) -> None:
    """The Perf API passed the request; the provider's words alone would read as the caller's own mistake or key."""
    key = f"pk_test_pro_gw_refused_{model.replace('-', '_')}"
    rule = {"match": {"face": MODELS[model].provider, "key": key}, "action": {"status": 400, "message": "bad field x"}, "times": 1}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    size = "256x256" if model == "dall-e-2" else "1024x1024"
    answer = generate(gateway, {"prompt": "a refused call", "model": model, "size": size}, key)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request", answer.text
    assert error["message"] == f"upstream {MODELS[model].provider} refused the call (400): bad field x", answer.text


@pytest.mark.parametrize(("fault", "reason"), [("reset", "Connection reset by peer"), ("drop", "Server disconnected")])
def test_an_upstream_that_resets_or_drops_the_connection_is_a_502_saying_so(
    upstream: RunningServer, gateway: RunningServer, fault: str, reason: str
) -> None:
    rule = {"match": {"face": "openai"}, "action": {fault: True}, "times": 1}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    answer = generate(gateway, {"prompt": "a vanishing upstream", "model": "dall-e-2", "size": "256x256"}, "pk_test_pro_gw_vanish")
    error = answer.json()["error"]
    assert answer.status_code == 502 and error["type"] == "upstream_error" and reason in error["message"], answer.text


@pytest.mark.parametrize("token", ["[sim:delay_ms=300]", "[sim:truncate]"])
def test_a_prompts_fault_token_is_applied_once_by_the_gateway_not_again_upstream(
    upstream: RunningServer, gateway: RunningServer, token: str
) -> None:
    """A truncated answer is the gateway's own 200 cut short, not a 502 from an upstream answer cut short."""
    key = f"pk_test_pro_gw_token_{token[5:10]}"
    body = {"prompt": f"a fox {token}", "model": "dall-e-2", "n": 2, "size": "256x256"}
    with httpx.Client(timeout=30) as client:
        with client.stream(
            "POST", gateway.base_url + "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as answer:
            assert answer.status_code == 200
        upstream_calls = client.get(upstream.base_url + "/_sim/requests", params={"key": key}).json()["requests"]
        (applied,) = client.get(gateway.base_url + "/_sim/requests", params={"key": key}).json()["requests"]
    assert applied["fault"] == token[5:-1], "the gateway applied the token"
    assert upstream_calls and all(call["fault"] is None for call in upstream_calls), upstream_calls


def test_a_namespaced_requests_calls_upstream_are_in_that_namespace_there_so_its_upstream_rules_apply(
    upstream: RunningServer, gateway: RunningServer
) -> None:
    rule = {"match": {"face": "openai"}, "action": {"status": 503}, "namespace": "gw-job-a"}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    body, key = {"prompt": "a shared upstream", "model": "dall-e-2", "size": "256x256"}, "pk_test_pro_gw_namespaces"
    headers = {"Authorization": f"Bearer {key}"}
    job_a = httpx.post(f"{gateway.base_url}/_sim/ns/gw-job-a/v1/images/generations", json=body, headers=headers, timeout=30)
    job_b = httpx.post(f"{gateway.base_url}/_sim/ns/gw-job-b/v1/images/generations", json=body, headers=headers, timeout=30)
    assert (job_a.status_code, job_b.status_code) == (503, 200)
    upstream_calls = httpx.get(f"{upstream.base_url}/_sim/requests", params={"key": key}).json()["requests"]
    assert [(call["namespace"], call["status"]) for call in upstream_calls] == [("gw-job-b", 200), ("gw-job-a", 503)]


def test_a_namespaced_bfl_requests_sample_download_is_in_its_namespace_upstream_too(
    upstream: RunningServer, gateway: RunningServer
) -> None:
    rule = {"match": {"path": "/bfl/delivery"}, "action": {"status": 500}, "namespace": "default"}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    try:
        body, headers = (
            {"prompt": "a namespaced fox", "model": "flux-dev", "size": "256x256"},
            {"Authorization": "Bearer pk_test_pro_gw_sample"},
        )
        answer = httpx.post(f"{gateway.base_url}/_sim/ns/gw-job-c/v1/images/generations", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, "the default namespace's rule is not job c's"
    finally:
        httpx.delete(f"{upstream.base_url}/_sim/faults", params={"namespace": "default"}).raise_for_status()


def test_a_failed_bfl_sample_download_says_what_the_host_answered(upstream: RunningServer, gateway: RunningServer) -> None:
    """The message ends with the host's own words (BFL's `detail` here), as a failed submit's or poll's does."""
    space = "gw-download"
    rule = {"match": {"path": "/bfl/delivery"}, "action": {"status": 500, "message": "the blob is gone"}, "namespace": space}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    body, headers = {"prompt": "a lost image", "model": "flux-dev", "size": "256x256"}, {"Authorization": "Bearer pk_test_pro_gw_download"}
    answer = httpx.post(f"{gateway.base_url}/_sim/ns/{space}/v1/images/generations", json=body, headers=headers, timeout=30)
    assert answer.status_code == 502, answer.text
    message = answer.json()["error"]["message"]
    assert message.startswith(f"upstream bfl answered 500: the image at {upstream.base_url}/_sim/ns/{space}/bfl/delivery/"), message
    assert message.endswith("/sample.png could not be fetched: the blob is gone"), message


SIGNED = "https://cdn.example.test/results/abc/sample.png?se=2026-12-06&sig=" + "s" * 300
XML_ERROR = '<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code><Message>Signature expired' + "." * 400


def _download_failure(via: Upstream, model: str, submitted: Mapping[str, object], failed: httpx.Response) -> ApiError:
    """The failure of a request whose one image the provider made (`submitted`, then a Ready poll for BFL) at the
    signed URL SIGNED, whose download is answered `failed`."""

    def provider(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json=submitted)
        if request.url.path == "/v1/get_result":
            return httpx.Response(200, json={"status": "Ready", "result": {"sample": SIGNED}})
        return failed

    async def fail() -> ApiError:
        http = UpstreamHttp(10)
        http.client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
        request = GenerationRequest("a patient robot", model, 1, "256x256" if model == "flux-dev" else "1024x1024", "standard", None, "url")
        try:
            with pytest.raises(ApiError) as raised:
                await call_upstream(via, http, "http://provider.test", "key", request, via.native_calls(request))
        finally:
            await http.close()
        return raised.value

    return asyncio.run(fail())


def test_a_failed_download_quotes_the_hosts_words_and_the_url_without_its_signature() -> None:
    """A storage host's XML (the start of its body, cut) for a BFL sample; Ideogram's JSON envelope's message. The URL
    loses its query (a signature that grants the download and would push the host's words past the message's end)."""
    shown = "the image at https://cdn.example.test/results/abc/sample.png could not be fetched"
    task = {"id": "task-1", "polling_url": "http://provider.test/v1/get_result?id=task-1"}
    xml = _download_failure(bfl.UPSTREAM, "flux-dev", task, httpx.Response(403, text=XML_ERROR))
    assert xml.message == f"upstream bfl answered 403: {shown}: {XML_ERROR[:200]}", xml.message
    made = {"created": "2026-12-06T00:00:00+00:00", "data": [{"url": SIGNED, "is_image_safe": True, "prompt": "a patient robot"}]}
    gone = httpx.Response(404, json={"error": {"message": "No such object", "code": 404}})
    not_found = _download_failure(ideogram.UPSTREAM, "ideogram-2", made, gone)
    assert not_found.message == f"upstream ideogram answered 404: {shown}: No such object", not_found.message
    busy = httpx.Response(503, text="", headers={"retry-after": "3"})
    unavailable = _download_failure(ideogram.UPSTREAM, "ideogram-2", made, busy)
    assert (unavailable.message, unavailable.retry_after) == (f"upstream ideogram is unavailable (503): {shown}", 3)


def test_upstream_429_passes_through_with_retry_after(gateway: RunningServer) -> None:
    key = "pk_test_pro_gw_upstream_limit"
    assert generate(gateway, {"prompt": "x", "model": "imagen-3", "n": 2}, key).status_code == 200
    limited = generate(gateway, {"prompt": "x", "model": "imagen-3"}, key)
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["type"] == "rate_limit_exceeded" and error["retry_after"] >= 1
    assert limited.headers["retry-after"] == str(error["retry_after"])
    assert "upstream google refused the gateway's call (429), not this key's own limits" in error["message"], error


def test_the_gateways_own_key_and_rate_rules_apply_first(gateway: RunningServer) -> None:
    assert generate(gateway, {"prompt": "x", "model": "imagen-3"}, "not_a_known_key").status_code == 401
    key = "pk_test_free_gw_own_limit"
    assert generate(gateway, {"prompt": "x", "model": "flux-dev", "size": "256x256", "n": 4}, key).status_code == 200
    limited = generate(gateway, {"prompt": "x", "model": "flux-dev", "size": "256x256", "n": 2}, key)
    assert limited.status_code == 429 and limited.headers["x-ratelimit-remaining-images"] == "1"


def test_providers_without_an_upstream_url_are_served_in_process(failing_gateway: tuple[RunningServer, type[_Stub]]) -> None:
    server, _ = failing_gateway
    answer = generate(server, {"prompt": "x", "model": "dall-e-2", "size": "256x256"}, "pk_test_pro_gw_inproc")
    assert answer.status_code == 200 and answer.json()["perf"]["model_used"] == "dall-e-2"


def test_upstream_down_is_503_at_once(failing_gateway: tuple[RunningServer, type[_Stub]]) -> None:
    server, _ = failing_gateway
    started = time.monotonic()
    answer = generate(server, {"prompt": "x", "model": "flux-pro", "size": "256x256"}, "pk_test_pro_gw_down")
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "service_unavailable"
    assert "unreachable" in answer.json()["error"]["message"] and time.monotonic() - started < 5


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_upstream_failure_or_silence_is_502_within_the_timeout(failing_gateway: tuple[RunningServer, type[_Stub]], mode: str) -> None:
    server, stub = failing_gateway
    stub.mode = mode
    started = time.monotonic()
    answer = generate(server, {"prompt": "x", "model": "imagen-3"}, "pk_test_pro_gw_failing")
    assert answer.status_code == 502 and answer.json()["error"]["type"] == "upstream_error"
    assert time.monotonic() - started < 4  # --upstream-timeout 1: far below the 60 s default, with room for a busy machine


def test_gateway_flags_are_checked() -> None:
    done = subprocess.run([sys.executable, "-m", "simulator", "--upstream-timeout", "0"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--upstream-timeout" in done.stderr


@pytest.mark.parametrize("option", [["--upstream-key", "pk_live_provider"], ["--upstream-timeout", "5"]])
def test_a_gateway_option_without_an_upstream_url_is_refused_not_ignored(option: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "simulator", *option], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"perf-sim: error: {option[0]} ") and "give --upstream URL" in done.stderr


def test_the_upstream_client_is_closed_at_shutdown() -> None:
    app = create_app(SimulatorConfig(upstream=f"http://127.0.0.1:{free_port()}"))
    perf = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/v1")
    assert isinstance(perf.app, FaceApp)
    route = next(r for r in perf.app.router.routes if isinstance(r, Route) and r.path == "/images/generations")
    assert isinstance(route.endpoint, Endpoint)
    face = getattr(route.endpoint.handler, "__self__", None)
    assert isinstance(face, GatewayFace)
    with TestClient(app):
        assert not face.http.client.is_closed
    assert face.http.client.is_closed


def images_counted(server: RunningServer, model: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "perf_sim_images_total" and sample.labels == {"face": "perf", "model": model}
    )


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_the_journal_and_metrics_see_a_gateway_answer_as_they_see_one_made_in_process(gateway: RunningServer, response_format: str) -> None:
    """The engine's model, n and size (defaults filled in) and every image's id, whichever format carried it: an
    answer the provider made must not be counted as no images of no model."""
    namespace = f"gw-observed-{response_format.replace('_', '-')}"
    before = images_counted(gateway, DEFAULT_MODEL)
    answer = httpx.post(
        f"{gateway.base_url}/v1/images/generations",
        headers={"Authorization": "Bearer pk_test_pro_gw_observed", "X-Sim-Namespace": namespace},
        json={"prompt": "a tin robot", "response_format": response_format},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    (entry,) = httpx.get(f"{gateway.base_url}/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert (entry["model"], entry["n"], entry["size"]) == (DEFAULT_MODEL, 1, DEFAULT_SIZE)
    (image_id,) = entry["image_ids"]
    assert httpx.get(f"{gateway.base_url}/images/{image_id}.png").status_code == 200
    assert images_counted(gateway, DEFAULT_MODEL) == before + 1


@pytest.mark.parametrize("model", ["dall-e-3", "flux-pro", "imagen-3"])
def test_the_journal_notes_a_gateway_request_as_the_engine_took_it_with_the_defaults_filled_in(gateway: RunningServer, model: str) -> None:
    """As in process: `model`, `n` and `size` are the engine's, so the journal's filters and counts by model find a
    request that left them to their defaults."""
    key = f"pk_test_pro_gw_journal_{model}"
    body: dict[str, object] = {"prompt": "a quiet harbour"} if model == "dall-e-3" else {"prompt": "a quiet harbour", "model": model}
    answer = generate(gateway, body, key)
    assert answer.status_code == 200, answer.text
    listed = httpx.get(f"{gateway.base_url}/_sim/requests", params={"key": key, "model": model}).json()["requests"]
    assert [(e["model"], e["n"], e["size"], e["status"]) for e in listed] == [(model, 1, "1024x1024", 200)]
    assert listed[0]["image_ids"] == [answer.json()["data"][0]["url"].rsplit("/", 1)[1].removesuffix(".png")]


SLOW_UPSTREAM_MS = 8000
"""An upstream delay far past the caller's timeout (1 s) and the wait for the journals (3 s)."""


@pytest.mark.parametrize(("model", "face", "n"), [("dall-e-2", "openai", 1), ("stable-diffusion-3", "stability", 2)])
def test_a_caller_that_gives_up_on_a_slow_upstream_is_journalled_unanswered_costs_nothing_and_its_calls_end(
    upstream: RunningServer, gateway: RunningServer, model: str, face: str, n: int
) -> None:
    """As a delay fault the caller gave up on is (docs/control.md). The gateway used to wait for the upstream's answer
    (up to --upstream-timeout), then journal a 200 with image ids nobody got, charging the caller's windows for them,
    and the upstream journalled its delayed calls as answered."""
    namespace, key = f"gw-leaves-{face}", f"pk_test_free_gw_leaves_{face}"
    rule = {"match": {"face": face}, "action": {"delay_ms": SLOW_UPSTREAM_MS}, "namespace": namespace}
    httpx.post(f"{upstream.base_url}/_sim/faults", json=rule).raise_for_status()
    headers = {"Authorization": f"Bearer {key}", "X-Sim-Namespace": namespace}
    with pytest.raises(httpx.ReadTimeout):
        body = {"prompt": "an impatient caller", "model": model, "n": n}
        httpx.post(f"{gateway.base_url}/v1/images/generations", json=body, headers=headers, timeout=httpx.Timeout(30, read=1))
    (entry,) = journal_once_it_lists(gateway, namespace, 1, within=3)
    assert (entry["status"], entry["error_type"], entry["image_ids"], entry["model"]) == (None, None, [], model), entry
    usage = httpx.get(f"{gateway.base_url}/_sim/usage/{key}", params={"namespace": namespace}).json()
    assert usage["minute"]["used"] == 0, "the charge was given back"
    calls = journal_once_it_lists(upstream, namespace, n, within=3)
    assert [(call["status"], call["fault"]) for call in calls] == [(None, f"delay_ms={SLOW_UPSTREAM_MS}")] * n, "cancelled, not waited for"
