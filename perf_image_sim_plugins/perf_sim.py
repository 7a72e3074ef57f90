"""The pytest plugin `perf_sim` (entry point `pytest11`): the `perf_sim` fixture, a simulator for the tests of an app.

One simulator serves the whole session (in the test process, on a free port of 127.0.0.1, manual clock); each test
gets its own namespace of it, so its rate windows, journal, fault rules and clock are its own and tests never see
each other's traffic. The app under test joins the test's namespace through `perf_sim.base_url`
(`.../_sim/ns/<namespace>`), or by sending `perf_sim.headers` to `perf_sim.server_url`; `perf_sim.openai_client()`
is the official SDK already set up.

ini options: `perf_sim_scenario` (a scenario file the session's simulator starts with), `perf_sim_log`
(text, json or off: the request log, which pytest shows with a failing test's captured output).

The plugin is loaded in every pytest session where perf-image-sim is installed, so it imports the simulator (and with
it `spec`) only when a test asks for the fixture or an ini option is set (`perf_image_sim_plugins/__init__.py` says why).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import os
import re
import sys
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.control.client import JournalEntry
    from simulator.in_process import PerfSim

LOG_OFF = "off"
_NAMESPACE_LENGTH = 64
_GIVEN = pytest.StashKey[set[str]]()
"""The namespaces given to tests in this session: the session's own, so a second session in the same process (a
second `pytest.main`, pytester in-process) gives its tests the same namespaces as the first."""
_DEFAULT_LOG = "text"
_SETTINGS = pytest.StashKey["_Settings"]()
_TESTS_SIM = pytest.StashKey["PerfSim"]()
_DEFAULT_BEFORE = pytest.StashKey[int]()
"""The number of the default namespace's newest journal entry as the test started (0: none)."""
SHOWN_REQUESTS = 50
"""The most requests a failed test's report lists (its latest)."""
COUNTED_IN_DEFAULT = 1000
"""The most of the default namespace's requests during a failed test its report counts (then "at least")."""


@dataclass(frozen=True)
class _Settings:
    """The ini options, read and checked once as the session starts."""

    log: str
    scenario: str | None
    scenario_rules: list[dict[str, Any]] = field(default_factory=list)
    """The scenario's rules that name no namespace, which `perf_sim` copies into each test's namespace."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("perf_sim_scenario", "scenario file (TOML) the perf_sim fixture's simulator starts with", default="")
    parser.addini("perf_sim_log", "perf_sim's request log in captured output: text, json or off", default=_DEFAULT_LOG)


def pytest_configure(config: pytest.Config) -> None:
    """Decision: a bad `perf_sim_*` option is a usage error as the session starts (pytest's one `ERROR:` line, exit
    status 4), as a bad command-line option is; not a traceback at every test that asks for the fixture, and nothing
    at all when none does. The simulator is imported only when an option is set."""
    config.stash[_GIVEN] = set()
    log = str(config.getini("perf_sim_log"))
    scenario = str(config.getini("perf_sim_scenario")) or None
    if log == _DEFAULT_LOG and scenario is None:
        config.stash[_SETTINGS] = _Settings(log, None)
        return
    with _the_packages_own(pytest.UsageError):
        from simulator.request_log import LOG_FORMATS
        from simulator.scenario import ScenarioError, load_scenario

    if log not in (*LOG_FORMATS, LOG_OFF):
        raise pytest.UsageError(f"perf_sim_log must be one of {', '.join((*LOG_FORMATS, LOG_OFF))}, got {log!r}")
    if scenario is None:
        config.stash[_SETTINGS] = _Settings(log, None)
        return
    scenario = str(Path(config.rootpath, scenario))
    try:
        rules = load_scenario(scenario).faults
    except ScenarioError as exc:
        raise pytest.UsageError(f"perf_sim_scenario: {exc}") from None
    config.stash[_SETTINGS] = _Settings(log, scenario, [rule for rule in rules if "namespace" not in rule])


_OUR_TOP = Path(__file__).resolve().parent.parent
"""Where the package's `simulator` and `spec` are installed: beside this plugin."""


