"""The validation proxy: traffic through it to the simulator raises no violation; to each defective target it
raises at least one, printed as a line when found and written to the report, with exit status 1.

The default run drives a defect of each kind the proxy judges (schema, status and envelope, perf and cost,
images, rate-limit headers and admissions); the slow run drives every defect it can see in traffic.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from contract_tests import decisions
from contract_tests.proxy_checks import MINUTE_LIMIT_NOT_JUDGED, OUTSIDE_THE_API_NOT_JUDGED
from simulator.launcher import running_simulator
from tests.contract.harness import ProxyVerdict, factory_server, mutant_server, proxy_verdict
from tests.contract.mutants import MUTANTS
from tests.contract.proxy_traffic import drive, requests

PARALLEL_TARGETS = 2
# Defects one pass of traffic cannot show: they need the clock to move or a second look the proxy cannot take.
UNSEEN_IN_TRAFFIC = {
    "created_in_milliseconds": "created is compared with no clock: the target's may be a simulator's manual one",
    "unknown_keys_accepted": "which keys are valid is the target's own knowledge",
    "url_never_expires": "needs an hour",
    "day_window_not_utc": "needs a day",
    "fixed_minute_window": "needs traffic over more than a minute",
    "refused_requests_consume_day": "needs the day's whole budget",
    "retry_after_always_60": "the proxy does not wait for retry_after",
    "retry_after_too_short": "the proxy does not wait for retry_after",
    "retry_after_too_long": "the proxy does not wait for retry_after",
}
ONE_OF_EACH_KIND = [
    "missing_latency_ms",
    "wrong_error_type",
    "dalle3_n_not_enforced",
    "cost_ignores_n",
    "always_one_image",
    "image_size_swapped",
    "b64_not_png",
    "minute_limit_off_by_one",
    "no_rate_headers_on_errors",
    "free_key_with_pro_limits",
]
SEEN_IN_TRAFFIC = [name for name in MUTANTS if name not in UNSEEN_IN_TRAFFIC]


def _through_proxy_to(name: str) -> ProxyVerdict:
    """The proxy's verdict on a mutant's traffic, decisions counted (--judge all): many defects break a decision only."""
    with tempfile.TemporaryDirectory() as tmp, mutant_server(name) as server:
        return proxy_verdict(server.base_url, Path(tmp) / "report.json", drive, "--judge", "all")


def _verdicts(names: list[str]) -> dict[str, ProxyVerdict]:
    with ThreadPoolExecutor(PARALLEL_TARGETS) as pool:
        return dict(zip(names, pool.map(_through_proxy_to, names), strict=True))


@pytest.fixture(scope="module")
def quick_verdicts() -> dict[str, ProxyVerdict]:
    return _verdicts(ONE_OF_EACH_KIND)


def _assert_flagged(name: str, verdict: ProxyVerdict) -> None:
    assert verdict.returncode == 1, f"{name} ({MUTANTS[name].defect}) passed the proxy:\n{verdict.output[-3000:]}"
    lines = [line for line in verdict.output.splitlines() if line.startswith("VIOLATION ")]
    assert lines and len(lines) == len(verdict.report["violations"]), verdict.output[-3000:]
    assert all("curl" in v["exchange"]["curl"] for v in verdict.report["violations"])


def test_traffic_to_the_simulator_raises_no_violation(tmp_path: Path) -> None:
    with running_simulator() as simulator:
        verdict = proxy_verdict(simulator.base_url, tmp_path / "report.json", drive, "--judge", "all")
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.report["violations"] == [] and verdict.report["differences"] == []
    assert verdict.report["exchanges"] >= len(requests())


def test_the_proxy_forwards_answers_unchanged(tmp_path: Path) -> None:
    with running_simulator("--clock", "manual", "--seed", "7") as direct, running_simulator("--clock", "manual", "--seed", "7") as proxied:
        body = {"prompt": "A lantern", "model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}
        auth = {"Authorization": "Bearer pk_test_pro_forwarded"}
        expected = httpx.post(direct.base_url + "/v1/images/generations", json=body, headers=auth)
        seen: list[httpx.Response] = []
        verdict = proxy_verdict(
            proxied.base_url,
            tmp_path / "report.json",
            lambda url: seen.append(httpx.post(url + "/v1/images/generations", json=body, headers=auth)),
        )
    assert verdict.returncode == 0, verdict.output
    assert seen[0].status_code == expected.status_code and seen[0].content == expected.content
    assert {k: v for k, v in seen[0].headers.items() if k != "date"} == {k: v for k, v in expected.headers.items() if k != "date"}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ONE_OF_EACH_KIND)
def test_a_defect_of_each_kind_is_flagged(name: str, quick_verdicts: dict[str, ProxyVerdict]) -> None:
    _assert_flagged(name, quick_verdicts[name])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_defect_seen_in_traffic_is_flagged() -> None:
    verdicts = _verdicts(SEEN_IN_TRAFFIC)
    missed = [name for name, verdict in verdicts.items() if verdict.returncode != 1]
    assert not missed, missed
    for name, verdict in verdicts.items():
        _assert_flagged(name, verdict)


def test_a_target_without_rate_limit_headers_is_not_judged_against_a_limit_of_zero(tmp_path: Path) -> None:
    body = {"prompt": "A lantern", "model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}
    auth = {"Authorization": "Bearer pk_live_abc123"}

    def two_images(url: str) -> None:
        for _ in range(2):
            httpx.post(url + "/v1/images/generations", json=body, headers=auth)

    with mutant_server("no_rate_limit_headers") as server:
        verdict = proxy_verdict(server.base_url, tmp_path / "report.json", two_images, "--judge", "all")
    rules = {violation["rule"] for violation in verdict.report["violations"]}
    assert rules and all("rate-limit header" in rule for rule in rules), rules
    assert verdict.report["not_judged"] == [MINUTE_LIMIT_NOT_JUDGED]
    assert verdict.output.count(MINUTE_LIMIT_NOT_JUDGED) == 1, verdict.output


def test_native_face_traffic_through_the_proxy_is_said_not_judged_never_judged_as_the_perf_api(tmp_path: Path) -> None:
    """The OpenAI face's path ends like the Perf API's and BFL's face answers under /v1 at the root: their answers, in
    their own formats, broke the Perf API's rules (the body lacks perf, no x-ratelimit-* headers, BFL's 422)."""

    def native_calls(url: str) -> None:
        auth = {"Authorization": "Bearer pk_test_pro_native"}
        openai = httpx.post(url + "/openai/v1/images/generations", json={"prompt": "a kite", "size": "256x256"}, headers=auth)
        flux = httpx.post(url + "/v1/flux-dev", json={"prompt": "a kite"}, headers={"x-key": "pk_test_pro_native"})
        refused = httpx.post(url + "/v1/flux-dev", json={"prompt": 5}, headers={"x-key": "pk_test_pro_native"})
        assert (openai.status_code, flux.status_code, refused.status_code) == (200, 200, 422)

    with running_simulator() as simulator:
        verdict = proxy_verdict(simulator.base_url, tmp_path / "report.json", native_calls)
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.report["violations"] == []
    assert verdict.report["not_judged"] == [OUTSIDE_THE_API_NOT_JUDGED]
    assert verdict.output.count(OUTSIDE_THE_API_NOT_JUDGED) == 1, verdict.output


def test_a_target_under_a_base_path_is_judged_below_it(tmp_path: Path) -> None:
    """A Perf API served under a path (a gateway's prefix, perf-sim's namespace base path) is judged there."""
    body = {"prompt": "A lantern", "model": "dall-e-2", "size": "256x256", "n": 0}
    with running_simulator() as simulator:
        verdict = proxy_verdict(
            simulator.base_url + "/_sim/ns/proxied",
            tmp_path / "report.json",
            lambda url: httpx.post(url + "/v1/images/generations", json=body, headers={"Authorization": "Bearer pk_test_pro_based"}),
        )
    assert verdict.returncode == 0, verdict.output[-3000:]
    assert verdict.report["exchanges"] == 1 and verdict.report["not_judged"] == []


def test_a_target_deciding_otherwise_passes_the_proxy_by_the_document_its_differences_shown_with_their_decision(
    tmp_path: Path,
) -> None:
    """No revised_prompt but for dall-e-3 (decision #24) failed every other model's answer, and the proxy's exit
    status with it, where perf-contract shows the same as a difference and counts it only under --judge all."""
    with factory_server("tests.contract.other_readings:revised_prompt_for_dalle3_only") as server:
        by_document = proxy_verdict(server.base_url, tmp_path / "document.json", drive)
        by_all = proxy_verdict(server.base_url, tmp_path / "all.json", drive, "--judge", "all")
    assert by_document.returncode == 0, by_document.output[-3000:]
    assert by_document.report["violations"] == [] and by_document.report["differences"], by_document.output[-3000:]
    assert {d["source"] for d in by_document.report["differences"]} == {str(decisions.REVISED_PROMPT_ALWAYS)}
    assert not any(d["counted"] for d in by_document.report["differences"])
    number = decisions.ALL.index(decisions.REVISED_PROMPT_ALWAYS) + 1
    lines = [line for line in by_document.output.splitlines() if line.startswith("DIFFERS ")]
    assert lines and all(f"[decision #{number}]: " in line for line in lines), by_document.output[-3000:]
    assert by_all.returncode == 1 and by_all.report["violations"] and not by_all.report["differences"], by_all.output[-3000:]
    assert {v["source"] for v in by_all.report["violations"]} == {str(decisions.REVISED_PROMPT_ALWAYS)}
