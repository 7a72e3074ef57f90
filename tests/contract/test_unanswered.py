"""Targets that leave requests unanswered: one request kind hung is a failure of its cases and the run goes on; a
target answering nothing at all any more ends the run with no verdict, its reports saying it was aborted; a target
that answers nothing from the start is no verdict within one --timeout."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contract_tests import client, test_schemathesis
from contract_tests.client import ContractClient
from contract_tests.target import Target
from spec.tiers import DOCUMENT_EXAMPLE_KEY as KEY
from tests.contract.harness import factory_server, run_contract

HUNG = "tests.contract.http_quirks:hangs_on_flux_pro"


@pytest.mark.slow
def test_a_target_hanging_on_one_model_fails_those_cases_and_the_run_goes_on(tmp_path: Path) -> None:
    """After three flux-pro requests went unanswered, its invalid requests are still sent, and judged by the 400s the
    target answers them with (they were failed unsent, 26 of them in a full run)."""
    report = tmp_path / "verdict.json"
    selection = [
        "-k",
        "test_each_listed_size_is_accepted or test_max_n_per_model or test_invalid_parameter_per_model",
        "--report-json",
        str(report),
    ]
    with factory_server(HUNG) as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "--timeout", "1", *selection)
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert "no verdict" not in verdict.output and "INCOMPLETE" not in verdict.output, verdict.output[-3000:]
    failed = dict(verdict.failures)
    hung = [name for name in failed if "flux-pro" in name]
    assert len(failed) == len(hung) == 7, sorted(failed)  # flux-pro's 6 sizes and its max n; every other model passed
    assert all("invalid_parameter" not in name for name in failed), sorted(failed)
    messages = [failed[name] for name in hung]
    assert all("no answer within 1 s (--timeout) to: curl" in message for message in messages), messages
    data = json.loads(report.read_text())
    assert data["complete"] is True and data["aborted"] is None
    passed = data["totals"]["passed"]
    assert data["totals"] == {"passed": passed, "failed": 7, "skipped": 0} and passed > 39, data["totals"]


def test_schemathesis_past_its_bound_on_a_target_with_a_hung_kind_names_the_kind_not_slowness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a model hung, schemathesis spent its whole bound at --timeout's wait and was skipped as "the target answers
    too slowly", which was not so: it now waits as briefly as the run's client does, and a skip names the kind."""
    monkeypatch.setattr(test_schemathesis, "TIMEOUT_SECONDS", 0.01)
    with factory_server(HUNG) as server:
        target = Target(server.base_url, KEY, "enterprise", (), KEY, "full", None, timeout=1.0)
        contract = ContractClient(target, timeout=1.0)
        for _ in range(client.MAX_UNANSWERED_OF_A_KIND):
            with pytest.raises(client.NoAnswer):
                contract.generate({"model": "flux-pro", "prompt": "a hung request"})
        skipped = "the target left these unanswered: POST /v1/images/generations for model flux-pro"
        with pytest.raises(pytest.skip.Exception, match=skipped):
            test_schemathesis.test_schemathesis_all_checks(target, contract, tmp_path)
        contract.close()


