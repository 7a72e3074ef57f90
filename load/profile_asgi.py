"""`python -m load.profile_asgi`: what one request costs the simulator in process, against the bare ceiling app.

Calls each ASGI app directly (no server, no sockets) with the benchmark's url request, many times, and reports
CPU microseconds per call (process time, which other work on a shared machine disturbs less than wall time);
`--profile` adds cProfile's top functions for the simulator, which is where its extra time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

from starlette.types import ASGIApp, Message, Scope

from load.ceiling import app as ceiling_app
from simulator.app import create_app
from simulator.config import SimulatorConfig

PATH = "/v1/images/generations"
KEY = "pk_test_enterprise_profile"
KEYS_FILE = f'[keys.{KEY}]\ntier = "enterprise"\nimages_per_minute = 1000000000\nimages_per_day = 1000000000000\n'
BODY: dict[str, object] = {"prompt": "A serene Japanese garden with cherry blossoms at sunset, photorealistic"}


def _scope(body: bytes) -> Scope:
    headers = [
        (b"host", b"127.0.0.1:8080"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {KEY}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def _calls(app: ASGIApp, body: bytes, count: int) -> float:
    """CPU seconds for `count` calls, after as many warm-up calls."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    for _ in range(count):
        await app(_scope(body), receive, send)
    started = time.process_time()
    for _ in range(count):
        await app(_scope(body), receive, send)
    return time.process_time() - started


def simulator_app() -> ASGIApp:
    keys = Path(tempfile.mkdtemp()) / "keys.toml"
    keys.write_text(KEYS_FILE)
    return create_app(SimulatorConfig(keys_file=str(keys)))


def cost_us(app: ASGIApp, count: int, body: dict[str, object] = BODY) -> float:
    """CPU microseconds per call."""
    return asyncio.run(_calls(app, json.dumps(body).encode(), count)) / count * 1e6


def profile(app: ASGIApp, count: int, top: int, body: dict[str, object] = BODY) -> str:
    """cProfile's `top` functions by own time over `count` calls."""
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(_calls(app, json.dumps(body).encode(), count))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.profile_asgi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions for the simulator")
    args = parser.parse_args(argv)
    simulator = simulator_app()
    ceiling = cost_us(ceiling_app, args.calls)
    ours = cost_us(simulator, args.calls)
    print(f"ceiling {ceiling:.1f} us per call, simulator {ours:.1f} us per call: {ceiling / ours:.0%} of the ceiling's rate")
    if args.profile:
        print(profile(simulator, args.calls, 30))
    return 0


if __name__ == "__main__":
    sys.exit(main())
