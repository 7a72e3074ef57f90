"""Locust scenario: Free, Pro and Enterprise users on a realistic request mix, judged by the rate-limit verdict.

    locust -f load/locustfile.py --headless -H http://127.0.0.1:8080 -u 30 -r 10 -t 30s --compress 30

Users of a tier share `--keys-per-tier` keys minted as `pk_test_<tier>_<run id><index>`, so each key is
driven by several users (and, in distributed mode, by several processes) at once. Every generation response
is recorded; when the run stops, the master (or the single process) judges all of them with `load.verdict`,
prints the summary and exits non-zero on any violation. Against our simulator `--compress K` makes its clock
run K times faster through the control API, so minutes and days pass in seconds.

In distributed mode workers send their records to the master when they stop: the master asks for them when
its run ends and waits (bounded) until every worker has answered.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import random
import re
import socket
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import gevent
import gevent.event
import requests
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner
from urllib3.exceptions import NewConnectionError

from load.mix import MODEL_WEIGHTS, random_request
from load.refusals import at_least, host_problem
from load.verdict import (
    DEFAULT_TOLERANCE_SECONDS,
    MAX_MESSAGE_CHARS,
    ClockAdvance,
    Observation,
    add_require_limits,
    judge,
    tolerance_problem,
    write_events,
)
from simulator.control.actions import INJECTED_MESSAGE
from simulator.keys import KEY_PATTERN, KeyRegistry, Tenant
from simulator.perf.wire import MALFORMED_ANSWER
from simulator.scenario import load_scenario
from spec import tiers
from spec.model_names import perf_model_name

log = logging.getLogger("perf-load")

GENERATIONS = "/v1/images/generations"
EVENTS_MESSAGE = "perf_verdict_events"
FLUSH_MESSAGE = "perf_verdict_flush"
REFUSED_MESSAGE = "perf_verdict_refused"
# Decision: the master waits at most this long for workers' records; a worker missing after it fails the run.
COLLECT_TIMEOUT_SECONDS = 20.0
IMAGE_FETCH_SHARE = 0.1


class _Run:
    """What this process has recorded, and (on the master) what it has collected."""

    def __init__(self) -> None:
        self.observations: list[Observation] = []
        self.advances: list[ClockAdvance] = []
        self.reported: set[str] = set()
        self.expected: set[str] = set()
        self.sent = False
        self.driver: gevent.Greenlet | None = None
        self.refused: str | None = None
        self.delivered = False
        self.started = False
        self.judging = False
        self.judged = gevent.event.Event()
        self.workers: set[str] = set()
        self.generated_run_id = False
        """The run id was made for this process (no `--run-id`), so its minted keys cannot have been used before its
        first test (`tests`)."""
        self.tests = 0
        """Tests this process (master or single) has started: the web UI starts one after another with the same keys."""
        self.rules: dict[str, dict[str, Any]] | None = None
        """The target simulator's fault rules that can touch the run's requests, by id, as the run began; None when
        the target has no control API to list them."""


RUN = _Run()


DEFAULT_ADVANCE_EVERY_SECONDS = 0.5


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("perf-image-sim load")
    group.add_argument("--keys-per-tier", type=int, default=2, help="keys each tier's users share (default 2)")
    group.add_argument("--run-id", default="", help="part of every minted key (default: random), so runs never share keys")
    group.add_argument("--compress", type=float, default=1.0, help="our simulator only: run its clock this many times faster")
    group.add_argument(
        "--advance-every",
        type=float,
        default=None,
        help=f"seconds between clock advances when compressing (default {DEFAULT_ADVANCE_EVERY_SECONDS:g}; only with --compress)",
    )
    group.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_SECONDS, help="verdict's clock-skew tolerance (s)")
    group.add_argument("--verdict-events", default="", help="also write every recorded event to this JSON-lines file")
    add_require_limits(group)
    group.add_argument(
        "--keys",
        default="",
        metavar="FILE",
        help="the target simulator's --keys or --scenario file: the keys it configures are judged by the tier and limits it gives them",
    )
    group.add_argument(
        "--tier-key",
        action="append",
        default=[],
        metavar="TIER=KEY",
        help="a key of that tier the target knows (repeat it): that tier's users share the keys given instead of minted ones",
    )


def given_keys(options: Any) -> dict[str, list[str]]:
    """The `--tier-key TIER=KEY` options by tier; a wrong one raises ValueError, naming it."""
    keys: dict[str, list[str]] = {}
    for option in options.tier_key:
        tier, _, key = option.partition("=")
        if tier not in tiers.TIERS or not key:
            raise ValueError(f"--tier-key must be TIER=KEY with TIER one of {', '.join(tiers.TIERS)}, got {option!r}")
        keys.setdefault(tier, []).append(key)
    return keys


MAX_COMPRESS = tiers.DAY_SECONDS
"""Decision: a day of simulated time a second at most. Beyond it no tier's windows fill (a minute passes in under a
millisecond), and the clock races years ahead for good; `inf` made every advance fail and the verdict crash."""


def numbers_problem(options: Any) -> str | None:
    """What is wrong with the run's numeric options, or None. Each was taken silently before: `--advance-every 0`
    advanced the clock by 0 s in a busy loop (no compression at all), a negative tolerance made a correct server
    fail, a compression under 1 ran in real time, `-u -1` printed Locust's traceback twice and ended NOT JUDGED, and a
    headless run without `-t` never stopped (a CI job hung until its deadline)."""
    users = getattr(options, "num_users", None)
    if users is not None and users < 0:
        return f"-u (--users) must be 0 or more, got {users}"
    if getattr(options, "headless", False) and not getattr(options, "run_time", None):
        # Decision: refused rather than given a bound of ours: the verdict comes when the run stops, so a run must stop
        # by itself (Locust reads no -t, and -t 0s, as no limit); a CI deadline or Ctrl-C still stops a bounded run early.
        return "-t (--run-time) must bound a headless run (e.g. -t 30s; Locust takes -t 0s as no limit): its verdict comes when it stops"
    if not 1 <= options.compress <= MAX_COMPRESS:  # also refuses nan, which every comparison fails
        return f"--compress must be from 1 (real time) to {MAX_COMPRESS:,} (a day a second), got {options.compress:g}"
    if options.advance_every is not None and options.compress == 1:  # taken and ignored before: no clock moves
        return "--advance-every sets how often --compress moves the clock: give --compress above 1 too"
    if not 0 < advance_every(options) <= MAX_ADVANCE_EVERY_SECONDS:
        return f"--advance-every must be from above 0 to {MAX_ADVANCE_EVERY_SECONDS:g} seconds, got {options.advance_every:g}"
    if problem := at_least("--keys-per-tier", options.keys_per_tier):
        return problem
    if options.run_id and not RUN_ID.fullmatch(options.run_id):
        return f"--run-id must be letters, digits, _ and - (it is part of every minted key), got {options.run_id!r}"
    longest = f"{tiers.TEST_KEY_PREFIX}enterprise_{options.run_id or 'x' * 8}{options.keys_per_tier - 1}"
    if not KEY_PATTERN.fullmatch(longest):
        return f"--run-id and --keys-per-tier make keys of {len(longest)} characters, longer than a key may be"
    return tolerance_problem(options.tolerance)


RUN_ID = re.compile(r"[A-Za-z0-9_-]+")
"""The characters a key may hold (simulator.keys.KEY_PATTERN): `--run-id my.run` minted keys every server refused."""


def advance_every(options: Any) -> float:
    return DEFAULT_ADVANCE_EVERY_SECONDS if options.advance_every is None else float(options.advance_every)


MAX_ADVANCE_EVERY_SECONDS = 60.0
"""Decision: the clock moves at least once a minute. `--advance-every 1e9` never moved it, so a run asked to compress
time ran in real time and passed."""


@functools.cache
def configured_keys(path: str) -> dict[str, Tenant]:
    """The keys a `--keys FILE` configures: the target simulator's own keys file, or its scenario file (`perf-sim
    --scenario FILE`, whose [keys] tables are its run's keys file); a wrong file raises ValueError or OSError, naming
    it. Read as perf-sim reads a scenario (a keys file is a scenario of keys tables alone), then its keys by the
    simulator's own reader, so the verdict's limits are the ones the target serves. The keys file's reader alone
    refused a scenario with `give it with --scenario`, an option only perf-sim has."""
    if not path:
        return {}
    scenario = load_scenario(path)
    registry = KeyRegistry.from_file(scenario.keys_file(None), scenario.path, scenario.text)
    return {tenant.key: tenant for tenant in registry.configured()}


class TierUser(FastHttpUser):
    abstract = True
    tier: ClassVar[str]
    wait_time = between(0.05, 0.5)
    _counter: ClassVar[itertools.count[int]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._counter = itertools.count()

    key: str | None = None
    """None when the run is refused: a worker's users send nothing until the runner quits (a single process spawns
    none), and the run says why (VERDICT: NOT RUN) once. Raising in `on_start` printed a traceback per user."""

    def on_start(self) -> None:
        if RUN.refused:  # a worker told by its master
            return
        options = self.environment.parsed_options
        try:
            given = given_keys(options).get(self.tier)
            configured_keys(options.keys)
        except (ValueError, OSError):  # a worker's own copy of the options: its master refuses the run
            return
        index = next(self._counter)
        self.key = (
            given[index % len(given)]
            if given
            else f"{tiers.TEST_KEY_PREFIX}{self.tier}_{options.run_id}{index % max(1, options.keys_per_tier)}"
        )
        self.rng = random.Random(f"{self.key}-{id(self)}")
        tenant = configured_keys(options.keys).get(self.key)
        self.key_tier = tenant.tier if tenant else self.tier
        self.limits = (tenant.limits.images_per_minute, tenant.limits.images_per_day) if tenant else None
        self.max_images = self.limits[0] if self.limits else tiers.TIERS[self.tier].images_per_minute

    @task
    def generate(self) -> None:
        if self.key is None:
            return
        body = random_request(self.rng, self.max_images)
        raw = json.dumps(body, separators=(",", ":"))
        sent = time.time()
        try:
            with self.client.post(
                GENERATIONS,
                data=raw,
                headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
                name=f"generate ({self.tier})",
                catch_response=True,
            ) as response:
                received = time.time()
                observation = replace(_observe(self.key, body, raw, sent, received, response), tier=self.key_tier, limits=self.limits)
                RUN.observations.append(observation)
                if observation.status in (200, 429):
                    response.success()
                elif observation.truncated:
                    response.failure(f"answer {response.status_code} cut short of its Content-Length")
                else:
                    response.failure(f"unexpected {response.status_code}: {(response.text or '')[:200]}")
        except BaseException as exc:
            # Cut short (the run stopping) or broken: the server may still have admitted it.
            stopped = isinstance(exc, (gevent.GreenletExit, StopUser))
            n = int(body["n"])  # type: ignore[call-overload]
            RUN.observations.append(
                Observation(
                    self.key,
                    n,
                    sent,
                    None,
                    None,
                    body=raw,
                    tier=self.key_tier,
                    limits=self.limits,
                    cut_by_stop=stopped,
                    stopped=time.time() if stopped else None,
                )
            )
            raise
        if observation.status == 200 and observation.images and self.rng.random() < IMAGE_FETCH_SHARE:
            url = _first_url(response)
            if url:
                self.client.get(url, name="image")


class FreeUser(TierUser):
    tier = "free"
    weight = 3


class ProUser(TierUser):
    tier = "pro"
    weight = 2


class EnterpriseUser(TierUser):
    tier = "enterprise"
    weight = 1


def _cut_short(response: Any) -> bool:
    """Whether the answer's body ended before its Content-Length (FastHttpUser hands it over as a whole answer). A
    compressed body is decoded, so its length says nothing of the bytes sent: such an answer is taken as whole."""
    declared = response.headers.get("content-length")
    if declared is None or response.headers.get("content-encoding"):
        return False
    try:
        return len(response.content or b"") < int(declared)
    except ValueError:
        return False


def _first_url(response: Any) -> str | None:
    try:
        item = response.json()["data"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return item.get("url") if isinstance(item, dict) else None


def _observe(key: str, body: dict[str, object], raw: str, sent: float, received: float, response: Any) -> Observation:
    status = response.status_code or None  # FastHttpUser reports a transport error as status 0
    n = int(body["n"])  # type: ignore[call-overload]
    if status is not None and _cut_short(response):
        # A body short of its Content-Length is a broken connection, as a reset is: an outage whose request may have
        # been admitted (docs/control.md's truncate), not a malformed answer of the target's.
        return Observation(key, n, sent, None, None, body=raw, truncated=True)
    if status is None:
        return Observation(key, n, sent, None, status, body=raw)
    try:
        payload = response.json()
    except (ValueError, TypeError):  # not JSON, or no body at all (a 502 from a proxy)
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    message = error.get("message")
    message = message[:MAX_MESSAGE_CHARS] if isinstance(message, str) else None
    error_type = error.get("type")
    injected = message is not None and message.startswith(INJECTED_MESSAGE)
    if status >= 500:
        return Observation(key, n, sent, received, status, body=raw, error_type=error_type, error_message=message, injected=injected)
    carried = tuple(name for name in tiers.RATE_LIMIT_HEADERS if response.headers.get(name) is not None)
    if status == 200:
        data = payload.get("data") if isinstance(payload, dict) else None
        perf = payload.get("perf") if isinstance(payload, dict) else None
        request_id = perf.get("request_id") if isinstance(perf, dict) else None
        if not isinstance(data, list):
            # Our simulator's `malformed` fault answers its Perf face with exactly this body, which no answer of its
            # engine is: a fault the target was told to inject, which used no quota.
            malformed = (response.content or b"") == MALFORMED_ANSWER
            return Observation(key, n, sent, received, status, not_an_answer=True, body=raw, injected=malformed)
        return Observation(key, n, sent, received, status, images=len(data), request_id=request_id, rate_limit_headers=carried, body=raw)
    return Observation(
        key,
        n,
        sent,
        received,
        status,
        error_type=error_type,
        retry_after=error.get("retry_after"),
        retry_after_header=response.headers.get("retry-after"),
        rate_limit_headers=carried,
        body=raw,
        error_message=message,
        injected=injected,
    )


# --- the simulator clock (our simulator only) ---------------------------------------------------------------


def _events_problem(path: str) -> str | None:
    """Why `--verdict-events` cannot be written, found before the load runs: found after, it lost the verdict. The
    file is left as it was (a refused run's empty file read as a run's events cut short)."""
    if not path:
        return None
    events = Path(path)
    existed = events.exists()
    try:
        events.open("a").close()
    except OSError as exc:
        return f"--verdict-events: cannot write {path}: {exc.strerror or exc}"
    if not existed:
        events.unlink()
    return None


def _nothing_there(exc: BaseException) -> bool:
    """Whether a failed request's causes (requests wraps urllib3, which wraps the socket's error) hold a refused
    connection or a failed name lookup."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        cause = pending.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return True
        reason = getattr(cause, "reason", None)
        pending += [cause.__cause__, cause.__context__, *(arg for arg in cause.args if isinstance(arg, BaseException))]
        pending += [reason] if isinstance(reason, BaseException) else []
    return False


def _reason(exc: requests.RequestException) -> str:
    """The socket's own words (`[Errno 111] Connection refused`) out of urllib3's paragraph, when it holds them."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0) if found else str(exc)[:200]


@dataclass(frozen=True)
class BasePathRefused:
    """Our simulator refused the run's base path (a `/_sim/ns/<name>` whose name breaks the naming rule), in its words."""

    message: str


def _simulator_clock(host: str) -> str | OSError | BasePathRefused | None:
    """Our simulator's clock mode, None when the target has no control API, the error when nothing answers there, and
    the simulator's own refusal of the base path's namespace."""
    try:
        response = requests.get(host.rstrip("/") + "/_sim/config", timeout=5)
    except requests.RequestException as exc:
        # Only a refused connection or an unknown name says nothing is there: a TLS or proxy failure is this probe's
        # (the load's own client checks no certificate and uses no proxy), so that target is judged as another's.
        return OSError(_reason(exc)) if _nothing_there(exc) else None
    if response.status_code == 400:
        # The simulator refuses every request under a bad `/_sim/ns/<name>/` with this 400: the run was told "not our
        # simulator" (with --compress) or sent its load to be refused, and the simulator's message, naming the rule,
        # was lost. Only a 400 naming `namespace` in the Perf envelope: another server's 400 here says nothing of it.
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return None
        if isinstance(error, dict) and error.get("param") == "namespace" and isinstance(error.get("message"), str):
            return BasePathRefused(error["message"])
        return None
    if response.status_code != 200:
        return None
    try:
        return str(response.json().get("clock"))
    except (ValueError, AttributeError):
        return None


def _record_clock_offset(host: str) -> None:
    """Record how far our simulator's clock is from this machine's as the run begins, as an advance made then.

    The verdict places each request in server time as this machine's time plus the run's advances. A simulator whose
    clock an earlier run (or a test) had moved ahead was judged as if it had not: near a UTC midnight of its own the
    verdict called the new day's admissions over-admission, and a fixed window's edges fell where the server's did not.
    The reading's own error is at most the request's round trip, well inside the clock-skew tolerance."""
    sent = time.time()
    try:
        response = requests.get(host.rstrip("/") + "/_sim/clock", timeout=5)
        now = float(response.json()["now"])
    except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
        log.warning("could not read the simulator clock, judging by this machine's: %s", exc)
        return
    received = time.time()
    offset = now - (sent + received) / 2
    RUN.advances.append(ClockAdvance(received, received, offset))
    if abs(offset) >= 1:
        print(f"the simulator clock is {offset:+.1f} s from this machine's as the run begins; judged by the simulator's", flush=True)


# --- the simulator's fault rules (our simulator only) ------------------------------------------------------------


NAMESPACE_IN_HOST = re.compile(r"/_sim/ns/([^/]+)")


def namespace_of(host: str) -> str:
    """The simulator namespace the run's requests go to: the base path's `/_sim/ns/<name>`, else the default one."""
    found = NAMESPACE_IN_HOST.search(host)
    return found.group(1) if found else "default"


def _touches_the_run(rule: dict[str, Any]) -> bool:
    """Whether a listed rule can match the run's generation requests (POST /v1/images/generations on the Perf face,
    with the mix's models); one for another face, path, method or model faults none of them."""
    match = rule.get("match") or {}
    path = match.get("path")
    method = match.get("method")
    model = match.get("model")
    return (
        match.get("face") in (None, "perf")
        and (path is None or GENERATIONS.startswith(str(path)))
        and (method is None or str(method).upper() == "POST")
        and (model is None or perf_model_name(str(model)) in MODEL_WEIGHTS)
    )


def _fault_rules(host: str) -> dict[str, dict[str, Any]] | None:
    """The fault rules of the run's namespace that can touch its requests, by id; None when they cannot be listed.
    Without a namespace in the base path the listing covers every namespace, so the default one is asked for."""
    url = host.rstrip("/") + "/_sim/faults" + ("" if NAMESPACE_IN_HOST.search(host) else "?namespace=default")
    try:
        response = requests.get(url, timeout=5)
        listed = response.json()["faults"] if response.status_code == 200 else None
    except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
        log.warning("could not list the simulator's fault rules: %s", exc)
        return None
    if not isinstance(listed, list):
        return None
    return {str(rule["id"]): rule for rule in listed if isinstance(rule, dict) and "id" in rule and _touches_the_run(rule)}


def describe_rule(rule: dict[str, Any]) -> str:
    """A rule as a person reads it: `fault_2 (status=429;retry_after=1, probability 0.3)`."""
    action = rule.get("action") or {}
    parts = [";".join(name if value is True else f"{name}={value}" for name, value in action.items())]
    if rule.get("probability") not in (None, 1, 1.0):
        parts.append(f"probability {rule['probability']:g}")
    if rule.get("times") is not None:
        parts.append(f"times {rule['times']}, {rule.get('remaining')} remaining")
    match = {name: value for name, value in (rule.get("match") or {}).items() if name != "key_id"}
    if match:
        parts.append("match " + ", ".join(f"{name}={value}" for name, value in match.items()))
    return f"{rule['id']} ({', '.join(parts)})"


def _rules_said(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]] | None) -> list[str]:
    """Each rule of the run's namespace, with how often it fired during the run (its `fired` at the end less at the
    start); one removed during the run is said so."""
    said = []
    for rule_id in sorted({*before, *(after or {})}, key=lambda name: (len(name), name)):
        now = (after or {}).get(rule_id)
        if now is None:
            gone = "removed during the run" if after is not None else "not listed at the run's end, so its firings are unknown"
            said.append(f"{describe_rule(before[rule_id])}, {gone}")
            continue
        fired = int(now.get("fired") or 0) - int((before.get(rule_id) or {}).get("fired") or 0)
        added = "" if rule_id in before else ", added during the run"
        said.append(f"{describe_rule(now)}{added}, fired {fired} time{'' if fired == 1 else 's'} during the run")
    return said


def _mark_injected(observations: list[Observation], rules: Collection[dict[str, Any]]) -> list[Observation]:
    """The observations, those answered with a listed rule's own message (`action.message`, which then replaces the
    simulator's "perf-image-sim injected this error") marked injected as the default message's were."""
    messages = {
        (action.get("status"), str(action["message"])[:MAX_MESSAGE_CHARS])
        for action in (rule.get("action") or {} for rule in rules)
        if action.get("message") is not None
    }
    if not messages:
        return observations
    return [replace(o, injected=True) if (o.status, o.error_message) in messages else o for o in observations]


def _drive_clock(host: str, compress: float, every: float) -> None:
    """Advance the simulator clock by (compress - 1) x `every` seconds every `every` seconds.

    An advance is recorded before it is sent, as finished at infinity, and completed when answered: if the
    run stops it midway, or its answer is lost, the verdict still knows the clock may have moved. One that never
    reached the simulator is dropped: kept as possibly made, it widened every later request's interval by its
    step for the rest of the run, silently blinding the minute checks.
    """
    step = (compress - 1) * every
    url = host.rstrip("/") + "/_sim/clock/advance"
    while True:
        gevent.sleep(every)
        advance = ClockAdvance(time.time(), math.inf, step)
        RUN.advances.append(advance)
        try:
            response = requests.post(url, json={"seconds": step}, timeout=5)
        except requests.RequestException as exc:
            if _never_reached_the_server(exc):
                RUN.advances.remove(advance)
                log.error("clock advance not made (the simulator could not be reached): %s", exc)
            else:
                log.error("clock advance failed; it may or may not have been made: %s", exc)
            continue
        if response.status_code == 200:
            RUN.advances[RUN.advances.index(advance)] = ClockAdvance(advance.started, time.time(), step)
        else:
            RUN.advances.remove(advance)
            log.error("clock advance refused (%s): %s", response.status_code, response.text[:200])


def _never_reached_the_server(exc: requests.RequestException) -> bool:
    """Whether no connection was made (refused, or the connect timed out), so the request was certainly not sent;
    after a timeout or a broken connection once connected, it may have been."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return bool(exc.args) and isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)


# --- lifecycle ------------------------------------------------------------------------------------------------


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is not None and not options.run_id and not isinstance(environment.runner, WorkerRunner):
        options.run_id = uuid.uuid4().hex[:8]  # the master's options travel to its workers
        RUN.generated_run_id = True
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(EVENTS_MESSAGE, _on_worker_events)
        environment.events.worker_connect.add_listener(_on_worker_connect)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(FLUSH_MESSAGE, _on_flush_request)
        runner.register_message(REFUSED_MESSAGE, _on_refused)
    # Registered here, after the runner's own: `quitting` fires in reverse order, so this runs first. A worker's own
    # listener tells its master it quit, and the master then forgot it, so records sent after went uncounted; a
    # master's own listener quits the runner, which stops the run before the exit status is made provisional.
    environment.events.quitting.add_listener(_on_quitting)


def _on_worker_connect(client_id: str, **_: Any) -> None:
    """A worker joining a run under way is expected to report too: one that leaves without records is named."""
    if RUN.started:
        RUN.workers.add(client_id)


def _on_refused(environment: Environment, msg: Any, **_: Any) -> None:
    """The master refused the run: this worker's users send nothing. The master tells its workers before it asks
    them to spawn (messages keep their order), since they cannot check what only the master has (its events file,
    the host it reached); before, a worker had sent requests, spending a real key's quota, before the master quit."""
    RUN.refused = str(msg.data["reason"])


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    RUN.observations.clear()
    RUN.sent = False
    RUN.started = True
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    RUN.advances.clear()
    RUN.reported.clear()
    RUN.refused = None
    RUN.delivered = False
    RUN.judged.clear()
    RUN.rules = None
    RUN.tests += 1
    RUN.workers = {client.id for client in runner.clients.all} if isinstance(runner, MasterRunner) else set()
    options = environment.parsed_options
    assert options is not None
    # Decision: a trailing slash is dropped, as the control API's probe always did: the load's own paths were
    # joined into `//v1/...`, which the client refused with a traceback per request, while --compress moved the clock.
    host = (environment.host or "").rstrip("/")
    environment.host = host  # the users' base URL, read when they are spawned (and sent to a master's workers)
    bad_host = host_problem(host)
    clock = None if bad_host else _simulator_clock(host)
    try:
        configured: dict[str, Tenant] = configured_keys(options.keys)
    except ValueError as exc:  # named as perf-sim names it: `--keys: FILE: cannot read: ...`
        RUN.refused = f"--keys: {exc}"
        configured = {}
    try:
        for tier, keys in given_keys(options).items():
            for note in filter(None, (_given_key_note(options, tier, key, configured) for key in keys)):
                print(note, flush=True)
    except ValueError as exc:
        RUN.refused = RUN.refused or str(exc)
    RUN.refused = RUN.refused or numbers_problem(options) or _events_problem(options.verdict_events)
    if not RUN.refused:
        run_tiers = {user.tier for user in environment.user_classes if issubclass(user, TierUser)}
        for note in _configured_tier_notes(options, run_tiers):
            print(note, flush=True)
    if bad_host:
        RUN.refused = bad_host
    elif isinstance(clock, BasePathRefused):
        RUN.refused = f"the target refused the base path: {clock.message}"
    elif isinstance(clock, OSError):
        RUN.refused = f"nothing answers at {host}: {clock}"
    elif clock == "manual":
        RUN.refused = "the target simulator runs a manual clock, so time never passes between requests; start it with --clock real"
    elif options.compress > 1 and clock is None and host.endswith("/v1"):
        RUN.refused = f"--compress: drop /v1 from -H ({host.removesuffix('/v1')}): the run adds /v1/images/generations itself"
    elif options.compress > 1 and clock is None:
        RUN.refused = f"--compress needs our simulator's control API at {host}/_sim/ (other servers: leave --compress at 1)"
    if RUN.refused:
        log.error(RUN.refused)
        runner = environment.runner
        assert runner is not None
        if isinstance(runner, MasterRunner):
            runner.send_message(REFUSED_MESSAGE, {"reason": RUN.refused})
        gevent.spawn_later(0, runner.quit)  # stopping prints the verdict: NOT RUN
        if not isinstance(runner, MasterRunner):
            # A single process runs test_start in the greenlet that then spawns its users: ending it here spawns none
            # (they were spawned, each finding the same error again). GreenletExit is gevent's quiet end of a
            # greenlet: Locust's StopTest printed gevent's traceback.
            raise gevent.GreenletExit
        return
    if clock == "real":
        _record_clock_offset(host)
        RUN.rules = _fault_rules(host)
        if RUN.rules:
            # Said before the load, so a person reading the run knows its 429s and 5xx may be the target's own doing.
            print(
                f"note: {len(RUN.rules)} fault rule{'' if len(RUN.rules) == 1 else 's'} in namespace {namespace_of(host)} can "
                f"touch the run's requests: {'; '.join(map(describe_rule, RUN.rules.values()))}: the answers they inject are "
                "set aside, not judged as the target's rate limiting",
                flush=True,
            )
    if options.compress > 1:
        RUN.driver = gevent.spawn(_drive_clock, host, options.compress, advance_every(options))


