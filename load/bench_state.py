"""The benchmark's figures beyond one process: Redis state and workers, a burst and an outage, many requests waiting
out their modelled latency, memory, and the renderer's cost (the sections after the throughput table)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx

from load.concurrent import GENERATIONS, post_all
from load.redis_server import RedisServer, redis_available, running_redis
from load.wrk import Load, Wrk, cpu_seconds
from simulator.engine.render import RenderKey, render_png
from simulator.launcher import RunningServer, running_simulator
from simulator.state.base import MAX_STORED_IMAGES

REDIS_TARGET = 0.6
WORKER_COUNTS = (1, 2, 4)
RENDER_SIZES = ("256x256", "512x512", "1024x1024", "1792x1024")
WAIT_BODY: dict[str, object] = {"prompt": "A lighthouse on a cliff at dusk, waves below", "model": "dall-e-3"}
BURST_BODY: dict[str, object] = {"prompt": "a lighthouse at dusk", "model": "dall-e-2", "size": "256x256"}


def _row(name: str, load: Load, ratio: str = "") -> str:
    failed = f" ({load.failed} failed)" if load.failed else ""
    return f"| {name} | {load.rps:,.0f}{failed} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | {ratio} |"


def workers(wrk: Wrk, keys_file: Path, body: dict[str, object], repeats: int) -> tuple[list[str], list[str]]:
    """In-memory state, 1 worker, against Redis state with 1, 2 and 4 workers, runs alternating."""
    rows = ["| state, workers | req/s (best) | p50 ms | p99 ms | vs memory, 1 worker (median of paired runs) |"]
    rows.append("|---|---:|---:|---:|---:|")
    if not redis_available():
        return [*rows, "| Redis | not measured: redis-server is not installed | | | |"], []
    with running_redis() as redis, ExitStack() as servers:
        # --quiet: no request log on stdout, as the ceiling writes no access log.
        quiet = ("--quiet", "--keys", str(keys_file))
        memory = servers.enter_context(running_simulator(*quiet, silent=True))
        shared = {  # a database each: a simulator refuses one another is using
            count: servers.enter_context(running_simulator(*quiet, "--state", redis.database(index), "--workers", str(count), silent=True))
            for index, count in enumerate(WORKER_COUNTS)
        }
        runs: list[tuple[Load, dict[int, Load]]] = []
        for i in range(repeats):
            base = wrk.run(memory.base_url + GENERATIONS, body, warm=i == 0)
            runs.append((base, {count: wrk.run(server.base_url + GENERATIONS, body, warm=i == 0) for count, server in shared.items()}))
    rows.append(_row("memory, 1 worker", max((base for base, _ in runs), key=lambda load: load.rps)))
    ratios = {count: statistics.median(others[count].rps / base.rps for base, others in runs) for count in WORKER_COUNTS}
    for count in WORKER_COUNTS:
        best = max((others[count] for _, others in runs), key=lambda load: load.rps)
        rows.append(_row(f"Redis, {count} worker{'s' if count > 1 else ''}", best, f"{ratios[count]:.0%}"))
    met = ratios[1] >= REDIS_TARGET
    verdict = f"- Redis, 1 worker: {ratios[1]:.0%} of memory, 1 worker (target {REDIS_TARGET:.0%}): {'met' if met else 'MISSED'}"
    return rows, [verdict]


def _keys(tier: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"pk_test_{tier}_{run}{i}" for i in range(count)]


def burst_and_outage(count: int) -> list[str]:
    """`count` concurrent requests (three bursts) over 4 workers on a healthy Redis, then Redis stopped and restarted."""
    if not redis_available():
        return ["Not measured: redis-server is not installed."]
    out = ["| case | answers | time |", "|---|---|---:|"]
    with running_redis() as redis, running_simulator("--state", redis.url, "--workers", "4", silent=True) as sim:
        for tier in ("enterprise, a key per request", "free, one key"):
            for _ in range(3):
                keys = _keys("enterprise", count) if tier.startswith("enterprise") else _keys("free", 1) * count
                burst = post_all(sim.base_url, keys, BURST_BODY)
                answers = ", ".join(f"{n} × {status}" for status, n in sorted(burst.statuses.items()))
                out.append(f"| {count} at once, {tier} | {answers} | {burst.seconds * 1000:,.0f} ms |")
        out += _outage(sim, redis)
    return out


def _outage(sim: RunningServer, redis: RedisServer) -> list[str]:
    key = _keys("pro", 1)[0]
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        redis.stop()
        timings, statuses = [], []
        for _ in range(5):
            started = time.monotonic()
            statuses.append(client.post(GENERATIONS, headers=headers, json=BURST_BODY).status_code)
            timings.append(time.monotonic() - started)
        down = f"| Redis stopped: 5 requests | {', '.join(map(str, statuses))} | slowest {max(timings) * 1000:,.0f} ms |"
        redis.start()
        started = time.monotonic()
        while client.post(GENERATIONS, headers=headers, json=BURST_BODY).status_code != 200:
            time.sleep(0.01)
        back = time.monotonic() - started
        after = [client.post(GENERATIONS, headers=headers, json=BURST_BODY).status_code for _ in range(8)]
    return [down, f"| Redis restarted: first 200 after, then 8 requests | {', '.join(map(str, after))} | {back * 1000:,.0f} ms |"]


def waiting(count: int) -> list[str]:
    """`count` concurrent dall-e-3 requests with --latency-scale 1: each waits its modelled latency (about 5 s)."""
    with running_simulator("--latency-scale", "1", silent=True) as sim:
        cpu_before = cpu_seconds(sim.process.pid)
        burst = post_all(sim.base_url, _keys("enterprise", count), WAIT_BODY)
        cpu_used = cpu_seconds(sim.process.pid) - cpu_before
    latencies = [r.json()["perf"]["latency_ms"] for r in burst.responses if r.status_code == 200]
    answers = ", ".join(f"{n} × {status}" for status, n in sorted(burst.statuses.items()))
    modelled = f"{min(latencies):,}-{max(latencies):,} ms" if latencies else "none"
    return [
        f"{count:,} concurrent requests (dall-e-3, `--latency-scale 1`, one connection each, an httpx client in one "
        f"process): answers {answers}; modelled latency {modelled}; all answered {burst.seconds:.1f} s after the first "
        f"was sent; the simulator used {cpu_used:.2f} s of CPU in that time ({cpu_used / burst.seconds:.0%} of one core; "
        "the client, opening and reading every connection in Python, is the busier process)."
    ]


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


async def _store_images(base_url: str, key: str, images: int) -> None:
    """Store `images` images, ten per request (dall-e-2 256x256 url: no rendering), 16 requests at a time."""
    body = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256", "n": 10}
    queue = iter(range(images // 10))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in queue:
            response = await client.post(GENERATIONS, json=body, headers={"Authorization": f"Bearer {key}"})
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))


def memory(keys_file: Path, key: str, beyond_cap: bool) -> list[str]:
    """RSS after storing images with `key` (unlimited in `keys_file`)."""
    rows = ["| images stored | simulator RSS MiB |", "|---:|---:|"]
    with running_simulator("--keys", str(keys_file), silent=True) as sim:
        rows.append(f"| 0 | {rss_mib(sim.process.pid):.1f} |")
        asyncio.run(_store_images(sim.base_url, key, 10_000))
        rows.append(f"| 10,000 | {rss_mib(sim.process.pid):.1f} |")
        if beyond_cap:
            asyncio.run(_store_images(sim.base_url, key, MAX_STORED_IMAGES + 20_000 - 10_000))
            rows.append(f"| {MAX_STORED_IMAGES + 20_000:,} (cap {MAX_STORED_IMAGES:,}: oldest dropped) | {rss_mib(sim.process.pid):.1f} |")
    return rows


def _render_samples(size: str, samples: int) -> Iterator[tuple[float, int]]:
    for i in range(samples):
        key = RenderKey(7, "dall-e-2", f"render cost sample {i}", size, 0)
        started = time.perf_counter()
        png = render_png(key)
        yield (time.perf_counter() - started) * 1000, len(png)


def render_costs(samples: int) -> list[str]:
    """Median ms per image and PNG bytes by size, every image a new key so nothing is cached."""
    rows = ["| size | ms per image (median) | PNG bytes |", "|---|---:|---:|"]
    for size in RENDER_SIZES:
        times, sizes = zip(*_render_samples(size, samples), strict=True)
        rows.append(f"| {size} | {statistics.median(times):.2f} | {int(statistics.median(sizes)):,} |")
    return rows
