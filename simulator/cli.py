"""`perf-sim`: start the simulator and say how to reach it."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from importlib.metadata import version
from typing import NoReturn

from redis.exceptions import RedisError

from simulator.config import (
    BODY_TIMEOUT_RANGE,
    DEFAULT_PORT,
    DEFAULT_SEED,
    DEFAULT_UPSTREAM_TIMEOUT_SECONDS,
    EMPTY_HOST,
    JOURNAL_SIZE_RANGE,
    MAX_LATENCY_SCALE,
    PORT_RANGE,
    START_TIME_RANGE,
    WORKERS_RANGE,
    ConfigError,
    SimulatorConfig,
)
from simulator.control.journal import DEFAULT_JOURNAL_SIZE
from simulator.keys import KeyRegistry
from simulator.launcher import wait_until_up
from simulator.registry import CLIENT_BASE_PATHS, PROVIDER_NAMES, gateway_upstreams
from simulator.request_log import LOG_FORMATS, LOG_JSON, LOG_TEXT
from simulator.scenario import Scenario, ScenarioError, load_scenario, start_time_seconds
from simulator.serve import CannotListen, claim_state, listening_sockets, serve, state_problem
from simulator.startup import start_shared_run
from simulator.state.base import CLOCK_MANUAL, CLOCK_REAL, DEFAULT_MANUAL_START
from simulator.state.claim import DatabaseInUse
from simulator.state.open import MEMORY, redacted
from simulator.toml_file import NotToml, read_text
from simulator.urls import listening_url
from spec import DISTRIBUTION, tiers
from spec.errors import BODY_TIMEOUT_SECONDS

TOKENS_OFF = "off ({source}): a [sim:...] in a prompt is ordinary text; X-Sim-Fault and rules still fault"
"""What the banner says of a run with the fault tokens off, which a person who expects tokens to work reads: `source`
names what turned them off, the scenario's setting or the flag, where that person looks for it."""
ANNOUNCE_PATIENCE_SECONDS = 120.0
"""How long the banner waits for the server to answer before it is printed anyway (a slow machine, a stuck worker)."""


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default; an option without one says in its help what leaving it out means."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perf-sim", description="Offline twin of the Perf Image Generation API.", formatter_class=_DefaultsShown
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on, {PORT_RANGE}")
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=(
            "same seed + same requests, sent one after another, = same bytes (with --clock manual; on the real clock, "
            "times and resets follow it)"
        ),
    )
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=0.0,
        help=f"0 answers at once, 1 waits the modelled latency; at most {MAX_LATENCY_SCALE:g}, so the slowest generation "
        "(about 21 s at 1) still ends within its image URLs' one-hour life",
    )
    parser.add_argument(
        "--keys", dest="keys_file", help="TOML file of extra keys, tiers and limits (default: none, the built-in keys only)"
    )
    parser.add_argument("--public-url", help="base URL put in image URLs (default: the host each request was sent to)")
    parser.add_argument(
        "--clock",
        choices=(CLOCK_REAL, CLOCK_MANUAL),
        default=CLOCK_REAL,
        help="real: wall time; manual: starts at --start-time, moves only via POST /_sim/clock/advance",
    )
    parser.add_argument(
        "--start-time",
        type=_start_time,
        help=f"manual clock's start: {START_TIME_RANGE}, or an ISO 8601 date-time such as 2026-03-02T09:00:00Z; "
        f"needs --clock manual or a scenario's manual clock (default: {DEFAULT_MANUAL_START:.0f}, 2026-01-01)",
    )
    gateway = parser.add_argument_group("gateway mode", "make the Perf API call the providers over HTTP in their native formats")
    gateway.add_argument(
        "--upstream", metavar="URL", help="a server hosting every provider as perf-sim does, e.g. another perf-sim (default: none)"
    )
    for provider in PROVIDER_NAMES:
        gateway.add_argument(
            f"--upstream-{provider}", metavar="URL", help=f"{provider}'s own base URL, wins over --upstream (default: none)"
        )
    gateway.add_argument(
        "--upstream-timeout",
        type=float,
        metavar="SECONDS",
        help="longest a request's upstream calls may take in all (BFL polling included) before its 502; refused without "
        f"an upstream URL (default: {DEFAULT_UPSTREAM_TIMEOUT_SECONDS:g})",
    )
    gateway.add_argument("--upstream-key", metavar="KEY", help="key sent upstream (default: each caller's own key)")
    parser.add_argument(
        "--state",
        default=MEMORY,
        help="where rate windows, images, clock and ids live: memory (one process), or a Redis the workers share: "
        "redis://HOST:PORT/DB, rediss:// (TLS) or unix:///PATH?db=N (a socket)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"longest a request's body may take to arrive once its headers have; then a 408 and the connection closed "
        f"({BODY_TIMEOUT_RANGE})",
    )
    parser.add_argument(
        "--prompt-tokens",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read a [sim:...] in a request body as a fault token (docs/control.md); --no-prompt-tokens reads it as "
        "ordinary prompt text, for an app that sends its users' text on (the X-Sim-Fault header and fault rules still work)",
    )
    parser.add_argument("--workers", type=int, default=1, help=f"worker processes, {WORKERS_RANGE}; more than 1 needs --state redis://...")
    parser.add_argument(
        "--journal-size",
        type=int,
        default=DEFAULT_JOURNAL_SIZE,
        metavar="N",
        help=f"requests the journal (GET /_sim/requests) keeps, oldest dropped first ({JOURNAL_SIZE_RANGE})",
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="TOML file of seed, clock, prompt tokens, keys and tiers, and fault rules to start with, see docs/scenario.md; "
        "a flag given on the command "
        "line wins over the file's setting, and --keys is refused beside a file with [keys] or [providers] tables "
        "(default: none)",
    )
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=LOG_TEXT, help="the request log on stdout: text lines or JSON lines")
    parser.add_argument("--quiet", action="store_true", help="print no request log")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version(DISTRIBUTION)}")
    return parser


