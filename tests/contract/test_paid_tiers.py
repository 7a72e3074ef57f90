"""A team with pro and enterprise keys (--tier-key TIER=KEY) gets those tiers' limits judged: the minute limit on a
real clock as on the simulator's, and each day limit where the suite can reach it, said not judged where not."""

from __future__ import annotations

from pathlib import Path

from simulator.launcher import running_simulator
from tests.contract.harness import PERF_CONTRACT, factory_server, run_contract

PRO_KEY, ENTERPRISE_KEY = "team_pro_key", "team_enterprise_key"
TIER_KEYS = ("--tier-key", f"pro={PRO_KEY}", "--tier-key", f"enterprise={ENTERPRISE_KEY}")
PRO_MINUTE_RULE = "A pro key gets exactly 30 images a minute (the document's table)"


def _keys_file(tmp_path: Path, pro_tier: str) -> Path:
    """The team's keys, its "pro" key registered on `pro_tier` (a defect by configuration unless it is pro)."""
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys.{PRO_KEY}]\ntier = "{pro_tier}"\n\n[keys.{ENTERPRISE_KEY}]\ntier = "enterprise"\n')
    return keys


def test_paid_tiers_minute_and_pro_day_limits_hold_on_the_simulator(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual", "--keys", str(_keys_file(tmp_path, "pro"))) as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *TIER_KEYS, "--judge", "all", "-k", "paid_tier")
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.tests == 4 and not verdict.failures, verdict.output[-3000:]
    ((case, reason),) = verdict.skipped
    assert case.endswith("test_paid_tier_day_limit[enterprise]") and "not judged: the enterprise day limit" in reason
    assert "Not judged, though other cases of their rule were:" in verdict.output


def test_a_pro_key_limited_like_a_free_one_fails_its_minute_rule_on_the_simulator(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual", "--keys", str(_keys_file(tmp_path, "free"))) as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *TIER_KEYS, "-k", "paid_tier_minute")
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert f"RULE BROKEN: {PRO_MINUTE_RULE}" in verdict.output and "from: document" in verdict.output


def test_a_pro_key_limited_like_a_free_one_fails_its_minute_rule_in_real_time(tmp_path: Path) -> None:
    with running_simulator("--keys", str(_keys_file(tmp_path, "free"))) as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *TIER_KEYS, "-k", "paid_tier_minute")
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert f"RULE BROKEN: {PRO_MINUTE_RULE}" in verdict.output


def test_another_implementation_has_its_paid_minute_limits_judged_in_real_time_and_its_day_limits_said_not_judged(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "junit.xml"
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        keys = ("--tier-key", "pro=pk_test_pro_team", "--tier-key", "enterprise=pk_test_enterprise_team")
        command = [*PERF_CONTRACT, "--base-url", server.base_url, "--key", "pk_live_abc123", *keys, "--junit-xml", str(junit)]
        verdict = run_contract(server.base_url, junit, "-k", "paid_tier", command=command)
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.tests == 4 and not verdict.failures
    skipped = sorted(name.rsplit("::", 1)[-1] for name, _ in verdict.skipped)
    assert skipped == ["test_paid_tier_day_limit[enterprise]", "test_paid_tier_day_limit[pro]"], verdict.skipped
    assert "the pro and enterprise day limits: each would take a day" in verdict.output
    assert "not judged: the enterprise day limit (100,000 images)" in verdict.output
