"""A simulator inside the calling process: uvicorn in a background thread on a free port of 127.0.0.1.

For tests and scripts that want a simulator without managing a process:

    from simulator.in_process import simulator_running

    with simulator_running(seed=7) as sim:
        client = sim.openai_client()
        client.images.generate(model="dall-e-3", prompt="a red fox")
        assert sim.count(model="dall-e-3") == 1

The pytest fixture `perf_sim` (perf_image_sim_plugins.perf_sim) is the same thing shared by a test session, with each test
in a namespace of its own.
"""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from redis.exceptions import RedisError

from simulator.config import ConfigError, SimulatorConfig
from simulator.control.client import Clock, SimulatorControl
from simulator.keys import KEY_HINT, KEY_PATTERN, KeyRegistry
from simulator.scenario import ScenarioWarning, load_scenario
from simulator.serve import GRACEFUL_STOP_SECONDS, NoDelayHttpProtocol, claim_state, state_problem
from simulator.startup import start_shared_run, started_app
from simulator.state.base import CLOCK_MANUAL
from simulator.state.claim import DatabaseInUse
from simulator.toml_file import NotToml, read_text
from spec import tiers

if TYPE_CHECKING:
    from openai import OpenAI

DEFAULT_KEY = f"{tiers.TEST_KEY_PREFIX}pro_perf_sim"
_START_TIMEOUT_SECONDS = 30.0
_CHOSEN_HERE = {
    "host": "simulator_running always listens on 127.0.0.1",
    "port": "simulator_running always listens on a free port (sim.server_url says which)",
}
"""Settings simulator_running sets itself, so a caller's value would be ignored or collide."""
_STOP_TIMEOUT_SECONDS = GRACEFUL_STOP_SECONDS + 10.0
"""How long the end of a block waits for the server's thread: the graceful stop's time for requests still running
(a delay fault is cut when it is up, as perf-sim cuts it), then the app's own shutdown."""


