"""Benchmark: what the gateway's HTTP hop costs, per model, against the same request served in process.

Run: python -m load.bench_gateway [N]   (an upstream perf-sim and a gateway perf-sim on 127.0.0.1, bounded N)
Prints milliseconds per sequential request through the gateway and in process (the upstream's own Perf API, same
seed, same run) and their ratio; nothing is asserted. Each side asks for its own prompts (no render cache shared),
and a URL answer's image is fetched, so both sides pay for rendering once. FLUX is left out: its BFL tasks take their modelled latency
in real time upstream, which measures the model, not the gateway.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from simulator.launcher import running_simulator
from spec.models import PROVIDERS

KEY = "pk_test_enterprise_bench"
UNLIMITED = "images_per_minute = 1000000\nimages_per_day = 10000000\n"
CASES = [
    ("dall-e-3", "url"),
    ("dall-e-2", "b64_json"),
    ("stable-diffusion-3", "url"),
    ("ideogram-2", "url"),
    ("imagen-3", "b64_json"),
]


def per_request_ms(client: httpx.Client, model: str, response_format: str, n: int) -> float:
    def call(i: int) -> None:
        body = {"prompt": f"{client.base_url} p{i}", "model": model, "response_format": response_format}
        answer = client.post("/v1/images/generations", headers={"Authorization": f"Bearer {KEY}"}, json=body)
        answer.raise_for_status()
        for item in answer.json()["data"]:
            if "url" in item:
                client.get(item["url"]).raise_for_status()

    for warm in range(5):
        call(-warm - 1)
    started = time.perf_counter()
    for i in range(n):
        call(i)
    return (time.perf_counter() - started) / n * 1000


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.toml"
        sections = [f"[providers.{name}]\n{UNLIMITED}" for name in PROVIDERS]
        keys.write_text("\n".join([*sections, f'[keys.{KEY}]\ntier = "enterprise"\n{UNLIMITED}']))
        with (
            running_simulator("--keys", str(keys), silent=True) as upstream,
            running_simulator("--clock", "manual", "--keys", str(keys), "--upstream", upstream.base_url, silent=True) as gateway,
            httpx.Client(base_url=upstream.base_url, timeout=60) as direct,
            httpx.Client(base_url=gateway.base_url, timeout=60) as through,
        ):
            for model, response_format in CASES:
                in_process = per_request_ms(direct, model, response_format, n)
                via_gateway = per_request_ms(through, model, response_format, n)
                ratio = via_gateway / in_process
                print(f"{model:20s} {response_format:9s} in process {in_process:7.2f} ms  gateway {via_gateway:7.2f} ms  x{ratio:.2f}")


def parse_requests(argv: list[str] | None = None) -> int:
    """N from the command line. argparse, as the other `load.*` tools: `--help` was a traceback (`int('--help')`), and
    0 would end in a division by zero after starting the servers."""
    parser = argparse.ArgumentParser(prog="python -m load.bench_gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "requests", nargs="?", type=int, default=100, metavar="N", help="sequential requests per model and side (default 100)"
    )
    requests: int = parser.parse_args(argv).requests
    if requests < 1:
        parser.error(f"N must be at least 1, got {requests}")
    return requests


if __name__ == "__main__":
    main(parse_requests())
