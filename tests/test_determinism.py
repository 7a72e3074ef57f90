"""Two servers with the same seed, given the same requests, return byte-identical bodies."""

from __future__ import annotations

import httpx

from simulator.launcher import running_simulator

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


def _run(seed: str) -> list[bytes]:
    bodies: list[bytes] = []
    with (
        running_simulator("--seed", seed, "--clock", "manual", "--public-url", PUBLIC) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        for body in REQUESTS:
            response = client.post("/v1/images/generations", json=body, headers=KEY)
            bodies.append(
                response.content + b"|" + "|".join(f"{k}={v}" for k, v in sorted(response.headers.items()) if k != "date").encode()
            )
            for item in response.json().get("data", []):
                if "url" in item:
                    bodies.append(client.get(item["url"].removeprefix(PUBLIC)).content)
        client.post("/_sim/clock/advance", json={"seconds": 3600})
        bodies.append(client.post("/v1/images/generations", json=REQUESTS[0], headers=KEY).content)
    return bodies


def test_same_seed_same_bytes_across_processes() -> None:
    first, second = _run("42"), _run("42")
    assert first == second
    assert any(b'"retry_after"' in body for body in first), "the run should include a rate-limited request"


def test_another_seed_changes_ids_and_images() -> None:
    assert _run("1")[0] != _run("2")[0]
