"""Hypothesis property tests: requests generated from the spec's tables, judged by the spec's own oracles.

Decisions: examples are derandomized (a contract verdict must not change from run to run) and no example
database is written into the user's directory.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from contract_tests import decisions
from contract_tests.checks import check_error, check_success
from contract_tests.client import ContractClient
from contract_tests.sources import DOCUMENT, Source, judged_as
from contract_tests.target import Target
from spec import errors, policy
from spec.models import FLUX_SIZES, MODELS, QUALITIES, RESPONSE_FORMATS, STYLES, ModelSpec
from spec.schemas import KNOWN_REQUEST_FIELDS, request_schema

PROPERTY_SETTINGS = settings(
    max_examples=80,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REQUEST_VALIDATOR = Draft202012Validator(request_schema())
# Prompts in other scripts too: the document's prompt is any string, and a target that fails on a non-ASCII one (a 500
# on "café") passed a suite whose prompts were ASCII words only.
WORDS = st.sampled_from(
    ["river", "lantern", "orchard", "glass", "fox", "tower", "amber", "mist", "copper", "meadow", "café", "Ōsaka", "東京", "🦊"]
)
SAFE_PROMPTS = st.lists(WORDS, min_size=1, max_size=12).map(" ".join)


def _sizes(model: ModelSpec) -> st.SearchStrategy[str]:
    if model.sizes == FLUX_SIZES:
        return st.sampled_from(FLUX_SIZES)
    return st.sampled_from(model.sizes)


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Any request the spec accepts, optional fields present, absent or null."""
    name = draw(st.sampled_from(list(MODELS)))
    model = MODELS[name]
    fields: dict[str, Any] = {
        "model": st.just(name),
        "n": st.integers(1, model.max_n),
        "size": _sizes(model),
        "quality": st.sampled_from(model.qualities),
        "style": st.sampled_from(model.styles) if model.styles else st.none(),
        "response_format": st.just("url"),
    }
    body: dict[str, Any] = {"prompt": draw(SAFE_PROMPTS)}
    for field, strategy in fields.items():
        choice = draw(st.sampled_from(["set", "absent", "null"]))
        if choice == "set" or (field == "model" and name != "dall-e-3"):
            body[field] = draw(strategy)
        elif choice == "null":
            body[field] = None
    return body


@given(body=valid_bodies())
@PROPERTY_SETTINGS
@pytest.mark.partly(decisions.NULL_MEANS_DEFAULT, decisions.CUSTOM_SIZE, *decisions.OF_SUCCESS)
def test_every_valid_request_succeeds(api: ContractClient, target: Target, body: dict[str, Any]) -> None:
    """Any request the spec's schema accepts succeeds, with perf and cost agreeing with the spec."""
    assert REQUEST_VALIDATOR.is_valid(body), body
    with judged_as(_decision_of(body) or DOCUMENT):
        check_success(api.generate_admitted(body, key=target.generous_key), body)


def _decision_of(body: dict[str, Any]) -> Source | None:
    """The decision a valid body relies on to be valid (a null meaning the default, a custom size), if any."""
    if any(value is None for value in body.values()):
        return decisions.NULL_MEANS_DEFAULT
    return decisions.of_size(body.get("model") or "dall-e-3", body.get("size") or "1024x1024")


JUNK = st.one_of(
    st.integers(-5, 50),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)


@st.composite
def one_broken_field(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid request with exactly one field made invalid; returns the body and the field's name."""
    body = draw(valid_bodies())
    model = MODELS[body.get("model") or "dall-e-3"]
    field = draw(st.sampled_from(["prompt", "n", "size", "quality", "style", "response_format", "unknown"]))
    if field == "unknown":
        field = draw(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(lambda f: f not in KNOWN_REQUEST_FIELDS)
        )
        body[field] = draw(JUNK)
    elif field == "prompt":
        body["prompt"] = draw(
            st.one_of(st.just("x" * (model.max_prompt_chars + 1)), st.just("  "), JUNK.filter(lambda v: not isinstance(v, str)))
        )
    else:
        pools = {"quality": QUALITIES, "style": STYLES, "response_format": RESPONSE_FORMATS}
        body[field] = draw(st.one_of(JUNK, st.sampled_from(pools.get(field, ("x",)))))
    # The spec's schema is the oracle: only bodies it rejects count as invalid.
    if REQUEST_VALIDATOR.is_valid(body) or body.get(field) is None:
        body[field] = [field]
    return body, field


@pytest.mark.source(decisions.REQUEST_SCHEMA)
@given(case=one_broken_field())
@PROPERTY_SETTINGS
def test_one_invalid_field_is_named(api: ContractClient, target: Target, case: tuple[dict[str, Any], str]) -> None:
    """A request the spec's schema rejects for one field is a 400 invalid_request whose param names that field."""
    body, field = case
    assert not REQUEST_VALIDATOR.is_valid(body), body
    check_error(api.generate_admitted(body, key=target.generous_key), errors.INVALID_REQUEST, param=field)


POLICY_WORDS = st.sampled_from([*policy.BLOCKED_TERMS, policy.TRIGGER_PHRASE, "gorgeous", "nudes", "harmless", "attack", "terrorist"])


@pytest.mark.source(decisions.BLOCKED_TERMS)
@given(
    words=st.lists(st.one_of(WORDS, POLICY_WORDS, POLICY_WORDS.map(str.upper)), min_size=1, max_size=6),
    joiner=st.sampled_from([" ", "-", "", ", "]),
)
@PROPERTY_SETTINGS
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_content_policy_matches_the_spec(api: ContractClient, target: Target, words: list[str], joiner: str) -> None:
    """A prompt violates the content policy exactly when spec/policy.py says so."""
    prompt = joiner.join(words)
    body = {"prompt": prompt, "model": "dall-e-2", "size": "256x256"}
    exchange = api.generate_admitted(body, key=target.generous_key)
    if policy.violates_policy(prompt):
        check_error(exchange, errors.CONTENT_POLICY_VIOLATION, rule="A prompt spec/policy.py blocks is a 400 content_policy_violation")
    else:
        check_success(exchange, body)
