"""The pytest plugin (entry point `pytest11`): the `perf_sim` fixture, a simulator for the tests of an app.

One simulator serves the whole session (in the test process, on a free port of 127.0.0.1, manual clock); each test
gets its own namespace of it, so its rate windows, journal, fault rules and clock are its own and tests never see
each other's traffic. The app under test joins the test's namespace through `perf_sim.base_url`
(`.../_sim/ns/<namespace>`), or by sending `perf_sim.headers` to `perf_sim.server_url`; `perf_sim.openai_client()`
is the official SDK already set up.

ini options: `perf_sim_scenario` (a scenario file the session's simulator starts with), `perf_sim_log`
(text, json or off: the request log, which pytest shows with a failing test's captured output).

The plugin is loaded in every pytest session where perf-image-sim is installed, so it imports the simulator only
when a test asks for the fixture.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.in_process import PerfSim

LOG_OFF = "off"
_NAMESPACE_LENGTH = 64
_given: set[str] = set()
"""The namespaces given to tests in this session."""
_SCENARIO_RULES = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("perf_sim_scenario", "scenario file (TOML) the perf_sim fixture's simulator starts with", default="")
    parser.addini("perf_sim_log", "perf_sim's request log in captured output: text, json or off", default="text")


def namespace_for(node_id: str, node_name: str) -> str:
    """A namespace for one test, readable in the journal and the request log (`t<digest>-<test name>`).

    Decision: it is a function of the test's node id alone, since a rule's probability draws are seeded with its
    namespace: the same test sees the same faults whichever other tests run in the session, and in any order. The
    node id's digest tells apart tests whose names read alike (parametrized cases, the same name in two files, names
    cut to fit); a test run again in one session (`--keep-duplicates`, a rerun plugin) gets `.2`, `.3`, ... after it.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", node_name).strip("-")
    base = f"t{hashlib.blake2b(node_id.encode(), digest_size=6).hexdigest()}-{slug}"
    runs = 1
    namespace = base[:_NAMESPACE_LENGTH]
    while namespace in _given:
        runs += 1
        suffix = f".{runs}"
        namespace = base[: _NAMESPACE_LENGTH - len(suffix)] + suffix
    _given.add(namespace)
    return namespace


@pytest.fixture(scope="session")
def perf_sim_server(pytestconfig: pytest.Config) -> Iterator[PerfSim]:
    """The session's simulator, in its default namespace (prefer `perf_sim`, which isolates each test)."""
    from simulator.in_process import simulator_running
    from simulator.request_log import LOG_FORMATS
    from simulator.scenario import ScenarioError, load_scenario

    log = str(pytestconfig.getini("perf_sim_log"))
    if log not in (*LOG_FORMATS, LOG_OFF):
        raise pytest.UsageError(f"perf_sim_log must be one of {', '.join((*LOG_FORMATS, LOG_OFF))}, got {log!r}")
    scenario = str(pytestconfig.getini("perf_sim_scenario")) or None
    if scenario:
        scenario = str(Path(pytestconfig.rootpath, scenario))
        try:
            rules = load_scenario(scenario).faults
        except ScenarioError as exc:
            raise pytest.UsageError(f"perf_sim_scenario: {exc}") from None
        pytestconfig.stash[_SCENARIO_RULES] = [rule for rule in rules if "namespace" not in rule]
    logging = {"quiet": True} if log == LOG_OFF else {"quiet": False, "log_format": log}
    with simulator_running(scenario=scenario, **logging) as sim:
        yield sim


@pytest.fixture
def perf_sim(perf_sim_server: PerfSim, request: pytest.FixtureRequest) -> Iterator[PerfSim]:
    """The session's simulator, seen from a namespace of this test's own (forgotten when the test ends), which
    starts with the scenario's fault rules that name no namespace of their own."""
    sim = perf_sim_server.in_namespace(namespace_for(request.node.nodeid, request.node.name))
    sim.starting_rules = request.config.stash.get(_SCENARIO_RULES, [])
    for rule in sim.starting_rules:
        sim.add_rule(rule)
    yield sim
    perf_sim_server.in_namespace(sim.namespace).reset()  # the namespace is done with: forgotten whole
