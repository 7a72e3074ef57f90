"""Run pytest on a user's test file in a fresh directory, as a user's project runs it (the plugin from its entry point)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_user_tests(directory: Path, source: str, *args: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (directory / "test_user_app.py").write_text(textwrap.dedent(source))
    (directory / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    return run_pytest(directory, "-p", "no:cacheprovider", "-rA", *args)


def run_pytest(
    directory: Path, *args: str, command: tuple[str, ...] = (sys.executable, "-m", "pytest"), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """pytest in `directory` (its own process) with this tree installed: its code and its entry points."""
    return subprocess.run([*command, *args], cwd=directory, capture_output=True, text=True, timeout=240, env=installed_env(env))


def installed_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment (`env`, default ours) with this tree's code and its distribution's metadata first on the path.

    Decision: the virtualenv's own install may be of another tree, or of this one before its entry points changed
    (an editable install keeps the metadata of the day it was made), and its `pytest11` entry points are what pytest
    loads. Metadata written from this tree's pyproject.toml, first on the path, makes this tree's the ones found first
    (pytest loads one plugin per entry point name)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(_this_trees_metadata()), str(ROOT), env.get("PYTHONPATH", "")])
    return env


@functools.cache
def _this_trees_metadata() -> Path:
    """A directory holding the `.dist-info` of this tree's pyproject.toml: its name, version and entry points."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    site = Path(tempfile.mkdtemp(prefix="perf-image-sim-metadata-"))
    atexit.register(shutil.rmtree, site, True)
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = []
    for group, entries in {"console_scripts": project["scripts"], **project["entry-points"]}.items():
        lines += [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))
    return site
