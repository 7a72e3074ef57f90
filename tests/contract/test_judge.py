"""What a user relies on when their implementation decides differently from the simulator where the document is
silent: every finding names its source (the document, or a simulator decision and the spec/ file recording it),
and by default only the document's rules decide the verdict (`--judge document`); `--judge all` counts both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract_tests import decisions
from contract_tests.checks import REQUEST_ID_RULE
from contract_tests.exchange import Exchange
from contract_tests.sources import RuleSources
from contract_tests.verdict import FAILED, PASSED, CaseResult, Verdict
from contract_tests.violations import Finding
from simulator.launcher import PROJECT_ROOT, running_simulator
from spec.models import MODELS
from tests.contract.harness import PERF_CONTRACT, factory_server, mutant_server, run_contract, tree_env

DIFFERS_SECTION = "Differs from the simulator's decisions (not counted)"


def test_a_target_differing_only_from_a_decision_passes_and_is_shown_the_difference(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    with mutant_server("unknown_fields_accepted") as server:
        by_document = run_contract(
            server.base_url, tmp_path / "document.xml", "-k", "test_unknown_field_is_rejected", "--report-json", str(report)
        )
        by_all = run_contract(server.base_url, tmp_path / "all.xml", "-k", "test_unknown_field_is_rejected", "--judge", "all")
    assert by_document.returncode == 0, by_document.output[-3000:]
    assert DIFFERS_SECTION in by_document.output and str(decisions.UNKNOWN_FIELDS_REFUSED) in by_document.output
    data = json.loads(report.read_text())
    assert data["judge"] == "document" and data["totals"]["failed"] == 0 and data["differing"] == 3
    shown = [p.get("value", "") for p in ET.parse(tmp_path / "document.xml").iter("property") if p.get("name") == "perf_difference"]
    assert len(shown) == 3 and all(value.startswith(f"from {decisions.UNKNOWN_FIELDS_REFUSED}") for value in shown), shown
    (difference,) = data["differences"]
    assert difference["source"] == str(decisions.UNKNOWN_FIELDS_REFUSED) and difference["count"] == 3
    found = [f for rule in data["rules"] for case in rule["cases"] for f in case["differences"]]
    assert found and all(f["counted"] is False and f["exchanges"][0]["curl"].startswith("curl ") for f in found)
    assert by_all.returncode == 1 and "from: decision: unknown request fields are refused" in by_all.output, by_all.output[-3000:]


def test_a_target_without_x_request_id_differs_from_a_decision_counted_only_under_judge_all(tmp_path: Path) -> None:
    """The document is silent on x-request-id, which the simulator sends on every answer: a target sending none was
    judged by nothing, so a gateway that must match the simulator could not enforce it."""
    report = tmp_path / "verdict.json"
    rule = ("-k", "test_every_answer_carries_a_request_id")
    with mutant_server("no_request_id_header") as server:
        by_document = run_contract(server.base_url, tmp_path / "document.xml", *rule, "--report-json", str(report))
        by_all = run_contract(server.base_url, tmp_path / "all.xml", *rule, "--judge", "all")
    assert by_document.returncode == 0 and by_document.tests == 1, by_document.output[-3000:]
    (difference,) = json.loads(report.read_text())["differences"]
    assert difference["source"] == str(decisions.REQUEST_ID_HEADER) and difference["cause"] == REQUEST_ID_RULE, difference
    assert by_all.returncode == 1 and "the answer has no x-request-id header" in by_all.output, by_all.output[-3000:]


def test_a_broken_document_rule_still_fails_and_says_it_comes_from_the_document(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    with mutant_server("wrong_error_type") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "-k", "test_malformed_body", "--report-json", str(report))
    assert verdict.returncode == 1 and "from: document" in verdict.output, verdict.output[-3000:]
    findings = [f for rule in json.loads(report.read_text())["rules"] for case in rule["cases"] for f in case["findings"]]
    assert findings and all(f["source"] == "document" and f["counted"] for f in findings)


def test_the_verdict_table_gives_each_rule_its_source_and_whole_text() -> None:
    long_rule = "A rule stated at length " * 8
    exchange = Exchange("POST", "http://impl.example/v1/images/generations", {}, None, 200, {}, b"{}")
    verdict = Verdict("http://impl.example", "full", real_time=False)
    verdict.cases = [
        CaseResult("test_a::test_long", "a", long_rule.strip(), PASSED),
        CaseResult(
            "test_b::test_fields",
            "validation",
            "Unknown fields are refused.",
            PASSED,
            source=RuleSources(decisions.UNKNOWN_FIELDS_REFUSED),
            differences=[Finding("Unknown fields are refused.", "seed was accepted", (exchange,), source=decisions.UNKNOWN_FIELDS_REFUSED)],
        ),
        CaseResult("test_c::test_doc", "auth", "No key is a 401.", FAILED, findings=[Finding("No key is a 401.", "got 200", (exchange,))]),
    ]
    lines = verdict.summary_lines()
    assert any(line.startswith("diff ") and line.endswith(f"[{decisions.UNKNOWN_FIELDS_REFUSED}]") for line in lines), lines
    assert any(long_rule.strip() in line and line.endswith("[document]") for line in lines), lines
    assert "1 rule differs from the simulator's decisions (not counted)" in lines[1]
    assert any(line.startswith(DIFFERS_SECTION) for line in lines) and any(line.startswith("Broken rules") for line in lines)


def test_a_rule_partly_a_decision_is_labelled_with_it_in_the_table() -> None:
    exchange = Exchange("POST", "http://impl.example/v1/images/generations", {}, None, 429, {}, b"{}")
    difference = Finding("A 429 carries a Retry-After header", "none", (exchange,), source=decisions.RETRY_AFTER_HEADER)
    verdict = Verdict("http://impl.example", "full", real_time=False)
    partly = RuleSources(partly=(decisions.RETRY_AFTER_HEADER,))
    verdict.cases = [
        CaseResult("test_r::test_429", "rate_limits", "Past the limit: a 429.", PASSED, source=partly, differences=[difference]),
        CaseResult("test_v::test_n[1]", "validation", "n is checked.", PASSED),
        CaseResult("test_v::test_n[5]", "validation", "n is checked.", PASSED, source=RuleSources(decisions.MAX_N_OF_4)),
    ]
    lines = verdict.summary_lines()
    number = decisions.ALL.index(decisions.RETRY_AFTER_HEADER) + 1
    assert any(line.startswith("diff ") and line.endswith(f"[document; in part decision #{number}]") for line in lines), lines
    max_n = decisions.ALL.index(decisions.MAX_N_OF_4) + 1
    assert any("n is checked." in line and line.endswith(f"[document; in part decision #{max_n}]") for line in lines), lines
    assert f"  #{number} {decisions.RETRY_AFTER_HEADER.decision} ({decisions.RETRY_AFTER_HEADER.spec_file})" in lines
    (rule, _) = verdict.as_json()["rules"]
    assert rule["decisions"] == [str(decisions.RETRY_AFTER_HEADER)] and rule["source"].startswith("document; in part decision: ")


def test_list_rules_gives_each_rule_its_source(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual") as server:
        command = [*PERF_CONTRACT, "--base-url", server.base_url, "--key", "pk_live_abc123", "--list-rules"]
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", command=command)
    assert verdict.returncode == 0, verdict.output[-3000:]
    rules = {line.split("[test_", 1)[1].split("]", 1)[0]: line for line in verdict.output.splitlines() if "   [test_" in line}
    assert len(rules) >= 50 and all(line.endswith("]") and "]  [" in line for line in rules.values()), verdict.output[-3000:]
    assert rules["validation::test_unknown_field_is_rejected"].endswith(f"[{decisions.UNKNOWN_FIELDS_REFUSED}]")
    assert rules["errors::test_malformed_body"].endswith("  [document]")
    held = (decisions.RETRY_AFTER_HEADER, decisions.DOCUMENT_MESSAGES, decisions.RATE_LIMIT_HEADERS, decisions.WHOLE_SECOND_RETRY_AFTER)
    numbers = sorted(decisions.ALL.index(d) + 1 for d in held)
    assert rules["rate_limits::test_429_envelope"].endswith(f"[document; in part decisions {', '.join(f'#{n}' for n in numbers)}]")
    message = decisions.DOCUMENT_MESSAGES
    assert f"  #{decisions.ALL.index(message) + 1} {message.decision} ({message.spec_file})" in verdict.output


def test_the_docs_number_the_decisions_as_the_verdict_does() -> None:
    rows = [line for line in (PROJECT_ROOT / "docs" / "contract.md").read_text().splitlines() if re.match(r"\| [0-9]+ \| ", line)]
    assert [row.split(" | ")[:2] for row in rows] == [[f"| {n}", d.decision] for n, d in enumerate(decisions.ALL, 1)]


def test_validation_rules_wait_out_a_429_from_a_target_that_limits_before_it_validates(tmp_path: Path) -> None:
    selection = "test_validation and dall-e-3 or test_one_invalid_field_is_named or test_malformed_body or trigger_phrase"
    with factory_server("tests.contract.throttled:app") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "--judge", "all", "-k", selection)
    assert verdict.returncode == 0, verdict.output[-4000:]
    assert verdict.tests >= 30 and not verdict.failures


@pytest.mark.parametrize(
    ("given", "option"),
    [
        (["--key", "pk_live_nosuchkey000"], "--key"),
        (["--key", "pk_live_abc123", "--free-key", "pk_test_free_fine", "--free-key", "pk_live_nosuchkey000"], "--free-key #2"),
        (["--key", "pk_live_abc123", "--generous-key", "pk_live_nosuchkey000"], "--generous-key"),
        (["--key", "pk_live_abc123", "--tier-key", "pro=pk_live_nosuchkey000"], "--tier-key pro=..."),
    ],
)
def test_a_refused_key_is_one_line_naming_its_option_and_no_verdict(tmp_path: Path, given: list[str], option: str) -> None:
    """Any key the run is given, not `--key` alone: a refused `--free-key` was judged as the target's fault ("5 images
    remained; 0 were admitted") where every answer was a 401. The key itself is never printed."""
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        command = ["--base-url", server.base_url, *given, "--level", "smoke"]
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", command=[*PERF_CONTRACT, *command])
    assert verdict.returncode == 2, verdict.output[-3000:]
    expected = f"perf-contract: no verdict: {option} is refused (401)\n"
    assert (verdict.stdout, verdict.stderr) == ("", expected), verdict.output[-3000:]


