"""Arbitrary JSON and arbitrary bytes never produce a 500, a hang, or anything outside the envelope."""

from __future__ import annotations

import httpx
import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec.schemas import KNOWN_REQUEST_FIELDS, error_schema, response_schema

KEY = {"Authorization": "Bearer pk_test_enterprise_fuzz", "Content-Type": "application/json"}
ERROR = jsonschema.Draft202012Validator(error_schema())
SUCCESS = jsonschema.Draft202012Validator(response_schema())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
near_valid_bodies = st.dictionaries(st.sampled_from([*KNOWN_REQUEST_FIELDS, "seed", ""]), json_values, max_size=8)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    validator = SUCCESS if response.status_code == 200 else ERROR
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, (response.status_code, body, errors)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=json_values | near_valid_bodies)
def test_arbitrary_json_gets_a_documented_answer(client: httpx.Client, body: object) -> None:
    _check(client.post("/v1/images/generations", json=body, headers=KEY))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_get_a_documented_answer(client: httpx.Client, raw: bytes) -> None:
    _check(client.post("/v1/images/generations", content=raw, headers=KEY))
