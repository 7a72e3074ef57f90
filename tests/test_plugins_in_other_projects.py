"""What installing perf-image-sim does to the pytest sessions of a project that is not about it.

pytest loads the package's two `pytest11` plugins into every session of the environment, before the project's own
modules: a project whose own modules are named `spec`, `simulator` or `contract_tests` (a `spec.py`, a Pact-style
`contract_tests/` test package) must still run its tests as without the package.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from perf_image_sim_plugins import contract_options
from spec import tiers
from tests.user_project import run_pytest

USERS_PROJECT = {
    "pytest.ini": "[pytest]\n",
    "spec.py": "WHOSE = 'the user'\n",
    "simulator.py": "WHOSE = 'the user'\n",
    "test_app.py": """
        import simulator
        import spec

        def test_its_own_modules():
            assert spec.WHOSE == simulator.WHOSE == "the user"
    """,
    "contract_tests/__init__.py": "WHOSE = 'the user'\n",
    "contract_tests/test_pact.py": """
        import contract_tests

        def test_its_own_package():
            assert contract_tests.WHOSE == "the user"
    """,
}


def _write_project(directory: Path) -> None:
    for name, text in USERS_PROJECT.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(textwrap.dedent(text))


@pytest.mark.parametrize("started_by", ["python -m pytest", "pytest"])
def test_a_project_with_its_own_spec_simulator_and_contract_tests_runs_its_tests_with_the_plugins_installed(
    tmp_path: Path, started_by: str
) -> None:
    """`python -m pytest` puts the project first on the path, the `pytest` script does not (its rootdir comes first
    only as its tests are collected): either way the project's modules are its own, and both of its tests run."""
    _write_project(tmp_path)
    command = (sys.executable, "-m", "pytest") if started_by == "python -m pytest" else (str(Path(sys.executable).with_name("pytest")),)
    result = run_pytest(tmp_path, "-p", "no:cacheprovider", "-q", command=command)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
def test_the_plugins_keep_their_names_so_they_can_be_turned_off_and_named_when_autoload_is_off(tmp_path: Path) -> None:
    """`-p no:perf_sim` / `-p no:perf_contract` turn them off; with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (common in CI)
    `-p perf_sim` / `-p perf_contract` bring them back (docs/testing.md)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    autoload_off = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    shown = {
        "default": run_pytest(tmp_path, "--help"),
        "turned off": run_pytest(tmp_path, "-p", "no:perf_sim", "-p", "no:perf_contract", "--help"),
        "autoload off": run_pytest(tmp_path, "--help", env=autoload_off),
        "autoload off, named": run_pytest(tmp_path, "-p", "perf_sim", "-p", "perf_contract", "--help", env=autoload_off),
    }
    for case, result in shown.items():
        assert result.returncode == 0, f"{case}: {result.stdout + result.stderr}"
    assert {case: ("--perf-base-url" in result.stdout, "perf_sim_scenario" in result.stdout) for case, result in shown.items()} == {
        "default": (True, True),
        "turned off": (False, False),
        "autoload off": (False, False),
        "autoload off, named": (True, True),
    }


def test_the_contract_plugins_tier_names_are_the_specs() -> None:
    """The plugin writes them out (importing `spec` as it loads would take that name in every session)."""
    assert tuple(tiers.TIERS) == contract_options.TIER_NAMES
    assert contract_options.PAID_TIER_NAMES == tiers.PAID_TIERS


@pytest.mark.parametrize("its_own", ["simulator/__init__.py", "spec.py"])
def test_a_session_using_perf_sim_beside_its_own_simulator_or_spec_fails_naming_the_shadowing_module(tmp_path: Path, its_own: str) -> None:
    """Not a bare `ModuleNotFoundError: No module named 'simulator.in_process'` (or a silent mix of the project's
    package and ours): the project's own module, where it is, and where the docs explain it. Its other tests run."""
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (tmp_path / its_own).parent.mkdir(exist_ok=True)
    (tmp_path / its_own).write_text("WHOSE = 'the user'\n")
    module = its_own.split("/")[0].removesuffix(".py")
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(f"""
            import {module}

            def test_its_own_module():
                assert {module}.WHOSE == "the user"

            def test_the_app(perf_sim):
                pass
        """)
    )
    result = run_pytest(tmp_path, "-p", "no:cacheprovider", "-q")
    output = result.stdout + result.stderr
    assert "1 passed, 1 error" in output, output
    assert f"this session's module {module} ({tmp_path / its_own}) shadows perf-image-sim's own '{module}'" in output, output
    assert "docs/testing.md" in output and "ModuleNotFoundError" not in output, output
