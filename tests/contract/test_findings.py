"""What one finding says: the cause named once (a param is not judged on an answer of the wrong type), and a curl
line that replays exactly what was sent."""

from __future__ import annotations

import json
import subprocess

import pytest

from contract_tests import decisions
from contract_tests.checks import check_document_message, check_error, check_rate_headers, check_retry_after, check_success
from contract_tests.exchange import Exchange, readable_body
from contract_tests.ledger import Admitted, KeyLedger
from contract_tests.realtime import check_retry_after as check_real_time_retry_after
from contract_tests.sources import DOCUMENT
from contract_tests.violations import ContractViolation, Finding, collecting
from spec import errors, tiers

URL = "http://impl.example/v1/images/generations"
# Stands in for curl: prints the body a curl line would send (its last argument, @FILE).
PRINT_BODY = 'curl() { for last; do :; done; cat "${last#@}"; }; '


def _answer(status: int, body: object, request_headers: dict[str, str] | None = None, request_body: bytes | None = None) -> Exchange:
    answer = json.dumps(body).encode()
    return Exchange("POST", URL, request_headers or {}, request_body, status, {"content-type": "application/json"}, answer)


def test_an_answer_of_the_wrong_type_is_one_finding_not_also_a_wrong_param() -> None:
    refused = _answer(429, {"error": {"type": "rate_limit_exceeded", "message": "slow down", "retry_after": 3}})
    findings: list[Finding] = []
    with collecting(findings):
        check_error(refused, errors.INVALID_REQUEST, param="n")
    (finding,) = findings
    assert finding.detail == "expected 400 invalid_request, got 429 rate_limit_exceeded; the answer says: message 'slow down'"


def test_a_curl_line_replays_the_authorization_actually_sent() -> None:
    secrets = {"sk_free_secret": "PERF_FREE_KEY_1"}
    made_up = _answer(401, {}, {"Authorization": "Bearer pk_live_unknown0a1b"})
    made_up.secret_keys = secrets
    no_scheme = _answer(401, {}, {"Authorization": "pk_live_abc123"})
    free = _answer(200, {}, {"Authorization": "Bearer sk_free_secret"})
    free.secret_keys = secrets
    assert "-H 'Authorization: Bearer pk_live_unknown0a1b'" in made_up.curl()
    assert "-H 'Authorization: pk_live_abc123'" in no_scheme.curl() and "$PERF" not in no_scheme.curl()
    assert '-H "Authorization: Bearer $PERF_FREE_KEY_1"' in free.curl() and "sk_free_secret" not in free.curl()
    assert "Authorization" not in _answer(401, {}).curl()


def test_a_body_too_long_to_print_is_rebuilt_by_the_curl_line() -> None:
    body = b'{"prompt": "' + b"a" * 300_000 + b'"}'
    line = _answer(413, {}, {"Content-Type": "application/json"}, body).curl()
    assert len(line) < 4000, line[:300]
    replayed = subprocess.run(["bash", "-c", PRINT_BODY + line], capture_output=True, timeout=30, check=True).stdout
    assert replayed == body


def test_a_long_plain_prompt_is_shown_as_text_not_as_base64() -> None:
    shown = readable_body(json.dumps({"prompt": "x" * 1001}).encode())
    assert "<base64" not in shown and "xxxxxxxx… <1001 chars>" in shown


def test_a_finding_shows_values_as_the_target_sent_them_not_as_python_spells_them() -> None:
    """`retry_after is None` and `x-ratelimit-limit-images is None` read as the suite's own values; the target sent
    null, or no header at all, and a page of HTML is no JSON null."""
    refused = _answer(429, {"error": {"type": "rate_limit_exceeded", "message": "slow down", "retry_after": None}})
    page = Exchange("POST", URL, {}, b'{"prompt": "a fox"}', 200, {"content-type": "text/html"}, b"<html>hello</html>")
    findings: list[Finding] = []
    with collecting(findings):
        check_retry_after(refused)
        check_rate_headers(refused)
        with pytest.raises(ContractViolation, match="what happened: it is not JSON"):
            check_success(page, {"prompt": "a fox"})
    details = [finding.detail for finding in findings]
    assert "retry_after is null" in details and any(f"{tiers.HEADER_LIMIT_MINUTE}" in d for d in details), details
    assert "the body is not JSON" in details, details
    assert not [detail for detail in details if "None" in detail or "NoneType" in detail], details


