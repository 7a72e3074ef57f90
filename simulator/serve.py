"""Run the simulator in one process, or in several uvicorn workers that share their state through Redis.

uvicorn starts workers by importing an app factory by name, so the settings travel to each worker as a JSON file
the environment names, and each worker builds its own app (and its own Redis connections) from them.

Decision: a file of the run's own, not the JSON in the variable itself: the settings carry the text of the scenario
and keys files as read at start (SimulatorConfig.file_texts), and Linux refuses to start a process whose
environment holds a variable over 128 KiB (a scenario of a thousand rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import TimeoutError as RedisTimeout
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from simulator.config import SimulatorConfig
from simulator.observe.metrics import shared_metrics_dir
from simulator.startup import after_redis_restart, started_app
from simulator.state.base import StateUnavailable
from simulator.state.claim import DatabaseClaim, claim_database
from simulator.state.open import is_shared
from simulator.state.redis import RedisState, version_problem

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _AutoHttpProtocol
except ImportError:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _AutoHttpProtocol  # type: ignore[assignment]

CONFIG_ENV = "PERF_SIM_CONFIG"
GRACEFUL_STOP_SECONDS = 5
"""Decision: on Ctrl-C (or SIGTERM) the requests still being answered get this long to finish, then are cut: a
delay fault of up to ten minutes, or a generation at a large latency scale, does not hold the stop for its whole
length."""
BACKLOG = 2048
"""Connections waiting to be accepted, uvicorn's default."""
STARTUP_FAILURE = 3
"""The exit status of a server that did not start (an app whose start-up failed), uvicorn's."""


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
    """The app factory each worker process calls. An app that cannot be made exits the worker with STARTUP_FAILURE,
    as a failed start-up does: uvicorn's supervisor then stops the run (`serve`), where an exception let the worker
    die with 1, which the supervisor answers by starting it again, failing the same way, for ever."""
    try:
        return started_app(SimulatorConfig(**json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8"))))
    except Exception:
        logging.getLogger("uvicorn.error").exception("perf-sim: a worker could not make its app")
        sys.exit(STARTUP_FAILURE)


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
        too_old = version_problem(await state.server_version())
        if too_old:
            return f"Redis at {state.location} {too_old}"
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
    return claim_database(config.state, after_redis_restart(config)) if is_shared(config.state) else None


class CannotListen(Exception):
    """Why the run cannot listen where it was told; `option` names the option to change (--host or --port)."""

    def __init__(self, option: str, detail: str) -> None:
        super().__init__(f"{option}: {detail}")
        self.option = option


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on `port` at every address `host` resolves to, for `serve` to serve on; CannotListen naming
    the option when the host does not resolve or the port cannot be had there.

    Decision: `perf-sim` binds its sockets itself, before it claims and empties a shared state, and hands them to
    uvicorn. A port in use, or a host that does not resolve, was uvicorn's log line and exit 3 (with several workers
    naming no address), after a Redis database had been emptied; it is now refused as a bad option is, before anything
    changes, and a socket held from the check to the serving leaves no moment for another process to take the port.
    The addresses are bound as uvicorn bound them with one worker (asyncio's create_server): every address of a host
    name (`localhost`: 127.0.0.1 and ::1 where both resolve), each IPv6 socket for IPv6 only, so `--host ::` listens on
    IPv6's every interface only (no IPv4 client reaches it; `--host 0.0.0.0` for those) and `--host 0.0.0.0` on
    IPv4's. See `bound_sockets` for an address that cannot be bound."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise CannotListen("--host", f"{host!r} does not resolve ({exc.strerror if isinstance(exc, OSError) else exc})") from None
    return bound_sockets(host, port, [(family, kind, proto, address) for family, kind, proto, _, address in found])


_FAMILY_OFF = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}
"""What binding an address of a family turned off on this machine fails with (::1 where IPv6 is disabled)."""


def bound_sockets(host: str, port: int, addresses: list[tuple[int, int, int, tuple[Any, ...]]]) -> list[socket.socket]:
    """Listening sockets on those of `addresses` (family, type, protocol, address: what `host` resolved to) this
    machine can bind; CannotListen when none can, or when the port is in use (or not ours) on any of them.

    Decision: an address that cannot be bound because this machine does not have it (EADDRNOTAVAIL, EAFNOSUPPORT) is
    passed over while another one can be bound, as Python 3.13's asyncio does ("assume the family is not enabled",
    bpo-30945): `--host localhost` resolves to 127.0.0.1 and ::1 even where IPv6 is turned off (containers, the
    usual hosts file), and serves on 127.0.0.1 there instead of being refused. Only when no address could be bound
    is the host refused, naming the first address that failed. A port in use is refused on any address: the run
    would otherwise serve on half of its addresses beside another process on the other half."""
    sockets: list[socket.socket] = []
    passed_over: tuple[OSError, str] | None = None
    try:
        for family, kind, proto, address in dict.fromkeys(addresses):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:  # a family this machine has no support for (IPv6 turned off): its other addresses, as asyncio
                continue
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not refused for a stopped run's closing connections
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
                sock.listen(BACKLOG)  # listening, not only bound: two sockets may share an address until one listens
            except OSError as exc:
                if exc.errno not in _FAMILY_OFF:
                    raise _cannot_listen(exc, host, str(address[0]), port) from None
                sockets.pop().close()
                passed_over = passed_over or (exc, str(address[0]))
                continue
            sock.set_inheritable(True)  # handed to each worker process
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets and passed_over is not None:
        raise _cannot_listen(passed_over[0], host, passed_over[1], port)
    if not sockets:
        raise CannotListen("--host", f"{host!r} resolves to no address this machine can listen on")
    return sockets


def _cannot_listen(exc: OSError, host: str, address: str, port: int) -> CannotListen:
    where = address if address == host else f"{address} ({host})"
    if exc.errno == errno.EADDRINUSE:
        return CannotListen("--port", f"{port} on {where} is in use (another perf-sim?)")
    if exc.errno == errno.EACCES:
        return CannotListen("--port", f"{port} on {where}: {exc.strerror} (a port below 1024 needs privileges)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return CannotListen("--host", f"{where} is no address of this machine ({exc.strerror})")
    return CannotListen("--host", f"cannot listen on {where} port {port}: {exc.strerror or exc}")


def serve(config: SimulatorConfig, sockets: list[socket.socket]) -> None:
    """Serve on `sockets` (listening_sockets) until stopped, in this process or in `config.workers` worker processes:
    what uvicorn.run does, given the sockets rather than binding them itself."""
    if config.workers == 1:
        server = uvicorn.Server(_uvicorn_config(config, started_app(config)))
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has stopped the server and says it again
            server.run(sockets=sockets)
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    with _settings_for_workers(config), shared_metrics_dir():
        started = workers_started(_uvicorn_config(config, "simulator.serve:app_from_environment"), sockets)
    if not started:
        print("perf-sim: error: a worker failed to start (its error is above), so the run stopped", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)


def workers_started(config: uvicorn.Config, sockets: list[socket.socket]) -> bool:
    """Run uvicorn's worker supervisor until it stops; False when it stopped because a worker failed to start.

    Decision: the run then exits with STARTUP_FAILURE, as one worker's does. uvicorn's supervisor stops every worker
    when one exits with STARTUP_FAILURE (a broken app fails the same way on every restart) but returns normally, and
    `perf-sim --workers N` exited 0: a CI script or a service manager saw a run that never served succeed."""
    supervisor = Multiprocess(config, sockets=sockets)
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()
    return not any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)


def _uvicorn_config(config: SimulatorConfig, app: ASGIApp | str) -> uvicorn.Config:
    """uvicorn's settings for the run: several workers import the app factory by name, each building its own app."""
    return uvicorn.Config(
        app,
        factory=config.workers > 1,
        workers=config.workers,
        http=NoDelayHttpProtocol if config.workers > 1 else "auto",
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
    )
