"""The verdict a person reads after a failing run: every broken rule of a case, plain words for schema failures,
bodies without base64, headlines quoting the answer, causes grouped across cases, and the JSON and HTML reports."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from contract_tests import budget
from contract_tests import test_schemathesis as contract_schemathesis
from contract_tests.checks import _got
from contract_tests.cli import CLOSED_PIPE_EXIT, build_pytest_args
from contract_tests.client import ContractClient
from contract_tests.conftest import NEEDS_FREE_KEY, NEEDS_MANUAL_CLOCK, REAL_TIME_AT_FULL_LEVEL
from contract_tests.exchange import Exchange
from contract_tests.run_hooks import tier_keys_from_option
from contract_tests.target import Control, Target, check_reachable
from contract_tests.verdict import NOT_CHECKABLE_IN_REAL_TIME, PASSED, SKIPPED, CaseResult
from contract_tests.verdict import Verdict as ContractVerdict
from contract_tests.violations import ContractViolation
from perf_image_sim_plugins.contract_options import base_url, namespace_name, timeout_seconds
from simulator.context import NAMESPACE_RULE
from simulator.launcher import free_port, running_simulator
from spec import tiers
from tests.contract.harness import PERF_CONTRACT, Verdict, factory_server, mutant_server, run_contract, tree_env
from tests.contract.throttled import FOREIGN_WAIT


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


def test_a_target_nothing_answers_at_is_one_line_and_no_verdict(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    verdict = run_contract(url, tmp_path / "junit.xml", "--level", "smoke")
    assert verdict.returncode == 2, verdict.output[-3000:]
    assert verdict.stdout == "" and verdict.stderr.count("\n") == 1, verdict.output[-3000:]
    assert verdict.stderr.startswith(f"perf-contract: no verdict: cannot reach {url}: "), verdict.stderr


class _FakeTarget(BaseHTTPRequestHandler):
    """A stand-in target that answers the suite's probes in the Perf error envelope, and logs nothing (the test's
    output is the verdict's)."""

    def send_envelope(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"error": {"type": error_type, "message": message, "param": None}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _AnswersOnlyTheProbe(_FakeTarget):
    """A key-less request gets its 401; every other one is held until the test ends: a target that hangs."""

    released = threading.Event()

    def do_POST(self) -> None:
        if "Authorization" in self.headers:
            self.released.wait(60)
            return
        self.send_envelope(401, "authentication_error", "no key")


class _WebPage(_FakeTarget):
    """A web server that answers every request with its welcome page."""

    def do_POST(self) -> None:
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _BreaksOneModelsExchanges(_FakeTarget):
    """Passes every request on to a simulator (`upstream`), but closes the connection without an answer on any that
    names stable-diffusion-3: a target whose server resets connections."""

    upstream = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"stable-diffusion-3" in body:
            self.close_connection = True
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "content-length")}
        answer = httpx.post(self.upstream + self.path, content=body, headers=headers, timeout=30)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)


def test_a_case_the_target_broke_the_exchange_of_says_so_in_one_line_with_its_curl(tmp_path: Path) -> None:
    """Its line said `+------------`, the border of Hypothesis's exception group; the reset was 60 lines into it."""
    with running_simulator("--clock", "manual", "--quiet") as simulator:
        _BreaksOneModelsExchanges.upstream = simulator.base_url
        server = ThreadingHTTPServer(("127.0.0.1", 0), _BreaksOneModelsExchanges)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            base_url = f"http://127.0.0.1:{server.server_address[1]}"
            verdict = run_contract(base_url, tmp_path / "junit.xml", "--", "-k", "test_one_invalid_field_is_named")
        finally:
            server.shutdown()
            server.server_close()
    assert verdict.returncode == 1, verdict.output[-3000:]
    (line,) = [line for line in verdict.output.splitlines() if line.startswith("  test_properties::test_one_invalid_field_is_named: ")]
    assert "NoAnswer: the target broke the exchange (RemoteProtocolError: " in line, line
    assert "on: curl -sS -i -X POST" in line, line


