"""Settings of one simulator instance, shared by the CLI, the app factory and the tests."""

from __future__ import annotations

import math
import posixpath
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import unquote, urlsplit

from simulator.control.journal import DEFAULT_JOURNAL_SIZE, MAX_JOURNAL_SIZE
from simulator.namespace_path import is_control_path
from simulator.request_log import LOG_FORMATS, LOG_TEXT
from simulator.state.base import CLOCK_MANUAL, CLOCK_REAL, DEFAULT_MANUAL_START, EARLIEST_CLOCK_TIME, LATEST_CLOCK_TIME
from simulator.state.open import MEMORY, check_state_url, is_shared, redacted
from simulator.toml_file import is_whole
from spec.errors import BODY_TIMEOUT_SECONDS
from spec.models import PROVIDERS

DEFAULT_PORT = 8080
DEFAULT_SEED = 0
# Decision: one gateway request may take at most this long upstream (BFL polling included) before it is a 502.
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 60.0
# Decision: the latency scale is at most 100. The slowest modelled generation (flux-pro, 1440x1440, n=4: about 20.6 s)
# then waits about 34 minutes, so its image URLs (one hour) and a BFL task (one hour) are still alive when it is ready.
MAX_LATENCY_SCALE = 100.0
# The clock starts in this range and never leaves it (the Decision at simulator.state.base.LATEST_CLOCK_TIME).
START_TIME_RANGE = f"Unix seconds from {EARLIEST_CLOCK_TIME:.0f} (1970-01-01T00:00:00Z) to {LATEST_CLOCK_TIME:.0f} (9999-01-01T00:00:00Z)"


MAX_BODY_TIMEOUT_SECONDS = 3600.0
"""Decision: an hour, past any upload a test makes; a larger value (or inf) would let a stalled client hold its
connection and task for the server's whole life."""
BODY_TIMEOUT_RANGE = f"more than 0 and at most {MAX_BODY_TIMEOUT_SECONDS:g}"

EMPTY_HOST = ": the host is empty (an unset variable?); give 0.0.0.0 to listen on every interface"
"""Decision: an empty host (`--host "$SIM_HOST"`, the variable unset) is refused, not served: the server took it for
every IPv4 and IPv6 interface, which puts the control API (no authentication: faults, resets, the journal's prompts
and bodies) on the network, and the banner's URLs (`http://:8080`) named no host. Every interface is asked for by
name, 0.0.0.0 (or :: for IPv6)."""

PORTS = range(1, 65535 + 1)
"""Decision: port 0 (any free port) is refused too: the banner and its curl line must say where the server listens,
and simulator_running is the way to get a free port."""
PORT_RANGE = f"from {PORTS.start} to {PORTS[-1]}"

MAX_WORKERS = 64
"""Decision: worker processes at most. Each is a whole Python process (about 50 MB); uvicorn starts however many it
is told, so `--workers 100000` once filled a 24 GB machine's memory before the first one answered. 64 is more than
any machine this runs on has cores to keep busy."""
WORKERS = range(1, MAX_WORKERS + 1)
WORKERS_RANGE = f"from {WORKERS.start} to {WORKERS[-1]}"

JOURNAL_SIZES = range(1, MAX_JOURNAL_SIZE + 1)
JOURNAL_SIZE_RANGE = f"from {JOURNAL_SIZES.start:,} to {JOURNAL_SIZES[-1]:,}"


def valid_start_time(seconds: float) -> bool:
    """Whether the clock can start at `seconds` (NaN compares false, so it is refused with the infinities)."""
    return EARLIEST_CLOCK_TIME <= seconds <= LATEST_CLOCK_TIME


class ConfigError(ValueError):
    """A setting the simulator cannot serve. It keeps the field apart from the reason so that `perf-sim` can name its
    option (`--journal-size must be from 1 to 1,000,000, got 0`) and Python callers the argument they passed
    (`journal_size must be ...`) from one check."""

    def __init__(self, field: str, detail: str, option: str | None = None) -> None:
        super().__init__(f"{field}{detail}")
        self.field = field
        self.detail = detail
        self.option = option or "--" + field.replace("_", "-")


def _check_base_url(field: str, url: object, example: str, option: str | None = None) -> None:
    """Raise ConfigError unless `url` is an http(s) URL an HTTP client can connect to and append a path to."""
    parts = urlsplit(url if isinstance(url, str) else "")
    try:
        port_ok = parts.port != 0
    except ValueError:  # a port that is no number, or above 65535
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.query or parts.fragment:
        raise ConfigError(field, f" must be an http:// or https:// base URL such as {example}, got {url!r}", option)