class _Shadowed(Exception):
    """What the fixture fails with (pytest.fail's exception is not a class to name here)."""


def _shadowing() -> str | None:
    """The first of this package's top-level modules (`simulator`, `spec`) the session has imported from somewhere
    else, as `name (path)`: a project module of that name, imported first, takes the name for the whole process."""
    for name in ("simulator", "spec"):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None)
        if module is not None and (where is None or Path(where).resolve() != _OUR_TOP / name / "__init__.py"):
            return f"{name} ({where if where else repr(module)})"
    return None


@contextlib.contextmanager
def _the_packages_own(error: type[Exception]) -> Iterator[None]:
    """Import the simulator inside this block; a project module named `simulator` or `spec` in its way is `error`
    naming that module's path, not a bare ModuleNotFoundError (a wheel install), nor a silent mix of the project's
    package and ours (setuptools' editable finder serves `simulator.in_process` under the project's `simulator`).

    Decision: one Python process has one module of each name, so such a session cannot use the fixture; the message
    says so and where docs/testing.md explains it."""
    try:
        yield
    except ImportError:
        shadowing = _shadowing()
        if shadowing is None:
            raise
    else:
        shadowing = _shadowing()
        if shadowing is None:
            return
    raise error(
        f"perf_sim: this session's module {shadowing} shadows perf-image-sim's own {shadowing.split()[0]!r}: one Python "
        "process has one module of each name, so the perf_sim fixture and the perf_sim_* ini options cannot be used in "
        "a session that imports it (rename the project's module, or run these tests in a session of their own; see "
        'docs/testing.md, "The perf_sim fixture")'
    ) from None


PROJECT_MARKERS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "setup.py", ".git", ".hg")
"""The files (or directories) that mark the top of a project: pytest's own config files and the marks it looks for
when there is none, and a repository's top."""


@functools.lru_cache(maxsize=256)
def project_top(directory: Path) -> Path:
    """The nearest of `directory` and its ancestors that holds a project marker (`PROJECT_MARKERS`); with none, the
    top of the test file's package: the nearest with no `__init__.py` (the directory pytest's default import mode puts
    on `sys.path`)."""
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    for candidate in (directory, *directory.parents):
        if not (candidate / "__init__.py").exists():
            return candidate
    return directory


def stable_test_id(path: Path, node_id: str) -> str:
    """The test's id as pytest writes it, but with its file relative to its project's top (`project_top`), not to
    pytest's rootdir.

    Decision: pytest's node id names the file relative to the rootdir, and without a config file the rootdir follows
    the directory pytest was started from and its arguments: `pytest tests/test_x.py` from the project and
    `pytest test_x.py` from `tests/` gave one test two namespaces, so two sets of faults and ids, and a fault test that
    passed on a laptop could fail in CI. The project's top is found from the file alone. Where a config file makes the
    rootdir (pytest.ini, pyproject.toml, tox.ini, setup.cfg beside the tests' top directory), the top is that directory,
    so the id, and every namespace a suite had, stays as it was."""
    _, separator, within = node_id.partition("::")
    try:
        file = path.relative_to(project_top(path.parent)).as_posix()
    except ValueError:  # not below its own parent: a path pytest did not get from a file; its node id as it is
        return node_id
    return file + separator + within


