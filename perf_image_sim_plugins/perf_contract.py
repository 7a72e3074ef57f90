"""The pytest plugin `perf_contract` (entry point `pytest11`): the contract suite's options and marks, and, in a
contract run, its hooks.

It is loaded in every pytest session of an environment where the package is installed, so it imports nothing of
`spec`, `simulator` or `contract_tests` as it loads (`perf_image_sim_plugins/__init__.py` says why), and registers the
hooks of a run (`contract_tests/run_hooks.py`: the --perf-level selection, the verdict and its reports) only when the
session is a contract run, one given `--perf-base-url` or `--perf-list-rules`. Any other session pays for the
options alone: importing the hooks (and with them httpx and Hypothesis) took every pytest run in the environment
about a tenth of a second.
"""

from __future__ import annotations

import pytest

from perf_image_sim_plugins.contract_options import PARTLY_MARK, SMOKE_MARK, SOURCE_MARK, add_options

RUN_HOOKS_PLUGIN = "perf_contract_run"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{SMOKE_MARK}: part of the quick smoke level of the Perf contract suite")
    config.addinivalue_line("markers", f"{SOURCE_MARK}(decision): the rule holds a simulator decision (contract_tests/decisions.py)")
    config.addinivalue_line("markers", f"{PARTLY_MARK}(*decisions): some checks of the rule hold these simulator decisions")
    config.addinivalue_line("markers", "real_time(rule): judged by the real-time runs when the target's clock cannot be moved")
    if is_contract_run(config):
        from contract_tests import run_hooks

        config.pluginmanager.register(run_hooks, RUN_HOOKS_PLUGIN)


def is_contract_run(config: pytest.Config) -> bool:
    return bool(config.getoption("perf_base_url") or config.getoption("perf_list_rules"))
