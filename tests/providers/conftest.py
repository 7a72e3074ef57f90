"""A second simulator for the native faces' rate limits: real clock, small per-provider limits from a keys file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.launcher import RunningServer, running_simulator

# Each provider face gets its own small window, so a test exhausts it in a few requests.
PROVIDER_LIMITS = {"openai": (2, 100), "stability": (3, 100), "ideogram": (4, 100)}

_fresh = itertools.count()


@pytest.fixture(scope="session")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    keys = Path(tmp_path_factory.mktemp("keys")) / "keys.toml"
    sections = [f"[providers.{name}]\nimages_per_minute = {m}\nimages_per_day = {d}\n" for name, (m, d) in PROVIDER_LIMITS.items()]
    keys.write_text("\n".join(sections))
    with running_simulator("--keys", str(keys), "--seed", "7") as running:
        yield running


@pytest.fixture
def fresh_key() -> str:
    """A key no other test has used, so its rate windows start empty even on a shared real-clock server."""
    return f"pk_test_pro_fresh{next(_fresh):04d}"
