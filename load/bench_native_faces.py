"""Benchmark: time per request on each native face against the Perf API, measured in the same run.

Run: python -m load.bench_native_faces [N]   (a real server on 127.0.0.1, manual clock, bounded N)
Prints milliseconds per sequential request and the ratio to the Perf API's figure; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from simulator.launcher import running_simulator

KEY = "pk_test_enterprise_bench"
UNLIMITED = "images_per_minute = 1000000\nimages_per_day = 10000000\n"


def calls(client: httpx.Client) -> dict[str, Callable[[int], httpx.Response]]:
    bearer = {"Authorization": f"Bearer {KEY}"}
    sd3 = "/stability/v2beta/stable-image/generate/sd3"
    return {
        "perf (url)": lambda i: client.post("/v1/images/generations", headers=bearer, json={"prompt": f"p{i}"}),
        "openai (url)": lambda i: client.post(
            "/openai/v1/images/generations", headers=bearer, json={"prompt": f"p{i}", "model": "dall-e-3"}
        ),
        "ideogram (url)": lambda i: client.post(
            "/ideogram/generate", headers={"Api-Key": KEY}, json={"image_request": {"prompt": f"p{i}"}}
        ),
        "stability (json, cached render)": lambda i: client.post(
            sd3, headers={**bearer, "accept": "application/json"}, files={"none": ""}, data={"prompt": "same"}
        ),
        "stability (png bytes, fresh render)": lambda i: client.post(sd3, headers=bearer, files={"none": ""}, data={"prompt": f"p{i}"}),
    }


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.toml"
        sections = [f"[providers.{name}]\n{UNLIMITED}" for name in ("openai", "stability", "ideogram")]
        keys.write_text("\n".join([*sections, f'[keys.{KEY}]\ntier = "enterprise"\n{UNLIMITED}']))
        with (
            running_simulator("--clock", "manual", "--keys", str(keys), silent=True) as server,
            httpx.Client(base_url=server.base_url) as client,
        ):
            baseline = None
            for name, call in calls(client).items():
                for warm in range(20):
                    call(-warm - 1)
                started = time.perf_counter()
                for i in range(n):
                    call(i).raise_for_status()
                per_request = (time.perf_counter() - started) / n * 1000
                baseline = baseline or per_request
                print(f"{name:38s} {per_request:6.2f} ms/request  x{per_request / baseline:.2f} of perf")


def parse_requests(argv: list[str] | None = None) -> int:
    """N from the command line. argparse, as the other `load.*` tools: `--help` was a traceback (`int('--help')`), and
    0 would end in a division by zero after starting the servers."""
    parser = argparse.ArgumentParser(prog="python -m load.bench_native_faces", description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", nargs="?", type=int, default=300, metavar="N", help="sequential requests per face (default 300)")
    requests: int = parser.parse_args(argv).requests
    if requests < 1:
        parser.error(f"N must be at least 1, got {requests}")
    return requests


if __name__ == "__main__":
    main(parse_requests())
