"""The simulator's hand-written validator and the spec's JSON Schema accept exactly the same bodies.

The schema is what the OpenAPI document publishes and what the contract suite checks; the validator is what the
server runs. Hypothesis draws bodies near the valid region (real field names, plausible values) so both sides of
every rule are exercised.
"""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.errors import ApiError
from simulator.engine.validate import validate_perf_request
from spec.models import FLUX_DIMENSIONS, MODELS, NON_BLANK_PATTERN, PROMPT_WHITESPACE
from spec.schemas import KNOWN_REQUEST_FIELDS, request_schema

VALIDATOR = jsonschema.Draft202012Validator(request_schema())

ALL_SIZES = [*sorted({s for m in MODELS.values() for s in m.sizes if len(m.sizes) < 100}), "1000x1000", "256x1440", "x", ""]
json_scalars = st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5)

field_values = {
    "prompt": st.text(max_size=20) | st.text(min_size=990, max_size=1010) | st.sampled_from([" ", "\u00a0", "x" * 4001]) | json_scalars,
    "model": st.sampled_from([*MODELS, "dall-e-4", ""]) | json_scalars,
    "n": st.integers(-1, 12) | st.sampled_from([2.0, 1.5, True]) | json_scalars,
    "size": st.sampled_from(ALL_SIZES)
    | st.builds(lambda w, h: f"{w}x{h}", st.sampled_from(FLUX_DIMENSIONS), st.sampled_from(FLUX_DIMENSIONS)),
    "quality": st.sampled_from(["standard", "hd", "ultra", None]) | json_scalars,
    "style": st.sampled_from(["vivid", "natural", "noir", None]) | json_scalars,
    "response_format": st.sampled_from(["url", "b64_json", "png", None]) | json_scalars,
    "user": json_scalars,
    "extra": json_scalars,
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, object]:
    names = draw(st.sets(st.sampled_from([*KNOWN_REQUEST_FIELDS, "extra"])))
    body: dict[str, object] = {name: draw(field_values[name]) for name in names}
    if draw(st.booleans()):
        body["prompt"] = draw(st.text(min_size=1, max_size=30))
    return body


@settings(max_examples=3000, deadline=None)
@given(bodies())
def test_validator_agrees_with_json_schema(body: dict[str, object]) -> None:
    schema_ok = VALIDATOR.is_valid(body)
    try:
        validate_perf_request(body)
        simulator_ok = True
    except ApiError as exc:
        simulator_ok = False
        assert exc.status == 400 and exc.message
    assert simulator_ok == schema_ok, (body, [e.message for e in VALIDATOR.iter_errors(body)])


@pytest.mark.parametrize(
    "prompt",
    ["\u001c", "\u001f", "\u0085", "\u00a0", "\u2028", "\u3000", " \t\n", "\u200b", "\u001b", "x\u001c"],
    ids=["file separator", "unit separator", "next line", "nbsp", "line separator", "ideographic space", "ascii", "zwsp", "escape", "x"],
)
def test_the_schema_and_the_server_agree_on_what_a_blank_prompt_is(prompt: str) -> None:
    """One definition of blank (spec.models.PROMPT_WHITESPACE), stated in the schema without `\\s`, whose meaning
    differs between regex engines: schemathesis found "\\u001c" valid by the schema and refused by the server."""
    body = {"prompt": prompt, "model": "dall-e-2"}
    try:
        validate_perf_request(body)
        server_ok = True
    except ApiError:
        server_ok = False
    assert VALIDATOR.is_valid(body) == server_ok == (not prompt.isspace())
    assert "\\s" not in NON_BLANK_PATTERN.lower() and set(PROMPT_WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}
