"""A target without the simulator's x-ratelimit-* headers (the document names none) still has its rate limits
judged: each free key's ledger counts the suite's own admissions, and a 429 without retry_after is reported."""

from __future__ import annotations

from pathlib import Path

from tests.contract.harness import FOREIGN_KEYS, Verdict, mutant_server, run_contract

FOREGROUND_RATE_RULES = ("-k", "test_429_envelope or test_admission_is_atomic")


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
