"""What an installed wheel carries beyond the modules: the dashboard's files, and the PEP 561 marker without which a
user's mypy skips the typed control client and the `perf_sim` fixture's types ("missing library stubs or py.typed");
and what the sdist carries: everything the test suite needs, for a packager who builds and tests from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
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
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"{name}/py.typed" for name in PACKAGES} <= names
    assert {f"simulator/observe/static/dashboard.{kind}" for kind in ("html", "css", "js")} <= names
    assert not [name for name in names if name.endswith(".md")], "MANIFEST.in's files are for the sdist, not the wheel"


def _tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist, say): no list of the project's files to compare with")
    return [name for name in listed.stdout.split("\0") if name and (ROOT / name).exists()]


def test_the_sdist_holds_every_file_of_the_repository_so_its_tests_run_from_it(tmp_path: Path) -> None:
    """A packager (a distro, conda-forge) builds and tests from the sdist. setuptools' defaults took the packages and
    tests/test_*.py only: not tests/conftest.py, the test directories below tests/ and their data files, nor the docs,
    scripts, tox.ini, .ci/run and load/results*.md that tests read. Built from a copy of the tracked files (a fresh
    checkout) with the environment's setuptools, offline."""
    tracked = _tracked_files()
    checkout = tmp_path / "checkout"
    for name in tracked:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, checkout / name)
    build = "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])"
    subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=checkout, check=True, capture_output=True, timeout=120)
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        held = {name.partition("/")[2] for name in archive.getnames()}
    assert sorted(set(tracked) - held - {".gitignore"}) == []
    assert not [name for name in held if "__pycache__" in name or name.endswith(".pyc")]


@pytest.mark.parametrize("command", ["perf-sim", "perf-contract"])
def test_each_command_says_its_installed_version(command: str) -> None:
    """A bug report or a CI log names the version it ran; `--version` was a usage error."""
    shown = subprocess.run([str(Path(sys.executable).with_name(command)), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout == f"{command} {version('perf-image-sim')}\n", shown.stdout + shown.stderr
