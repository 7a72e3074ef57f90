"""Fixtures of the contract suite: the target, its client, keys, the control API when there is one, and the
real-time runs of the time rules when the clock cannot be moved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests import aborted
from contract_tests.client import ContractClient, NoAnswer
from contract_tests.ledger import KeyPool
from contract_tests.realtime import RealTimeRules
from contract_tests.run_hooks import contract_target
from contract_tests.scenario import cheap_body
from contract_tests.target import Control, Target
from spec import tiers

NEEDS_CONTROL = "needs the simulator's control API (/_sim/) to move its clock; the target has none"
NEEDS_FREE_KEY = "needs a free-tier key: pass --free-key KEY"
NEEDS_BLOCKED_PROMPT = "needs a prompt the target refuses (what it refuses is its own): pass --blocked-prompt TEXT"
NEEDS_MANUAL_CLOCK = "needs the simulator's manual clock (perf-sim --clock manual): not checkable in real time"
REAL_TIME_AT_FULL_LEVEL = "runs in real time (about a minute of waiting) at the full level only"
# A foreground rule on a free key waits until none of the key's admissions leaves the window for this long.
QUIET_SECONDS = 15
# Decision: on a real clock a free key takes part only with this many of its day's images left. A full run spends
# about ten of each key's; a key nearer its day limit would reach it mid-rule, and its day window, not the minute's,
# would refuse (a false failure of the minute rules, with a retry_after to midnight).
FREE_KEY_DAY_IMAGES_NEEDED = 2 * tiers.TIERS["free"].images_per_minute + 5


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    return contract_target(request.config)


@pytest.fixture(scope="session")
def api(target: Target) -> Iterator[ContractClient]:
    client = ContractClient(target, timeout=target.timeout)
    yield client
    client.close()


@pytest.fixture(scope="session")
def key_pool(target: Target, api: ContractClient) -> KeyPool | None:
    if not target.free_keys:
        return None
    keys = target.free_keys if target.clock_moves else _with_day_left(api, target.free_keys)
    if not keys:
        pytest.skip(
            f"every --free-key has fewer than {FREE_KEY_DAY_IMAGES_NEEDED} images left today: give keys with their day's images"
            " unused, or run after 00:00 UTC"
        )
    return KeyPool(api, keys, tiers.TIERS["free"].images_per_minute)


def _with_day_left(api: ContractClient, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys with enough of the day's images left, as a request for n=0 (refused, consuming nothing) shows them;
    a target whose answers say nothing of the day keeps every key."""
    kept = []
    for key in keys:
        try:
            shown = api.generate({**cheap_body(1), "n": 0}, key=key).header(tiers.HEADER_REMAINING_DAY) or ""
        except NoAnswer as exc:  # every case waits on this fixture: one line and no verdict, not every rule failed
            aborted.stop(str(exc))
        if not (shown.isascii() and shown.isdigit()) or int(shown) >= FREE_KEY_DAY_IMAGES_NEEDED:
            kept.append(key)
    return tuple(kept)


def _wanted_real_time_rules(session: pytest.Session) -> set[str]:
    marks = (item.get_closest_marker("real_time") for item in session.items)
    return {mark.args[0] for mark in marks if mark is not None}


@pytest.fixture(scope="session", autouse=True)
def _time_rules_in_real_time(
    request: pytest.FixtureRequest, target: Target, api: ContractClient, key_pool: KeyPool | None
) -> RealTimeRules | None:
    """Without a movable clock the time rules' runs start with the session, so their waits overlap the rest."""
    if target.clock_moves:
        return None
    if target.control is not None:
        target.control.reset()
    wanted = _wanted_real_time_rules(request.session)
    if key_pool is None or target.level != "full" or not wanted:
        return None
    return RealTimeRules(api, key_pool, wanted)


@pytest.fixture
def time_rules(target: Target, _time_rules_in_real_time: RealTimeRules | None) -> RealTimeRules:
    if not target.free_keys:
        pytest.skip(NEEDS_FREE_KEY)
    if _time_rules_in_real_time is None:
        pytest.skip(REAL_TIME_AT_FULL_LEVEL)
    return _time_rules_in_real_time


@pytest.fixture(autouse=True)
def _fresh_simulator(target: Target) -> None:
    """On a manual-clock simulator every test starts from empty windows, so no test inherits another's usage.
    (On a real clock the real-time runs keep state across tests: the simulator is reset once per session.)"""
    if target.clock_moves and target.control is not None:
        target.control.reset()


@pytest.fixture
def blocked_prompt(target: Target) -> str:
    """A prompt the target refuses by its content policy: given, or the simulator's trigger phrase."""
    if target.blocked_prompt is None:
        pytest.skip(NEEDS_BLOCKED_PROMPT)
    return target.blocked_prompt


@pytest.fixture
def control(target: Target) -> Control:
    if target.control is None:
        pytest.skip(NEEDS_CONTROL)
    return target.control


@pytest.fixture
def manual_clock(target: Target) -> Control:
    """For time rules with no real-time form (the UTC day, the one-hour URL expiry, the state machine)."""
    if not target.clock_moves or target.control is None:
        pytest.skip(NEEDS_MANUAL_CLOCK)
    return target.control


@pytest.fixture
def free_key(request: pytest.FixtureRequest, target: Target, api: ContractClient, key_pool: KeyPool | None) -> Iterator[str]:
    """A free-tier key lent to this test alone; on a real clock, once no admission is about to leave its window."""
    if key_pool is None:
        pytest.skip(NEEDS_FREE_KEY)
    if target.clock_moves:
        yield key_pool.ledgers[0].key
        return
    module = str(getattr(getattr(request.node, "module", None), "__name__", "")).rsplit(".", 1)[-1]
    with key_pool.checkout(by=f"{module}::{request.node.name}") as ledger:
        ledger.settle(api, span=QUIET_SECONDS)
        yield ledger.key


@pytest.fixture
def free_tier() -> tiers.Tier:
    return tiers.TIERS["free"]


@pytest.fixture
def key_tier(target: Target) -> tiers.Tier:
    if target.key_tier is None:
        pytest.skip("the tier of --key is unknown: pass --key-tier")
    return tiers.TIERS[target.key_tier]
