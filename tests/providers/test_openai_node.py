"""The official OpenAI SDK for Node (the `openai` npm package), pointed at the simulator by `baseURL`: apps in
JavaScript or TypeScript test against the simulator as Python apps do, with their SDK's own retries and errors.

The package is installed once per session from the npm registry into a temporary directory (`npm install`, a few
seconds). Where Node or npm is missing the tests skip with the reason, except in CI (`CI=true`), where they fail:
scripts/test.sh installs Debian's nodejs and npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.launcher import RunningServer

KEY = "pk_test_pro_node"
# openai 7 needs Node 22; Debian 12 and 13 ship Node 18 and 20, which openai 6 supports.
PACKAGE = "openai@^6"
SCRIPT = """
import OpenAI from "openai";
const [base, scenario, key] = process.argv.slice(2);
const client = (maxRetries, timeout = 20000) => new OpenAI({apiKey: key, baseURL: base + "/v1", maxRetries, timeout});
const out = (value) => console.log(JSON.stringify(value));
try {
  if (scenario === "generate") {
    const image = await client(0).images.generate({model: "dall-e-3", prompt: "a red fox", size: "1792x1024"});
    out({url: image.data[0].url, perf: image.perf});
  } else if (scenario === "retry") {
    const image = await client(2).images.generate({model: "dall-e-2", prompt: "a red fox", size: "256x256"});
    out({url: image.data[0].url});
  } else {
    // "retrying <fault>": the same call with the SDK's retries on, to count its attempts in the journal; "timing out
    // <fault>": retries on and a 500 ms timeout, which a delay fault outlasts.
    const prefix = ["retrying ", "timing out "].find((start) => scenario.startsWith(start));
    const fault = prefix ? scenario.slice(prefix.length) : scenario;
    const body = {model: "dall-e-2", prompt: "a red fox", size: "256x256"};
    await client(prefix ? 2 : 0, prefix === "timing out " ? 500 : 20000).images.generate(body, {headers: {"X-Sim-Fault": fault}});
    out({error: "none"});
  }
} catch (error) {
  out({error: error.constructor.name, status: error.status ?? null, type: error.type ?? null});
}
"""


def _node_missing() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"no {tool} on this machine (scripts/test.sh installs Debian's nodejs and npm)"
    return None


@pytest.fixture(scope="module")
def node_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory holding the openai package and the script that drives it."""
    missing = _node_missing()
    directory = tmp_path_factory.mktemp("node-openai")
    if missing is None:
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", PACKAGE],
            cwd=directory, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        if installed.returncode != 0:
            missing = f"npm install {PACKAGE} failed: {installed.stderr.strip()[-500:]}"
    if missing is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the Node SDK tests must run in CI: {missing}")
        pytest.skip(missing)
    (directory / "drive.mjs").write_text(SCRIPT)
    yield directory


