"""A run that ends before its rules have all run (the target stopped answering): why, and which cases never ran.

An aborted run's JSON and JUnit reports looked like a finished run with a few failures (a CI dashboard showed "6
failed", not "stopped after half the rules"), and its verdict named none of the rules it never reached. The reason
is kept here so the verdict and both reports can say the run is incomplete.
"""

from __future__ import annotations

from typing import Literal, NoReturn

import pytest
from _pytest.junitxml import xml_key
from _pytest.reports import TestReport

from contract_tests.target import NO_VERDICT_EXIT

reason = ""
"""Why this run was ended early; "" while it runs (and once it finished every case)."""


def stop(why: str) -> NoReturn:
    """End the run with no verdict (exit status 2), saying `why` on the terminal and, as the run's `aborted` reason,
    in the verdict and its reports."""
    global reason
    reason = why
    pytest.exit(f"perf-contract: no verdict: {why}", returncode=NO_VERDICT_EXIT)


def case_of(item: pytest.Item) -> tuple[str, str, str]:
    """(case id, area, rule) of a contract item, as the verdict names its cases (run_hooks._record)."""
    function = getattr(item, "function", None)
    module = str(getattr(getattr(item, "module", None), "__name__", "")).rsplit(".", 1)[-1]
    rule = ((function.__doc__ if function else None) or item.name).strip().splitlines()[0]
    return f"{module}::{item.name}", module.removeprefix("test_"), rule


def not_run(items: list[pytest.Item], ran: set[str]) -> list[tuple[str, str, str]]:
    """(case id, area, rule) of every item whose case is not among `ran` (the case ids the verdict holds)."""
    return [case for case in map(case_of, items) if case[0] not in ran]


def report_in_junit(config: pytest.Config, items: list[pytest.Item], why: str) -> None:
    """Each item that never ran as an error of the JUnit report (when one is written), its message the reason: a
    dashboard reading the file sees an aborted run, not a finished one. Written to the JUnit report only, not through
    pytest's hook, so the terminal is not given one error section per case (the verdict names the rules instead)."""
    junit = config.stash.get(xml_key, None)
    if junit is None:
        return
    message = f"not run: the run was aborted: {why}"
    for item in items:
        junit.pytest_runtest_logreport(_report(item, "failed", "setup", message))
        junit.pytest_runtest_logreport(_report(item, "passed", "teardown", None))


def _report(item: pytest.Item, outcome: Literal["passed", "failed"], when: Literal["setup", "teardown"], text: str | None) -> TestReport:
    return TestReport(item.nodeid, item.location, {}, outcome, text, when, user_properties=[])
