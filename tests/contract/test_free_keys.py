"""On a real clock the suite lends only free keys with enough of their day left: a key near its day limit would make
the minute rules fail against a correct implementation (the day window refusing, with a retry_after to midnight)."""

from __future__ import annotations

from pathlib import Path

from contract_tests.client import ContractClient
from contract_tests.conftest import FREE_KEY_DAY_IMAGES_NEEDED, _with_day_left
from contract_tests.scenario import cheap_body
from contract_tests.target import Target
from simulator.launcher import running_simulator
from spec import tiers
from tests.contract.harness import run_contract


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


def test_a_free_key_whose_answers_state_a_paid_tiers_limit_is_warned_of_in_the_header_and_still_judged(tmp_path: Path) -> None:
    """An enterprise key given as --free-key failed the target by the document ("7 one-image requests were admitted on a
    free key") for the user's mistake, with nothing at the start of the run to say so."""
    enterprise = tiers.TIERS["enterprise"].images_per_minute
    with running_simulator("--clock", "manual", "--quiet") as sim:
        given = ["--free-key", f"{tiers.TEST_KEY_PREFIX}enterprise_given_as_free", "-k", "test_n_above_minute_limit_is_never_admitted"]
        misgiven = run_contract(sim.base_url, tmp_path / "misgiven.xml", *given)
        free = run_contract(sim.base_url, tmp_path / "free.xml", "--free-key", f"{tiers.TEST_KEY_PREFIX}free_given", *given[2:])
    warning = (
        f"perf-contract: warning: --free-key's answers state {enterprise} images a minute (the enterprise tier's): is it a "
        "free-tier key? Its rate-limit rules will fail if it is not"
    )
    assert warning in misgiven.output and misgiven.tests == 1 and len(misgiven.failures) == 1, misgiven.output[-3000:]
    assert "warning: --free-key" not in free.output and free.returncode == 0, free.output[-3000:]