def drive(node_sdk: Path, server: RunningServer, scenario: str, timeout: float = 60) -> dict[str, Any]:
    try:
        command = ["node", "drive.mjs", server.base_url, scenario, KEY]
        result = subprocess.run(command, cwd=node_sdk, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Node SDK was still at {scenario!r} after {timeout} s (waiting out a Retry-After?)")
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_the_node_sdk_gets_an_image_url_serving_a_png_and_the_perf_block(node_sdk: Path, sim: RunningServer) -> None:
    answer = drive(node_sdk, sim, "generate")
    png = httpx.get(answer["url"]).content
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 1792
    assert answer["perf"]["model_used"] == "dall-e-3" and answer["perf"]["request_id"].startswith("req_img_")


def test_the_node_sdk_retries_through_two_injected_503s_and_the_journal_shows_three_attempts(node_sdk: Path, sim: RunningServer) -> None:
    rule = {"match": {"key": KEY}, "action": {"status": 503}, "times": 2}
    httpx.post(f"{sim.base_url}/_sim/faults", json=rule).raise_for_status()
    assert drive(node_sdk, sim, "retry")["url"]
    attempts = httpx.get(f"{sim.base_url}/_sim/requests", params={"key": KEY}).json()["requests"]
    assert [attempt["status"] for attempt in attempts] == [200, 503, 503]


@pytest.mark.parametrize(
    ("fault", "error", "status", "error_type"),
    [
        ("status=429;retry_after=2", "RateLimitError", 429, "rate_limit_exceeded"),
        ("status=400", "BadRequestError", 400, "invalid_request"),
        ("status=500", "InternalServerError", 500, "internal_error"),
        ("drop", "APIConnectionError", None, None),
        ("reset", "APIConnectionError", None, None),
        # Where the Node SDK differs from the Python one (docs/control.md, "What each SDK raises"): a body cut short is
        # undici's bare TypeError ("terminated"), and a body that is not JSON a bare SyntaxError, neither an APIError.
        ("truncate", "TypeError", None, None),
        ("malformed", "SyntaxError", None, None),
    ],
)
def test_each_injected_fault_is_the_node_sdks_error_of_its_kind(
    node_sdk: Path, sim: RunningServer, fault: str, error: str, status: int | None, error_type: str | None
) -> None:
    assert drive(node_sdk, sim, fault) == {"error": error, "status": status, "type": error_type}


@pytest.mark.parametrize(
    ("fault", "status", "attempts"), [("truncate", 200, 1), ("malformed", 200, 1), ("drop", None, 3), ("reset", None, 3)]
)
def test_the_node_sdk_retries_a_lost_connection_but_not_a_truncated_or_malformed_answer(
    node_sdk: Path, sim: RunningServer, fault: str, status: int | None, attempts: int
) -> None:
    """The Python SDK retries a truncated answer as a connection error; the Node SDK (6.x) raises it at once."""
    assert drive(node_sdk, sim, f"retrying {fault}")["error"] != "none"
    entries = httpx.get(f"{sim.base_url}/_sim/requests", params={"key": KEY}).json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(status, fault)] * attempts


def journalled(server: RunningServer) -> list[tuple[int | None, str | None]]:
    """The journal's (status, fault) of each attempt with the test's key, newest first."""
    entries = httpx.get(f"{server.base_url}/_sim/requests", params={"key": KEY}).json()["requests"]
    return [(entry["status"], entry["fault"]) for entry in entries]


def test_the_node_sdk_waits_out_a_429s_retry_after_and_its_retry_succeeds(node_sdk: Path, sim: RunningServer) -> None:
    """docs/control.md, "What each SDK raises": the Node SDK honours `retry_after` as the Python one does. This pins
    the SDK's behaviour against the simulator's 429, so it passed on the code before it was written."""
    rule = {"match": {"key": KEY}, "action": {"status": 429, "retry_after": 1}, "times": 1}
    httpx.post(f"{sim.base_url}/_sim/faults", json=rule).raise_for_status()
    assert drive(node_sdk, sim, "retry")["url"]
    assert journalled(sim) == [(200, None), (429, "status=429;retry_after=1")]


@pytest.mark.parametrize(("retry_after", "tries"), [(1, 3), (61, 1)])
def test_the_node_sdk_raises_a_429_after_its_retries_or_at_once_when_retry_after_is_over_a_minute(
    node_sdk: Path, sim: RunningServer, retry_after: int, tries: int
) -> None:
    """Node's SDK (6.x) waits out any `Retry-After` with no cap, so the `x-should-retry: false` the simulator sends
    with a wait over 60 s is all that keeps a Node app from sleeping through it (and this test from timing out).
    Pins the SDK against the simulator's answers as they were: it passed on the code before it was written."""
    fault = f"status=429;retry_after={retry_after}"
    answer = drive(node_sdk, sim, f"retrying {fault}", timeout=30)
    assert answer == {"error": "RateLimitError", "status": 429, "type": "rate_limit_exceeded"}
    assert journalled(sim) == [(429, fault)] * tries


def test_the_node_sdk_raises_its_timeout_error_on_a_delay_past_its_timeout_and_retries_it(node_sdk: Path, sim: RunningServer) -> None:
    """docs/control.md, "What each SDK raises": `APIConnectionTimeoutError`, retried. Pins the SDK's behaviour, so
    it passed on the code before it was written."""
    answer = drive(node_sdk, sim, "timing out delay_ms=1500")
    assert answer == {"error": "APIConnectionTimeoutError", "status": None, "type": None}
    time.sleep(1.5)  # every attempt's delay is over by now, so each is journalled
    assert [fault for _, fault in journalled(sim)] == ["delay_ms=1500"] * 3
