"""The contract suite judged green against the real simulator, at both levels and in both invocation forms."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from contract_tests import budget
from contract_tests.target import SIM_GENEROUS_KEY
from contract_tests.verdict import NOT_CHECKABLE_IN_REAL_TIME
from simulator.launcher import RunningServer, running_simulator
from spec import policy
from tests.contract.counting import COUNT_PATH
from tests.contract.harness import FOREIGN_KEYS, PERF_CONTRACT, Verdict, factory_server, run_contract

MANUAL_CLOCK_ONLY = "manual clock"
FULL_LEVEL_ONLY = "at the full level only"
# What another implementation refuses is its own: a user names a prompt it refuses (the simulator's trigger phrase).
BLOCKED_PROMPT = ("--blocked-prompt", f"A harbour at dusk {policy.TRIGGER_PHRASE}")


@pytest.fixture(scope="module")
def manual_sim() -> Iterator[RunningServer]:
    with running_simulator("--clock", "manual") as server:
        yield server


def _explain(verdict: Verdict) -> str:
    failures = "\n\n".join(f"{name}\n{message[:2000]}" for name, message in verdict.failures[:5])
    return f"exit {verdict.returncode}, {len(verdict.failures)} failures\n{failures}\n{verdict.output[-3000:]}"


def _undeclared_decisions(report: Path) -> dict[str, list[str]]:
    """Per rule, the decisions its cases checked that its source does not name: a rule labelled `document` (or one
    decision) that also judges another decision would hide it from the person reading the table."""
    undeclared = {}
    for rule in json.loads(report.read_text())["rules"]:
        checked = {source for case in rule["cases"] for source in case["checked"]}
        if hidden := sorted(checked - set(rule["decisions"]) - {"document"}):
            undeclared[rule["rule"]] = hidden
    return undeclared


@pytest.mark.slow
def test_full_level_is_green_against_the_simulator(manual_sim: RunningServer, tmp_path: Path) -> None:
    report = tmp_path / "full.json"
    verdict = run_contract(manual_sim.base_url, tmp_path / "full.xml", "--level", "full", "--judge", "all", "--report-json", str(report))
    assert verdict.returncode == 0, _explain(verdict)
    assert verdict.tests >= 300 and not verdict.failures
    unreachable = [name for name, reason in verdict.skipped if "not judged: the enterprise day limit" in reason]
    assert unreachable == [name for name, _ in verdict.skipped], f"only the enterprise day may skip (its bound): {verdict.skipped[:5]}"
    assert not (undeclared := _undeclared_decisions(report)), f"rules checking decisions their source does not name: {undeclared}"


@pytest.mark.slow
def test_a_run_spends_on_its_keys_what_the_slow_key_warning_says(tmp_path: Path) -> None:
    """contract_tests/budget.py's figures, from which a run on a slow key says how long it will wait, are what each
    level spends on --generous-key and --key (within a fifth: a change to the suite's cases must update them)."""
    spent: dict[str, dict[str, int]] = {}
    with factory_server("tests.contract.counting:app") as server:
        for level in ("smoke", "full"):
            before = httpx.get(server.base_url + COUNT_PATH).json()
            verdict = run_contract(server.base_url, tmp_path / f"{level}.xml", "--level", level)
            assert verdict.returncode == 0, _explain(verdict)
            after = httpx.get(server.base_url + COUNT_PATH).json()
            spent[level] = {key: after.get(key, 0) - before.get(key, 0) for key in (SIM_GENEROUS_KEY, "pk_live_abc123")}
    for level, keys in spent.items():
        for key, figure in ((SIM_GENEROUS_KEY, budget.GENEROUS_KEY_IMAGES[level]), ("pk_live_abc123", budget.KEY_IMAGES[level])):
            assert abs(keys[key] - figure) <= max(2, figure / 5), f"{level}: {keys[key]} images on {key}, budget.py says {figure}"


def test_smoke_level_via_pytest_pyargs(manual_sim: RunningServer, tmp_path: Path) -> None:
    junit = tmp_path / "smoke.xml"
    command = [
        sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "-p", "no:cacheprovider",
        "--perf-base-url", manual_sim.base_url, "--perf-key", "pk_live_abc123", "--perf-level", "smoke",
        "--junit-xml", str(junit),
    ]  # fmt: skip
    verdict = run_contract(manual_sim.base_url, junit, command=command)
    assert verdict.returncode == 0, _explain(verdict)
    assert 20 <= verdict.tests < 80, verdict.tests


def test_time_rules_skip_with_a_reason_on_a_real_clock_at_smoke_level(tmp_path: Path) -> None:
    with running_simulator() as real_clock:
        verdict = run_contract(real_clock.base_url, tmp_path / "real.xml", "--level", "smoke")
    assert verdict.returncode == 0, _explain(verdict)
    reasons = {message for _, message in verdict.skipped}
    assert verdict.skipped and all(MANUAL_CLOCK_ONLY in r or FULL_LEVEL_ONLY in r for r in reasons), reasons


def _without_control(tmp_path: Path, name: str, *args: str) -> Verdict:
    junit = tmp_path / f"{name}.xml"
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        command = [*PERF_CONTRACT, "--base-url", server.base_url, "--key", "pk_live_abc123", *args, "--junit-xml", str(junit)]
        return run_contract(server.base_url, junit, command=command)


def test_smoke_level_without_a_control_api(tmp_path: Path) -> None:
    """Another implementation (here: the simulator with /_sim/ hidden) gets a verdict; time rules skip, saying why."""
    verdict = _without_control(tmp_path, "smoke", "--level", "smoke", "--free-key", "pk_test_free_nocontrol", *BLOCKED_PROMPT)
    assert verdict.returncode == 0, _explain(verdict)
    reasons = {message for _, message in verdict.skipped}
    assert verdict.skipped and all(MANUAL_CLOCK_ONLY in r or FULL_LEVEL_ONLY in r for r in reasons), reasons
    assert NOT_CHECKABLE_IN_REAL_TIME in verdict.output


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 2.5 minutes of real waits, 3.5 on a loaded machine: far past the default 300 s bound
def test_full_level_without_a_control_api_judges_the_time_rules_in_real_time(tmp_path: Path) -> None:
    """Only the day windows, URL expiry, the state machine (manual clock) and the simulator's example key go unjudged."""
    report = tmp_path / "full.json"
    tier_keys = ("--tier-key", "pro=pk_test_pro_nocontrol", "--tier-key", "enterprise=pk_test_enterprise_nocontrol")
    verdict = _without_control(tmp_path, "full", *FOREIGN_KEYS, *tier_keys, *BLOCKED_PROMPT, "--judge", "all", "--report-json", str(report))
    assert verdict.returncode == 0, _explain(verdict)
    assert not (undeclared := _undeclared_decisions(report)), f"rules checking decisions their source does not name: {undeclared}"
    skipped = sorted(name.rsplit("::", 1)[-1] for name, _ in verdict.skipped)
    assert skipped == [
        "test_day_window_is_the_utc_day",
        "test_document_example_key_is_pro",
        "test_paid_tier_day_limit[enterprise]",
        "test_paid_tier_day_limit[pro]",
        "test_rate_windows_follow_the_reference_model",
        "test_url_expires_after_one_hour",
    ], verdict.skipped
    assert NOT_CHECKABLE_IN_REAL_TIME in verdict.output


@pytest.mark.slow
def test_two_runs_in_namespaces_of_their_own_share_one_simulator(manual_sim: RunningServer, tmp_path: Path) -> None:
    """Two CI jobs against one simulator: each run resets and moves only its own namespace's windows and clock."""
    if httpx.get(manual_sim.base_url + "/_sim/namespaces").status_code != 200:
        pytest.skip("this simulator has no namespaces (X-Sim-Namespace) yet")

    def run(name: str) -> Verdict:
        return run_contract(manual_sim.base_url, tmp_path / f"{name}.xml", "--namespace", name, "-k", "rate_limits or expiry or stateful")

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(run, ["ci-job-one", "ci-job-two"])
    for verdict in (first, second):
        assert verdict.returncode == 0, _explain(verdict)
        assert verdict.tests >= 10 and not verdict.failures and not verdict.skipped
    assert "namespace ci-job-one" in first.output and "namespace ci-job-two" in second.output


ONE_RULE = ("--level", "smoke", "-k", "test_prompt_only_gets_every_default")


def _default_count(sim: RunningServer) -> int:
    return int(httpx.post(sim.base_url + "/_sim/requests/count", json={"match": {}, "namespace": "default"}).json()["count"])


def _namespaces(sim: RunningServer) -> set[str]:
    return set(httpx.get(sim.base_url + "/_sim/namespaces").json()["namespaces"])


def test_a_run_puts_nothing_in_default_and_resets_the_namespace_it_made_up_but_keeps_a_given_one(
    manual_sim: RunningServer, tmp_path: Path
) -> None:
    """Its two probes went to `default` (moving the error count its ids are made from, for a job working there), and
    every finished run left its namespace behind, journal and counters and all, on a shared simulator."""
    before, namespaces = _default_count(manual_sim), _namespaces(manual_sim)
    made_up = run_contract(manual_sim.base_url, tmp_path / "made-up.xml", *ONE_RULE)
    assert made_up.returncode == 0 and made_up.tests == 1, _explain(made_up)
    assert _default_count(manual_sim) == before, "the run's probes went to its namespace, not to `default`"
    assert _namespaces(manual_sim) == namespaces, "the namespace the run made up is gone"
    assert "(the run's own: reset at its end)" in made_up.output, made_up.output[-3000:]
    given = run_contract(manual_sim.base_url, tmp_path / "given.xml", *ONE_RULE, "--namespace", "kept-for-a-look")
    assert given.returncode == 0 and given.tests == 1, _explain(given)
    assert "namespace kept-for-a-look" in given.output and "reset at its end" not in given.output, given.output[-3000:]
    assert _namespaces(manual_sim) == namespaces | {"kept-for-a-look"}, "a given namespace is kept, to be looked at"
    assert _default_count(manual_sim) == before, "neither run sent anything to the default namespace"
    httpx.post(manual_sim.base_url + "/_sim/reset", params={"namespace": "kept-for-a-look"}).raise_for_status()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--key", "pk_test_gold_x"], "perf-contract: no verdict: --key is refused (401)\n"),
        (["--key", "pk_live_abc123", "--free-key", "bad_key_xx"], "perf-contract: no verdict: --free-key is refused (401)\n"),
        (["--key", "pk_live_abc123", "--", "--no-such-pytest-option"], "unrecognized arguments: --no-such-pytest-option"),
    ],
    ids=["key-refused", "free-key-refused", "pytest-usage-error"],
)
def test_a_run_ended_without_a_verdict_resets_the_namespace_it_made_up(
    manual_sim: RunningServer, tmp_path: Path, given: list[str], said: str
) -> None:
    """docs/contract.md: the made-up namespace is reset "whatever the verdict". A run whose key the target refused, or
    whose pytest options pytest refused, ended before the session's reset and left its `contract-<hex>` namespace, the
    probes' 401s in it, on the shared simulator, each CI run one more."""
    namespaces = _namespaces(manual_sim)
    verdict = run_contract(
        manual_sim.base_url, tmp_path / "junit.xml", command=[*PERF_CONTRACT, "--base-url", manual_sim.base_url, *given, "--level", "smoke"]
    )
    assert verdict.returncode == 2 and verdict.tests == 0, _explain(verdict)
    assert said in verdict.stderr, verdict.output[-3000:]
    assert _namespaces(manual_sim) == namespaces, "the namespace the run made up is gone"


