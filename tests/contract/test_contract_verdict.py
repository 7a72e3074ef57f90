"""The verdict a person reads after a failing run: every broken rule of a case, plain words for schema failures,
bodies without base64, headlines quoting the answer, causes grouped across cases, and the JSON and HTML reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.contract.harness import Verdict, mutant_server, run_contract


def _judge(name: str, tmp_path: Path, *selection: str) -> Verdict:
    with mutant_server(name) as server:
        return run_contract(server.base_url, tmp_path / "junit.xml", *selection)


def _messages(verdict: Verdict) -> str:
    return "\n".join(message for _, message in verdict.failures)


def test_every_broken_rule_of_a_case_is_reported(tmp_path: Path) -> None:
    verdict = _judge("two_defects_in_one_answer", tmp_path, "-k", "test_max_n_per_model and dall-e-2")
    assert verdict.returncode == 1 and len(verdict.failures) == 1, verdict.output[-3000:]
    message = _messages(verdict)
    assert "2 rules broken in this case" in message
    assert "RULE BROKEN: data holds exactly n images" in message
    assert "RULE BROKEN: perf.quality is the quality used" in message


def test_a_schema_failure_is_said_in_plain_words_naming_the_field(tmp_path: Path) -> None:
    verdict = _judge("b64_json_null_beside_url", tmp_path, "-k", "test_prompt_only_gets_every_default")
    assert "data[0] has both url and b64_json; b64_json is null" in _messages(verdict), verdict.output[-3000:]


def test_base64_in_bodies_is_elided_with_its_length(tmp_path: Path) -> None:
    verdict = _judge("image_size_swapped", tmp_path, "-k", "test_b64_json_is_a_png_of_the_requested_size and dall-e-3")
    message = _messages(verdict)
    assert re.search(r"<base64, \d+ chars>", message), message[-3000:]
    assert not re.search(r"[A-Za-z0-9+/]{200}", message)


def test_causes_are_grouped_with_the_answer_quoted_and_reports_written(tmp_path: Path) -> None:
    report_json, report_html = tmp_path / "verdict.json", tmp_path / "verdict.html"
    verdict = _judge(
        "wrong_error_type", tmp_path, "-k", "test_malformed_body", "--report-json", str(report_json), "--report-html", str(report_html)
    )
    assert verdict.returncode == 1
    assert "[1] 10 cases: expected 400 invalid_request, got 400 invalid_request_error" in verdict.output, verdict.output[-3000:]
    assert "the answer says: message " in verdict.output
    data = json.loads(report_json.read_text())
    assert data["totals"]["failed"] == 10 and data["causes"][0]["count"] == 10
    findings = [f for rule in data["rules"] for case in rule["cases"] for f in case["findings"]]
    assert findings and all(f["exchanges"][0]["curl"].startswith("curl ") for f in findings)
    html = report_html.read_text()
    assert "<tr class='fail'>" in html and "reproduce" in html and "invalid_request_error" in html
