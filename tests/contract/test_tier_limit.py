"""A tier limit is held to the document's Rate Limits table, not to the target's own headers; and the advice after a
wait for a 429 follows the key that was refused.

A foreign target whose free tier admitted 6 images a minute, with headers saying 6, passed with exit 0: the suite
compared admissions with the headers, counted "-1 images used", and blamed another client.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contract_tests.client import GENERATIONS_PATH
from contract_tests.exchange import Exchange
from contract_tests.ledger import KeyLedger
from contract_tests.tier_limit import MINUTE_TURN_MARGIN, check_minute_limit
from contract_tests.verdict import Verdict as ContractVerdict
from contract_tests.violations import ContractViolation, Finding, collecting
from spec import tiers
from tests.contract.harness import FOREIGN_KEYS, PERF_CONTRACT, Verdict, factory_server, mutant_server, run_contract
from tests.contract.throttled import FOREIGN_WAIT

FREE = tiers.TIERS["free"]
FOREGROUND = ("-k", "test_429_envelope or test_n_above_minute_limit or test_admission_is_atomic")
REAL_TIME = ("-k", "test_minute_limit_is_exact or test_limits_count_images or test_minute_window_slides")
RULE = f"A free key is admitted at most {FREE.images_per_minute} images a minute (the document's Rate Limits table)"
DUE = f"the free tier's limit is {FREE.images_per_minute} images a minute, so a 429 was due after {FREE.images_per_minute}"


def _over_the_limit(tmp_path: Path, *selection: str) -> Verdict:
    with mutant_server("free_tier_one_image_over", foreign=True) as server:
        return run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *selection)


def _failure(verdict: Verdict, test: str) -> str:
    messages = [message for name, message in verdict.failures if name.endswith(f"::{test}")]
    assert messages, f"{test} did not fail:\n{verdict.output[-4000:]}"
    return messages[0]


def test_a_free_tier_one_image_over_its_limit_fails_by_the_document_though_its_headers_agree(tmp_path: Path) -> None:
    verdict = _over_the_limit(tmp_path, *FOREGROUND)
    assert verdict.returncode == 1, verdict.output[-4000:]
    over = FREE.images_per_minute + 1
    for test in ("test_429_envelope", "test_admission_is_atomic_under_concurrency"):
        message = _failure(verdict, test)
        said = [f"RULE BROKEN: {RULE}", "from: document", f"{over} one-image requests were admitted on a free key (--free-key #", DUE]
        assert all(part in message for part in said), message[:3000]
        assert f"(the target's {tiers.HEADER_LIMIT_MINUTE} says {over})" in message and "reproduce: curl" in message, message[:3000]
    never = _failure(verdict, "test_n_above_minute_limit_is_never_admitted")
    assert f"a request for n={over} on a free key (--free-key #" in never and "got HTTP 200" in never, never[:3000]
    assert "from: document" in never, never[:3000]


def test_the_tier_limit_rules_pass_a_target_keeping_the_documents_limits(tmp_path: Path) -> None:
    """The same rules against the simulator as a foreign target (real clock, no /_sim/): no over-admission is seen."""
    with factory_server("tests.contract.without_control:app", health_path="/openapi.json") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, *FOREGROUND)
    assert verdict.returncode == 0 and not verdict.failures, verdict.output[-4000:]


@pytest.mark.slow
def test_in_real_time_a_free_tier_over_its_limit_is_the_documents_failure_never_another_client(tmp_path: Path) -> None:
    """The real-time runs judged admissions against the headers' 6: "the headers say -1 are used", and the
    images rule skipped as "the free key's window never emptied (is another client using it?)". About a minute and
    a half: the runs' own waits (settling, retry_after), none added."""
    verdict = _over_the_limit(tmp_path, *REAL_TIME)
    assert verdict.returncode == 1, verdict.output[-4000:]
    exact = _failure(verdict, "test_minute_limit_is_exact")
    assert f"RULE BROKEN: {RULE}" in exact and DUE in exact and "from: document" in exact, exact[:3000]
    assert RULE in _failure(verdict, "test_limits_count_images_not_requests")
    blamed = ("say -1 ", "yet -1 ", "another client")
    assert not any(words in verdict.output for words in blamed), verdict.output[-4000:]


