"""A 501 to a method the document does not list is RFC 9110's answer for a method the server does not implement: a
difference from the OpenAPI document's 405 (decision #25), not a 5xx the document forbids."""

from __future__ import annotations

import json
from pathlib import Path

from contract_tests.test_schemathesis import document_server_errors
from tests.contract.harness import factory_server, run_contract

RULE_5XX = "No request is answered with a 5xx"


def test_a_501_to_an_unknown_method_is_a_difference_not_a_5xx_failure(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    with factory_server("tests.contract.http_quirks:unknown_methods_501") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "-k", "schemathesis", "--report-json", str(report))
    assert verdict.returncode == 0, verdict.output[-4000:]
    assert RULE_5XX not in verdict.output.split("Differs from the simulator's decisions")[0], verdict.output[-4000:]
    data = json.loads(report.read_text())
    assert data["totals"]["failed"] == 0, data["totals"]
    (case,) = [case for rule in data["rules"] for case in rule["cases"]]
    (difference,) = case["differences"]
    assert difference["source"].startswith("decision #25") or "OpenAPI document" in difference["source"], difference
    assert "returned 501, expected 405" in difference["detail"], difference["detail"][-3000:]


def _report(method: str, path: str, status: int) -> str:
    """schemathesis 4's report of one failed case with a server error."""
    return (
        "=================================== FAILURES ===================================\n"
        f"__________________________ {method} {path} __________________________\n"
        "1. Test Case ID: O5VfRH\n\n- ST101 Server error\n\n- ST204 Wrong response to undeclared method\n\n"
        f"[{status}] Not Implemented:\n\n    `nope`\n\nReproduce with:\n\n    curl -X {method} {path}\n\n"
        "=================================== SUMMARY ====================================\n"
        "Failures:\n  ❌ ST101 Server error: 1\n"
    )


def test_only_a_501_to_a_method_the_document_does_not_list_there_is_excused() -> None:
    assert document_server_errors(_report("QUERY", "/images/{image_file}", 501)) == []
    assert document_server_errors(_report("PUT", "/v1/images/generations", 501)) == []
    assert len(document_server_errors(_report("POST", "/v1/images/generations", 501))) == 1  # a listed method
    assert len(document_server_errors(_report("GET", "/images/{image_file}", 501))) == 1
    assert len(document_server_errors(_report("QUERY", "/images/{image_file}", 500))) == 1  # not a 501
    assert len(document_server_errors("- ST101 Server error\n")) == 1  # outside any operation: counted, as before
