"""A simulator in each state, for the control-plane rules that the memory and Redis stores must keep alike."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.launcher import RunningServer, running_simulator
from tests.conftest import reset_client, state_for

# A database of its own on the session's Redis, so the modules that flush database 0 never touch these simulators.
STATE_DB = 3


@pytest.fixture(scope="module", params=["memory", "redis"])
def state_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One simulator (manual clock) on the memory state, then one on Redis."""
    state = state_for(request, request.param == "redis", STATE_DB)
    with running_simulator("--clock", "manual", "--state", state, "--quiet") as server:
        yield server


@pytest.fixture
def each_state(state_server: RunningServer) -> Iterator[httpx.Client]:
    """A client of `state_server`, reset first."""
    with reset_client(state_server) as client:
        yield client