def namespace_for(node_id: str, node_name: str, given: set[str]) -> str:
    """A namespace for one test, readable in the journal and the request log (`t<digest>-<test name>`).

    Decision: it is a function of the test's id alone (`stable_test_id`: where the test is in its project, not where pytest
    was started), since a rule's probability draws are seeded with its namespace: the same test sees the same faults
    whichever other tests run in the session, in any order, from any directory. The id's digest tells apart tests
    whose names read alike (parametrized cases, the same name in two files, names cut to fit); a test run again in one
    session (`--keep-duplicates`, a rerun plugin) gets `.2`, `.3`, ... after it: `given` holds the session's namespaces
    so far, and gets the new one.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", node_name).strip("-")
    base = f"t{hashlib.blake2b(node_id.encode(), digest_size=6).hexdigest()}-{slug}"
    runs = 1
    namespace = base[:_NAMESPACE_LENGTH]
    while namespace in given:
        runs += 1
        suffix = f".{runs}"
        namespace = base[: _NAMESPACE_LENGTH - len(suffix)] + suffix
    given.add(namespace)
    return namespace


@pytest.fixture(scope="session")
def perf_sim_server(pytestconfig: pytest.Config) -> Iterator[PerfSim]:
    """The session's simulator itself, in no namespace: its collection calls (`requests`, `count`, `faults`) cover
    every namespace, the running test's too, and its `reset()` forgets them all. Prefer `perf_sim`, which isolates
    each test; `perf_sim_server.in_namespace(NAME)` gives a namespace for fixtures of a wider scope."""
    shadowed = None
    try:
        with _the_packages_own(_Shadowed):
            from simulator.in_process import simulator_running
            from simulator.state.base import CLOCK_MANUAL
    except _Shadowed as exc:
        shadowed = str(exc)
    if shadowed is not None:  # outside the `except`: the report shows the message once, no chained "during handling"
        pytest.fail(shadowed, pytrace=False)

    settings = pytestconfig.stash[_SETTINGS]
    logging = {"quiet": True} if settings.log == LOG_OFF else {"quiet": False, "log_format": settings.log}
    # The clock given here, as a command-line option overrides a scenario's: a scenario's clock = "real" (for a
    # person's perf-sim) would silently start a clock the tests rely on to move only through `advance`.
    with simulator_running(scenario=settings.scenario, clock=CLOCK_MANUAL, **logging) as sim:
        yield sim


@pytest.fixture
def perf_sim(perf_sim_server: PerfSim, request: pytest.FixtureRequest) -> Iterator[PerfSim]:
    """The session's simulator, seen from a namespace of this test's own (forgotten when the test ends), which
    starts with the scenario's fault rules that name no namespace of their own."""
    from simulator.context import DEFAULT_NAMESPACE

    node = request.node
    sim = perf_sim_server.in_namespace(namespace_for(stable_test_id(node.path, node.nodeid), node.name, request.config.stash[_GIVEN]))
    sim.starting_rules = request.config.stash[_SETTINGS].scenario_rules
    for rule in sim.starting_rules:
        sim.add_rule(rule)
    request.node.stash[_TESTS_SIM] = sim
    newest = perf_sim_server.in_namespace(DEFAULT_NAMESPACE).requests(limit=1)
    request.node.stash[_DEFAULT_BEFORE] = _number(newest[0]) if newest else 0
    yield sim
    sim.close()  # the SDK clients its openai_client() made (the control client is the session's, left open)
    own_failures = [entry for entry in sim.requests(status=500) if entry["fault"] is None]
    perf_sim_server.in_namespace(sim.namespace).reset()  # the namespace is done with: forgotten whole
    if own_failures:
        # A 500 no fault asked for is the simulator's own bug (its log has the traceback). An app that tolerates a
        # 500 would let the test pass on an answer the real service would not have given, as pytest-httpserver's
        # users expect a handler's error to fail their test.
        paths = ", ".join(f"{entry['method']} {entry['path']}" for entry in own_failures[:3])
        pytest.fail(
            f"perf-image-sim answered {len(own_failures)} request(s) of this test with its own 500 ({paths}): a bug of the "
            "simulator, not of your app; its traceback is in the captured log. Please report it.",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A test that used `perf_sim` and failed waits for the simulator to finish its last answers' work before pytest
    stops capturing the test's output, so the report's captured log holds the lines of its last requests.

    The server writes a request's log line just after the answer's last bytes, in its own thread: the test's client
    can read the answer, fail and end the call phase first (under load it did). One control call is served by the
    same event loop, so only after every step it was running has finished. Only on failure, where the log is shown."""
    try:
        return (yield)
    except BaseException:
        sim = pyfuncitem.stash.get(_TESTS_SIM, None)
        if sim is not None:
            from simulator.control.client import ControlError

            with contextlib.suppress(ControlError):  # the simulator is gone: the test's own failure is what to report
                sim.health()
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used `perf_sim` shows what its namespace saw, as WireMock's near-miss report does: its
    requests as the request log writes them (oldest first) and its fault rules with how often each fired. The log
    alone shows no rules, and is off with `perf_sim_log = off`."""
    report = yield
    sim = item.stash.get(_TESTS_SIM, None)
    if sim is not None and report.when == "call" and report.failed:
        report.sections.append(("perf-image-sim: what this test's namespace saw", _what_it_saw(sim, item.stash[_DEFAULT_BEFORE])))
    return report


def _number(entry: JournalEntry) -> int:
    """An entry's number (`request_N`): numbers grow for the whole run, resets included, so a larger one came later."""
    return int(entry["id"].removeprefix("request_"))


def _what_it_saw(sim: PerfSim, default_before: int) -> str:
    from simulator.context import DEFAULT_NAMESPACE
    from simulator.request_log import text_line

    try:
        entries, rules = sim.requests(limit=SHOWN_REQUESTS), sim.faults()
        in_default = sim.in_namespace(DEFAULT_NAMESPACE).requests(limit=COUNTED_IN_DEFAULT)
    except Exception as exc:  # the report of a failed test must not fail itself
        return f"(the simulator did not answer: {exc})"
    lines = [f"{len(entries)} request(s){', the latest' if len(entries) == SHOWN_REQUESTS else ''}, oldest first:"]
    lines += [f"  {text_line(entry)}" for entry in reversed(entries)] or ["  (none)"]
    lines.append(f"{len(rules)} fault rule(s):")
    for rule in rules:
        left = "until removed" if rule["times"] is None else f"{rule['remaining']} of {rule['times']} left"
        # a rule firing on a share of its requests would read as one that fires on all of them
        chance = f" probability={rule['probability']:g}" if rule["probability"] not in (None, 1) else ""
        lines.append(f"  {rule['id']} match={rule['match']} action={rule['action']}{chance} fired {rule['fired']} ({left})")
    landed = _landed_in_default(in_default, default_before)
    lines += landed or ([] if entries else _proxy_hint())
    return "\n".join(lines)


def _proxy_hint() -> list[str]:
    """When the test's namespace and the default one saw nothing, the other usual cause: an environment proxy the
    app's HTTP client obeys (httpx, requests and the SDKs read HTTP_PROXY and NO_PROXY), which cannot reach the
    simulator on 127.0.0.1 of the test process (the fixture's own calls ignore it)."""
    proxies = {scheme: url for scheme, url in urllib.request.getproxies_environment().items() if scheme in ("http", "https", "all")}
    if not proxies or _no_proxy_covers_loopback():
        return []
    named = ", ".join(f"{scheme.upper()}_PROXY={url}" for scheme, url in sorted(proxies.items()))
    return [
        f"{named} is set and NO_PROXY does not cover 127.0.0.1: the app's requests may have gone to the proxy; set "
        'NO_PROXY=127.0.0.1 for the test run (docs/testing.md, "Environment proxies")'
    ]


def _no_proxy_covers_loopback() -> bool:
    """Whether NO_PROXY (or no_proxy) names 127.0.0.1: itself, `*`, or a network holding it (`127.0.0.0/8`)."""
    for entry in (os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or "").split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address("127.0.0.1") in ipaddress.ip_network(entry, strict=False):
                return True
    return False


def _landed_in_default(entries: list[JournalEntry], before: int) -> list[str]:
    """What names the most common mistake, an app that is not in the test's namespace: its requests went to the
    default namespace, which the report of the test's own does not show (nor the request log, when off)."""
    during = sum(1 for entry in entries if _number(entry) > before)
    if not during:
        return []
    counted = f"at least {during}" if during == COUNTED_IN_DEFAULT else str(during)
    return [
        f"{counted} request(s) went to the default namespace during this test, not to this test's: does the app send "
        "perf_sim.headers with its requests to perf_sim.server_url, or use perf_sim.base_url?"
    ]
