"""On a real clock the suite lends only free keys with enough of their day left: a key near its day limit would make
the minute rules fail against a correct implementation (the day window refusing, with a retry_after to midnight)."""

from __future__ import annotations

from contract_tests.client import ContractClient
from contract_tests.conftest import FREE_KEY_DAY_IMAGES_NEEDED, _with_day_left
from contract_tests.scenario import cheap_body
from contract_tests.target import Target
from simulator.launcher import running_simulator
from spec import tiers


def test_a_free_key_without_enough_of_its_day_left_is_not_lent() -> None:
    tier = tiers.TIERS["free"]
    spent, fresh = f"{tiers.TEST_KEY_PREFIX}free_dayspent", f"{tiers.TEST_KEY_PREFIX}free_dayfresh"
    with running_simulator("--clock", "manual", "--quiet") as server:
        target = Target.resolve(server.base_url, spent)
        assert target.control is not None
        api = ContractClient(target)
        used = 0
        while tier.images_per_day - used >= FREE_KEY_DAY_IMAGES_NEEDED:
            for _ in range(tier.images_per_minute):
                assert api.generate(cheap_body(1), key=spent).status == 200
                used += 1
            target.control.advance(60)
        assert _with_day_left(api, (spent, fresh)) == (fresh,)
        api.close()
