"""Fixtures: real simulator processes on 127.0.0.1, reset between tests through the control API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.launcher import RunningServer, running_simulator


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """One simulator with a manual clock, shared by the session; tests reset it before use."""
    with running_simulator("--clock", "manual", "--seed", "7") as running:
        yield running


@pytest.fixture
def sim(server: RunningServer) -> Iterator[RunningServer]:
    httpx.post(server.base_url + "/_sim/reset").raise_for_status()
    yield server


@pytest.fixture
def client(sim: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=30) as c:
        yield c