NOWHERE = "http://127.0.0.1:9"
"""A target no run reaches: a usage error must stop it first."""
PYTEST_PLUGIN = [sys.executable, "-m", "pytest", "--pyargs", "contract_tests"]


@pytest.mark.parametrize(
    "command",
    [
        [*PERF_CONTRACT, "--base-url", NOWHERE, "--key", "k", "--key-tier", "prp"],
        [*PYTEST_PLUGIN, "--perf-base-url", NOWHERE, "--perf-key", "k", "--perf-key-tier", "prp"],
    ],
    ids=["perf-contract", "pytest"],
)
def test_a_misspelt_key_tier_is_a_usage_error_naming_the_tiers(tmp_path: Path, command: list[str]) -> None:
    """The pytest plugin took any tier, and a misspelt one ended in a KeyError filed under the rate-limit rules."""
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=tree_env())
    assert result.returncode in (2, pytest.ExitCode.USAGE_ERROR), result.stdout[-2000:] + result.stderr[-2000:]
    assert "invalid choice: 'prp' (choose from 'free', 'pro', 'enterprise')" in result.stderr, result.stderr[-2000:]


def test_a_broken_property_still_shows_its_falsifying_example(tmp_path: Path) -> None:
    with mutant_server("error_param_missing") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "-k", "test_one_invalid_field_is_named", "--judge", "all")
    (failure,) = verdict.failures
    assert verdict.returncode == 1 and "# or any other generated value" in failure[1], failure[1][-3000:]