def _given_key_note(options: Any, tier: str, key: str, configured: dict[str, Tenant]) -> str | None:
    """The note for a `--tier-key TIER=KEY` whose name says another tier. A key the `--keys` file configures is judged
    by what the file gives it, not by TIER's defaults, so the note names those limits (it said "judged by the enterprise
    tier" of a key the file held to 8 a minute); one the file puts in another tier than TIER gets the file's note
    instead (`_configured_tier_notes`)."""
    tenant = configured.get(key)
    if tenant is None:
        return tiers.given_tier_note(tier, key)
    named = tiers.tier_named_by(key)
    if tenant.tier != tier or named in (None, tier):
        return None
    return (
        f"note: --tier-key {tier}=... gives a key whose name says {named}: it is judged by what --keys {options.keys} gives it "
        f"({_limits_said(tenant)})"
    )


def _limits_said(tenant: Tenant) -> str:
    """`the enterprise tier: 8/minute, 60/day`."""
    return f"the {tenant.tier} tier: {tenant.limits.images_per_minute}/minute, {tenant.limits.images_per_day}/day"


def _configured_tier_notes(options: Any, run_tiers: Collection[str] = tuple(tiers.TIERS)) -> list[str]:
    """A note for each key the run will use that the `--keys` file judges by another tier than its user class's (a
    minted `pk_test_free_...` key the file makes enterprise; a `--tier-key free=K` whose K the file makes pro): the
    table's rows then name tiers the run did not ask for, and a tier asked for may go unjudged. Only the tiers of the
    run's user classes (`run_tiers`): a `FreeUser` run was told of pro users it did not have."""
    configured = configured_keys(options.keys)
    if not configured:
        return []
    given = given_keys(options)
    used = [
        (tier, key)
        for tier in tiers.TIERS
        if tier in run_tiers
        for key in given.get(tier) or [f"{tiers.TEST_KEY_PREFIX}{tier}_{options.run_id}{index}" for index in range(options.keys_per_tier)]
    ]
    return [
        f"note: --keys {options.keys} makes {key} a key of the {configured[key].tier} tier: its {tier} users are judged by "
        f"{_judged_by(configured[key])}, as the file says"
        for tier, key in used
        if key in configured and configured[key].tier != tier
    ]