@pytest.mark.slow
def test_a_wait_on_a_free_key_names_it_and_does_not_send_the_user_for_a_generous_key(tmp_path: Path) -> None:
    """A 429 on a free key was said as "--generous-key KEY avoids this", with a generous key already given."""
    with factory_server("tests.contract.throttled:foreign_app", health_path="/openapi.json") as server:
        verdict = run_contract(server.base_url, tmp_path / "junit.xml", *FOREIGN_KEYS, "-k", "test_remaining_drops_by_n")
    assert f"perf-contract: a 429 on --free-key #1 (its minute limit): waiting {FOREIGN_WAIT} s" in verdict.output, verdict.output[-3000:]
    assert "on --free-key #1 (the free tier's" in verdict.output and "more --free-key keys" in verdict.output, verdict.output[-3000:]
    assert "avoids this" not in verdict.output and "give --generous-key" not in verdict.output, verdict.output[-3000:]


@pytest.mark.parametrize(
    ("waited_on", "generous_given", "said", "not_said"),
    [
        ({"--free-key #2": 60.0}, True, "60 s on --free-key #2 (the free tier's", "give --generous-key"),
        ({"--free-key": 30.0}, False, "more --free-key keys", "give --generous-key"),
        ({"--key": 44.0}, False, "44 s on --key (give --generous-key, a key with a high limit", "spent too"),
        ({"--generous-key": 30.0}, True, "the --generous-key given was spent too: give one with a higher limit", "more --free-key"),
        ({"--key": 20.0}, True, "a --generous-key would not change this", "give --generous-key"),
    ],
)
def test_the_note_on_waits_gives_advice_for_the_key_that_waited(
    waited_on: dict[str, float], generous_given: bool, said: str, not_said: str
) -> None:
    total = sum(waited_on.values())
    verdict = ContractVerdict("http://impl.example", "full", real_time=True, waited_seconds=total, waited_on=waited_on)
    verdict.generous_given = generous_given
    note = verdict.notes()[-1]
    assert note.startswith(f"Waited {total:.0f} s in all for 429s") and said in note and not_said not in note, note


