"""The pro and enterprise tiers' limits (the document's table), on keys given with --tier-key TIER=KEY.

A minute limit is judged from an idle key, in real time as on the simulator's manual clock: the whole minute is
requested at once (n as large as the cheap model takes, several requests in flight), then one image more. On a
real clock the burst is judged only when every admission surely still counts at the refusal (the ledger,
contract_tests/ledger.py); a slower one is said not judged. A day limit needs a day, or the simulator's manual
clock and one request per n images: a tier whose day takes more requests than the suite allows one rule is said
not judged.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract_tests import decisions
from contract_tests.checks import check_error, check_retry_after
from contract_tests.client import ContractClient
from contract_tests.exchange import Exchange
from contract_tests.ledger import KeyLedger
from contract_tests.scenario import CHEAP_MODEL, cheap_body
from contract_tests.sources import DOCUMENT, judged_as
from contract_tests.target import Target
from contract_tests.violations import expect, require
from spec import errors, tiers
from spec.models import MODELS

# Decision: the most requests one paid-tier rule may send. Pro's day (1,000 images) is 100 requests on the manual
# clock; enterprise's (100,000) would be 10,000, several minutes of the simulator's time, and is said not judged.
MAX_REQUESTS_PER_RULE = 200
BURST_WORKERS = 8
# Seconds during which a paid key's window must stay quiet before its burst (as for a free key's rules).
QUIET_SECONDS = 15


def _key(target: Target, tier: str) -> str:
    key = target.tier_key(tier)
    if key is None:
        pytest.skip(f"needs a key of the {tier} tier: pass --tier-key {tier}=KEY")
    return key


def _requests_of(images: int) -> list[int]:
    """The n of each request that asks for `images` images, as few requests as the cheap model allows."""
    most = MODELS[CHEAP_MODEL].max_n
    return [most] * (images // most) + ([images % most] if images % most else [])


def _burst(api: ContractClient, key: str, images: int) -> list[tuple[int, Exchange]]:
    with ThreadPoolExecutor(BURST_WORKERS) as pool:
        return list(pool.map(lambda n: (n, api.generate(cheap_body(n), key=key)), _requests_of(images)))


@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS, decisions.SLIDING_WINDOW, decisions.WHOLE_SECOND_RETRY_AFTER)
@pytest.mark.parametrize("tier_name", tiers.PAID_TIERS)
def test_paid_tier_minute_limit(api: ContractClient, target: Target, tier_name: str) -> None:
    """A pro or enterprise key gets exactly its tier's images a minute from an idle key; the next is a 429 with retry_after."""
    tier = tiers.TIERS[tier_name]
    key = _key(target, tier_name)
    ledger = KeyLedger(key, tier.images_per_minute)
    api.observers.append(ledger.observe)
    try:
        if not target.clock_moves:
            ledger.settle(api, span=QUIET_SECONDS, empty=True)
        started = time.time()
        burst = _burst(api, key, tier.images_per_minute)
        refused = api.generate(cheap_body(1), key=key)
    finally:
        api.observers.remove(ledger.observe)
    admitted = sum(n for n, exchange in burst if exchange.status == 200)
    if not target.clock_moves and ledger.counted(refused)[0] != admitted:
        pytest.skip(
            f"not judged: {tier.images_per_minute} images took {time.time() - started:.0f} s to generate, so some may have "
            "left the minute window before the refusal; the limit cannot be told from the window moving"
        )
    # A burst across the turn of a UTC minute meets two minutes of a fixed window: there only the sliding window
    # (the simulator's decision) says the limit holds for it.
    crossed = not target.clock_moves and int(started // tiers.MINUTE_SECONDS) != int(time.time() // tiers.MINUTE_SECONDS)
    with judged_as(decisions.SLIDING_WINDOW if crossed else DOCUMENT):
        expect(
            admitted == tier.images_per_minute and refused.status == errors.STATUS[errors.RATE_LIMIT_EXCEEDED],
            f"A {tier_name} key gets exactly {tier.images_per_minute} images a minute (the document's table)",
            f"of {tier.images_per_minute} images asked for from an idle key {admitted} were admitted; one more got HTTP {refused.status}",
            *[exchange for _, exchange in burst if exchange.status != 200][:1],
            refused,
        )
    if refused.status == errors.STATUS[errors.RATE_LIMIT_EXCEEDED]:
        check_retry_after(refused)


@pytest.mark.partly(decisions.WHOLE_SECOND_RETRY_AFTER)
@pytest.mark.parametrize("tier_name", tiers.PAID_TIERS)
def test_paid_tier_day_limit(api: ContractClient, target: Target, request: pytest.FixtureRequest, tier_name: str) -> None:
    """A pro or enterprise key gets exactly its tier's images a day, spent minute after minute; the next is a 429."""
    tier = tiers.TIERS[tier_name]
    minutes = math.ceil(tier.images_per_day / tier.images_per_minute)
    needed = minutes * len(_requests_of(tier.images_per_minute))
    if needed > MAX_REQUESTS_PER_RULE:  # said first: no key would get this rule judged
        pytest.skip(
            f"not judged: the {tier_name} day limit ({tier.images_per_day:,} images) takes {needed:,} requests to reach, "
            f"more than the {MAX_REQUESTS_PER_RULE} the suite sends for one rule"
        )
    key = _key(target, tier_name)
    clock = request.getfixturevalue("manual_clock")
    # The whole day's spending within one UTC day, so neither reading of "a day" (the UTC day, 24 hours) is at stake.
    if tiers.seconds_to_utc_midnight(clock.now()) < (minutes + 1) * tiers.MINUTE_SECONDS:
        clock.advance(tiers.seconds_to_utc_midnight(clock.now()) + 1)
    spent = 0
    while spent < tier.images_per_day:
        images = min(tier.images_per_minute, tier.images_per_day - spent)
        for n, exchange in _burst(api, key, images):
            require(
                exchange.status == 200,
                f"A {tier_name} key gets {tier.images_per_minute} images a minute up to {tier.images_per_day} a day",
                f"after {spent} images today (at most {tier.images_per_minute} a minute), a request for {n} got HTTP {exchange.status}",
                exchange,
            )
            spent += n
        clock.advance(tiers.MINUTE_SECONDS)
    check_error(
        api.generate(cheap_body(1), key=key),
        errors.RATE_LIMIT_EXCEEDED,
        rule=f"A {tier_name} key gets exactly {tier.images_per_day} images a day: one more is refused with 429",
    )