def _no_namespace_base(url: str, field: str, option: str | None = None) -> None:
    """Decision: an upstream URL under a perf-sim's `/_sim/` (a namespace base path) is refused at start. The gateway
    sends each request's namespace upstream itself (X-Sim-Namespace), which the upstream refuses beside a base path
    naming another: every namespaced request was charged, then answered a 400 blaming the caller's header or a 502."""
    # As the upstream will read the path: its escapes decoded (`%5Fsim`) and dot segments resolved (`/x/../_sim`).
    if is_control_path(posixpath.normpath("/" + unquote(urlsplit(url).path).lstrip("/"))):
        raise ConfigError(
            field,
            f" is under a perf-sim's /_sim/ ({url!r}); give the upstream's own base URL: the gateway sends each "
            "request's namespace upstream itself (X-Sim-Namespace), so a caller's namespace is its own there too",
            option,
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed: int = DEFAULT_SEED
    latency_scale: float = 0.0
    """0 answers at once; 1 waits the modelled latency in real time (without blocking other requests)."""
    keys_file: str | None = None
    public_url: str | None = None
    clock: str = CLOCK_REAL
    """"real" follows wall time (windows reset as they would in production); "manual" starts at `start_time`
    and moves only through the control API, which makes whole runs byte-for-byte reproducible."""
    start_time: float = DEFAULT_MANUAL_START
    upstream: str | None = None
    """Gateway mode: the base URL of a server hosting every provider as perf-sim lays them out."""
    upstream_overrides: dict[str, str] = field(default_factory=dict)
    """Gateway mode: provider -> that provider's own base URL (wins over `upstream`)."""
    upstream_timeout: float | None = None
    """Gateway mode: the longest a request's upstream calls may take in all; None: DEFAULT_UPSTREAM_TIMEOUT_SECONDS
    (`upstream_seconds`). Given without an upstream URL, whatever its value, it is refused."""
    body_timeout: float = BODY_TIMEOUT_SECONDS
    """The longest a request's body may take to arrive once its headers have (spec.errors.BODY_TIMEOUT_SECONDS)."""
    prompt_tokens: bool = True
    """Whether a `[sim:...]` in a request body is a fault token (docs/control.md). False (`--no-prompt-tokens`): it is
    ordinary prompt text, for an app under test that sends its users' text (code, markdown, templates) on; the
    X-Sim-Fault header and the rules still work."""
    upstream_key: str | None = None
    """The key sent upstream; None forwards each caller's own key."""
    state: str = MEMORY
    """"memory" (one process) or a Redis URL that several workers share."""
    workers: int = 1
    journal_size: int = DEFAULT_JOURNAL_SIZE
    """How many requests the journal keeps (oldest dropped first); shared by all workers when the state is Redis."""
    scenario: str | None = None
    """A scenario file (simulator.scenario): its fault rules are installed at start-up."""
    log_format: str = LOG_TEXT
    """The request log on stdout: "text" or "json" lines."""
    quiet: bool = False
    """No request log at all."""
    file_texts: dict[str, str] = field(default_factory=dict)
    """The text of `keys_file` and `scenario` as the run read them, once, at start (by the path they are named by).
    Whatever needs a file's settings later (the banner, each worker's app, the shared run's rules) parses this text,
    not the path again: a pipe (`<(...)`, /dev/stdin) is empty the second time, and a file edited since would be used
    unchecked. A file not read yet (a config made in Python) is read where it is first needed."""

    def checked(self) -> SimulatorConfig:
        """These settings, or ConfigError naming the first the simulator cannot serve: the one place `perf-sim` and
        `simulator_running` check them, so a setting is refused at start rather than failing requests later."""
        if not is_whole(self.port) or self.port not in PORTS:
            raise ConfigError("port", f" must be {PORT_RANGE}, got {self.port}")
        for name in ("scenario", "keys_file"):  # `os.environ.get("SCENARIO", "")`: no file, not a run without one
            if getattr(self, name) == "":
                raise ConfigError(name, ": the file name is empty (an unset variable?)")
        if self.host == "":
            raise ConfigError("host", EMPTY_HOST)
        if not is_whole(self.seed):
            raise ConfigError("seed", f" must be a whole number, got {self.seed!r}")
        if self.clock not in (CLOCK_REAL, CLOCK_MANUAL):
            raise ConfigError("clock", f" must be {CLOCK_REAL!r} or {CLOCK_MANUAL!r}, got {self.clock!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError("log_format", f" must be one of {', '.join(map(repr, LOG_FORMATS))}, got {self.log_format!r}")
        try:
            check_state_url(self.state)
        except ValueError as exc:
            raise ConfigError("state", f": {exc}") from None
        if not is_whole(self.workers) or self.workers not in WORKERS:
            raise ConfigError("workers", f" must be {WORKERS_RANGE}, got {self.workers}")
        if self.workers > 1 and not is_shared(self.state):
            raise ConfigError(
                "workers",
                f" {self.workers} needs a shared state: each worker would keep its own rate windows, images and clock "
                "in memory, so limits would multiply by the worker count. Add --state redis://127.0.0.1:6379/0",
            )
        if not is_whole(self.journal_size) or self.journal_size not in JOURNAL_SIZES:
            raise ConfigError("journal_size", f" must be {JOURNAL_SIZE_RANGE}, got {self.journal_size}")
        if not _number(self.latency_scale) or not 0 <= self.latency_scale <= MAX_LATENCY_SCALE:
            raise ConfigError("latency_scale", f" must be from 0 to {MAX_LATENCY_SCALE:g}, got {self.latency_scale}")
        if not _number(self.start_time) or not valid_start_time(self.start_time):
            raise ConfigError("start_time", f" must be {START_TIME_RANGE}, got {self.start_time}")
        if self.upstream_timeout is not None and (
            not _number(self.upstream_timeout) or not self.upstream_timeout > 0 or math.isinf(self.upstream_timeout)
        ):
            raise ConfigError("upstream_timeout", f" must be a number of seconds more than 0, got {self.upstream_timeout}")
        if not _number(self.body_timeout) or not 0 < self.body_timeout <= MAX_BODY_TIMEOUT_SECONDS:
            raise ConfigError(
                "body_timeout",
                f" must be a number of seconds {BODY_TIMEOUT_RANGE}, got {self.body_timeout}",
            )
        for name in ("prompt_tokens", "quiet"):  # `quiet="no"` is truthy: it turned the log off
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, f" must be True or False, got {getattr(self, name)!r}")
        public_url = self.public_url
        if public_url is not None:
            _check_base_url("public_url", public_url, "http://sim.test:8080")
            public_url = public_url.rstrip("/")  # the banner and image URLs append paths starting with "/"
        # Decision: upstream URLs are checked as --public-url is, at start: a gateway whose upstream no HTTP client can
        # call would otherwise charge the caller's quota, then answer every request with a 502.
        if self.upstream is not None:
            _check_base_url("upstream", self.upstream, "http://127.0.0.1:8081")
            _no_namespace_base(self.upstream, "upstream")
        for provider, url in self.upstream_overrides.items():
            if provider not in PROVIDERS:
                raise ConfigError("upstream_overrides", f" names {provider!r}, no provider; providers: {', '.join(PROVIDERS)}")
            _check_base_url(f"upstream_overrides[{provider!r}]", url, "https://api.example", option=f"--upstream-{provider}")
            _no_namespace_base(url, f"upstream_overrides[{provider!r}]", option=f"--upstream-{provider}")
        # Decision: gateway options without an upstream URL are refused, not ignored: the run would serve every model
        # in process, which is not what a command naming an upstream key or timeout asks for.
        if not self.gateway:
            if self.upstream_key is not None:
                raise ConfigError(
                    "upstream_key", " is the key a gateway sends upstream: give --upstream URL (or --upstream-<provider>) too"
                )
            if self.upstream_timeout is not None:  # given, even at the default's value: `--upstream-timeout 60` too
                raise ConfigError(
                    "upstream_timeout", " bounds a gateway's upstream calls: give --upstream URL (or --upstream-<provider>) too"
                )
        return replace(self, public_url=public_url)

    @property
    def gateway(self) -> bool:
        return bool(self.upstream or self.upstream_overrides)

    @property
    def upstream_seconds(self) -> float:
        """How long a gateway request's upstream calls may take in all."""
        return DEFAULT_UPSTREAM_TIMEOUT_SECONDS if self.upstream_timeout is None else self.upstream_timeout

    @property
    def real_clock(self) -> bool:
        """Whether a real wait frees a rate window (the engine tells clients whether to retry by it)."""
        return self.clock == CLOCK_REAL

    def file_text(self, path: str | None) -> str | None:
        """The text `path` had when the run read it at start, or None when it was not read then."""
        return None if path is None else self.file_texts.get(path)

    def public_settings(self) -> dict[str, object]:
        """The settings as /_sim/config shows them: any page may read that (CORS is open), so no secret is in it; the
        files' texts are not settings (their paths are)."""
        return {
            **{name: value for name, value in asdict(self).items() if name != "file_texts"},
            "state": redacted(self.state),
            "upstream": redacted(self.upstream) if self.upstream else None,
            "upstream_overrides": {provider: redacted(url) for provider, url in self.upstream_overrides.items()},
            "upstream_key": "***" if self.upstream_key else None,
            "upstream_timeout": self.upstream_seconds,
        }