def _judged_by(tenant: Tenant) -> str:
    """What a configured key is judged by: its tier's limits, or the limits of its own the file gives it."""
    own = tiers.TIERS[tenant.tier]
    if (tenant.limits.images_per_minute, tenant.limits.images_per_day) == (own.images_per_minute, own.images_per_day):
        return f"the {tenant.tier} tier's limits"
    return f"the limits the file gives it ({_limits_said(tenant)})"


def fresh_keys(options: Any, configured: Collection[str]) -> set[str]:
    """The keys the run minted with a run id made for it: nothing can have used them before the run. Not a
    `--tier-key`'s, a `--run-id`'s (a rerun reuses them), one the `--keys` file configures, nor any of a second test
    the web UI starts in the same process (the first used them)."""
    if not RUN.generated_run_id or RUN.tests != 1:
        return set()
    given = given_keys(options)
    minted = {
        f"{tiers.TEST_KEY_PREFIX}{tier}_{options.run_id}{index}"
        for tier in tiers.TIERS
        if tier not in given
        for index in range(options.keys_per_tier)
    }
    return minted - set(configured)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if not RUN.started:  # a runner quit before any test (the web UI closed unused): nothing was asked to be judged
        return
    if isinstance(runner, WorkerRunner):
        _send_events(runner)
        return
    if RUN.driver is not None:
        RUN.driver.kill(block=True)
        RUN.driver = None
    if RUN.delivered or RUN.judging:
        return
    RUN.judging = True
    try:
        if isinstance(runner, MasterRunner):
            _collect_from_workers(runner)
        _deliver_verdict(environment)
    finally:
        RUN.judging = False
        RUN.judged.set()


