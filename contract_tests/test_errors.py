"""Error envelopes: content policy, malformed bodies, oversized bodies, unknown routes and methods."""

from __future__ import annotations

import pytest

from contract_tests import decisions
from contract_tests.checks import check_document_message, check_error, check_success
from contract_tests.client import GENERATIONS_PATH, ContractClient
from contract_tests.target import Target
from spec import errors, policy

CLEAN = "A quiet reading room with tall windows"


@pytest.mark.smoke
@pytest.mark.partly(decisions.DOCUMENT_MESSAGES)
def test_a_refused_prompt_is_a_content_policy_violation(api: ContractClient, target: Target, blocked_prompt: str) -> None:
    """A prompt the target refuses (--blocked-prompt) is a 400 content_policy_violation in the error envelope."""
    exchange = api.generate_admitted({"prompt": blocked_prompt}, key=target.generous_key)
    error = check_error(exchange, errors.CONTENT_POLICY_VIOLATION)
    check_document_message(error, errors.CONTENT_POLICY_VIOLATION, "The content-policy error carries the document's message", exchange)


@pytest.mark.source(decisions.TRIGGER_PHRASE)
@pytest.mark.partly(decisions.DOCUMENT_MESSAGES)
def test_content_policy_trigger_phrase(api: ContractClient, target: Target) -> None:
    """A prompt containing the trigger phrase is a 400 content_policy_violation with the documented message."""
    exchange = api.generate_admitted({"prompt": f"{CLEAN} {policy.TRIGGER_PHRASE}"}, key=target.generous_key)
    error = check_error(exchange, errors.CONTENT_POLICY_VIOLATION)
    check_document_message(error, errors.CONTENT_POLICY_VIOLATION, "The content-policy error carries the document's message", exchange)


@pytest.mark.parametrize(
    "prompt",
    [policy.TRIGGER_PHRASE.lower(), f"x{policy.TRIGGER_PHRASE}x", f"{CLEAN}, {policy.TRIGGER_PHRASE.title()}"],
    ids=["lower-case", "inside-a-word", "title-case"],
)
@pytest.mark.source(decisions.TRIGGER_PHRASE)
def test_trigger_phrase_anywhere_any_case(api: ContractClient, target: Target, prompt: str) -> None:
    """The trigger phrase violates the policy anywhere in the prompt, in any letter case (spec/policy.py)."""
    check_error(api.generate_admitted({"prompt": prompt}, key=target.generous_key), errors.CONTENT_POLICY_VIOLATION)


@pytest.mark.source(decisions.BLOCKED_TERMS)
@pytest.mark.parametrize("term", policy.BLOCKED_TERMS)
def test_blocked_terms_as_whole_words(api: ContractClient, target: Target, term: str) -> None:
    """Each blocked term of spec/policy.py, as a whole word in any case, is a content_policy_violation."""
    prompt = f"{CLEAN} with {term.upper()} in it"
    assert policy.violates_policy(prompt)
    check_error(api.generate_admitted({"prompt": prompt}, key=target.generous_key), errors.CONTENT_POLICY_VIOLATION)


@pytest.mark.source(decisions.BLOCKED_TERMS)
@pytest.mark.parametrize("word", ["gorgeous", "nudes", "massacred", "gore-tex", "pornographically"])
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_blocked_term_inside_a_longer_word_is_allowed(api: ContractClient, target: Target, word: str) -> None:
    """A blocked term only as part of a longer word does not violate the policy."""
    body = {"prompt": f"A {word} scene in a museum catalogue", "model": "dall-e-2", "size": "256x256"}
    assert not policy.violates_policy(body["prompt"])
    check_success(api.generate_admitted(body, key=target.generous_key), body)


@pytest.mark.smoke
@pytest.mark.parametrize(
    "raw",
    [b'{"prompt": "a cat"', b"", b"   ", b"prompt=a+cat", b'{"prompt": NaN}', b"\xff\xfe{}", b"[]", b'"a cat"', b"null", b"42"],
    ids=["truncated", "empty", "blank", "form-encoded", "nan-literal", "not-utf8", "array", "string", "null", "number"],
)
def test_malformed_body(api: ContractClient, raw: bytes) -> None:
    """A body that is not a JSON object is a 400 invalid_request, never a 500."""
    check_error(api.admitted(lambda: api.request("POST", GENERATIONS_PATH, content=raw)), errors.INVALID_REQUEST)


@pytest.mark.source(decisions.BODY_SIZE_CAP)
@pytest.mark.partly(decisions.ERROR_TYPES)
def test_oversized_body(api: ContractClient) -> None:
    """A body over spec/errors.py's MAX_BODY_BYTES is refused with 413 payload_too_large."""
    raw = b'{"prompt": "' + b"a" * (errors.MAX_BODY_BYTES + 1) + b'"}'
    check_error(api.request("POST", GENERATIONS_PATH, content=raw), errors.PAYLOAD_TOO_LARGE)


@pytest.mark.source(decisions.ERROR_TYPES)
def test_unknown_path(api: ContractClient) -> None:
    """An unknown path is a 404 not_found in the same error envelope."""
    check_error(api.request("POST", "/v1/images/generate", body={"prompt": CLEAN}), errors.NOT_FOUND)


@pytest.mark.source(decisions.ERROR_TYPES)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method(api: ContractClient, method: str) -> None:
    """Any method but POST on the generations path is a 405 method_not_allowed in the error envelope."""
    check_error(api.request(method, GENERATIONS_PATH, key=api.target.key), errors.METHOD_NOT_ALLOWED)
