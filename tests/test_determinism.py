"""Two servers with the same seed, given the same requests, return byte-identical bodies.

In --gateway runs `perf.latency_ms` is the measured time of the upstream call (as the gateway must report it), so
it (and so the body's length) is left out of the comparison there; everything else, ids and images included,
must still repeat.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

from simulator.in_process import simulator_running
from simulator.launcher import RunningServer, running_simulator

PerfSim = Callable[..., AbstractContextManager[RunningServer]]

REQUESTS: list[dict[str, object]] = [
    {"prompt": "a red fox"},
    {"prompt": "a red fox", "model": "dall-e-2", "n": 3, "response_format": "b64_json", "size": "256x256"},
    {"prompt": "a lighthouse", "model": "flux-pro", "size": "1440x256", "n": 2},
    {"prompt": "a lighthouse", "model": "stable-diffusion-3", "size": "1344x768", "response_format": "b64_json"},
    {"prompt": "SIM_CONTENT_POLICY_VIOLATION"},
    {"prompt": "a cat", "model": "dall-e-3", "quality": "hd", "style": "natural", "size": "1792x1024"},
]
PUBLIC = "http://sim.test"
KEY = {"Authorization": "Bearer pk_test_free_determinism"}


MEASURED_LATENCY = re.compile(rb'"latency_ms":\d+')


def _run(perf_sim: PerfSim, seed: str, gateway_mode: bool) -> list[bytes]:
    bodies: list[bytes] = []
    unrepeatable = {"date", "content-length"} if gateway_mode else {"date"}
    with (
        perf_sim("--seed", seed, "--clock", "manual", "--public-url", PUBLIC) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        for body in REQUESTS:
            response = client.post("/v1/images/generations", json=body, headers=KEY)
            bodies.append(
                response.content
                + b"|"
                + "|".join(f"{k}={v}" for k, v in sorted(response.headers.items()) if k not in unrepeatable).encode()
            )
            for item in response.json().get("data", []):
                if "url" in item:
                    bodies.append(client.get(item["url"].removeprefix(PUBLIC)).content)
        client.post("/_sim/clock/advance", json={"seconds": 3600})
        bodies.append(client.post("/v1/images/generations", json=REQUESTS[0], headers=KEY).content)
    return [MEASURED_LATENCY.sub(b'"latency_ms":0', body) for body in bodies] if gateway_mode else bodies


def test_same_seed_same_bytes_across_processes(perf_sim: PerfSim, gateway_mode: bool) -> None:
    first, second = _run(perf_sim, "42", gateway_mode), _run(perf_sim, "42", gateway_mode)
    assert first == second
    assert any(b'"retry_after"' in body for body in first), "the run should include a rate-limited request"


def test_another_seed_changes_ids_and_images(perf_sim: PerfSim, gateway_mode: bool) -> None:
    assert _run(perf_sim, "1", gateway_mode)[0] != _run(perf_sim, "2", gateway_mode)[0]


_405_SCRIPT = """
import asyncio, json, sys
import httpx
from simulator.app import create_app
from simulator.config import SimulatorConfig

async def answers():
    app = create_app(SimulatorConfig(clock="manual"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        return [(r.headers.get("allow"), r.text) for r in [await client.post(path) for path in sys.argv[1:]]]

print(json.dumps(asyncio.run(answers())))
"""
# A page, the home page, and a provider face's route (BFL's): each serves GET, to which Starlette adds HEAD.
WRONG_METHOD_PATHS = ("/_sim/config", "/", "/bfl/v1/get_result")


def _405s(hash_seed: str) -> list[list[str]]:
    """The Allow header and body of a POST to each of WRONG_METHOD_PATHS, from a process with `hash_seed`."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", _405_SCRIPT, *WRONG_METHOD_PATHS], env=env, capture_output=True, text=True, check=True)
    answers: list[list[str]] = json.loads(done.stdout)
    return answers


def test_a_405_names_the_allowed_methods_in_one_order_in_every_process() -> None:
    # Hash seeds 0 and 3 order a {GET, HEAD} set differently in CPython 3.11.
    first, second = _405s("0"), _405s("3")
    assert [allow for allow, _ in first] == ["GET, HEAD"] * len(WRONG_METHOD_PATHS)
    assert first == second