class PerfSim(SimulatorControl):
    """A running simulator as a test sees it: where to send requests (`base_url`, which implies the namespace), a
    key, and the control API (fault rules, journal, clock, usage) of that namespace."""

    _closed_reason = (
        "this simulator was stopped when its simulator_running block ended (the perf_sim fixture's: when the pytest "
        "session ended); make calls inside the block"
    )

    def __init__(self, server_url: str, namespace: str | None = None, key: str = DEFAULT_KEY, http: httpx.Client | None = None) -> None:
        super().__init__(server_url, namespace, http=http)
        self.key = key
        self.starting_rules: list[dict[str, Any]] = []
        """Rules this namespace started with beyond the server's own (the `perf_sim` fixture's copies of a scenario's
        rules), which `reset` puts back."""
        self._made: list[OpenAI] = []
        """The SDK clients `openai_client` made, closed with this object (the fixture's at the end of its test)."""

    def close(self) -> None:
        """Close the SDK clients `openai_client` made (their connections into the server would otherwise stay open
        until garbage collection), then the control client's own connections if it owns them."""
        while self._made:
            self._made.pop().close()
        super().close()

    def reset(self) -> Clock:
        """Take this namespace back to how it started: forget its state, then add its starting rules again (the
        server puts back the scenario's own rules of the namespaces a reset forgets)."""
        __tracebackhide__ = True
        clock = super().reset()
        for rule in self.starting_rules:
            self.add_rule(rule)
        return clock

    def in_namespace(self, namespace: str | None) -> PerfSim:
        return PerfSim(self.server_url, namespace, self.key, http=self._http)

    def key_for(self, tier: str) -> str:
        """A ready-made key of `tier` (free, pro, enterprise)."""
        if tier not in tiers.TIERS:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(tiers.TIERS)}")
        return f"{tiers.TEST_KEY_PREFIX}{tier}_perf_sim"

    fault = SimulatorControl.add_fault

    def openai_client(self, path: str = "/v1", **options: Any) -> OpenAI:
        """The official `openai` SDK pointed at this namespace's base URL (the Perf API, or `path="/openai/v1"` for
        the OpenAI face) with `self.key`; `options` go to `openai.OpenAI` (e.g. max_retries, timeout).

        Decision: a `path` without its leading `/` is refused, not joined: `path="v1"` made `.../_sim/ns/<ns>v1`, another
        namespace, whose requests the test's rules and journal never saw and which outlived the test.

        Decision: its HTTP client ignores HTTP_PROXY/ALL_PROXY (the simulator is on 127.0.0.1 of this process, where
        no proxy can reach it), and is closed when this object is (the fixture's: when the test ends). One given as
        `http_client=` is the caller's own, used as it is and left open."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must start with '/', such as '/v1' (the Perf API) or '/openai/v1' (the OpenAI face); got {path!r}")
        try:
            from openai import DefaultHttpxClient, OpenAI
        except ImportError as exc:
            raise ModuleNotFoundError(
                "openai_client needs the official openai SDK: pip install 'perf-image-sim[clients]' (or pip install openai)",
                name="openai",
            ) from exc
        options.setdefault("api_key", self.key)
        if "http_client" in options:
            return OpenAI(base_url=self.base_url + path, **options)
        client = OpenAI(base_url=self.base_url + path, http_client=DefaultHttpxClient(trust_env=False), **options)
        self._made.append(client)
        return client


def _listening_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def simulator_running(config: SimulatorConfig | None = None, *, key: str = DEFAULT_KEY, **settings: Any) -> Iterator[PerfSim]:
    """Serve a simulator in a background thread for the duration of the block and yield it (default namespace).

    `settings` are SimulatorConfig fields (seed, scenario, keys_file, log_format, ...); a scenario's [simulator]
    settings apply unless given here, and its keys join the run. Without a `config`, the clock is manual (time moves
    only through `advance`) unless `clock="real"` is given, and the request log is off (`quiet=False` prints it to
    stdout). The port is always a free one of 127.0.0.1; the simulator stops when the block ends. Settings `perf-sim`
    would refuse, and a `key` the run gives no tier, raise ValueError (ConfigError) naming the field before anything
    starts.

    Decision: a `config` given is taken as it is, its clock and request log included, with `settings` applied over
    it: `SimulatorConfig(seed=3)` has SimulatorConfig's own defaults, the real clock and the log on (write
    `SimulatorConfig(seed=3, clock="manual", quiet=True)`, or `simulator_running(seed=3)`). Guessing which of its
    fields the caller meant (a dataclass cannot tell a default from the same value written) would give one
    SimulatorConfig two meanings, perf-sim's and this function's.
    """
    for name, reason in _CHOSEN_HERE.items():
        if name in settings:
            raise ConfigError(name, f": {reason}")
    base = config or SimulatorConfig(clock=CLOCK_MANUAL, quiet=True)
    with ExitStack() as stack:
        sock = stack.enter_context(closing(_listening_socket("127.0.0.1")))
        host, port = sock.getsockname()
        config = replace(base, host=host, port=port, **settings)
        if config.scenario:
            scenario = load_scenario(config.scenario, config.file_text(config.scenario))
            for warning in scenario.warnings:
                warnings.warn(warning, ScenarioWarning, stacklevel=3)  # the caller's `with simulator_running(...)` line
            config = scenario.configure(config, given=settings)
        if "start_time" in settings and config.clock != CLOCK_MANUAL:  # as perf-sim refuses --start-time
            raise ConfigError("start_time", f": sets where the manual clock starts; the {config.clock} clock follows wall time")
        if config.workers != 1:  # before `checked`, whose advice for more workers (a shared state) would not help here
            raise ConfigError(
                "workers",
                f": simulator_running serves in one thread of this process, got {config.workers}; start perf-sim --workers N for more",
            )
        config = _with_key_checked(config.checked(), key)
        with ThreadPoolExecutor(1) as preparing:  # its own thread: the caller may be inside a running event loop
            problem = preparing.submit(state_problem, config).result()
            if problem:
                raise ConfigError("state", f": {problem}")
            try:
                claim = claim_state(config)
            except (DatabaseInUse, RedisError) as exc:
                raise ConfigError("state", f": {exc}") from None
            if claim is not None:
                stack.callback(claim.release)  # after the server has stopped: the block's own `finally` runs first
            preparing.submit(start_shared_run, config).result()
        server = uvicorn.Server(
            uvicorn.Config(
                started_app(config),
                http=NoDelayHttpProtocol,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,  # as perf-sim: a delay fault still running is cut then
            )
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"perf-sim:{port}", daemon=True)
        thread.start()
        try:
            _wait_started(server, thread)
            # The server is in this process on 127.0.0.1: HTTP_PROXY/ALL_PROXY must not send its control calls away.
            with httpx.Client(timeout=30.0, trust_env=False) as http, PerfSim(f"http://{host}:{port}", key=key, http=http) as sim:
                yield sim
        finally:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT_SECONDS)
            if thread.is_alive():
                warnings.warn(
                    f"the in-process simulator's thread {thread.name} did not stop within {_STOP_TIMEOUT_SECONDS:g}s of its "
                    "block's end; it is left running (a daemon thread) and may still answer requests",
                    RuntimeWarning,
                    stacklevel=3,
                )


def _with_key_checked(config: SimulatorConfig, key: object) -> SimulatorConfig:
    """`config`, its keys file's text read once (as perf-sim reads it: the app parses this text, not the file again),
    once `key` is one the run gives a tier to: a ready-made `pk_test_<tier>_...`, the document's example key, or a key
    of the keys file or scenario.

    Decision: refused at the `with` line (ConfigError naming `key`). Served, a typo (`pk_test_gold_x`) or a real key
    picked up from the environment made every request with `sim.key` a 401 inside the app under test."""
    if not isinstance(key, str):
        raise ConfigError("key", f" must be a string such as {DEFAULT_KEY!r}, got {key!r}")
    path = config.keys_file
    if path is not None and config.file_text(path) is None:
        try:
            config = replace(config, file_texts={**config.file_texts, path: read_text(path)})
        except NotToml as exc:
            raise ConfigError("keys_file", f": {path}: {exc}") from None
    try:
        registry = KeyRegistry.from_file(path, config.scenario, config.file_text(path))
    except ValueError as exc:
        raise ConfigError("keys_file", f": {exc}") from None
    if not KEY_PATTERN.fullmatch(key) or registry.lookup(key) is None:
        raise ConfigError("key", f" {key!r} is no key this simulator gives a tier (its requests would be 401s): {KEY_HINT}")
    return config


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    waited = 0.0
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the in-process simulator stopped before it started serving (see the log above)")
        if waited >= _START_TIMEOUT_SECONDS:
            raise TimeoutError(f"the in-process simulator did not start within {_START_TIMEOUT_SECONDS}s")
        thread.join(0.02)
        waited += 0.02
