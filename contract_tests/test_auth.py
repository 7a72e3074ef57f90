"""Authentication failures: every way of not presenting a valid key is a 401 authentication_error."""

from __future__ import annotations

import secrets

import pytest

from contract_tests import decisions
from contract_tests.checks import check_error
from contract_tests.client import NO_AUTH, ContractClient
from spec import errors

BODY = {"prompt": "A snow owl on a fence post"}


@pytest.mark.smoke
@pytest.mark.partly(decisions.ERROR_TYPES)
def test_missing_authorization(api: ContractClient) -> None:
    """A request without an Authorization header is a 401 authentication_error."""
    check_error(api.generate(BODY, key=NO_AUTH), errors.AUTHENTICATION_ERROR)


@pytest.mark.smoke
@pytest.mark.partly(decisions.ERROR_TYPES)
def test_unknown_key(api: ContractClient) -> None:
    """A well-formed but unknown key is a 401 authentication_error."""
    check_error(api.generate(BODY, key=f"pk_live_unknown{secrets.token_hex(12)}"), errors.AUTHENTICATION_ERROR)


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Token pk_live_abc123", "pk_live_abc123", "Bearer pk live!abc"],
    ids=["basic", "bearer-no-key", "wrong-scheme", "no-scheme", "malformed-key"],
)
@pytest.mark.partly(decisions.ERROR_TYPES)
def test_malformed_authorization(api: ContractClient, authorization: str) -> None:
    """A malformed Authorization header (wrong scheme, no key, bad characters) is a 401 authentication_error."""
    check_error(api.generate(BODY, key=NO_AUTH, headers={"Authorization": authorization}), errors.AUTHENTICATION_ERROR)