def _native_error_ids(base_url: str) -> list[str]:
    with httpx.Client(base_url=base_url) as client:
        client.post("/_sim/reset")
        bad_key = {"Authorization": "Bearer nope-nope"}
        openai_answer = client.post("/openai/v1/images/generations", json={"prompt": "a fox"}, headers=bad_key)
        stability_answer = client.post("/stability/v2beta/stable-image/generate/sd3", files={"prompt": (None, "")}, headers=KEY)
    assert (openai_answer.status_code, stability_answer.status_code) == (401, 400)
    assert stability_answer.json()["id"] == stability_answer.headers["x-request-id"]
    return [openai_answer.headers["x-request-id"], stability_answer.headers["x-request-id"]]


def test_native_faces_error_ids_repeat_after_a_reset_and_under_the_same_seed() -> None:
    with simulator_running(seed=5) as first, simulator_running(seed=5) as second, simulator_running(seed=6) as other:
        ids = _native_error_ids(first.base_url)
        assert re.fullmatch(r"req_[0-9a-f]{32}", ids[0]) and re.fullmatch(r"[0-9a-f]{32}", ids[1])
        assert _native_error_ids(first.base_url) == ids == _native_error_ids(second.base_url)
        assert _native_error_ids(other.base_url) != ids


NATIVE_KEY = "pk_test_pro_native_determinism"


def _native_run(seed: str) -> list[bytes]:
    """One success on each native face, each answer's body and headers (but `date`) and the bytes of every image it
    names, from a fresh process."""
    seen: list[bytes] = []
    with (
        running_simulator("--seed", seed, "--clock", "manual", "--public-url", PUBLIC, "--quiet") as server,
        httpx.Client(base_url=server.base_url) as client,
    ):

        def keep(response: httpx.Response) -> httpx.Response:
            assert response.status_code == 200, (response.request.url, response.text)
            headers = "|".join(f"{k}={v}" for k, v in sorted(response.headers.items()) if k != "date")
            seen.append(response.content + b"|" + headers.encode())
            return response

        def fetch(url: str) -> None:
            keep(client.get(url.removeprefix(PUBLIC)))

        bearer = {"Authorization": f"Bearer {NATIVE_KEY}"}
        openai = keep(client.post("/openai/v1/images/generations", json={"prompt": "a fox", "model": "dall-e-3"}, headers=bearer))
        fetch(openai.json()["data"][0]["url"])
        form = {"prompt": (None, "a lighthouse"), "aspect_ratio": (None, "16:9")}
        keep(client.post("/stability/v2beta/stable-image/generate/sd3", files=form, headers={**bearer, "Accept": "image/*"}))
        keep(client.post("/stability/v2beta/stable-image/generate/sd3", files=form, headers={**bearer, "Accept": "application/json"}))
        bfl_key = {"x-key": NATIVE_KEY}
        task = keep(client.post("/bfl/v1/flux-pro", json={"prompt": "a lighthouse", "width": 512, "height": 256}, headers=bfl_key))
        client.post("/_sim/clock/advance", json={"seconds": 30}).raise_for_status()
        result = keep(client.get(task.json()["polling_url"].removeprefix(PUBLIC), headers=bfl_key))
        assert result.json()["status"] == "Ready", result.text
        fetch(result.json()["result"]["sample"])
        request = {"image_request": {"prompt": "a lighthouse", "aspect_ratio": "ASPECT_16_9", "num_images": 2}}
        ideogram = keep(client.post("/ideogram/generate", json=request, headers={"Api-Key": NATIVE_KEY}))
        for item in ideogram.json()["data"]:
            fetch(item["url"])
        google = {"instances": [{"prompt": "a lighthouse"}], "parameters": {"sampleCount": 2}}
        keep(client.post("/google/v1beta/models/imagen-3.0-generate-002:predict", json=google, headers={"x-goog-api-key": NATIVE_KEY}))
    return seen


def test_the_native_faces_success_answers_and_images_repeat_across_processes_under_the_same_seed() -> None:
    """BFL task ids and timings, Ideogram and Google bodies, Stability's seed header, every image's bytes: a fresh
    process with the same seed and a manual clock gives them all again; another seed does not."""
    first = _native_run("11")
    assert len(first) == 11
    assert _native_run("11") == first
    assert _native_run("12")[0] != first[0]