@pytest.mark.slow
def test_a_hung_kinds_later_requests_are_waited_for_briefly_and_an_answer_ends_that(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hung model cost a --timeout per case (half an hour at the default 60 s); now three, then a short wait each."""
    monkeypatch.setattr(client, "HUNG_KIND_WAIT_SECONDS", 0.5)
    with factory_server(HUNG) as server:
        contract = ContractClient(Target(server.base_url, KEY, "enterprise", (), KEY, "full", None), timeout=2.0)
        hung = {"model": "flux-pro", "prompt": "a hung request"}
        for _ in range(client.MAX_UNANSWERED_OF_A_KIND):
            with pytest.raises(client.NoAnswer, match=r"no answer within 2 s \(--timeout\)"):
                contract.generate(hung)
        started = time.monotonic()
        with pytest.raises(client.NoAnswer, match=r"no answer within 0.5 s \(shortened from --timeout's 2 s: the target left"):
            contract.generate(hung)
        assert time.monotonic() - started < 1.9
        refused = contract.generate({"model": "flux-pro", "prompt": "x", "n": 0})
        assert refused.status == 400, "an invalid request of the hung kind is sent, and answered"
        with pytest.raises(client.NoAnswer, match=r"no answer within 2 s \(--timeout\)"):
            contract.generate(hung)  # the answer cleared the kind: a full wait again
        contract.close()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test's output is the verdict's."""

    def send_envelope(self, status: int, error_type: str) -> None:
        body = json.dumps({"error": {"type": error_type, "message": "no", "param": None}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Deadlocks(_Quiet):
    """Answers the suite's first probes (401 without a key, 400 to a request for no image), until the first request
    for an image: from then on it answers nothing at all, the probe without a key included (a deadlocked server)."""

    dead = threading.Event()
    released = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.dead.is_set() and "Authorization" not in self.headers:
            self.send_envelope(401, "authentication_error")
            return
        if not self.dead.is_set() and b'"n": 0' in body:
            self.send_envelope(400, "invalid_request")
            return
        self.dead.set()
        self.released.wait(60)

    def do_GET(self) -> None:
        if self.dead.is_set():
            self.released.wait(60)
            return
        self.send_envelope(404, "not_found")


class _Silent(_Quiet):
    """Accepts every connection and answers nothing."""

    released = threading.Event()

    def do_GET(self) -> None:
        self.released.wait(60)

    do_POST = do_GET


@contextmanager
def _serving(handler: type[_Deadlocks] | type[_Silent]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        handler.released.set()
        server.shutdown()
        server.server_close()


def test_a_target_that_stops_answering_everything_ends_the_run_and_its_reports_say_it_was_aborted(tmp_path: Path) -> None:
    report, junit = tmp_path / "verdict.json", tmp_path / "junit.xml"
    with _serving(_Deadlocks) as base_url:
        verdict = run_contract(base_url, junit, "--level", "smoke", "--timeout", "1", "--report-json", str(report))
    assert verdict.returncode == 2, verdict.output[-3000:]
    said = "stopped answering: 3 requests in a row got no answer in 1 s, nor did the run's first probe (a request without a key)"
    assert f"perf-contract: no verdict: {base_url} {said}" in verdict.output, verdict.output[-3000:]
    assert "INCOMPLETE: the run was aborted" in verdict.output, verdict.output[-3000:]
    data = json.loads(report.read_text())
    assert data["complete"] is False and said in data["aborted"]["reason"], data["aborted"]
    not_run = data["aborted"]["rules_not_run"]
    assert data["aborted"]["cases_not_run"] == sum(len(rule["cases"]) for rule in not_run) > 10, data["aborted"]
    ran = {case["case"] for rule in data["rules"] for case in rule["cases"]}
    assert not ran & {case for rule in not_run for case in rule["cases"]}
    assert any(rule["rule"].startswith("Every model of the table answers") for rule in not_run), not_run
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    errors = [case for case in suite.iter("testcase") if case.find("error") is not None]
    assert int(suite.get("errors", "0")) == len(errors) == data["aborted"]["cases_not_run"], ET.tostring(suite)[:3000]
    assert all("not run: the run was aborted: " in (case.find("error").get("message") or "") for case in errors)  # type: ignore[union-attr]


def test_a_target_that_accepts_connections_and_never_answers_is_no_verdict_within_one_timeout(tmp_path: Path) -> None:
    timeout = 4
    with _serving(_Silent) as base_url:
        verdict = run_contract(base_url, tmp_path / "junit.xml", "--level", "smoke", "--timeout", str(timeout))
    assert verdict.returncode == 2 and verdict.stdout == "", verdict.output[-3000:]
    assert verdict.stderr == f"perf-contract: no verdict: {base_url} did not answer a request within {timeout} s\n", verdict.stderr
    assert verdict.seconds < 2 * timeout - 0.5, verdict.seconds  # it waited twice: /_sim/health, then the probe
