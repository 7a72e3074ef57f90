"""Run the simulator in one process, or in several uvicorn workers that share their state through Redis.

uvicorn starts workers by importing an app factory by name, so the settings travel to each worker as a JSON file
the environment names, and each worker builds its own app (and its own Redis connections) from them.

Decision: a file of the run's own, not the JSON in the variable itself: the settings carry the text of the scenario
and keys files as read at start (SimulatorConfig.file_texts), and Linux refuses to start a process whose
environment holds a variable over 128 KiB (a scenario of a thousand rules).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import TimeoutError as RedisTimeout
from starlette.types import ASGIApp

from simulator.config import SimulatorConfig
from simulator.observe.metrics import shared_metrics_dir
from simulator.startup import started_app
from simulator.state.base import StateUnavailable
from simulator.state.claim import DatabaseClaim, claim_database
from simulator.state.open import is_shared
from simulator.state.redis import RedisState

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _AutoHttpProtocol
except ImportError:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _AutoHttpProtocol  # type: ignore[assignment]

CONFIG_ENV = "PERF_SIM_CONFIG"
GRACEFUL_STOP_SECONDS = 5
"""Decision: on Ctrl-C (or SIGTERM) the requests still being answered get this long to finish, then are cut: a
delay fault of up to ten minutes, or a generation at a large latency scale, does not hold the stop for its whole
length."""


class NoDelayHttpProtocol(_AutoHttpProtocol):
    """uvicorn's own HTTP protocol, with TCP_NODELAY on every connection.

    With several workers uvicorn binds the listening socket itself, without the TCP protocol number, so
    asyncio does not set TCP_NODELAY on accepted connections; a response written as headers then body then
    waits for the client's delayed ACK, about 40 ms per request (measured: 22 req/s on one connection).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_environment() -> ASGIApp:
    """The app factory each worker process calls."""
    return started_app(SimulatorConfig(**json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8"))))


@contextmanager
def _settings_for_workers(config: SimulatorConfig) -> Iterator[None]:
    """The settings written to a directory only this user may open, named in the environment the workers inherit,
    for as long as uvicorn may start one (it starts a worker again when one dies); removed at exit."""
    directory = tempfile.mkdtemp(prefix="perf-sim-config-")
    path = Path(directory, "config.json")
    path.write_text(json.dumps(asdict(config)), encoding="utf-8")
    os.environ[CONFIG_ENV] = str(path)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


TLS_HINT = "rediss:// connects with TLS: does that port serve TLS? A Redis without TLS takes redis://"


async def _check_reachable(config: SimulatorConfig) -> str | None:
    state = RedisState(config.state, config.clock, config.start_time)
    try:
        await state.ping()
    except StateUnavailable as exc:
        if isinstance(exc.__cause__, AuthenticationError):  # redis-py counts a wrong password as a lost connection
            return f"Redis at {state.location} refused: {exc.__cause__}"
        # At start the reason is the point (a refused connection, a name that does not resolve, a timeout), not the
        # runtime 503's "retry shortly".
        problem = f"cannot reach Redis at {state.location}: {exc.__cause__ or exc}"
        if isinstance(exc.__cause__, RedisTimeout) and urlsplit(config.state).scheme == "rediss":
            # A plain Redis never answers a TLS handshake, so the client says only that it timed out.
            problem += f" ({TLS_HINT})"
        return problem
    except RedisError as exc:  # Redis answered, but refused: a database beyond its count
        return f"Redis at {state.location} refused: {exc}"
    finally:
        await state.close()
    return None


def state_problem(config: SimulatorConfig) -> str | None:
    """Why the configured shared state cannot serve, or None: checked once before serving, so a wrong URL
    fails at start with a message instead of answering every request with 503."""
    if not is_shared(config.state):
        return None
    return asyncio.run(_check_reachable(config))


def claim_state(config: SimulatorConfig) -> DatabaseClaim | None:
    """The run's claim on its shared state (None in memory), to hold until it stops; DatabaseInUse when another
    simulator uses that database. Asked after `state_problem` found the state reachable."""
    return claim_database(config.state) if is_shared(config.state) else None


def serve(config: SimulatorConfig) -> None:
    if config.workers == 1:
        uvicorn.run(
            started_app(config),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
        )
        return
    with _settings_for_workers(config), shared_metrics_dir():
        uvicorn.run(
            "simulator.serve:app_from_environment",
            factory=True,
            workers=config.workers,
            http=NoDelayHttpProtocol,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
        )
