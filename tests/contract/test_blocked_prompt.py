"""What a service refuses is its own (the simulator's trigger phrase and word list are decisions): the document's
rule, a refused prompt is a 400 content_policy_violation in the error envelope, is judged on a prompt the user
gives with --blocked-prompt, and said not judged without one."""

from __future__ import annotations

from pathlib import Path

from contract_tests.conftest import NEEDS_BLOCKED_PROMPT
from spec import policy
from tests.contract.harness import FOREIGN_KEYS, Verdict, factory_server, mutant_server, run_contract
from tests.contract.other_readings import OWN_REFUSED_PROMPT

RULE = ("-k", "test_a_refused_prompt_is_a_content_policy_violation")
REFUSED = f"A harbour at dusk {policy.TRIGGER_PHRASE}"


def _without_control(tmp_path: Path, *args: str) -> Verdict:
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        return run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *RULE, *args)


def test_without_a_blocked_prompt_the_refusal_rule_is_named_not_judged_on_another_implementation(tmp_path: Path) -> None:
    verdict = _without_control(tmp_path)
    assert verdict.returncode == 0 and len(verdict.skipped) == 1, verdict.output[-3000:]
    assert NEEDS_BLOCKED_PROMPT in verdict.output.replace("\n", " ") and "Not judged: 1 rule" in verdict.output


def test_the_blocked_prompt_given_is_judged_against_the_documents_refusal(tmp_path: Path) -> None:
    assert _without_control(tmp_path, "--blocked-prompt", REFUSED).returncode == 0
    with mutant_server("content_policy_422", foreign=True) as server:
        verdict = run_contract(server.base_url, tmp_path / "mutant.xml", *FOREIGN_KEYS, *RULE, "--blocked-prompt", REFUSED)
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert "expected 400 content_policy_violation, got 422" in verdict.output and "from: document" in verdict.output


def test_refusals_consume_nothing_is_judged_on_the_blocked_prompt_given_not_the_simulators_phrase(tmp_path: Path) -> None:
    """Sent the simulator's trigger phrase, a target with a policy of its own admitted it (an image spent) and read as
    breaking decision #5, a refusal consuming nothing: the rule's content-policy case sends --blocked-prompt, and
    without one it is named not judged, its invalid-request case still judged."""
    rule = ("-k", "test_refused_requests_consume_nothing", "--judge", "all")
    # A free key each case of both runs: a key another case just spent on is lent only once its minute has passed.
    first, second, third = FOREIGN_KEYS[1:6:2]  # the three --free-key values
    with factory_server("tests.contract.other_readings:content_policy_of_its_own", health_path="/openapi.json") as server:
        keys = ("--free-key", first, "--free-key", second)
        given = run_contract(server.base_url, tmp_path / "given.xml", *keys, *rule, "--blocked-prompt", OWN_REFUSED_PROMPT)
        without = run_contract(server.base_url, tmp_path / "without.xml", "--free-key", third, *rule)
    assert given.returncode == 0 and given.tests == 2 and not given.skipped, given.output[-3000:]
    assert without.returncode == 0, without.output[-3000:]
    assert [reason for _, reason in without.skipped] == [NEEDS_BLOCKED_PROMPT], without.output[-3000:]
