"""Fixtures of the contract suite: the target, its client, keys, and the control API when there is one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests.client import ContractClient
from contract_tests.plugin import contract_target
from contract_tests.target import Control, Target
from spec import tiers

NEEDS_CONTROL = "needs the simulator's control API (/_sim/) to move its clock; the target has none"
NEEDS_MANUAL_CLOCK = "needs the simulator's manual clock (start perf-sim with --clock manual) for second-exact timing"


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    return contract_target(request.config)


@pytest.fixture(scope="session")
def api(target: Target) -> Iterator[ContractClient]:
    client = ContractClient(target)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_simulator(target: Target) -> None:
    """On the simulator every test starts from empty windows, so no test inherits another's usage."""
    if target.control is not None:
        target.control.reset()


@pytest.fixture
def control(target: Target) -> Control:
    if target.control is None:
        pytest.skip(NEEDS_CONTROL)
    return target.control


@pytest.fixture
def manual_clock(control: Control) -> Control:
    if not control.manual_clock:
        pytest.skip(NEEDS_MANUAL_CLOCK)
    return control


@pytest.fixture
def free_key(target: Target) -> str:
    if target.free_key is None:
        pytest.skip("needs a free-tier key: pass --free-key KEY")
    return target.free_key


@pytest.fixture
def free_tier() -> tiers.Tier:
    return tiers.TIERS["free"]


@pytest.fixture
def key_tier(target: Target) -> tiers.Tier:
    if target.key_tier is None:
        pytest.skip("the tier of --key is unknown: pass --key-tier")
    return tiers.TIERS[target.key_tier]
