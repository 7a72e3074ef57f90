"""A tier limit is held to the document's Rate Limits table, not to the target's own headers; and the advice after a
wait for a 429 follows the key that was refused.

A foreign target whose free tier admitted 6 images a minute, with headers saying 6, passed with exit 0: the suite
compared admissions with the headers, counted "-1 images used", and blamed another client.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from contract_tests.exchange import Exchange
from contract_tests.tier_limit import check_minute_limit
from contract_tests.verdict import Verdict as ContractVerdict
from contract_tests.violations import ContractViolation
from spec import tiers
from tests.contract.harness import FOREIGN_KEYS, Verdict, factory_server, mutant_server, run_contract
from tests.contract.throttled import FOREIGN_WAIT

FREE = tiers.TIERS["free"]
FOREGROUND = ("-k", "test_429_envelope or test_n_above_minute_limit or test_admission_is_atomic")
REAL_TIME = ("-k", "test_minute_limit_is_exact or test_limits_count_images or test_minute_window_slides")
RULE = f"A free key is admitted at most {FREE.images_per_minute} images a minute (the document's Rate Limits table)"
DUE = f"the free tier's limit is {FREE.images_per_minute} images a minute, so a 429 was due after {FREE.images_per_minute}"


def _over_the_limit(tmp_path: Path, *selection: str) -> Verdict:
    with mutant_server("free_tier_one_image_over", foreign=True) as server:
        return run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *selection)


def _failure(verdict: Verdict, test: str) -> str:
    messages = [message for name, message in verdict.failures if name.endswith(f"::{test}")]
    assert messages, f"{test} did not fail:\n{verdict.output[-4000:]}"
    return messages[0]


def test_a_free_tier_one_image_over_its_limit_fails_by_the_document_though_its_headers_agree(tmp_path: Path) -> None:
    verdict = _over_the_limit(tmp_path, *FOREGROUND)
    assert verdict.returncode == 1, verdict.output[-4000:]
    over = FREE.images_per_minute + 1
    for test in ("test_429_envelope", "test_admission_is_atomic_under_concurrency"):
        message = _failure(verdict, test)
        said = [f"RULE BROKEN: {RULE}", "from: document", f"{over} one-image requests were admitted on a free key (--free-key #", DUE]
        assert all(part in message for part in said), message[:3000]
        assert f"(the target's {tiers.HEADER_LIMIT_MINUTE} says {over})" in message and "reproduce: curl" in message, message[:3000]
    never = _failure(verdict, "test_n_above_minute_limit_is_never_admitted")
    assert f"a request for n={over} on a free key (--free-key #" in never and "got HTTP 200" in never, never[:3000]
    assert "from: document" in never, never[:3000]


def test_the_tier_limit_rules_pass_a_target_keeping_the_documents_limits(tmp_path: Path) -> None:
    """The same rules against the simulator as a foreign target (real clock, no /_sim/): no over-admission is seen."""
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *FOREGROUND)
    assert verdict.returncode == 0 and not verdict.failures, verdict.output[-4000:]


@pytest.mark.slow
def test_in_real_time_a_free_tier_over_its_limit_is_the_documents_failure_never_another_client(tmp_path: Path) -> None:
    """The real-time runs judged admissions against the headers' 6: "the headers say -1 are used", and the
    images rule skipped as "the free key's window never emptied (is another client using it?)". About a minute and
    a half: the runs' own waits (settling, retry_after), none added."""
    verdict = _over_the_limit(tmp_path, *REAL_TIME)
    assert verdict.returncode == 1, verdict.output[-4000:]
    exact = _failure(verdict, "test_minute_limit_is_exact")
    assert f"RULE BROKEN: {RULE}" in exact and DUE in exact and "from: document" in exact, exact[:3000]
    assert RULE in _failure(verdict, "test_limits_count_images_not_requests")
    blamed = ("say -1 ", "yet -1 ", "another client")
    assert not any(words in verdict.output for words in blamed), verdict.output[-4000:]