def test_a_run_the_plugin_refuses_resets_its_made_up_namespace_but_keeps_a_given_one(manual_sim: RunningServer, tmp_path: Path) -> None:
    """`pytest --pyargs contract_tests` has no first check of its own: its refusal is the plugin's. A given namespace is
    kept (docs/contract.md: to be looked at), here holding the probes' 401s."""
    namespaces = _namespaces(manual_sim)
    plugin = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "contract_tests",
        "--perf-base-url",
        manual_sim.base_url,
    ]
    refused = run_contract(manual_sim.base_url, tmp_path / "plugin.xml", command=[*plugin, "--perf-key", "pk_test_gold_x"])
    assert refused.returncode == 2 and "no verdict: --key is refused (401)" in refused.output, _explain(refused)
    assert _namespaces(manual_sim) == namespaces, "the namespace the run made up is gone"
    command = [*PERF_CONTRACT, "--base-url", manual_sim.base_url, "--key", "pk_test_gold_x", "--namespace", "refused-kept"]
    given = run_contract(manual_sim.base_url, tmp_path / "given.xml", command=command)
    assert given.returncode == 2 and given.stderr == "perf-contract: no verdict: --key is refused (401)\n", _explain(given)
    assert _namespaces(manual_sim) == namespaces | {"refused-kept"}, "a given namespace is kept, to be looked at"
    httpx.post(manual_sim.base_url + "/_sim/reset", params={"namespace": "refused-kept"}).raise_for_status()