def test_a_refusal_by_another_client_error_where_the_document_names_no_status_is_a_decision_difference() -> None:
    """The document asks for a key but names no status for a bad one: a 403 differs from the simulator's 401, a
    200 breaks the document."""
    forbidden = _answer(403, {"error": {"type": "authentication_error", "message": "bad key"}})
    served = _answer(200, {"created": 1, "data": []})
    findings: list[Finding] = []
    with collecting(findings):
        check_error(forbidden, errors.AUTHENTICATION_ERROR)
        check_error(served, errors.AUTHENTICATION_ERROR)
    assert [finding.source for finding in findings] == [decisions.ERROR_TYPES, DOCUMENT], findings


def test_an_error_answer_without_the_envelope_is_one_finding_saying_what_the_body_is() -> None:
    """A 500 in plain text was three causes, one of them "the body is null"; a 404 page where the simulator's
    not_found is a decision is still counted by the document, whose envelope it lacks."""
    crashed = Exchange("POST", URL, {}, b'{"size": "1024"}', 500, {"content-type": "text/plain"}, b"Internal Server Error")
    page = Exchange("GET", URL, {}, None, 404, {"content-type": "application/json"}, b'{"detail": "Not Found"}')
    findings: list[Finding] = []
    with collecting(findings):
        check_error(crashed, errors.INVALID_REQUEST)
        check_error(page, errors.NOT_FOUND)
        check_retry_after(crashed)
    assert [(finding.detail, finding.source) for finding in findings] == [
        (
            "expected 400 invalid_request, got 500 without an error envelope; the body is not JSON (Content-Type 'text/plain'): "
            "'Internal Server Error'",
            DOCUMENT,
        ),
        (
            "expected 404 not_found, got 404 without an error envelope; the body is an object {'detail': 'Not Found'}, with no "
            "error object",
            DOCUMENT,
        ),
        (
            "expected 429 rate_limit_exceeded, got 500 without an error envelope; the body is not JSON (Content-Type 'text/plain'): "
            "'Internal Server Error'",
            DOCUMENT,
        ),
    ]


def test_an_error_object_without_type_is_named_as_one_with_its_fields_and_not_asked_for_retry_after() -> None:
    """`{"error": {"code", "msg"}}` on a 401 was "without an error envelope", and the Error schema's 429 branch, matched
    vacuously by an object without `type`, told it it "lacks the required field retry_after"."""
    renamed = _answer(401, {"error": {"code": "authentication_error", "msg": "invalid API key"}})
    findings: list[Finding] = []
    with collecting(findings):
        check_error(renamed, errors.AUTHENTICATION_ERROR)
    assert [finding.detail for finding in findings] == [
        "expected 401 authentication_error, got 401 with an error object without `type` (its fields: code, msg)",
        "error lacks the required field type, message",
    ]
    assert findings[0].cause == "expected 401 authentication_error, got 401 with an error object without `type`"


def test_a_fractional_retry_after_is_one_difference_from_the_whole_seconds_decision() -> None:
    """The document shows one example, `"retry_after": 60`: 59.9 failed both the Error schema and the 429 rule as the
    document's. It is a number of seconds to wait (the document's) that is not whole (the simulator's decision)."""
    refused = _answer(429, {"error": {"type": "rate_limit_exceeded", "message": "slow down", "retry_after": 59.9}})
    findings: list[Finding] = []
    with collecting(findings):
        check_retry_after(refused)
    assert [(finding.detail, finding.source) for finding in findings] == [("retry_after is 59.9", decisions.WHOLE_SECOND_RETRY_AFTER)]


@pytest.mark.parametrize("key", ["acme_ent_big", "sk_short", "acme_pro_main_0123456789"])
def test_a_report_never_shows_a_run_key_whole_however_short(key: str) -> None:
    """Contract runs happen in CI logs: a key of a dozen characters was shown whole, a longer one all but its end."""
    sent = _answer(429, {}, {"Authorization": f"Bearer {key}"})
    sent.secret_keys = {key: "PERF_KEY"}
    shown = sent.describe() + json.dumps(sent.as_record())
    assert key not in shown and f"Bearer {key[:2]}" in shown


SIX_HEADERS = {name: "7" for name in tiers.RATE_LIMIT_HEADERS}


def _served(headers: dict[str, str]) -> Exchange:
    body = {"created": 1, "data": [{"url": "http://impl.example/images/a.png"}]}
    return Exchange("POST", URL, {}, b"{}", 200, {"content-type": "application/json", **headers}, json.dumps(body).encode())


