"""A Hypothesis state machine drives a free key through requests and clock moves; every admission, every 429,
every retry_after and every rate-limit header is checked against `reference_model.KeyWindows`.

It needs the simulator's control API with a manual clock; each example starts from a reset simulator.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from contract_tests import decisions
from contract_tests.client import ContractClient
from contract_tests.scenario import Scenario
from contract_tests.target import Control
from spec import tiers

FREE = tiers.TIERS["free"]
# Hypothesis shrinks on the first broken rule of a sequence; later steps mean nothing after it.
STOP_AT_FIRST_BROKEN_RULE = True


class RateWindowMachine(RuleBasedStateMachine):
    api: ContractClient
    control: Control
    key: str

    @initialize()
    def start(self) -> None:
        self.control.reset()
        self.run = Scenario(self.api, self.control, self.key, FREE)

    @rule(n=st.integers(1, FREE.images_per_minute + 1))
    def request(self, n: int) -> None:
        self.run.request(n)

    @rule(seconds=st.one_of(st.integers(1, 20), st.integers(21, 75), st.sampled_from([3_600, 6 * 3_600])))
    def advance(self, seconds: int) -> None:
        self.run.advance(seconds)

    @rule(before=st.integers(1, 90))
    def approach_midnight(self, before: int) -> None:
        """Jump to just before the next UTC midnight, where the day window turns over."""
        to_midnight = tiers.seconds_to_utc_midnight(self.run.now)
        if to_midnight > before:
            self.run.advance(to_midnight - before)

    @rule(batches=st.integers(1, 12))
    def spend_the_day(self, batches: int) -> None:
        """Use whole minutes' worth of images, a minute apart, to reach the day limit within one example."""
        for _ in range(batches):
            self.run.request(FREE.images_per_minute)
            self.run.advance(tiers.MINUTE_SECONDS)


@pytest.mark.source(decisions.SLIDING_WINDOW)
@pytest.mark.partly(decisions.N_ABOVE_MINUTE_LIMIT, *decisions.OF_SCENARIO)
def test_rate_windows_follow_the_reference_model(api: ContractClient, manual_clock: Control, free_key: str) -> None:
    """Under any sequence of requests and clock moves, admissions, 429s, retry_after and headers match the spec's model."""
    RateWindowMachine.api = api
    RateWindowMachine.control = manual_clock
    RateWindowMachine.key = free_key
    machine_test = RateWindowMachine.TestCase
    machine_test.settings = settings(
        max_examples=40,
        stateful_step_count=40,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    machine_test().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