def parse_args(argv: list[str] | None = None) -> SimulatorConfig:
    parser = build_parser()
    given_start = parser.parse_known_args(argv)[0].start_time is not None  # on the command line, before a scenario's
    args, scenario = _with_scenario(parser, argv)
    args.file_texts = _file_texts(parser, args.keys_file, scenario)
    args.upstream_overrides = {p: url for p in PROVIDER_NAMES if (url := vars(args).pop(f"upstream_{p}")) is not None}
    if given_start and args.clock != CLOCK_MANUAL:
        # Decision: a start time is where the manual clock starts; with the real clock, which follows wall time, it
        # would be ignored, and a run meant to start on a given day would quietly start today. (A scenario's
        # start_time is checked with its clock in the file; a --clock real given over a manual scenario wins.)
        parser.error(f"--start-time sets where the manual clock starts; the {args.clock} clock follows wall time: add --clock manual")
    if args.start_time is None:
        args.start_time = DEFAULT_MANUAL_START
    try:
        config = SimulatorConfig(**vars(args)).checked()
    except ConfigError as exc:
        parser.error(f"{exc.option}{exc.detail}")
    try:
        KeyRegistry.from_file(config.keys_file, config.scenario, config.file_text(config.keys_file))
    except ValueError as exc:
        refuse_file(parser, f"--keys: {exc}")
    problem = state_problem(config)
    if problem:
        parser.error(f"--state: {problem}")
    return config


