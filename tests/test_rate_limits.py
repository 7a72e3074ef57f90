"""Rate limits per key: images not requests, exact under concurrency, both windows, honest retry_after.

The contract suite (contract_tests/, run against the simulator by tests/contract/) judges the same rules for any
implementation; these stay because `pytest --gateway` runs them through a real gateway (tests/gateway/
test_gateway_suite.py), and they pin this simulator's own answers that the contract leaves open (exact retry_after
values on its manual clock, keys-file limits, x-should-retry)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import openai
import pytest

from simulator.launcher import RunningServer
from spec import errors, tiers

URL = "/v1/images/generations"


def _post(client: httpx.Client, key: str, **body: object) -> httpx.Response:
    return client.post(URL, json={"prompt": "a fox", **body}, headers={"Authorization": f"Bearer {key}"})


def _advance(client: httpx.Client, seconds: float) -> None:
    client.post("/_sim/clock/advance", json={"seconds": seconds}).raise_for_status()


async def _burst(base_url: str, key: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(client.post(URL, json={"prompt": f"fox {i}"}, headers={"Authorization": f"Bearer {key}"}) for i in range(count))
        )


def test_100_concurrent_requests_on_a_free_key_admit_exactly_5(sim: RunningServer) -> None:
    responses = asyncio.run(_burst(sim.base_url, "pk_test_free_burst", 100))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == tiers.TIERS["free"].images_per_minute
    assert statuses.count(429) == 100 - tiers.TIERS["free"].images_per_minute
    for r in responses:
        if r.status_code == 429:
            assert r.json()["error"]["type"] == errors.RATE_LIMIT_EXCEEDED
            assert r.json()["error"]["retry_after"] == int(r.headers["retry-after"]) >= 1


def test_limits_count_images_not_requests(client: httpx.Client) -> None:
    key = "pk_test_free_images"
    assert _post(client, key, model="dall-e-2", n=3).status_code == 200
    assert _post(client, key, model="dall-e-2", n=3).status_code == 429
    response = _post(client, key, model="dall-e-2", n=2)
    assert response.status_code == 200
    assert response.headers[tiers.HEADER_REMAINING_MINUTE] == "0"


def test_retry_after_is_honest_and_a_retry_after_it_succeeds(client: httpx.Client) -> None:
    key = "pk_test_free_retry"
    assert _post(client, key, model="dall-e-2", n=5).status_code == 200
    _advance(client, 20)
    refused = _post(client, key)
    assert refused.status_code == 429
    retry_after = refused.json()["error"]["retry_after"]
    assert retry_after == 40
    _advance(client, retry_after - 1)
    assert _post(client, key).status_code == 429
    _advance(client, 1)
    assert _post(client, key).status_code == 200


def test_the_minute_window_slides(client: httpx.Client) -> None:
    key = "pk_test_free_slide"
    for _ in range(3):
        assert _post(client, key).status_code == 200
    _advance(client, 30)
    for _ in range(2):
        assert _post(client, key).status_code == 200
    _advance(client, 29)
    assert _post(client, key).status_code == 429
    _advance(client, 1)
    for _ in range(3):
        assert _post(client, key).status_code == 200
    assert _post(client, key).status_code == 429


def test_the_day_window_caps_at_the_tier_and_resets_at_utc_midnight(client: httpx.Client) -> None:
    key = "pk_test_free_day"
    daily = tiers.TIERS["free"].images_per_day
    for _ in range(daily // 5):
        assert _post(client, key, model="dall-e-2", n=5).status_code == 200
        _advance(client, 60)
    refused = _post(client, key)
    assert refused.status_code == 429
    now = client.get("/_sim/clock").json()["now"]
    assert refused.json()["error"]["retry_after"] == tiers.seconds_to_utc_midnight(now)
    assert refused.headers[tiers.HEADER_REMAINING_DAY] == "0"
    _advance(client, refused.json()["error"]["retry_after"])
    assert _post(client, key).status_code == 200


def test_headers_track_admissions_on_every_response(client: httpx.Client) -> None:
    key = "pk_test_pro_headers"
    limit = tiers.TIERS["pro"].images_per_minute
    first = _post(client, key, model="dall-e-2", n=4)
    assert first.headers[tiers.HEADER_LIMIT_MINUTE] == str(limit)
    assert first.headers[tiers.HEADER_REMAINING_MINUTE] == str(limit - 4)
    assert first.headers[tiers.HEADER_RESET_MINUTE] == "60"
    assert first.headers[tiers.HEADER_LIMIT_DAY] == str(tiers.TIERS["pro"].images_per_day)
    assert first.headers[tiers.HEADER_REMAINING_DAY] == str(tiers.TIERS["pro"].images_per_day - 4)
    rejected = _post(client, key, model="dall-e-2", size="64x64")
    assert rejected.status_code == 400
    assert rejected.headers[tiers.HEADER_REMAINING_MINUTE] == str(limit - 4)


def test_keys_do_not_share_quota(client: httpx.Client) -> None:
    assert _post(client, "pk_test_free_a1", model="dall-e-2", n=5).status_code == 200
    assert _post(client, "pk_test_free_b1", model="dall-e-2", n=5).status_code == 200
    assert _post(client, "pk_test_free_a1").status_code == 429


def test_document_example_key_is_pro(client: httpx.Client) -> None:
    usage = client.get(f"/_sim/usage/{tiers.DOCUMENT_EXAMPLE_KEY}").json()
    assert usage["tier"] == "pro" and usage["minute"]["limit"] == tiers.TIERS["pro"].images_per_minute


def test_keys_file_sets_enterprise_limits(tmp_path: Path, perf_sim: Callable[..., AbstractContextManager[RunningServer]]) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.pk_live_acme_corp]\ntier = "enterprise"\nimages_per_minute = 2\nimages_per_day = 3\n')
    with perf_sim("--keys", str(keys), "--clock", "manual") as server, httpx.Client(base_url=server.base_url) as client:
        assert _post(client, "pk_live_acme_corp", model="dall-e-2", n=2).status_code == 200
        assert _post(client, "pk_live_acme_corp").status_code == 429
        _advance(client, 60)
        assert _post(client, "pk_live_acme_corp").status_code == 200
        _advance(client, 60)
        assert _post(client, "pk_live_acme_corp").json()["error"]["retry_after"] > 60


def test_a_day_window_429_tells_clients_not_to_wait_for_it(sim: RunningServer, client: httpx.Client) -> None:
    """The openai SDK sleeps for any Retry-After unless told not to retry: a wait of most of a day says so, so the
    SDK raises at once instead of sleeping for hours; a minute window's short wait leaves the SDK its retries."""
    key = "pk_test_free_sdk_day"
    for _ in range(tiers.TIERS["free"].images_per_day // 5):
        assert _post(client, key, model="dall-e-2", n=5).status_code == 200
        _advance(client, 60)
    refused = _post(client, key)
    assert refused.json()["error"]["retry_after"] > errors.LONGEST_CLIENT_RETRY_WAIT_SECONDS
    assert refused.headers["x-should-retry"] == "false"
    sent: list[httpx.Request] = []
    http_client = openai.DefaultHttpxClient(event_hooks={"request": [sent.append]})
    sdk = openai.OpenAI(api_key=key, base_url=f"{sim.base_url}/v1", max_retries=2, http_client=http_client)
    with pytest.raises(openai.RateLimitError):
        sdk.images.generate(prompt="a fox", model="dall-e-2")
    assert len(sent) == 1  # no retry


def test_on_the_manual_clock_a_minute_window_429_tells_clients_not_to_wait_for_it(sim: RunningServer, client: httpx.Client) -> None:
    """No real wait frees a window on the manual clock (only /_sim/clock/advance does): the SDK's two sleeping retries
    would hold a test for two minutes, then meet the same 429."""
    key = "pk_test_free_sdk_minute"
    assert _post(client, key, model="dall-e-2", n=5).status_code == 200
    minute = _post(client, key)
    assert minute.status_code == 429 and minute.headers["x-should-retry"] == "false"
    sent: list[httpx.Request] = []
    http_client = openai.DefaultHttpxClient(event_hooks={"request": [sent.append]})
    sdk = openai.OpenAI(api_key=key, base_url=f"{sim.base_url}/v1", max_retries=2, http_client=http_client)
    with pytest.raises(openai.RateLimitError):
        sdk.images.generate(prompt="a fox", model="dall-e-2")
    assert len(sent) == 1


def test_on_the_real_clock_a_minute_window_429_leaves_clients_their_retries(
    perf_sim: Callable[..., AbstractContextManager[RunningServer]],
) -> None:
    with perf_sim() as server, httpx.Client(base_url=server.base_url) as client:
        assert _post(client, "pk_test_free_sdk_real", model="dall-e-2", n=5).status_code == 200
        minute = _post(client, "pk_test_free_sdk_real")
        assert minute.status_code == 429 and "x-should-retry" not in minute.headers
