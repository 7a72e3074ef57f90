"""A target without the simulator's x-ratelimit-* headers (the document names none) still has its rate limits
judged: each free key's ledger counts the suite's own admissions, and a 429 without retry_after is reported."""

from __future__ import annotations

import json
from pathlib import Path

from spec import tiers
from tests.contract.harness import FOREIGN_KEYS, Verdict, mutant_server, run_contract

FOREGROUND_RATE_RULES = ("-k", "test_429_envelope or test_admission_is_atomic")
HEADER_RULES = (
    "-k",
    "test_prompt_only_gets_every_default or test_headers_state_the_key_tier or test_free_tier_limits or "
    "test_remaining_drops_by_n or test_refused_requests_consume_nothing",
)


def _foreign(name: str, tmp_path: Path, *args: str) -> Verdict:
    with mutant_server(name, foreign=True) as server:
        return run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *args)


def test_the_minute_limit_is_judged_from_the_suites_own_admissions_when_the_target_sends_no_headers(tmp_path: Path) -> None:
    verdict = _foreign("no_rate_limit_headers", tmp_path, *FOREGROUND_RATE_RULES)
    assert verdict.returncode == 0, verdict.output[-4000:]
    assert verdict.tests == 2 and not verdict.skipped and not verdict.failures, verdict.output[-4000:]
    assert "Differs from the simulator's decisions (not counted)" in verdict.output


def test_a_429_without_retry_after_is_reported_when_the_target_sends_no_headers(tmp_path: Path) -> None:
    verdict = _foreign("no_headers_no_retry_after", tmp_path, "-k", "test_429_envelope")
    assert verdict.returncode == 1, verdict.output[-4000:]
    (failure,) = verdict.failures
    assert "A 429 carries error.retry_after" in failure[1] and "the error has no retry_after" in failure[1], failure[1][:3000]


def test_a_target_without_rate_limit_headers_reads_as_one_difference_never_as_headers_of_zero(tmp_path: Path) -> None:
    """A user's correct implementation sent none of the headers (the document names none): the verdict listed six
    causes, one per header, and "headers say (0, 0)"; a rule that needs a header must say it was not judged."""
    report = tmp_path / "report.json"
    verdict = _foreign("no_rate_limit_headers", tmp_path, *HEADER_RULES, "--report-json", str(report))
    assert verdict.returncode == 0, verdict.output[-4000:]
    (difference,) = json.loads(report.read_text())["differences"]
    assert "none of the x-ratelimit-* headers" in difference["cause"] and difference["count"] == 5, difference
    assert all(name in difference["cause"] for name in tiers.RATE_LIMIT_HEADERS), difference
    assert "(0, 0)" not in verdict.output and "None" not in verdict.output, verdict.output[-4000:]
    reasons = {name.rpartition("::")[2]: reason for name, reason in verdict.skipped}
    for rule in ("test_remaining_drops_by_n", "test_refused_requests_consume_nothing[invalid_request]"):
        assert f"needs the {tiers.HEADER_REMAINING_MINUTE} and {tiers.HEADER_REMAINING_DAY} headers" in reasons[rule], reasons
