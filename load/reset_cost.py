"""What resetting one namespace costs on Redis state, and what recording images costs the request path.

`python -m load.reset_cost [--images 20000]` starts a throwaway redis-server, records that many images (in batches
of 10, as admitted requests record them) split between two namespaces, times `reset(namespace)` of one and checks
the other kept its images. Then it makes SINGLES one-image admissions, a url request's, and prints Redis's own time
per admission script (INFO commandstats, no round trip in it): what recording an image costs Redis's CPU, which on a
small machine is the workers' CPU. docs/load.md quotes its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import redis

from load.redis_server import running_redis
from simulator.context import in_namespace
from simulator.state.base import CLOCK_MANUAL, DEFAULT_MANUAL_START, ImageBatch, Limits
from simulator.state.redis import RedisState

BATCH = 10
SINGLES = 5_000
NAMESPACES = ("team-a", "team-b")
UNLIMITED = Limits(10**9, 10**9)


async def fill(state: RedisState, name: str, images: int) -> tuple[list[str], float]:
    """Record `images` images in namespace `name`; their ids and the seconds the admissions took."""
    batch = ImageBatch("dall-e-2", "a lighthouse", "256x256", name, 0, f"salt@{name}")
    ids: list[str] = []
    started = time.perf_counter()
    with in_namespace(name):
        for _ in range(images // BATCH):
            ticket = await state.admit_and_record("perf:k", BATCH, UNLIMITED, batch)
            ids += ticket.image_ids
    return ids, time.perf_counter() - started


def script_microseconds(url: str) -> float:
    """Redis's own time per EVALSHA since its statistics were last reset."""
    with redis.Redis.from_url(url) as client:
        return float(client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"])


async def measure(url: str, images: int) -> None:
    """Print what recording `images` images, resetting the namespace holding half of them, and one-image admissions
    cost on the Redis at `url`; the reset is also checked to keep the other namespace's images."""
    state = RedisState(url, CLOCK_MANUAL, DEFAULT_MANUAL_START)
    try:
        (gone, first), (kept, second) = [await fill(state, name, images // len(NAMESPACES)) for name in NAMESPACES]
        admissions = images // BATCH
        print(f"recorded {images:,} images in {admissions:,} admissions: {(first + second) / admissions * 1e6:.0f} µs each")
        started = time.perf_counter()
        await state.reset(NAMESPACES[0])
        spent = time.perf_counter() - started
        print(f"reset of {NAMESPACES[0]} ({len(gone):,} of {images:,} images): {spent * 1000:.0f} ms")
        if await state.get_image(gone[0]) is not None or await state.get_image(gone[-1]) is not None:
            raise SystemExit(f"the reset of {NAMESPACES[0]} left some of its images")
        if await state.get_image(kept[0]) is None or await state.get_image(kept[-1]) is None:
            raise SystemExit(f"the reset of {NAMESPACES[0]} dropped images of {NAMESPACES[1]}")
        with redis.Redis.from_url(url) as client:
            client.config_resetstat()
        single = ImageBatch("dall-e-2", "a lighthouse", "256x256", NAMESPACES[1], 0, "salt")
        with in_namespace(NAMESPACES[1]):
            for _ in range(SINGLES):
                await state.admit_and_record("perf:k", 1, UNLIMITED, single)
        print(f"{SINGLES:,} one-image admissions: Redis spent {script_microseconds(url):.1f} µs on each script")
    finally:
        await state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20_000, help="images in all, split between two namespaces")
    args = parser.parse_args()
    with running_redis() as server:
        asyncio.run(measure(server.url, args.images))


if __name__ == "__main__":
    main()
