"""A fault rule's prompt pattern that backtracks costs only its own namespace's requests, and a bounded time at that."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from simulator.control.prompt_pattern import PromptPattern, found_by_rules

SLOW = "^(a|aa)+$"
"""Searched in a prompt of a's ending in another letter, this runs into its time limit on every search."""
STALLING = "a" * 200 + "!"
RULES = 40
"""On the event loop, this many rules of SLOW held every request of the server for 40 x 0.05 s = 2 s."""
PROMPTLY = 1.0
"""Seconds: generous for a loaded two-core machine, half of what one request's rules took on the event loop."""


def generate(client: httpx.Client, namespace: str, prompt: str) -> tuple[int, float]:
    """The status and the seconds a request of `namespace` took."""
    headers = {"Authorization": "Bearer pk_test_enterprise_patterns", "X-Sim-Namespace": namespace}
    started = time.monotonic()
    response = client.post("/v1/images/generations", json={"prompt": prompt}, headers=headers)
    return response.status_code, time.monotonic() - started


def test_slow_prompt_patterns_of_one_namespace_neither_hold_up_another_nor_their_own_requests_for_long(each_state: httpx.Client) -> None:
    for _ in range(RULES):
        added = each_state.post("/_sim/faults", json={"match": {"prompt": SLOW}, "action": {"status": 503}, "namespace": "slow"})
        assert added.status_code == 201, added.text
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=each_state.base_url, timeout=60) as faulting:
        stalled = pool.submit(lambda: [generate(faulting, "slow", STALLING) for _ in range(4)])
        bystanders = []
        while not stalled.done():
            bystanders.append(generate(each_state, "bystander", "a red fox"))
        stalling = stalled.result()
    assert bystanders and max(seconds for _, seconds in bystanders) < PROMPTLY, "another namespace's requests were held up"
    assert all(status == 200 for status, _ in stalling), "a rule does not match a prompt its pattern cannot be searched in in time"
    assert max(seconds for _, seconds in stalling) < PROMPTLY, "a request's rules get one time for all their patterns"
    assert generate(each_state, "slow", "aaaa")[0] == 503, "a prompt the pattern is quick on still matches"


def test_a_pattern_that_runs_out_of_time_is_logged_once_and_cut_not_in_full_with_every_request(caplog: pytest.LogCaptureFixture) -> None:
    pattern = PromptPattern(SLOW + "|" + "z" * 200_000, "match.prompt")
    with caplog.at_level(logging.WARNING, logger="perf-sim"):
        for _ in range(3):
            assert asyncio.run(found_by_rules([pattern], STALLING)) == set()
    (warning,) = caplog.messages
    assert len(warning) < 1_000 and "200010 characters" in warning
