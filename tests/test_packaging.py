"""What an installed wheel carries beyond the modules: the dashboard's files, and the PEP 561 marker without which a
user's mypy skips the typed control client and the `perf_sim` fixture's types ("missing library stubs or py.typed")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("spec", "simulator", "contract_tests", "load", "perf_image_sim_plugins")


def test_the_wheel_carries_the_typed_marker_of_every_package_and_the_dashboards_files(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"{name}/py.typed" for name in PACKAGES} <= names
    assert {f"simulator/observe/static/dashboard.{kind}" for kind in ("html", "css", "js")} <= names


@pytest.mark.parametrize("command", ["perf-sim", "perf-contract"])
def test_each_command_says_its_installed_version(command: str) -> None:
    """A bug report or a CI log names the version it ran; `--version` was a usage error."""
    shown = subprocess.run([str(Path(sys.executable).with_name(command)), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout == f"{command} {version('perf-image-sim')}\n", shown.stdout + shown.stderr
