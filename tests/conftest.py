"""Fixtures: real simulator processes on 127.0.0.1, reset between tests through the control API.

`pytest --gateway` runs the same tests with the Perf API as a real gateway: the `server` fixture (and `perf_sim`,
for tests that start their own simulator) is then a perf-sim started with `--upstream`, in front of one upstream
perf-sim that serves every provider natively. The Perf rules stay the gateway's own: its manual clock, windows,
ids and image URLs are what the tests control through its `/_sim/`; the upstream runs on the real clock (at
latency scale 0, so BFL tasks are ready at once) with limits no test reaches, and is called with one provider key, as a production
gateway calls its providers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from starlette.applications import Starlette

from load.redis_server import RedisServer, redis_available, running_redis
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import RunningServer, running_simulator
from simulator.registry import PROVIDER_NAMES
from simulator.state.base import CLOCK_MANUAL

SEED = "7"
# The key the gateway presents upstream in --gateway runs, and limits on the upstream that no test reaches.
UPSTREAM_KEY = "pk_test_enterprise_gateway_suite"
UPSTREAM_LIMITS = "images_per_minute = 1000000\nimages_per_day = 100000000\n"

PerfSim = Callable[..., AbstractContextManager[RunningServer]]


def state_for(request: pytest.FixtureRequest, shared: bool, db: int) -> str:
    """The `--state` of a simulator under test: `memory`, or database `db` of the session's Redis, emptied first (a
    database of the test module's own, so the modules that flush theirs never touch it)."""
    if not shared:
        return "memory"
    server: RedisServer = request.getfixturevalue("redis_server")
    with redis.Redis(port=server.port, db=db) as client:
        client.flushdb()
    return f"redis://127.0.0.1:{server.port}/{db}"


def journal_once_it_lists(server: RunningServer, namespace: str, count: int, within: float) -> list[dict[str, object]]:
    """The namespace's journal once it lists `count` entries, or as it stands after `within` seconds: an entry of a
    request whose client left is written once the server sees it leave, after the client's own timeout."""
    deadline = time.monotonic() + within
    while True:
        entries: list[dict[str, object]] = httpx.get(f"{server.base_url}/_sim/requests", params={"namespace": namespace}).json()["requests"]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


@contextmanager
def reset_client(server: RunningServer) -> Iterator[httpx.Client]:
    """A client of `server`, which is reset first: a module's tests share a server, never its state."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow runs (mutant sweeps, full-level contract runs, real Locust runs, benchmark) only when asked for with `-m slow`:
    the default run stays near ten minutes on two cores."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow (scripts/test.sh and CI do, in their bounded form)")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gateway",
        action="store_true",
        help="run the Perf API tests against perf-sim in gateway mode, in front of an upstream perf-sim",
    )


@pytest.fixture(scope="session")
def gateway_mode(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--gateway"))


@pytest.fixture(scope="session")
def upstream(gateway_mode: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer | None]:
    """In --gateway runs, the provider simulator every gateway of the session calls; None otherwise."""
    if not gateway_mode:
        yield None
        return
    keys = Path(tmp_path_factory.mktemp("upstream")) / "keys.toml"
    keys.write_text("".join(f"[providers.{provider}]\n{UPSTREAM_LIMITS}\n" for provider in PROVIDER_NAMES))
    with running_simulator("--seed", SEED, "--keys", str(keys)) as running:
        yield running


@pytest.fixture(scope="session")
def perf_sim(upstream: RunningServer | None) -> PerfSim:
    """`running_simulator`, or in --gateway runs the same simulator as a gateway over the session's upstream."""
    if upstream is None:
        return running_simulator

    @contextmanager
    def gateway(*args: str) -> Iterator[RunningServer]:
        with running_simulator(*args, "--upstream", upstream.base_url, "--upstream-key", UPSTREAM_KEY) as running:
            yield running

    return gateway


@pytest.fixture(scope="session")
def server(perf_sim: PerfSim) -> Iterator[RunningServer]:
    """One simulator with a manual clock, shared by the session; tests reset it before use."""
    with perf_sim("--clock", "manual", "--seed", SEED) as running:
        yield running


@pytest.fixture
def sim(server: RunningServer) -> Iterator[RunningServer]:
    httpx.post(server.base_url + "/_sim/reset").raise_for_status()
    yield server


@pytest.fixture
def client(sim: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway Redis for the state and load tests; skipped, with the reason, where redis-server is not installed."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def stuck_redis() -> Iterator[RedisServer]:
    """A Redis of the test module's own, which its tests may stall (load.redis_server.Stall) without holding back
    another module's simulator."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    with running_redis() as server:
        yield server


@asynccontextmanager
async def app_on_own_redis() -> AsyncIterator[tuple[RedisServer, Starlette, httpx.AsyncClient]]:
    """A simulator app (manual clock) in this process on a Redis of the test's own, with a client of it: the test may
    stop and restart that Redis (an outage) without touching another test's. Skipped where redis-server is missing;
    the Redis is stopped at the end whatever the test left it in."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    with running_redis() as server:
        app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=server.url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
            yield server, app, client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