def _admissions_ending_before_the_turn(seconds: float, remaining: list[int] | None) -> list[Exchange]:
    """One-image admissions within half a second (their x-ratelimit-remaining-images `remaining`, or none: one more
    than the free tier's limit), the last answered `seconds` before a UTC minute's turn."""
    offset = time.time() - time.monotonic()
    turn = (time.time() // tiers.MINUTE_SECONDS + 2) * tiers.MINUTE_SECONDS
    end = turn - seconds - offset
    body = json.dumps({"data": [{"url": "u"}]}).encode()
    said = remaining if remaining is not None else [None] * (FREE.images_per_minute + 1)
    return [
        Exchange(
            "POST",
            "http://impl.example/v1/images/generations",
            {},
            b"{}",
            200,
            {} if left is None else {tiers.HEADER_REMAINING_MINUTE: str(left)},
            body,
            end - 0.5 + i * 0.1,
            end - 0.4 + i * 0.1,
        )
        for i, left in enumerate(said)
    ]


@pytest.mark.parametrize(
    ("seconds", "remaining", "by_the_document"),
    [
        (30.0, None, True),
        (2.0, None, False),
        (2.0, [4, 3, 2, 1, 0, 4], False),  # its own window turned: a fixed window 3 s ahead of this machine's clock
        (2.0, [5, 4, 3, 2, 1, 0], True),  # its own headers count all six in one window
    ],
)
def test_admissions_near_the_turn_of_a_minute_are_judged_as_the_sliding_window_decision_unless_the_headers_show_one_window(
    seconds: float, remaining: list[int] | None, by_the_document: bool
) -> None:
    """A fixed-window target whose clock ran 3 s ahead of this machine's turned its minute inside what was one minute
    here, and failed by the document though its own window had turned; near the turn only the decision judges, but
    for admissions the target's own headers count in one window."""
    admitted = _admissions_ending_before_the_turn(seconds, remaining)
    with pytest.raises(ContractViolation) as raised:
        check_minute_limit(FREE, admitted, "--free-key #1", clock_stopped=False)
    (finding,) = raised.value.findings
    assert finding.source.is_document is by_the_document, finding.source
    assert ("within 4 s of it" in finding.detail) is not by_the_document, finding.detail


UNDERSTATING_KEY = "pk_test_free_understated"
"""The free key given to `_AdmitsEverythingStatingTheFreeLimit`, which takes any `pk_test_` key."""


class _AdmitsEverythingStatingTheFreeLimit(BaseHTTPRequestHandler):
    """A target that admits every request, its headers saying the free tier's whole limit remains: a burst of the suite's
    is never refused, and the suite stops it itself (at its limit + 2)."""

    def _send(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {
            "Content-Type": "application/json",
            "Content-Length": str(len(raw)),
            "x-request-id": f"req_{time.monotonic_ns()}",
            tiers.HEADER_LIMIT_MINUTE: str(FREE.images_per_minute),
            tiers.HEADER_REMAINING_MINUTE: str(FREE.images_per_minute),
            tiers.HEADER_RESET_MINUTE: "0",
            tiers.HEADER_LIMIT_DAY: str(FREE.images_per_day),
            tiers.HEADER_REMAINING_DAY: str(FREE.images_per_day),
            tiers.HEADER_RESET_DAY: "3600",
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._send(404, {"error": {"type": "not_found", "message": "no such path", "param": None}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not self.headers.get("Authorization", "").startswith("Bearer pk_test_"):
            self._send(401, {"error": {"type": "authentication_error", "message": "unknown key", "param": None}})
            return
        n = body.get("n", 1)
        if not isinstance(n, int) or n < 1:
            self._send(400, {"error": {"type": "invalid_request", "message": "bad n", "param": "n"}})
            return
        image = {"url": f"http://{self.headers['Host']}/images/img_1.png", "revised_prompt": body.get("prompt")}
        perf = {"request_id": "req_1", "model_used": body.get("model"), "size": body.get("size"), "quality": "standard"}
        self._send(200, {"created": int(time.time()), "data": [image] * n, "perf": {**perf, "cost_usd": 0.016 * n, "latency_ms": 1}})

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def never_refusing(tmp_path_factory: pytest.TempPathFactory) -> Verdict:
    """The real-time run, the remaining rule and the 429 envelope rule (in that order or the remaining rule first), on
    one free key of a target that never refuses, at the full level (the real-time runs start with the session): a few
    seconds, no waits (its headers always show the limit left)."""
    # Its bursts (a second or two in all) well inside a UTC minute: within MINUTE_TURN_MARGIN of the turn, with headers
    # that never count down, an over-admission is judged as the sliding-window decision, not the document's.
    into_minute = time.time() % tiers.MINUTE_SECONDS
    if not 2 * MINUTE_TURN_MARGIN <= into_minute <= tiers.MINUTE_SECONDS - 4 * MINUTE_TURN_MARGIN:
        time.sleep((2 * MINUTE_TURN_MARGIN - into_minute) % tiers.MINUTE_SECONDS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AdmitsEverythingStatingTheFreeLimit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command = [*PERF_CONTRACT, "--base-url", f"http://127.0.0.1:{server.server_address[1]}", "--key", "pk_test_pro_understated"]
        junit = tmp_path_factory.mktemp("never_refusing") / "junit.xml"
        rules = "test_remaining_drops_by_n or test_429_envelope or test_minute_limit_is_exact"
        selection = ("--free-key", UNDERSTATING_KEY, "-k", rules)
        return run_contract("", junit, "--junit-xml", str(junit), *selection, command=command)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_burst_the_suite_stopped_itself_is_not_said_to_have_ended_in_a_refusal(never_refusing: Verdict) -> None:
    """ "7 one-image requests were admitted before the first refusal" was said of a burst whose last answer was a 200."""
    limit = FREE.images_per_minute
    envelope, exact = _failure(never_refusing, "test_429_envelope"), _failure(never_refusing, "test_minute_limit_is_exact")
    assert (
        f"{limit} images remained; the suite stopped after {limit + 2} one-image admissions (the free tier's {limit} + 2) without a refusal"
        in envelope
    )
    stopped = (
        f"{limit} images remained this minute; the suite stopped after {limit + 2} one-image admissions (the {limit} that remained + 2)"
    )
    assert stopped in exact, exact[:3000]
    assert "before the first refusal" not in never_refusing.output, never_refusing.output[-4000:]


@pytest.mark.slow
def test_a_case_over_the_tier_limit_on_its_own_shows_its_own_requests_not_the_keys_earlier_ones(never_refusing: Verdict) -> None:
    """The 429 envelope rule showed, as its evidence, the admissions other rules made on the same key before it (the
    real-time run's, a minute earlier), requests it never sent."""
    limit = FREE.images_per_minute
    envelope = _failure(never_refusing, "test_429_envelope")
    assert f"RULE BROKEN: {RULE}" in envelope, envelope[:3000]
    assert f"{limit + 2} one-image requests were admitted on a free key (--free-key)" in envelope, envelope[:3000]
    assert "real-time run" not in envelope and "test_remaining_drops_by_n" not in envelope, envelope[:3000]


def test_a_finding_resting_on_other_rules_admissions_leads_with_the_cases_own_count_and_names_who_made_them() -> None:
    """Within the limit on its own, a case is over it only with the key's earlier admissions: those are the evidence,
    said as whose and from when, after the case's own count."""
    key = "pk_test_free_ledger"
    ledger = KeyLedger(key, FREE.images_per_minute)
    start = (time.time() // tiers.MINUTE_SECONDS + 1) * tiers.MINUTE_SECONDS + 20 - time.time() + time.monotonic()
    body = json.dumps({"data": [{"url": "u"}]}).encode()

    def admission(at: float, status: int = 200) -> Exchange:
        headers = {"Authorization": f"Bearer {key}"}
        return Exchange("POST", f"http://impl.example{GENERATIONS_PATH}", headers, b"{}", status, {}, body, start + at, start + at + 0.05)

    earlier = [admission(i * 0.1) for i in range(4)]
    own = [admission(5.0), admission(5.1), admission(5.2, status=429)]
    for holder, exchanges in (("the real-time run 'limit and retry'", earlier), ("test_rate_limits::test_429_envelope", own)):
        ledger.holder = holder
        for exchange in exchanges:
            ledger.observe(exchange)
    findings: list[Finding] = []
    with collecting(findings):
        check_minute_limit(FREE, [*ledger.admitted(), own[-1]], "--free-key #1", False, own=own, origin=ledger.origin)
    (finding,) = findings
    clock = time.strftime("%H:%M:%S", time.gmtime(start + time.time() - time.monotonic()))
    assert finding.detail.startswith(
        "this case had 2 one-image requests admitted and 1 refused; counted with the suite's earlier admissions on this key, "
        "6 one-image requests were admitted on a free key (--free-key #1) within 5.2 s (4 one-image requests by the real-time "
        f"run 'limit and retry' from {clock} UTC, 2 one-image requests by this case from "
    ), finding.detail