def _only_no_verdict(verdict: Verdict, says: str) -> None:
    assert verdict.returncode == 2 and verdict.tests == 0, verdict.output[-3000:]
    assert verdict.stdout == "" and verdict.stderr.count("\n") == 1 and says in verdict.stderr, verdict.output[-3000:]


def test_a_base_url_with_v1_is_no_verdict_saying_to_give_it_without(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual") as simulator:
        verdict = run_contract(simulator.base_url + "/v1", tmp_path / "junit.xml", "--level", "smoke")
    _only_no_verdict(verdict, "answered 404 (application/json), not the Perf API's generation endpoint: give the base URL without /v1")


def test_a_web_server_answering_a_page_to_everything_is_no_verdict(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verdict = run_contract(f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "junit.xml", "--level", "smoke")
    finally:
        server.shutdown()
    _only_no_verdict(verdict, "answered 200 (text/html), not the Perf API's generation endpoint: check that --base-url")


def test_a_target_that_answers_only_requests_without_a_key_is_judged_each_unanswered_case_failing(tmp_path: Path) -> None:
    """Three requests in a row unanswered, but the probe without a key answered: the target is up, so the run goes on
    (a target answering nothing at all: tests/contract/test_unanswered.py)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnswersOnlyTheProbe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        verdict = run_contract(base_url, tmp_path / "junit.xml", "--timeout", "1", "-k", "test_auth")
    finally:
        _AnswersOnlyTheProbe.released.set()
        server.shutdown()
    assert verdict.returncode == 1 and "no verdict" not in verdict.output, verdict.output[-3000:]
    assert verdict.tests == 7 and len(verdict.failures) == 6, verdict.output[-3000:]  # only the request without a key answered
    messages = [message for _, message in verdict.failures]
    assert sum("no answer within 1 s (--timeout) to: curl" in message for message in messages) == 6, messages


HANG_UP_KEY = "pk_test_enterprise_hangup"


class _HangsUpOnOneKey(_FakeTarget):
    """Answers the suite's own probes (a POST: 401 without a key, 400 with --key) and closes the connection, unanswered,
    on any other request: those of schemathesis's child (with HANG_UP_KEY, the generous key) in a `-k schemathesis` run."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command != "POST" or self.headers.get("Authorization") == f"Bearer {HANG_UP_KEY}":
            self.close_connection = True
            return
        status, error = (400, "invalid_request") if "Authorization" in self.headers else (401, "authentication_error")
        self.send_envelope(status, error, "no")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = _answer


def test_a_schemathesis_run_that_exchanged_nothing_is_a_case_that_could_not_run_not_a_difference(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HangsUpOnOneKey)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        verdict = run_contract(base_url, tmp_path / "junit.xml", "--generous-key", HANG_UP_KEY, "-k", "schemathesis")
    finally:
        server.shutdown()
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert "Cases that could not run to a verdict" in verdict.output, verdict.output[-3000:]
    assert "test_schemathesis_all_checks: schemathesis exchanged nothing with the target" in verdict.output, verdict.output[-3000:]


def test_rules_whose_every_case_skipped_are_named_as_not_judged_with_the_reason() -> None:
    verdict = ContractVerdict("http://impl.example", "full", real_time=False)
    verdict.cases = [
        CaseResult("test_auth::test_missing_key", "auth", "A request without a key is a 401.", PASSED),
        CaseResult(
            "test_rate_limits::test_429_envelope", "rate_limits", "Past the limit: 429.", SKIPPED, reason=f"Skipped: {NEEDS_FREE_KEY}"
        ),
        CaseResult(
            "test_rate_limits::test_free_tier_limits", "rate_limits", "Free: 5 a minute.", SKIPPED, reason=f"Skipped: {NEEDS_FREE_KEY}"
        ),
        CaseResult(
            "test_rate_limits::test_remaining", "rate_limits", "Remaining drops by n.", SKIPPED, reason="Skipped: fewer than 2 left"
        ),
        CaseResult("test_rate_limits::test_remaining", "rate_limits", "Remaining drops by n.", PASSED),
    ]
    (note,) = verdict.notes()
    assert note.splitlines() == [
        "Not judged: 2 rules had every case skipped, so this run says nothing of them:",
        f"  2 (rate_limits): {NEEDS_FREE_KEY}",
    ]


def test_a_real_time_rule_a_smoke_run_skips_is_named_while_the_manual_clock_ones_are_left_to_their_note() -> None:
    verdict = ContractVerdict("http://impl.example", "smoke", real_time=True)
    verdict.cases = [
        CaseResult("test_rate_limits::test_wait", "rate_limits", "Wait.", SKIPPED, reason=f"Skipped: {REAL_TIME_AT_FULL_LEVEL}"),
        CaseResult("test_stateful::test_machine", "stateful", "The windows.", SKIPPED, reason=f"Skipped: {NEEDS_MANUAL_CLOCK}"),
    ]
    named, real_time = verdict.notes()
    assert named.splitlines()[1] == f"  1 (rate_limits): {REAL_TIME_AT_FULL_LEVEL}"
    assert real_time == NOT_CHECKABLE_IN_REAL_TIME and "the state machine" in real_time


def test_one_rule_not_judged_is_said_in_the_singular() -> None:
    verdict = ContractVerdict("http://impl.example", "full", real_time=False)
    verdict.cases = [
        CaseResult(
            "test_rate_limits::test_429_envelope", "rate_limits", "Past the limit: 429.", SKIPPED, reason=f"Skipped: {NEEDS_FREE_KEY}"
        ),
    ]
    (note,) = verdict.notes()
    assert note.splitlines()[0] == "Not judged: 1 rule had every case skipped, so this run says nothing of it:"


def test_a_run_that_slept_for_its_keys_minute_limit_says_how_long_and_what_to_give_instead() -> None:
    waited = ContractVerdict("http://impl.example", "smoke", real_time=True, waited_seconds=44.5).notes()
    assert waited[-1].startswith("Waited 44 s in all for 429s") and "give --generous-key" in waited[-1]
    quick = ContractVerdict("http://impl.example", "smoke", real_time=True, waited_seconds=2).notes()
    assert not any("Waited" in note for note in quick)
    spent = ContractVerdict("http://impl.example", "smoke", real_time=True, waited_seconds=30, generous_given=True).notes()
    assert "the --generous-key given was spent too: give one with a higher limit" in spent[-1]


def test_a_tier_key_whose_name_says_another_tier_is_noted_in_the_runs_header(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual") as sim:
        given = ["--tier-key", "pro=pk_test_free_misnamed", "--level", "smoke", "-k", "test_prompt_only_gets_every_default"]
        verdict = run_contract(sim.base_url, tmp_path / "junit.xml", *given)
    assert "note: --tier-key pro=... gives a key whose name says free: it is judged by the pro tier, as asked" in verdict.output


def test_a_mistyped_option_is_refused_naming_the_one_meant_and_pytest_options_still_pass_through() -> None:
    with pytest.raises(SystemExit) as refused:
        build_pytest_args(["--base-url", "http://impl.example", "--key", "k", "--levle", "smoke"])
    assert refused.value.code == 2
    args = build_pytest_args(["--base-url", "http://impl.example", "--key", "k", "-k", "auth", "--", "-x"])
    assert args[-3:] == ["-k", "auth", "-x"]


def test_an_option_neither_ours_nor_pytests_is_a_usage_error_with_our_status(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual") as sim:
        command = [*PERF_CONTRACT, "--base-url", sim.base_url, "--key", "pk_live_abc123", "--level", "smoke", "--bogus"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr, result.stdout + result.stderr


def test_a_request_the_target_leaves_unanswered_shows_what_was_sent_and_how_long_was_waited(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual", "--latency-scale", "1") as sim:  # dall-e-3 takes about 5 s
        given = ["--timeout", "1", "-k", "test_prompt_only_gets_every_default"]
        verdict = run_contract(sim.base_url, tmp_path / "junit.xml", "--level", "smoke", *given)
    assert verdict.returncode == 1, verdict.output[-3000:]
    assert "no answer within 1 s (--timeout) to: curl" in verdict.output and "curl -sS -i -X POST" in verdict.output, verdict.output[-3000:]
    assert "httpcore" not in verdict.output, verdict.output[-3000:]


@pytest.mark.parametrize("value", ["free=pk_test_free_x", "pro=", "pro"])
def test_a_tier_key_that_is_not_a_paid_tier_and_a_key_is_refused_by_the_cli_and_the_pytest_option(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        build_pytest_args(["--base-url", "http://impl.example", "--key", "k", "--tier-key", value])
    assert refused.value.code == 2 and "TIER=KEY with TIER one of pro, enterprise" in capsys.readouterr().err
    with pytest.raises(pytest.UsageError, match="TIER=KEY with TIER one of pro, enterprise"):
        tier_keys_from_option([value])
    assert build_pytest_args(["--base-url", "http://impl.example", "--key", "k", "--tier-key", "pro=pk_x"])[-2:] == [
        "--perf-tier-key",
        "pro=pk_x",
    ]
    assert tier_keys_from_option(["pro=pk_x", "enterprise=pk_y"]) == (("pro", "pk_x"), ("enterprise", "pk_y"))


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_a_usage_error_by_the_cli_and_the_pytest_option(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        build_pytest_args(["--base-url", "http://impl.example", "--key", "k", f"--timeout={value}"])
    assert refused.value.code == 2 and "expected a positive number of seconds" in capsys.readouterr().err
    with pytest.raises(argparse.ArgumentTypeError, match="expected a positive number of seconds"):
        timeout_seconds(value)
    assert build_pytest_args(["--base-url", "http://impl.example", "--key", "k", "--timeout", "0.5"])[-2:] == ["--perf-timeout", "0.5"]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("http://127.0.0.1:99999", "invalid port in 'http://127.0.0.1:99999': a port is a whole number from 1 to 65535"),
        ("http://127.0.0.1:0", "invalid port in 'http://127.0.0.1:0'"),
        ("http://", "expected a URL with a host after http://, got 'http://'"),
        ("ftp://impl.example", "expected a URL starting with http:// or https://, got 'ftp://impl.example'"),
        (
            "http://impl.example?x=1",
            "a base URL takes no ?query or #fragment, as the suite appends paths to it; got 'http://impl.example?x=1'",
        ),
        (
            "http://impl.example/#f",
            "a base URL takes no ?query or #fragment, as the suite appends paths to it; got 'http://impl.example/#f'",
        ),
        ("HTTP://impl.example:8080?", "a base URL takes no ?query or #fragment"),
        ("http://impl example:8080", "expected a host without whitespace, got 'http://impl example:8080'"),
        ("http://impl\texample", "expected a host without whitespace, got 'http://impl\\texample'"),
        ("http://impl.example:8080 ", "expected a host without whitespace, got 'http://impl.example:8080 '"),
        (
            "http://impl.example:8080/ ",
            "expected a path without whitespace (the suite appends its paths to it), got 'http://impl.example:8080/ '",
        ),
        ("http://impl.example/v 2", "expected a path without whitespace"),
    ],
)
def test_a_base_url_the_suite_cannot_send_to_is_a_usage_error_said_as_given_by_the_cli_and_the_pytest_option(
    value: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port of 99999 was probed and said as "Connection refused", as if nothing listened there, and so was a host
    with a space in it; `http://` was echoed stripped of its slash, as 'http:'. A ?query or #fragment was taken, and
    the paths the suite appends went into it: every case was sent to `/`."""
    with pytest.raises(SystemExit) as refused:
        build_pytest_args(["--base-url", value, "--key", "k"])
    assert refused.value.code == 2 and f"argument --base-url: {said}" in capsys.readouterr().err
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(said)):
        base_url(value)
    assert build_pytest_args(["--base-url", "https://impl.example:8443/", "--key", "k"])[-4:-2] == [
        "--perf-base-url",
        "https://impl.example:8443/",
    ]


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        ("HTTP://impl.example", "http://impl.example"),
        ("hTtPs://impl.example/", "https://impl.example/"),
        ("http://LOCALHOST:8080/Base", "http://localhost:8080/Base"),
        ("http://User@Impl.Example", "http://User@impl.example"),
    ],
)
def test_a_base_url_with_its_scheme_or_host_in_upper_case_is_taken_in_lower_case_by_the_cli_and_the_pytest_option(
    value: str, taken: str
) -> None:
    """A scheme and a host are case-insensitive (RFC 3986 §3.1, §3.2.2) and httpx sends to `HTTP://LOCALHOST` as
    `Host: localhost`, but the suite refused the scheme, "expected a URL starting with http://", and with the host
    skipped the unknown-image rule saying images came from another host. Taken in lower case (the path as given), as
    the suite compares the base URL with the URLs the target answers (an image's) and tells its own paths from them
    by `http://`."""
    assert build_pytest_args(["--base-url", value, "--key", "k"])[-4:-2] == ["--perf-base-url", taken]
    assert base_url(value) == taken


def test_a_target_resolved_from_an_upper_case_scheme_keeps_it_in_lower_case() -> None:
    """For callers that resolve a target themselves, past the options (the plugin's `contract_target` does after them)."""
    with running_simulator("--quiet") as simulator:
        target = Target.resolve(simulator.base_url.replace("http://", "HTTP://") + "/", "pk_live_abc123", level="smoke")
    assert target.base_url == simulator.base_url


@pytest.mark.parametrize("value", ["bad name", "", "-lead", "a" * 65, "café", "a/b"])
def test_a_namespace_the_simulator_would_refuse_is_a_usage_error_by_the_cli_and_the_pytest_option(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--namespace "bad name"` errored every case in its setup on the simulator's 400 and exited 1, "a rule is
    broken"; it is one line naming the option and the simulator's own rule, and exit 2."""
    with pytest.raises(SystemExit) as refused:
        build_pytest_args(["--base-url", "http://impl.example", "--key", "k", f"--namespace={value}"])
    error = capsys.readouterr().err
    assert refused.value.code == 2 and f"argument --namespace: expected a simulator namespace name, {NAMESPACE_RULE}" in error
    with pytest.raises(argparse.ArgumentTypeError, match="expected a simulator namespace name"):
        namespace_name(value)
    given = ["--base-url", "http://impl.example", "--key", "k", "--namespace", "ci-job_1.a"]
    assert build_pytest_args(given)[-2:] == ["--perf-namespace", "ci-job_1.a"]


def test_a_control_call_the_simulator_refuses_raises_with_its_own_message() -> None:
    """A refused control call said only httpx's "Client error '400 Bad Request' for url ...", not why."""
    with running_simulator("--quiet") as sim, pytest.raises(httpx.HTTPStatusError) as refused:
        Control(sim.base_url, manual_clock=False, namespaces=True, namespace="bad name").reset()
    assert f"POST {sim.base_url}/_sim/reset?namespace=bad+name answered 400: namespace must be {NAMESPACE_RULE}" in str(refused.value)


def test_listing_rules_into_a_reader_that_stops_early_ends_quietly() -> None:
    """`perf-contract --list-rules | head -3`: the reader closing the pipe is no crash to report. The pipe is made one
    page small, so the listing (over 10 KB) cannot all be written before the reader closes it."""
    with running_simulator() as simulator:
        command = [*PERF_CONTRACT, "--base-url", simulator.base_url, "--key", "pk_live_abc123", "--list-rules"]
        read_end, write_end = os.pipe()
        fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 4096)
        process = subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE, env=tree_env())
        os.close(write_end)
        with open(read_end, "rb") as stdout:
            assert stdout.readline()
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == CLOSED_PIPE_EXIT and stderr == b"", stderr.decode()[-3000:]


def test_python_dash_m_contract_tests_is_perf_contract() -> None:
    result = subprocess.run([sys.executable, "-m", "contract_tests", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: perf-contract")


def test_a_run_ends_with_the_verdict_not_a_pytest_warning_about_the_suite_itself(tmp_path: Path) -> None:
    """Loading the suite's own plugin must not make pytest warn on every run: a person reads the tail of the output."""
    with running_simulator("--clock", "manual") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "--level", "smoke", "-k", "test_auth")
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert "warning" not in verdict.output.lower(), verdict.output[-3000:]


def test_an_error_answer_without_the_envelope_is_said_to_lack_it() -> None:
    plain = Exchange("GET", "http://impl.example/images/nope.png", {}, None, 404, {"content-type": "text/plain"}, b"Not Found", 0.0, 0.1)
    assert _got(plain)[1] == "404 without an error envelope"


def test_schemathesis_past_the_suites_own_time_bound_is_not_judged_rather_than_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract_schemathesis, "TIMEOUT_SECONDS", 0.01)
    with running_simulator("--quiet") as server, pytest.raises(pytest.skip.Exception, match="answers too slowly for this bound"):
        target = Target.resolve(server.base_url, "pk_live_abc123")
        contract_schemathesis.test_schemathesis_all_checks(target, ContractClient(target), tmp_path)


class _SlowingServerErrors(_FakeTarget):
    """Every request is a 500 in plain text; every POST after the first FAST_POSTS (the suite's two probes, and
    schemathesis's coverage phase, which ends an operation at its first failure) after SLOW_SECONDS: a broken target
    too slow for schemathesis's bound, whose first phase ends within it. (Interrupted, schemathesis reports the
    failures of the phases it finished.)"""

    posts = 0

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "POST":
            type(self).posts += 1
            if type(self).posts > FAST_POSTS:
                time.sleep(SLOW_SECONDS)
        body = b"Internal Server Error"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = _answer


FAST_POSTS = 3
SLOW_SECONDS = 25.0
"""Within schemathesis's wait for one answer (--timeout's 60 s), and past the test's bound from any moment the
coverage phase may end: the fuzzing phase's first request is in flight at the bound."""


@pytest.mark.slow
def test_schemathesis_stopped_at_its_bound_judges_the_failures_of_the_cases_it_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its bound schemathesis was killed and the step skipped, its 500s found in the first seconds thrown away
    with the rest (a slow target's whole 240 s judged nothing)."""
    monkeypatch.setattr(contract_schemathesis, "TIMEOUT_SECONDS", 20)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowingServerErrors)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = Target.resolve(f"http://127.0.0.1:{server.server_address[1]}", "pk_test_enterprise_slow")
        try:
            contract_schemathesis.test_schemathesis_all_checks(target, ContractClient(target), tmp_path)
        except pytest.skip.Exception as skipped:
            pytest.fail(f"not judged: {skipped}")
        except ContractViolation as violation:
            finding = violation.findings[0]
        else:
            pytest.fail("judged as conforming")
    finally:
        server.shutdown()
        server.server_close()
    assert finding.source.is_document and finding.rule.startswith("No request is answered with a 5xx"), finding
    assert "server error(s) before it was stopped at the suite's 20 s bound" in finding.detail, finding.detail[:2000]


def test_the_verdict_is_the_same_whatever_pytest_settings_the_users_project_and_environment_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user runs perf-contract from their own repository, whose pytest settings (and CI's PYTEST_ADDOPTS) are for
    their own tests: here each would deselect or stop every rule."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "-k not_a_rule_of_the_suite"\nfilterwarnings = ["error"]\ntestpaths = ["tests"]\n'
    )
    monkeypatch.setenv("PYTEST_ADDOPTS", "--collect-only")
    with running_simulator("--quiet") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", "--level", "smoke")
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.tests == 38 and not verdict.failures, verdict.output[-3000:]


HOSTILE_CONFTESTS = {
    "one that fails to import": {"conftest.py": "raise ImportError('the project\\'s own package, on its own pythonpath')\n"},
    "one that deselects tests": {
        "tests/conftest.py": "def pytest_collection_modifyitems(config, items):\n"
        "    items[:] = [item for item in items if 'auth' not in item.nodeid]\n"
    },
}


def test_the_verdict_is_the_same_whatever_conftest_py_files_the_directory_it_is_started_in_holds(tmp_path: Path) -> None:
    """A project's conftest.py (and its tests/conftest.py) are for its own tests: one that could not be imported
    without the project's `pythonpath` stopped the run with no verdict, and one that deselected tests took two rules
    out of a verdict that still passed."""
    directories = {"an empty directory": tmp_path / "empty"}
    for case, files in HOSTILE_CONFTESTS.items():
        directories[case] = tmp_path / case.replace(" ", "-")
        for name, text in files.items():
            (directories[case] / name).parent.mkdir(parents=True, exist_ok=True)
            (directories[case] / name).write_text(text)
    directories["an empty directory"].mkdir()
    with running_simulator("--quiet") as server, ThreadPoolExecutor(len(directories)) as pool:  # each run in a namespace of its own
        runs = {case: pool.submit(run_contract, server.base_url, at / "junit.xml", "--level", "smoke") for case, at in directories.items()}
        verdicts = {case: run.result() for case, run in runs.items()}
    judged = {case: (verdict.returncode, verdict.tests, verdict.failures, sorted(verdict.skipped)) for case, verdict in verdicts.items()}
    assert judged["an empty directory"][:3] == (0, 38, []), verdicts["an empty directory"].output[-3000:]
    outputs = "\n".join(f"{case}: {verdicts[case].output[-2000:]}" for case in HOSTILE_CONFTESTS)
    assert {case: judged[case] for case in HOSTILE_CONFTESTS} == dict.fromkeys(HOSTILE_CONFTESTS, judged["an empty directory"]), outputs


class _CountsRequests(_FakeTarget):
    """Answers every request as a target that knows no key would, counting them."""

    count = 0

    def do_POST(self) -> None:
        type(self).count += 1
        self.send_envelope(400 if "Authorization" in self.headers else 401, "invalid_request", "probe")


def test_the_target_is_probed_once_per_run_not_again_when_the_suite_resolves_it() -> None:
    _CountsRequests.count = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountsRequests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        check_reachable(url, "pk_test_free_probe_once", 5)
        check_reachable(url, "pk_test_free_probe_once", 5)
        assert _CountsRequests.count == 2, "one request without a key, one with it (n=0)"
        check_reachable(url, "pk_test_free_another_key", 5)
        assert _CountsRequests.count == 4, "another key is checked anew"
    finally:
        server.shutdown()


def test_a_run_leaves_nothing_in_the_directory_it_was_started_from(tmp_path: Path) -> None:
    """Hypothesis's storage (`.hypothesis/`) goes to a temporary directory of the run's own, removed at its end."""
    started_in = tmp_path / "project"
    started_in.mkdir()
    with running_simulator("--clock", "manual") as simulator:
        verdict = run_contract(simulator.base_url, started_in / "junit.xml", "-k", "test_content_policy_matches_the_spec")
    assert verdict.returncode == 0 and verdict.tests == 1, verdict.output[-3000:]
    assert sorted(path.name for path in started_in.iterdir()) == ["junit.xml"]


def test_a_target_that_leaves_the_first_request_unanswered_gets_no_verdict_not_every_rule_failed(tmp_path: Path) -> None:
    """On a real clock every case waits for the free keys' day check; its request unanswered failed all 38 cases."""
    with running_simulator("--quiet") as sim:
        rule = {"match": {"key": "pk_test_free_slow"}, "action": {"delay_ms": 5000}, "times": 2}  # the key probe, then the day check
        httpx.post(f"{sim.base_url}/_sim/faults", json=rule, timeout=10).raise_for_status()
        given = ["--namespace", "default", "--free-key", "pk_test_free_slow", "--timeout", "1", "--level", "smoke"]
        verdict = run_contract(sim.base_url, tmp_path / "junit.xml", *given)
    assert verdict.returncode == 2, verdict.output[-3000:]
    assert "perf-contract: no verdict: no answer within 1 s (--timeout) to: curl" in verdict.output, verdict.output[-3000:]


def test_a_real_time_run_that_selected_no_manual_clock_rule_adds_no_note_about_them() -> None:
    """A `-k test_unknown_model` run printed a paragraph on day windows and URL expiry it had not selected."""
    verdict = ContractVerdict("http://impl.example", "full", real_time=True)
    verdict.cases = [CaseResult("test_models::test_unknown_model", "models", "An unknown model is a 400.", PASSED)]
    assert verdict.notes() == []


def test_a_run_whose_generated_traffic_goes_to_a_slow_key_warns_at_its_start_and_says_each_wait(tmp_path: Path) -> None:
    """Without --generous-key a full run on a pro key waited about a quarter of an hour, its progress line standing
    still, with a word about it only at the end."""
    given = ["--key-tier", "pro", "--level", "full", "-k", "test_malformed_body and truncated"]
    with factory_server("tests.contract.throttled:foreign_app", health_path="/openapi.json") as server:
        slow = run_contract(server.base_url, tmp_path / "slow.xml", *given)
        generous = run_contract(server.base_url, tmp_path / "generous.xml", *given, "--generous-key", "pk_test_enterprise_contract")
    images = budget.images_on_the_generous_key(Target("u", "k", "pro", (), "k", "full", None))
    pro = tiers.TIERS["pro"].images_per_minute
    warning = f"the full level's generated traffic (about {images} images) goes to --key (pro, {pro} images a minute)"
    minutes = budget.waiting_seconds(images, pro) / 60
    said = ("warning: no --generous-key", warning, f"expect about {minutes:.0f} min of waiting")
    assert all(part in slow.output for part in said), slow.output[-3000:]
    wait = (
        f"perf-contract: a 429 on --key (its minute limit): waiting {FOREIGN_WAIT} s (0 s waited so far; give --generous-key, "
        "a key with a high limit, to run without waiting)"
    )
    assert wait in slow.output, slow.output[-3000:]
    assert "no --generous-key" not in generous.output, generous.output[-3000:]


@pytest.mark.parametrize(
    ("tier", "level", "said"),
    [
        (None, "full", "whose tier is unknown (pass --key-tier)"),
        ("free", "full", f"more than its {tiers.TIERS['free'].images_per_day} images a day"),
        ("enterprise", "full", f"(enterprise, {tiers.TIERS['enterprise'].images_per_minute} images a minute): expect about"),
        ("pro", "smoke", None),
    ],
)
def test_the_slow_key_warning_follows_the_keys_tier_from_the_spec(tier: str | None, level: str, said: str | None) -> None:
    warning = budget.slow_generous_key_warning(Target("http://impl.example", "k", tier, (), "k", level, None))
    assert (warning is None) if said is None else (warning is not None and said in warning), warning
    assert budget.slow_generous_key_warning(Target("http://impl.example", "k", tier, (), "big", level, None)) is None
