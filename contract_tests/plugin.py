"""The pytest plugin (entry point `pytest11`): options, the --perf-level selection and readable failure reports.

It is loaded in every pytest session of an environment where the package is installed, so it only acts on
items collected from `contract_tests`; fixtures live in `contract_tests/conftest.py` for the same reason.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from contract_tests.target import LEVELS, Target
from contract_tests.violations import ContractViolation

SMOKE_MARK = "smoke"
_TARGET_KEY = pytest.StashKey[Target]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perf-contract", "Perf Image API contract suite")
    group.addoption("--perf-base-url", help="base URL of the implementation under test, e.g. http://127.0.0.1:8080")
    group.addoption("--perf-key", help="a valid API key (any tier)")
    group.addoption("--perf-key-tier", help="tier of --perf-key when its name does not say (free, pro, enterprise)")
    group.addoption("--perf-free-key", help="a free-tier key for rate-limit tests (simulator default: pk_test_free_contract)")
    group.addoption(
        "--perf-generous-key",
        help="a key with high limits for generated traffic (simulator default: pk_test_enterprise_contract; else --perf-key)",
    )
    group.addoption("--perf-level", choices=LEVELS, default="full", help="smoke: a quick core set; full: every rule")
    group.addoption("--perf-list-rules", action="store_true", help="print the rules of the selected level with their case counts")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{SMOKE_MARK}: part of the quick smoke level of the Perf contract suite")


def _is_contract_item(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return getattr(module, "__name__", "").startswith("contract_tests.")


def contract_target(config: pytest.Config) -> Target:
    """The target, resolved once per session (resolving probes the control API)."""
    if _TARGET_KEY not in config.stash:
        base_url, key = config.getoption("perf_base_url"), config.getoption("perf_key")
        if not base_url or not key:
            raise pytest.UsageError("the Perf contract suite needs --perf-base-url URL and --perf-key KEY")
        config.stash[_TARGET_KEY] = Target.resolve(
            base_url,
            key,
            key_tier=config.getoption("perf_key_tier"),
            free_key=config.getoption("perf_free_key"),
            generous_key=config.getoption("perf_generous_key"),
            level=config.getoption("perf_level"),
        )
    return config.stash[_TARGET_KEY]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    contract = [item for item in items if _is_contract_item(item)]
    if not contract:
        return
    if contract_target(config).level == "smoke":
        dropped = [item for item in contract if item.get_closest_marker(SMOKE_MARK) is None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            kept = set(map(id, dropped))
            items[:] = [item for item in items if id(item) not in kept]


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("perf_base_url") and config.getoption("perf_key"):
        return contract_target(config).describe()
    return None


def rule_listing(items: list[pytest.Item]) -> list[str]:
    """One line per rule (a test function's docstring), with how many cases check it, and the totals."""
    cases: dict[tuple[str, str], int] = {}
    for item in items:
        function = getattr(item, "function", None)
        if function is None or not _is_contract_item(item):
            continue
        doc = (function.__doc__ or item.name).strip().splitlines()[0]
        module = getattr(item, "module", None)
        where = f"{getattr(module, '__name__', '').rsplit('.', 1)[-1]}::{function.__name__}"
        cases[(where, doc)] = cases.get((where, doc), 0) + 1
    lines = [f"{count:4d}  {doc}   [{where}]" for (where, doc), count in cases.items()]
    lines.append(f"{len(cases)} rules, {sum(cases.values())} cases")
    return lines


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.getoption("perf_list_rules"):
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line("")
            for line in rule_listing(session.items):
                terminal.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    """A broken rule is reported as the rule, the exchange and a curl line, not as a Python traceback."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, ContractViolation):
        exc = call.excinfo.value
        notes = "\n".join(getattr(exc, "__notes__", []))
        report.longrepr = exc.report() + (f"\n{notes}" if notes else "")
    return report