IMAGE_RULES = "test_url_is_a_png_of_the_requested_size or test_b64_json_is_a_png_of_the_requested_size"


def test_a_target_reading_custom_sizes_otherwise_passes_the_image_rules_and_is_shown_the_difference(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    with factory_server("tests.contract.other_readings:custom_sizes_in_steps_of_64") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "-k", IMAGE_RULES, "--report-json", str(report))
    assert verdict.returncode == 0, verdict.output[-3000:]
    data = json.loads(report.read_text())
    differences = [f for rule in data["rules"] for case in rule["cases"] for f in case["differences"]]
    assert differences and {f["source"] for f in differences} == {str(decisions.CUSTOM_SIZE)}
    differing = {case["case"] for rule in data["rules"] for case in rule["cases"] if case["differences"]}
    assert all(any(model in case for case in differing) for model in ("flux-pro", "flux-dev", "ideogram-2")), differing


def test_an_image_of_swapped_dimensions_is_a_document_failure_for_every_model(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    with mutant_server("image_size_swapped") as server:
        verdict = run_contract(
            server.base_url, tmp_path / "junit.xml", "-k", "test_url_is_a_png_of_the_requested_size", "--report-json", str(report)
        )
    assert verdict.returncode == 1, verdict.output[-3000:]
    (rule,) = [rule for rule in json.loads(report.read_text())["rules"] if rule["cases"]]
    failed = {case["case"] for case in rule["cases"] if any(f["source"] == "document" and f["counted"] for f in case["findings"])}
    # A model with square sizes only (dall-e-2, imagen-3) cannot show a swap.
    non_square = [name for name, model in MODELS.items() if any(w != h for w, h in (size.split("x") for size in model.sizes))]
    assert failed == {f"test_images::test_url_is_a_png_of_the_requested_size[{name}]" for name in non_square}, failed


def test_listing_the_rules_needs_no_target_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """A person reading what the suite checks, before any implementation runs, got a usage error or a probe of a
    target; and Hypothesis wrote its cache into their directory during collection."""
    listed = subprocess.run([*PERF_CONTRACT, "--list-rules", "--level", "smoke"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert re.search(r"^\d+ rules, \d+ cases$", listed.stdout, re.MULTILINE), listed.stdout[-2000:]
    assert list(tmp_path.iterdir()) == []
    unlisted = subprocess.run([*PERF_CONTRACT, "--level", "smoke"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert unlisted.returncode == 2 and "required: --base-url, --key" in unlisted.stderr, unlisted.stderr


RULE_LINE = re.compile(r"^ *\d+  \S.*   \[test_\w+::\w+\]  \[[^]]+\]$")
"""One rule of the listing: its case count, its text, its test and its source."""
PLUGIN_LISTING = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "contract_tests", "--perf-list-rules"]


@pytest.mark.parametrize(
    "command",
    [
        [*PERF_CONTRACT, "--list-rules", "--level", "smoke"],
        [*PLUGIN_LISTING, "--perf-level", "smoke", "--collect-only", "-qq"],
    ],
    ids=["perf-contract", "pytest-collect-only"],
)
def test_the_rule_listing_is_the_rules_alone(tmp_path: Path, command: list[str]) -> None:
    """docs/contract.md's `perf-contract ... --list-rules | head -3` showed three of pytest's `path: count` lines
    (its collect-only report at -qq, printed before the listing), not a rule."""
    listed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=tree_env())
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    lines = listed.stdout.splitlines()
    total = next(n for n, line in enumerate(lines) if re.fullmatch(r"\d+ rules, \d+ cases", line))
    assert total > 0 and all(RULE_LINE.match(line) for line in lines[:total]), listed.stdout[:2000]


def test_the_plugin_lists_the_rules_without_a_target_as_perf_contract_does(tmp_path: Path) -> None:
    """`pytest --pyargs contract_tests --perf-list-rules` listed the rules, then failed for want of --perf-base-url."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "contract_tests", "--perf-list-rules", "-q"]
    listed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=tree_env())
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert re.search(r"^\d+ rules, \d+ cases$", listed.stdout, re.MULTILINE), listed.stdout[-2000:]


@pytest.mark.parametrize(
    ("name", "selection", "rule"),
    [
        ("custom_size_priced_higher", "test_models or test_images", "perf.cost_usd equals the spec's price per image"),
        ("non_ascii_prompt_is_500", "test_properties or test_schemathesis", "No request is answered with a 5xx"),
    ],
)
def test_a_defect_found_by_a_case_that_also_holds_a_decision_fails_by_the_document(
    tmp_path: Path, name: str, selection: str, rule: str
) -> None:
    """A custom size's price and a 500 on a prompt in another script were each found by a case judged under a
    decision (the custom size, the OpenAPI document, a `"style": null`), filed as an uncounted difference, and the
    run passed."""
    with mutant_server(name) as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "-k", selection)
    assert verdict.returncode == 1 and rule in verdict.output and "from: document" in verdict.output, verdict.output[-3000:]
