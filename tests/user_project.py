"""Run pytest on a user's test file in a fresh directory, as a user's project runs it (the plugin from its entry point)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_user_tests(directory: Path, source: str, *args: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (directory / "test_user_app.py").write_text(textwrap.dedent(source))
    (directory / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=240,
    )
