"""The contract suite's strength: every deliberately broken simulator must be failed, with a readable report.

The default sweep runs, per mutant, the contract modules its defect belongs to (`caught_by`), two mutants at
a time. The slow sweep runs the whole full-level suite against each mutant, proving no hint is needed.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.contract.harness import Verdict, mutant_server, run_contract
from tests.contract.mutants import MUTANTS

PARALLEL_MUTANTS = 2


def judge(name: str, whole_suite: bool) -> Verdict:
    selection = () if whole_suite else ("-k", MUTANTS[name].caught_by)
    with tempfile.TemporaryDirectory() as tmp, mutant_server(name) as server:
        return run_contract(server.base_url, Path(tmp) / "junit.xml", *selection, "--", "-x")


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


def _assert_caught(name: str, verdict: Verdict) -> None:
    assert verdict.returncode == 1, f"{name} ({MUTANTS[name].defect}) was not caught:\n{verdict.output[-3000:]}"
    assert verdict.failures, verdict.output[-3000:]
    test, message = verdict.failures[0]
    readable = "RULE BROKEN:" in message and ("reproduce: curl" in message or "schemathesis" in message)
    assert readable, f"{name} was caught by {test}, but the report does not show the rule and a curl line:\n{message[:3000]}"


def test_at_least_25_distinct_defects() -> None:
    assert len(MUTANTS) >= 25
    assert len({m.defect for m in MUTANTS.values()}) == len(MUTANTS)


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught(name: str, quick_verdicts: dict[str, Verdict]) -> None:
    _assert_caught(name, quick_verdicts[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught_by_the_whole_suite(name: str) -> None:
    _assert_caught(name, judge(name, whole_suite=True))