def test_a_given_namespace_the_simulator_cannot_take_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    """A 503 on `GET /_sim/namespaces` turned namespaces off, even with --namespace given: the run then reset the
    whole shared simulator before every test, its header silent. Without --namespace the header says so."""
    with factory_server("tests.contract.without_control:without_namespaces") as server:
        refused = run_contract(server.base_url, tmp_path / "given.xml", *ONE_RULE, "--namespace", "ci-job-a")
        unnamed = run_contract(server.base_url, tmp_path / "unnamed.xml", *ONE_RULE)
    assert refused.returncode == 2 and refused.tests == 0, _explain(refused)
    said = f"perf-contract: no verdict: --namespace ci-job-a was given, but GET {server.base_url}/_sim/namespaces answered 503, not 200"
    assert said in refused.stderr, refused.output[-3000:]
    assert unnamed.returncode == 0 and unnamed.tests == 1, _explain(unnamed)
    assert "control API present, manual clock, no namespaces (every reset is the whole simulator's)" in unnamed.output, unnamed.output


def test_a_base_url_naming_a_namespace_runs_in_that_namespace_and_a_different_namespace_option_is_refused(
    manual_sim: RunningServer, tmp_path: Path
) -> None:
    """`--base-url http://host/_sim/ns/jobA`, which the docs offer for clients that take only a base URL: the suite added
    a made-up namespace of its own, the simulator refused every control call for naming two, and every case errored,
    exit 1 ("a rule is broken")."""
    namespaces = _namespaces(manual_sim)
    base_url = manual_sim.base_url + "/_sim/ns/ci-job-path"
    named = run_contract(base_url, tmp_path / "named.xml", *ONE_RULE)
    clashing = run_contract(base_url, tmp_path / "clashing.xml", *ONE_RULE, "--namespace", "ci-job-other")
    assert named.returncode == 0 and named.tests == 1, _explain(named)
    assert "namespace ci-job-path" in named.output and "reset at its end" not in named.output, named.output[-3000:]
    assert _namespaces(manual_sim) == namespaces | {"ci-job-path"}, "the base URL's namespace is the run's, kept as a given one"
    assert clashing.returncode == 2 and clashing.tests == 0, _explain(clashing)
    said = f"perf-contract: no verdict: --namespace ci-job-other was given, but the base URL {base_url} names namespace ci-job-path"
    assert said in clashing.stderr, clashing.output[-3000:]
    httpx.post(manual_sim.base_url + "/_sim/reset", params={"namespace": "ci-job-path"}).raise_for_status()


def test_a_given_namespace_against_a_target_hiding_its_control_api_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    """A proxy in front hiding `/_sim/`: the run went on without the namespace header, exit 0, its header silent, so on a
    shared simulator behind the proxy its requests landed in `default`, the thing `--namespace` was for."""
    with factory_server("tests.contract.without_control:app") as server:
        refused = run_contract(server.base_url, tmp_path / "given.xml", *ONE_RULE, "--namespace", "ci-job-a")
    assert refused.returncode == 2 and refused.tests == 0, _explain(refused)
    said = f"perf-contract: no verdict: --namespace ci-job-a was given, but GET {server.base_url}/_sim/health answered 404"
    assert said in refused.stderr, refused.output[-3000:]