def test_a_target_sending_none_of_the_rate_limit_headers_is_one_finding_naming_them_all() -> None:
    """The document names no header: a target without them differs from one decision, said once with the list, not
    six times with six examples."""
    findings: list[Finding] = []
    with collecting(findings):
        values = check_rate_headers(_served({}))
    (finding,) = findings
    assert finding.source == decisions.RATE_LIMIT_HEADERS
    assert finding.group == finding.detail and "none of the x-ratelimit-* headers" in finding.detail, finding.detail
    assert all(name in finding.detail for name in tiers.RATE_LIMIT_HEADERS), finding.detail
    assert set(values.values()) == {None}, values


def test_an_absent_rate_limit_header_is_never_read_as_zero() -> None:
    findings: list[Finding] = []
    with collecting(findings):
        values = check_rate_headers(_served({k: v for k, v in SIX_HEADERS.items() if k != tiers.HEADER_REMAINING_MINUTE}))
    assert [finding.detail for finding in findings] == [f"{tiers.HEADER_REMAINING_MINUTE} is absent"]
    assert values[tiers.HEADER_REMAINING_MINUTE] is None and values[tiers.HEADER_LIMIT_MINUTE] == 7


def test_wrong_rate_limit_header_values_are_still_each_a_finding() -> None:
    wrong = {**SIX_HEADERS, tiers.HEADER_RESET_MINUTE: "-1", tiers.HEADER_REMAINING_DAY: "8"}
    findings: list[Finding] = []
    with collecting(findings):
        check_rate_headers(_served(wrong))
    assert sorted(finding.detail for finding in findings) == [
        f"{tiers.HEADER_REMAINING_DAY}=8 > {tiers.HEADER_LIMIT_DAY}=7",
        f"{tiers.HEADER_RESET_MINUTE} is '-1'",
    ]


def test_a_success_where_an_error_was_expected_is_not_also_a_wrong_error_message() -> None:
    """A 200 to a prompt the target should refuse is one finding (the status); there is no error message to judge."""
    served = _served({})
    findings: list[Finding] = []
    with collecting(findings):
        error = check_error(served, errors.CONTENT_POLICY_VIOLATION)
        check_document_message(error, errors.CONTENT_POLICY_VIOLATION, "The content-policy error carries the document's message", served)
    assert [finding.detail for finding in findings] == ["expected 400 content_policy_violation, got 200"]


def test_an_error_with_another_message_is_still_a_difference_from_the_documents_message() -> None:
    refused = _answer(400, {"error": {"type": "content_policy_violation", "message": "no"}})
    findings: list[Finding] = []
    with collecting(findings):
        check_document_message(refused.json()["error"], errors.CONTENT_POLICY_VIOLATION, "the document's message", refused)
    assert [(finding.detail, finding.source) for finding in findings] == [("message is 'no'", decisions.DOCUMENT_MESSAGES)]


def _refused_in_real_time(headers: dict[str, str]) -> tuple[KeyLedger, Exchange]:
    """A free key's five images admitted at 0 s, and a 429 at 10 s whose retry_after (50) is right."""
    ledger = KeyLedger("sk_free", 5, [Admitted(0.0, 0.1, 1) for _ in range(5)])
    body = {"error": {"type": "rate_limit_exceeded", "message": errors.RATE_LIMIT_MESSAGE, "retry_after": 50}}
    answer = {"content-type": "application/json", "retry-after": "50", **headers}
    return ledger, Exchange("POST", URL, {}, b"{}", 429, answer, json.dumps(body).encode(), sent_at=10.0, received_at=10.1)


def test_a_429_without_the_reset_header_is_judged_on_retry_after_alone() -> None:
    """The real-time run judged an absent reset header as "x-ratelimit-reset-images is None": its absence is a
    decision's difference, said where every header is checked."""
    ledger, refused = _refused_in_real_time({})
    findings: list[Finding] = []
    with collecting(findings):
        assert check_real_time_retry_after(ledger, refused, 1) == 50
    assert not findings, [finding.detail for finding in findings]


def test_a_429_whose_reset_header_is_sooner_than_retry_after_is_still_a_finding() -> None:
    ledger, refused = _refused_in_real_time({tiers.HEADER_RESET_MINUTE: "3"})
    findings: list[Finding] = []
    with collecting(findings):
        check_real_time_retry_after(ledger, refused, 1)
    assert [finding.detail for finding in findings] == [f"{tiers.HEADER_RESET_MINUTE} is '3', retry_after 50"]
