"""A request whose body the target leaves unread on a kept-alive connection: the failure is the exchange that left
it, under a rule of its own, and the next case, whose request met the leftover bytes, is judged on a fresh
connection's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests import keep_alive
from contract_tests.client import NO_AUTH, ContractClient
from contract_tests.exchange import Exchange
from contract_tests.target import Target
from simulator.launcher import RunningServer, running_simulator
from tests.contract.harness import run_contract
from tests.contract.unread_bodies import answering_before_the_body

BODY = {"prompt": "A snow owl on a fence post"}
KEY = "pk_live_abc123"
CULPRIT = "test_auth::test_missing_authorization"
INNOCENT = "test_auth::test_unknown_key"


@pytest.fixture(scope="module")
def manual_sim() -> Iterator[RunningServer]:
    with running_simulator("--clock", "manual") as server:
        yield server


@pytest.fixture
def front(manual_sim: RunningServer) -> Iterator[str]:
    with answering_before_the_body(manual_sim.base_url) as base_url:
        yield base_url


def _cases(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's cases by area and case id: a case that sent an unread body is one of its own rule's and one of
    the keep-alive rule's."""
    return {f"{rule['area']}: {case['case']}": case for rule in report["rules"] for case in rule["cases"]}


def test_the_unread_body_is_blamed_on_the_case_that_sent_it_and_the_next_case_is_judged_on_a_fresh_answer(
    front: str, tmp_path: Path
) -> None:
    report = tmp_path / "verdict.json"
    verdict = run_contract(front, tmp_path / "junit.xml", "--level", "smoke", "--report-json", str(report))
    assert verdict.returncode == 1, verdict.output[-4000:]
    data = json.loads(report.read_text())
    cases = _cases(data)
    assert cases[f"auth: {INNOCENT}"]["outcome"] == "passed", cases[f"auth: {INNOCENT}"]
    assert cases[f"auth: {CULPRIT}"]["outcome"] == "passed"  # its own rule holds: its 401 is right
    assert data["totals"]["failed"] == 1, [name for name, case in cases.items() if case["outcome"] == "failed"]
    blamed = cases[f"{keep_alive.AREA}: {CULPRIT}"]
    assert blamed["outcome"] == "failed"
    (finding,) = blamed["findings"]
    assert finding["rule"] == keep_alive.RULE and finding["counted"]
    culprit, misread, fresh = finding["exchanges"]
    body_length = len(json.dumps(BODY))
    assert (culprit["method"], culprit["status"], "Authorization" in culprit["request_headers"]) == ("POST", 401, False)
    assert f"without reading all of its {body_length}-byte body" in finding["detail"], finding["detail"]
    assert f"sent by {CULPRIT}" in finding["detail"] and f"sent by {INNOCENT}" in finding["detail"]
    assert culprit["curl"] in finding["detail"] and " --next " in finding["detail"]
    assert (misread["status"], fresh["status"]) == (400, 401), (misread, fresh)
    assert "HTTP/1.1" in misread["response_body"] and "authentication_error" in fresh["response_body"]
    assert [cause["cause"] for cause in data["causes"]] == [
        "a 401 to POST /v1/images/generations left the request's body unread on a kept-alive connection"
    ]
    failed = [name for name, _ in verdict.failures]
    assert len(failed) == 1 and failed[0].endswith("test_missing_authorization[keep-alive]"), failed
    assert f"FAIL   {keep_alive.AREA}" in verdict.stdout and "1 failed" in verdict.stdout.splitlines()[-1], verdict.stdout[-3000:]


def test_the_previous_request_is_the_one_on_the_same_connection() -> None:
    """Two connections' histories are kept apart: a spoiled answer is laid at its own connection's door."""
    connections = keep_alive.Connections()

    class Stream:
        """Stands for httpcore's network stream of one connection."""

    first, second = Stream(), Stream()

    def answered(stream: Stream, status: int, by: str) -> keep_alive.History:
        response = httpx.Response(status, extensions={"network_stream": stream})
        connections.seen(response)
        history = keep_alive.history(response)
        history.mine.sent = keep_alive.Sent(_exchange(status, b'{"prompt": "x"}'), by)
        return history

    assert answered(first, 401, "case_a").previous is None
    assert answered(second, 200, "case_b").previous is None
    on_first, on_second = answered(first, 400, "case_c"), answered(second, 400, "case_d")
    assert on_first.same_connection and on_first.previous is not None and on_first.previous.by == "case_a"
    assert on_second.previous is not None and on_second.previous.by == "case_b"


def _exchange(status: int, request_body: bytes | None = None, response_body: bytes = b"", content_type: str = "") -> Exchange:
    headers = {"content-type": content_type} if content_type else {}
    return Exchange("POST", "http://t/v1/images/generations", {}, request_body, status, headers, response_body)


ENVELOPE = b'{"error": {"type": "invalid_request", "message": "no"}}'
BAD_SYNTAX = b'<p>Message: Bad request syntax (\'{"prompt": "x"}POST /v1/images/generations HTTP/1.1\').</p>'


def test_only_an_answer_outside_the_envelope_may_be_misread_so_a_correct_target_is_never_asked_twice() -> None:
    assert not keep_alive.may_be_misread(_exchange(400, response_body=ENVELOPE))
    assert not keep_alive.may_be_misread(_exchange(401, response_body=ENVELOPE.replace(b"invalid_request", b"authentication_error")))
    assert not keep_alive.may_be_misread(_exchange(200, response_body=b"{}"))
    assert not keep_alive.may_be_misread(_exchange(429, response_body=b"slow down"))  # changes with time: never replayed
    assert not keep_alive.may_be_misread(_exchange(500, response_body=b"boom"))
    assert keep_alive.may_be_misread(_exchange(400, response_body=BAD_SYNTAX))
    assert keep_alive.may_be_misread(_exchange(501, response_body=b"Unsupported method ('x}POST')"))


def test_a_fresh_answer_differs_by_status_envelope_or_a_request_line_no_longer_quoted() -> None:
    spoiled = _exchange(400, response_body=BAD_SYNTAX)
    assert keep_alive.differs(spoiled, _exchange(401, response_body=b"no key"))
    assert keep_alive.differs(spoiled, _exchange(400, response_body=ENVELOPE))
    assert keep_alive.differs(spoiled, _exchange(400, response_body=b"bad JSON"))
    assert not keep_alive.differs(spoiled, _exchange(400, response_body=BAD_SYNTAX))
    plain = _exchange(400, response_body=b"bad request")
    assert not keep_alive.differs(plain, _exchange(400, response_body=b"bad request"))


def test_the_client_judges_the_fresh_answer_and_records_the_request_that_left_its_body(front: str) -> None:
    api = ContractClient(Target(front, KEY, "pro", (), KEY, "smoke", None), timeout=10)
    keep_alive.take()
    try:
        with keep_alive.sending_as("case_a"):
            first = api.generate(BODY, key=NO_AUTH)
        with keep_alive.sending_as("case_b"):
            second = api.generate(BODY, key="pk_live_unknown0000")
    finally:
        api.close()
    (unread,) = keep_alive.take()
    assert (first.status, second.status) == (401, 401)
    assert unread.culprit.exchange is first and unread.culprit.by == "case_a" and unread.same_connection
    assert unread.misread.status == 400 and unread.misread_by == "case_b" and unread.fresh is second
