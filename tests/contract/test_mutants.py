"""The contract suite's strength: every deliberately broken simulator must be failed, with a readable report,
both as the simulator (control API, manual clock) and as a foreign implementation (real clock, no /_sim/).

All of it is `slow` (minutes of contract runs; CI runs it in the slow pass). The quick sweep runs, per mutant, the
contract modules its defect belongs to (`caught_by`), two mutants at a time, on the simulator and as a foreign
target without the real-time rules (a minute of waiting each). The whole-suite sweep runs the full-level suite
against each mutant on the simulator, and the real-time rules against each mutant whose defect shows only over time,
as a foreign target, all of these at once.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from contract_tests.verdict import NOT_CHECKABLE_IN_REAL_TIME
from tests.contract.harness import FOREIGN_KEYS, Verdict, mutant_server, run_contract
from tests.contract.mutants import MUTANTS

PARALLEL_MUTANTS = 2
# A sweep runs in the first test's fixture: room for ~40 runs of a few seconds each on a busy 2-core machine.
SWEEP_TIMEOUT = pytest.mark.timeout(900)
NOT_REAL_TIME = ("-m", "not real_time")
OVER_TIME = [name for name, m in MUTANTS.items() if m.over_time]
BLIND = [name for name, m in MUTANTS.items() if m.blind_in_real_time]
SEEN_BY_QUICK_FOREIGN_SWEEP = [name for name in MUTANTS if name not in OVER_TIME and name not in BLIND]


def judge(name: str, whole_suite: bool, foreign: bool = False, *selection: str) -> Verdict:
    """The mutant's verdict with decisions counted (--judge all): many defects break a simulator decision only."""
    selection = selection or (() if whole_suite else ("-k", MUTANTS[name].caught_by))
    with tempfile.TemporaryDirectory() as tmp, mutant_server(name, foreign) as server:
        keys = FOREIGN_KEYS if foreign else ()
        return run_contract(server.base_url, Path(tmp) / "junit.xml", *keys, "--judge", "all", *selection, "--", "-x")


def _collected(request: pytest.FixtureRequest, test_name: str) -> list[str]:
    return [
        str(item.callspec.params["name"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == test_name
    ]


@pytest.fixture(scope="module")
def quick_verdicts(request: pytest.FixtureRequest) -> dict[str, Verdict]:
    names = _collected(request, "test_mutant_is_caught")
    with ThreadPoolExecutor(PARALLEL_MUTANTS) as pool:
        return dict(zip(names, pool.map(lambda name: judge(name, whole_suite=False), names), strict=True))


def _judge_foreign(name: str) -> Verdict:
    return judge(name, False, True, "-k", MUTANTS[name].caught_by, *NOT_REAL_TIME)


@pytest.fixture(scope="module")
def quick_foreign_verdicts(request: pytest.FixtureRequest) -> dict[str, Verdict]:
    names = _collected(request, "test_mutant_is_caught_as_a_foreign_target") + _collected(
        request, "test_a_defect_of_the_day_or_url_expiry_is_declared_unjudged_in_real_time"
    )
    with ThreadPoolExecutor(PARALLEL_MUTANTS) as pool:
        return dict(zip(names, pool.map(_judge_foreign, names), strict=True))


@pytest.fixture(scope="module")
def over_time_verdicts(request: pytest.FixtureRequest) -> dict[str, Future[Verdict]]:
    """Started when the slow sweep starts: the real-time rules against every over-time mutant, all at once."""
    names = _collected(request, "test_over_time_mutant_is_caught_in_real_time")
    pool = ThreadPoolExecutor(max(1, len(names)))
    futures = {name: pool.submit(judge, name, False, True, "-k", "test_rate_limits") for name in names}
    pool.shutdown(wait=False)
    return futures


def _assert_caught(name: str, verdict: Verdict) -> None:
    assert verdict.returncode == 1, f"{name} ({MUTANTS[name].defect}) was not caught:\n{verdict.output[-3000:]}"
    assert verdict.failures, verdict.output[-3000:]
    test, message = verdict.failures[0]
    readable = "RULE BROKEN:" in message and ("reproduce: curl" in message or "schemathesis" in message)
    assert readable, f"{name} was caught by {test}, but the report does not show the rule and a curl line:\n{message[:3000]}"


def test_at_least_25_distinct_defects() -> None:
    assert len(MUTANTS) >= 25
    assert len({m.defect for m in MUTANTS.values()}) == len(MUTANTS)


@pytest.mark.slow
@SWEEP_TIMEOUT
@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught(name: str, quick_verdicts: dict[str, Verdict]) -> None:
    _assert_caught(name, quick_verdicts[name])


@pytest.mark.slow
@SWEEP_TIMEOUT
@pytest.mark.parametrize("name", SEEN_BY_QUICK_FOREIGN_SWEEP)
def test_mutant_is_caught_as_a_foreign_target(name: str, quick_foreign_verdicts: dict[str, Verdict]) -> None:
    _assert_caught(name, quick_foreign_verdicts[name])


@pytest.mark.slow
@SWEEP_TIMEOUT
@pytest.mark.parametrize("name", BLIND)
def test_a_defect_of_the_day_or_url_expiry_is_declared_unjudged_in_real_time(name: str, quick_foreign_verdicts: dict[str, Verdict]) -> None:
    verdict = quick_foreign_verdicts[name]
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert NOT_CHECKABLE_IN_REAL_TIME in verdict.output.replace("\n", " ")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught_by_the_whole_suite(name: str, over_time_verdicts: dict[str, Future[Verdict]]) -> None:
    """(Asks for the real-time sweep only so it starts first and waits while this sweep works.)"""
    _assert_caught(name, judge(name, whole_suite=True))


@pytest.mark.slow
@SWEEP_TIMEOUT
@pytest.mark.parametrize("name", OVER_TIME)
def test_over_time_mutant_is_caught_in_real_time(name: str, over_time_verdicts: dict[str, Future[Verdict]]) -> None:
    _assert_caught(name, over_time_verdicts[name].result())
