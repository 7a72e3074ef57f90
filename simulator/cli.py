"""`perf-sim`: start the simulator and say how to reach it."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from simulator.app import create_app
from simulator.config import DEFAULT_PORT, DEFAULT_SEED, SimulatorConfig
from simulator.keys import KeyRegistry
from simulator.state.base import CLOCK_MANUAL, CLOCK_REAL, DEFAULT_MANUAL_START
from spec import tiers


def parse_args(argv: list[str] | None = None) -> SimulatorConfig:
    parser = argparse.ArgumentParser(prog="perf-sim", description="Offline twin of the Perf Image Generation API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed + same requests = same bytes")
    parser.add_argument("--latency-scale", type=float, default=0.0, help="0 answers at once, 1 waits the modelled latency")
    parser.add_argument("--keys", dest="keys_file", help="TOML file of extra keys, tiers and enterprise limits")
    parser.add_argument("--public-url", help="base URL put in image URLs (default: the host each request was sent to)")
    parser.add_argument(
        "--clock",
        choices=(CLOCK_REAL, CLOCK_MANUAL),
        default=CLOCK_REAL,
        help="real: wall time; manual: starts at --start-time, moves only via POST /_sim/clock/advance",
    )
    parser.add_argument("--start-time", type=float, default=DEFAULT_MANUAL_START, help="manual clock's start (Unix seconds)")
    args = parser.parse_args(argv)
    if args.latency_scale < 0:
        parser.error("--latency-scale must be 0 or more")
    try:
        KeyRegistry.from_file(args.keys_file)
    except (OSError, ValueError) as exc:
        parser.error(f"--keys: {exc}")
    return SimulatorConfig(**{k: v for k, v in vars(args).items()})


def banner(config: SimulatorConfig) -> str:
    base = config.public_url or f"http://{config.host}:{config.port}"
    rows = [(tiers.DOCUMENT_EXAMPLE_KEY, tiers.DOCUMENT_EXAMPLE_TIER)]
    rows += [(f"{tiers.TEST_KEY_PREFIX}{name}_<anything>", name) for name in tiers.TIERS]
    rows += [(t.key, f"{t.tier} (from {config.keys_file})") for t in KeyRegistry.from_file(config.keys_file).configured()]
    keys = [f"  {key:<32} {tier}" for key, tier in rows]
    curl = (
        f"curl -s {base}/v1/images/generations -H 'Authorization: Bearer {tiers.DOCUMENT_EXAMPLE_KEY}' "
        "-H 'Content-Type: application/json' -d '{\"prompt\": \"a red fox in the snow\"}'"
    )
    return "\n".join(
        [
            f"perf-sim: Perf Image Generation API at {base}  (seed {config.seed}, clock {config.clock}, latency x{config.latency_scale})",
            f"  OpenAPI: {base}/openapi.json   control API: {base}/_sim/",
            "Keys:",
            *keys,
            "Try:",
            f"  {curl}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    print(banner(config), flush=True)
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
