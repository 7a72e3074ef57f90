"""The README's retry example, run exactly as printed, as a user's test file with the installed plugin."""

from __future__ import annotations

import re
from pathlib import Path

from simulator.launcher import PROJECT_ROOT
from tests.user_project import run_user_tests

EXAMPLE = re.compile(r"<!-- retry-example:begin[^>]*-->\s*```python\n(.*?)```\s*<!-- retry-example:end -->", re.DOTALL)


def test_the_readme_retry_example_passes_as_printed(tmp_path: Path) -> None:
    match = EXAMPLE.search((PROJECT_ROOT / "README.md").read_text())
    assert match, "the README lost its retry example markers"
    result = run_user_tests(tmp_path, match.group(1))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
