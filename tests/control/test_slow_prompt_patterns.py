"""A fault rule's prompt pattern that backtracks costs only its own namespace's requests, and a bounded time at that."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import pytest

from simulator.control.prompt_pattern import PromptPattern, RuleSearchThreads
from simulator.control.rules import MemoryRuleStore, RequestFacts, rule_spec_from_json

SLOW = "^(a|aa)+$"
"""Searched in a prompt of a's ending in another letter, this runs into its time limit on every search."""
STALLING = "a" * 200 + "!"
RULES = 40
"""On the event loop, this many rules of SLOW held every request of the server for 40 x 0.05 s = 2 s."""
PROMPTLY = 1.0
"""Seconds: generous for a loaded two-core machine, half of what one request's rules took on the event loop."""
FLOOD = 40
"""Requests at once whose one rule's search runs out of time: 40 x 0.05 s = 2 s queued in one namespace's thread."""


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


def test_a_flood_of_slow_prompt_patterns_in_one_namespace_does_not_hold_up_other_namespaces_prompt_rules(each_state: httpx.Client) -> None:
    for namespace, pattern in (("flooded", SLOW), ("neighbour", "^storm")):
        added = each_state.post("/_sim/faults", json={"match": {"prompt": pattern}, "action": {"status": 503}, "namespace": namespace})
        assert added.status_code == 201, added.text

    async def send(client: httpx.AsyncClient, namespace: str, prompt: str) -> tuple[int, float]:
        headers = {"Authorization": "Bearer pk_test_enterprise_patterns", "X-Sim-Namespace": namespace}
        started = time.monotonic()
        response = await client.post("/v1/images/generations", json={"prompt": prompt}, headers=headers)
        return response.status_code, time.monotonic() - started

    async def flood_and_neighbour() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        limits = httpx.Limits(max_connections=FLOOD + 1)
        async with httpx.AsyncClient(base_url=each_state.base_url, timeout=60, limits=limits) as client:
            flood = asyncio.gather(*(send(client, "flooded", STALLING) for _ in range(FLOOD)))
            await asyncio.sleep(0.1)
            neighbours = [await send(client, "neighbour", "a red fox")]
            while not flood.done():
                await asyncio.sleep(0.05)  # within the key's 300 requests a minute
                neighbours.append(await send(client, "neighbour", "a red fox"))
            return await flood, neighbours

    flooded, neighbours = asyncio.run(flood_and_neighbour())
    assert max(seconds for _, seconds in neighbours) < PROMPTLY, "another namespace's prompt rules waited behind the flood"
    assert {status for status, _ in neighbours} == {200}
    assert {status for status, _ in flooded} == {200}, "a rule does not match a prompt its pattern cannot be searched in in time"
    assert generate(each_state, "neighbour", "storm ahead")[0] == 503, "the neighbour's own prompt rule still matches"


def test_a_namespaces_search_thread_ends_once_it_has_no_prompt_rule_left() -> None:
    def search_threads() -> set[str]:
        return {thread.name.split("_")[0] for thread in threading.enumerate() if thread.name.startswith("rule-prompt-search-ends-")}

    async def search_then_clear() -> tuple[set[str], set[str], set[str]]:
        store = MemoryRuleStore(seed=1)
        for namespace in ("ends-a", "ends-b", "ends-c"):
            await store.add(rule_spec_from_json({"match": {"prompt": "^storm"}, "action": {"status": 503}}, namespace))
            facts = partial(RequestFacts, "perf", "/v1/images/generations", "POST", namespace, None, None, "storm")
            assert await store.select(namespace, facts) is not None
        searched = search_threads()
        await store.clear("ends-a")
        (rule,) = await store.rules("ends-b")
        await store.delete(rule.id)
        deadline = time.monotonic() + 5
        while len(search_threads()) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        left = search_threads()
        await store.close()
        while search_threads() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return searched, left, search_threads()

    searched, left, closed = asyncio.run(search_then_clear())
    assert searched == {"rule-prompt-search-ends-a", "rule-prompt-search-ends-b", "rule-prompt-search-ends-c"}
    assert left == {"rule-prompt-search-ends-c"}, "a namespace reset or left without prompt rules keeps no search thread"
    assert closed == set()


def test_a_pattern_that_runs_out_of_time_is_logged_once_and_cut_not_in_full_with_every_request(caplog: pytest.LogCaptureFixture) -> None:
    pattern = PromptPattern(SLOW + "|" + "z" * 9_000, "match.prompt")
    searches = RuleSearchThreads()
    with caplog.at_level(logging.WARNING, logger="perf-sim"):
        for _ in range(3):
            assert asyncio.run(searches.found_by_rules("default", [pattern], STALLING)) == set()
    searches.close()
    (warning,) = caplog.messages
    assert len(warning) < 1_000 and "9010 characters" in warning
