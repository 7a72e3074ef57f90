"""Request defaults: what a request that leaves parameters out (or sends them as null) must get."""

from __future__ import annotations

import time

import pytest

from contract_tests import decisions
from contract_tests.checks import check_rate_headers, check_request_id, check_success, not_sent
from contract_tests.client import NO_AUTH, ContractClient
from contract_tests.target import Target
from contract_tests.violations import expect
from spec import models, tiers

PROMPT = "A lighthouse on a basalt cliff at dawn, watercolour"


@pytest.mark.smoke
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS)
def test_prompt_only_gets_every_default(api: ContractClient) -> None:
    """A body with only `prompt` gets model dall-e-3, n 1, size 1024x1024, quality standard, a url, at $0.040."""
    body = {"prompt": PROMPT}
    exchange = api.generate_admitted(body)
    result = check_success(exchange, body)
    expect(
        result["perf"]["model_used"] == models.DEFAULT_MODEL and "url" in result["data"][0],
        "The documented defaults apply: model dall-e-3, response_format url",
        f"model_used={result['perf']['model_used']!r}, image keys {sorted(result['data'][0])}",
        exchange,
    )
    check_rate_headers(exchange)


@pytest.mark.source(decisions.NULL_MEANS_DEFAULT)
def test_null_optional_fields_mean_defaults(api: ContractClient) -> None:
    """An optional parameter sent as JSON null means its default (spec/schemas.py)."""
    body = {"prompt": PROMPT, **{name: None for name in ("model", "n", "size", "quality", "style", "response_format", "user")}}
    check_success(api.generate_admitted(body), body)


def test_document_example_request(api: ContractClient) -> None:
    """The document's own example (dall-e-3, 1024x1024, hd, vivid) succeeds and costs the hd price."""
    body = {"prompt": PROMPT, "model": "dall-e-3", "size": "1024x1024", "quality": "hd", "style": "vivid"}
    check_success(api.generate_admitted(body), body)


@pytest.mark.source(decisions.USER_FIELD)
def test_openai_user_field_is_accepted(api: ContractClient) -> None:
    """OpenAI's `user` field is accepted and ignored, as the API follows the OpenAI Images format."""
    body = {"prompt": PROMPT, "user": "contract-suite"}
    check_success(api.generate_admitted(body), body)


@pytest.mark.source(decisions.TIER_OF_EXAMPLE_KEY)
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS)
def test_document_example_key_is_pro(api: ContractClient, target: Target) -> None:
    """The document's example key works and is on the Pro tier (spec/tiers.py); checked on the simulator only."""
    if target.control is None:
        pytest.skip("the document's example key is a simulator convenience; real services do not honour it")
    body = {"prompt": PROMPT}
    exchange = api.generate_admitted(body, key=tiers.DOCUMENT_EXAMPLE_KEY)
    check_success(exchange, body)
    limit = check_rate_headers(exchange)[tiers.HEADER_LIMIT_MINUTE]
    if reason := not_sent(exchange, tiers.HEADER_LIMIT_MINUTE):
        pytest.skip(reason)
    pro = tiers.TIERS[tiers.DOCUMENT_EXAMPLE_TIER]
    expect(limit == pro.images_per_minute, "The document's example key is on the Pro tier", f"minute limit {limit}", exchange)


def test_created_is_the_generation_time_in_unix_seconds(api: ContractClient, target: Target) -> None:
    """`created` is the Unix time of generation in seconds (the simulator's clock when it has one)."""
    body = {"prompt": PROMPT}
    exchange = api.generate_admitted(body)
    created = check_success(exchange, body)["created"]
    now = target.control.now() if target.control else time.time()
    expect(
        abs(created - now) <= (2 if target.control and target.control.manual_clock else 600),
        "created is the Unix timestamp (seconds) of the generation",
        f"created={created}, server clock now={now:.0f}",
        exchange,
    )


@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_request_ids_are_unique(api: ContractClient) -> None:
    """Every response has its own perf.request_id."""
    body = {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"}
    exchanges = [api.generate_admitted(body) for _ in range(3)]
    ids = [check_success(e, body)["perf"]["request_id"] for e in exchanges]
    expect(len(set(ids)) == len(ids), "perf.request_id is unique per request", f"ids: {ids}", *exchanges)


@pytest.mark.source(decisions.REQUEST_ID_HEADER)
def test_every_answer_carries_a_request_id(api: ContractClient, target: Target) -> None:
    """Every answer, a success or an error, carries an x-request-id header; a success's is its perf.request_id."""
    body = {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"}
    answers = [
        api.generate_admitted(body, key=target.generous_key),
        api.generate_admitted({**body, "n": 0}, key=target.generous_key),
        api.generate(body, key=NO_AUTH),
        api.request("POST", "/v1/images/generate", body=body),
    ]
    for exchange in answers:
        check_request_id(exchange)