def _on_quitting(environment: Environment, **_: Any) -> None:
    """Stop the run, which delivers the verdict, before Locust picks its exit status.

    On Ctrl-C or SIGTERM Locust fires `quitting`, chooses the exit status and only then quits the runner, whose
    `test_stop` delivered the verdict: too late to count, so a run stopped by a signal exited 0 (or 1 after any failed
    request) whatever the verdict said, and a CI step with a deadline turned a FAIL green. A run already stopped
    (by `-t`, or refused) has delivered its verdict, and stopping it again does nothing.

    A worker sends its records here, before its runner tells the master it quit. A master whose workers quit while it
    gathers their records quits a second time (Locust's "last worker quit"), from its main greenlet: that one waits for
    the verdict the first is delivering, and the exit status is 1 until the verdict sets it, so no path exits 0 without
    a verdict. A process that never started a test (the web UI quit unused) has nothing to judge: Locust's own status."""
    runner = environment.runner
    if runner is None or not RUN.started:
        return
    if isinstance(runner, WorkerRunner):
        if not RUN.sent:
            runner.stop()
            _send_events(runner)
        return
    if RUN.delivered:
        return
    if RUN.judging:  # another greenlet is gathering the records: its verdict sets the exit status
        if not RUN.judged.wait(timeout=COLLECT_TIMEOUT_SECONDS + 10):
            print("VERDICT: INCOMPLETE (the run was stopped before its records were judged)", flush=True)
        return
    environment.process_exit_code = 1  # until the verdict says otherwise
    if isinstance(runner, MasterRunner):
        runner.stop(send_stop_to_client=False)  # the verdict asks the workers for their records itself
    else:
        runner.stop()