def refuse_file(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exit 2 with one line naming what is wrong in a file: the usage text `parser.error` prints first is about the
    command line, which was right."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def _with_scenario(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, Scenario | None]:
    """The arguments, with a scenario's [simulator] settings as defaults (a flag on the command line wins) and its
    keys tables as the keys file, and the scenario as read and checked."""
    given = parser.parse_known_args(argv)[0]
    for option, path in (("--scenario", given.scenario), ("--keys", given.keys_file)):
        if path == "":  # `--scenario "$SCENARIO"` with the variable unset: no file, not a run without one
            refuse_file(parser, f"{option}: the file name is empty (an unset variable?)")
    if given.host == "":  # `--host "$SIM_HOST"` with the variable unset: not every interface (config.EMPTY_HOST)
        refuse_file(parser, f"--host{EMPTY_HOST}")
    scenario_file = given.scenario
    if scenario_file is None:
        return parser.parse_args(argv), None
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        refuse_file(parser, f"--scenario: {exc}")
    parser.set_defaults(**scenario.settings)
    args = parser.parse_args(argv)
    try:
        args.keys_file = scenario.keys_file(args.keys_file)
    except ScenarioError as exc:
        refuse_file(parser, f"--scenario: {exc} (--keys)")
    return args, scenario


def _file_texts(parser: argparse.ArgumentParser, keys_file: str | None, scenario: Scenario | None) -> dict[str, str]:
    """The text of each file the run is given, read once here (SimulatorConfig.file_texts): the scenario's as it was
    checked, and the keys file's."""
    texts = {scenario.path: scenario.text} if scenario else {}
    if keys_file is not None and keys_file not in texts:
        try:
            texts[keys_file] = read_text(keys_file)
        except NotToml as exc:
            refuse_file(parser, f"--keys: {keys_file}: {exc}")
    return texts


def _start_time(value: str) -> float:
    """`--start-time`: Unix seconds (their range checked with the other settings) or an ISO 8601 date-time, as a
    scenario's `start_time` takes."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return start_time_seconds(value, "--start-time")
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--start-time: ")) from None


def banner(config: SimulatorConfig) -> str:
    base = config.public_url or listening_url(config.host, config.port)
    configured = KeyRegistry.from_file(config.keys_file, config.scenario, config.file_text(config.keys_file)).configured()
    # A key the file redefines (the document's example key made free) is listed once, as the file gives it.
    redefined = {t.key for t in configured}
    rows = [] if tiers.DOCUMENT_EXAMPLE_KEY in redefined else [(tiers.DOCUMENT_EXAMPLE_KEY, tiers.DOCUMENT_EXAMPLE_TIER)]
    rows += [(f"{tiers.TEST_KEY_PREFIX}{name}_<anything>", name) for name in tiers.TIERS]
    # A configured key shows its own limits: one given limits far from its tier's is the misconfiguration to spot.
    rows += [
        (t.key, f"{t.tier}, {t.limits.images_per_minute:,}/minute {t.limits.images_per_day:,}/day (from {config.keys_file})")
        for t in configured
    ]
    keys = [f"  {key:<32} {tier}" for key, tier in rows]
    curl = (
        f"curl -s {base}/v1/images/generations -H 'Authorization: Bearer {tiers.DOCUMENT_EXAMPLE_KEY}' "
        "-H 'Content-Type: application/json' -d '{\"prompt\": \"a red fox in the snow\"}'"
    )
    return "\n".join(
        [
            f"perf-sim: Perf Image Generation API at {base}  (seed {config.seed}, clock {config.clock}, latency x{config.latency_scale})",
            f"  state: {redacted(config.state)}   workers: {config.workers}",
            *([f"  scenario: {config.scenario}"] if config.scenario else []),
            *([] if config.prompt_tokens else [f"  fault tokens: {TOKENS_OFF.format(source=_tokens_off_by(config))}"]),
            # Decision: the banner names the control API by its OpenAPI document and the dashboard by its page: /_sim/
            # itself is no page, and every URL a person copies from the banner must answer.
            f"  OpenAPI: {base}/openapi.json   control API: {base}/_sim/openapi.json   dashboard: {base}/_sim/ui",
            "Native provider APIs (point each official client's base URL here):",
            *(f"  {provider:<10} {base}{path}" for provider, path in CLIENT_BASE_PATHS.items()),
            *gateway_lines(config),
            "Keys:",
            *keys,
            "Try:",
            f"  {curl}",
            *([] if config.quiet else [f"Request log ({config.log_format}, one line per API request; --quiet turns it off):"]),
        ]
    )


def _tokens_off_by(config: SimulatorConfig) -> str:
    """What turned the fault tokens off: the scenario's `prompt_tokens = false` (a --no-prompt-tokens beside it agrees),
    else the flag. The banner named the flag for a scenario's setting, and a person then searched the command line."""
    scenario = load_scenario(config.scenario, config.file_text(config.scenario)) if config.scenario else None
    if scenario is not None and scenario.settings.get("prompt_tokens") is False:
        return f"prompt_tokens = false in {config.scenario}"
    return "--no-prompt-tokens"


def gateway_lines(config: SimulatorConfig) -> list[str]:
    if not config.gateway:
        return []
    upstreams = gateway_upstreams(config)
    lines = [f"  gateway mode: {provider} models via {url}" for provider, (url, _) in upstreams.items()]
    in_process = [p for p in PROVIDER_NAMES if p not in upstreams]
    return lines + ([f"  gateway mode: {', '.join(in_process)} models in process (no upstream URL)"] if in_process else [])


def announce_when_up(config: SimulatorConfig, text: str) -> None:
    """Print `text` once the server answers its health check: with several workers uvicorn answers seconds after it
    starts, and the banner's curl line must work as soon as a person or a script reads it.

    Decision: with `--log-format json` the banner goes to stderr, so that every line on stdout is a JSON line a log
    shipper or `jq` reads (the banner's 17 lines of text came first and stopped them)."""
    with contextlib.suppress(TimeoutError):  # a slow machine, a stuck worker: say it anyway
        wait_until_up(f"{listening_url(config.host, config.port)}/_sim/health", timeout=ANNOUNCE_PATIENCE_SECONDS)
    print(text, file=sys.stderr if config.log_format == LOG_JSON else sys.stdout, flush=True)


def _refuse(message: str) -> NoReturn:
    """Exit 2 with one line, as a bad option is refused."""
    print(f"perf-sim: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    if config.scenario:
        for warning in load_scenario(config.scenario, config.file_text(config.scenario)).warnings:
            print(f"perf-sim: warning: --scenario: {warning}", file=sys.stderr, flush=True)
    with contextlib.ExitStack() as stack:
        try:
            # Before the shared state is claimed and emptied (serve.listening_sockets).
            sockets = listening_sockets(config.host, config.port)
        except CannotListen as exc:
            _refuse(str(exc))
        for sock in sockets:
            stack.enter_context(contextlib.closing(sock))
        try:
            claim = claim_state(config)
        except (DatabaseInUse, RedisError) as exc:
            _refuse(f"--state: {exc}")
        if claim is not None:
            stack.callback(claim.release)
        start_shared_run(config)
        threading.Thread(target=announce_when_up, args=(config, banner(config)), name="banner", daemon=True).start()
        serve(config, sockets)


if __name__ == "__main__":
    main(sys.argv[1:])
