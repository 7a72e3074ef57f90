"""What docs/observe.md says the dashboard weighs: a figure the page's every change would otherwise leave stale."""

from __future__ import annotations

import re

from simulator.launcher import PROJECT_ROOT
from simulator.observe.dashboard import page

STATED = re.compile(r"\*\*one\s+request of about ([0-9]+) kB\*\*")


def test_the_page_weighs_what_docs_observe_says_to_the_kilobyte() -> None:
    """The figure is in kB, not bytes, so that a small change to the page leaves it true; one that moves the page past
    half a kilobyte must say so in the docs."""
    stated = STATED.search((PROJECT_ROOT / "docs" / "observe.md").read_text(encoding="utf-8"))
    assert stated, "docs/observe.md no longer states the page's weight as **one request of about N kB**"
    served = len(page().encode("utf-8"))  # as the dashboard's HTMLResponse sends it, uncompressed
    assert round(served / 1000) == int(stated.group(1)), f"the page is {served} bytes: update docs/observe.md"