def _send_events(runner: WorkerRunner) -> None:
    if RUN.sent:
        return
    RUN.sent = True
    runner.send_message(EVENTS_MESSAGE, {"observations": [o.__dict__ for o in RUN.observations]})


def _on_flush_request(environment: Environment, msg: Any, **_: Any) -> None:
    """The master's run has ended: stop this worker's users (which sends the records) or resend nothing."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    if not RUN.sent:
        runner.stop()
        _send_events(runner)


def _on_worker_events(environment: Environment, msg: Any, **_: Any) -> None:
    RUN.observations.extend(Observation(**o) for o in msg.data["observations"])
    RUN.reported.add(msg.node_id)


def _collect_from_workers(runner: MasterRunner) -> None:
    """Ask every worker of the run for its records and wait (bounded) for them. Expected are the workers the run had
    (at its start, or joining), not only those still connected: one that quit without records was not even named."""
    expected = RUN.workers | {client.id for client in runner.clients.all} | RUN.reported
    runner.send_message(FLUSH_MESSAGE, None)
    deadline = time.monotonic() + COLLECT_TIMEOUT_SECONDS
    while not expected <= RUN.reported and time.monotonic() < deadline:
        gevent.sleep(0.1)
    RUN.expected = expected


def _deliver_verdict(environment: Environment) -> None:
    options = environment.parsed_options
    assert options is not None
    if RUN.delivered:  # a master's run stops, then quits: one verdict
        return
    RUN.delivered = True
    if RUN.refused:
        print(f"VERDICT: NOT RUN: {RUN.refused}", flush=True)
        environment.process_exit_code = 2
        return
    missing = RUN.expected - RUN.reported
    missed = f"worker(s) {', '.join(sorted(missing))}" if missing else ""
    rules: list[str] = []
    if RUN.rules is not None:
        host = environment.host or ""
        after = _fault_rules(host)
        listed = [*RUN.rules.values(), *(after or {}).values()]
        RUN.observations = _mark_injected(RUN.observations, listed)
        rules = [f"namespace {namespace_of(host)}: {'; '.join(_rules_said(RUN.rules, after))}"] if listed else []
    fresh = fresh_keys(options, configured_keys(options.keys))
    verdict = judge(RUN.observations, RUN.advances, options.tolerance, missed, options.require_limits, fresh, rules)
    print(verdict.summary(), flush=True)
    if options.verdict_events:
        try:
            write_events(Path(options.verdict_events), RUN.observations, RUN.advances)
        except OSError as exc:
            log.error("--verdict-events: could not write %s: %s", options.verdict_events, exc)
    # Decision: the verdict sets the exit status, also on a pass: Locust's own (1 after any failed request) would
    # fail a run whose outages the verdict accounted for, and docs/load.md promises 0 on PASS.
    environment.process_exit_code = 0 if verdict.passed else 1