def test_a_wait_on_a_free_key_names_it_and_does_not_send_the_user_for_a_generous_key(tmp_path: Path) -> None:
    """A 429 on a free key was said as "--generous-key KEY avoids this", with a generous key already given."""
    with factory_server("tests.contract.throttled:foreign_app", health_path="/openapi.json") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, "-k", "test_remaining_drops_by_n")
    assert f"perf-contract: a 429 on --free-key #1 (its minute limit): waiting {FOREIGN_WAIT} s" in verdict.output, verdict.output[-3000:]
    assert "on --free-key #1 (the free tier's" in verdict.output and "more --free-key keys" in verdict.output, verdict.output[-3000:]
    assert "avoids this" not in verdict.output and "give --generous-key" not in verdict.output, verdict.output[-3000:]


@pytest.mark.parametrize(
    ("waited_on", "generous_given", "said", "not_said"),
    [
        ({"--free-key #2": 60.0}, True, "60 s on --free-key #2 (the free tier's", "give --generous-key"),
        ({"--free-key": 30.0}, False, "more --free-key keys", "give --generous-key"),
        ({"--key": 44.0}, False, "44 s on --key (give --generous-key, a key with a high limit", "spent too"),
        ({"--generous-key": 30.0}, True, "the --generous-key given was spent too: give one with a higher limit", "more --free-key"),
        ({"--key": 20.0}, True, "a --generous-key would not change this", "give --generous-key"),
    ],
)
def test_the_note_on_waits_gives_advice_for_the_key_that_waited(
    waited_on: dict[str, float], generous_given: bool, said: str, not_said: str
) -> None:
    total = sum(waited_on.values())
    verdict = ContractVerdict("http://impl.example", "full", real_time=True, waited_seconds=total, waited_on=waited_on)
    verdict.generous_given = generous_given
    note = verdict.notes()[-1]
    assert note.startswith(f"Waited {total:.0f} s in all for 429s") and said in note and not_said not in note, note


def _admissions_ending_before_the_turn(seconds: float, remaining: list[int] | None) -> list[Exchange]:
    """One-image admissions within half a second (their x-ratelimit-remaining-images `remaining`, or none: one more
    than the free tier's limit), the last answered `seconds` before a UTC minute's turn."""
    offset = time.time() - time.monotonic()
    turn = (time.time() // tiers.MINUTE_SECONDS + 2) * tiers.MINUTE_SECONDS
    end = turn - seconds - offset
    body = json.dumps({"data": [{"url": "u"}]}).encode()
    said = remaining if remaining is not None else [None] * (FREE.images_per_minute + 1)
    return [
        Exchange(
            "POST",
            "http://impl.example/v1/images/generations",
            {},
            b"{}",
            200,
            {} if left is None else {tiers.HEADER_REMAINING_MINUTE: str(left)},
            body,
            end - 0.5 + i * 0.1,
            end - 0.4 + i * 0.1,
        )
        for i, left in enumerate(said)
    ]


@pytest.mark.parametrize(
    ("seconds", "remaining", "by_the_document"),
    [
        (30.0, None, True),
        (2.0, None, False),
        (2.0, [4, 3, 2, 1, 0, 4], False),  # its own window turned: a fixed window 3 s ahead of this machine's clock
        (2.0, [5, 4, 3, 2, 1, 0], True),  # its own headers count all six in one window
    ],
)
def test_admissions_near_the_turn_of_a_minute_are_judged_as_the_sliding_window_decision_unless_the_headers_show_one_window(
    seconds: float, remaining: list[int] | None, by_the_document: bool
) -> None:
    """A fixed-window target whose clock ran 3 s ahead of this machine's turned its minute inside what was one minute
    here, and failed by the document though its own window had turned; near the turn only the decision judges, but
    for admissions the target's own headers count in one window."""
    admitted = _admissions_ending_before_the_turn(seconds, remaining)
    with pytest.raises(ContractViolation) as raised:
        check_minute_limit(FREE, admitted, "--free-key #1", clock_stopped=False)
    (finding,) = raised.value.findings
    assert finding.source.is_document is by_the_document, finding.source
    assert ("within 4 s of it" in finding.detail) is not by_the_document, finding.detail
