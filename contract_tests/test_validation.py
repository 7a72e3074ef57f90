"""Parameter validation per model: each invalid value gets a 400 invalid_request naming the parameter.

The cases are built from spec/models.py, so a new model or size is covered without touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import decisions
from contract_tests.checks import check_error, trimmed
from contract_tests.client import ContractClient
from contract_tests.sources import DOCUMENT, judged_as
from contract_tests.target import Target
from spec import errors
from spec.models import FLUX_DIMENSIONS, FLUX_SIZES, MODELS, QUALITIES, RESPONSE_FORMATS, STYLES

PROMPT = "A tram crossing a bridge in the fog"
ALL_SIZES = sorted({size for model in MODELS.values() if model.sizes != FLUX_SIZES for size in model.sizes})


def _size_cases(name: str) -> list[Any]:
    model = MODELS[name]
    probes = ("512x512", "256x256", "1792x1024", "1344x768", "1024x1792")
    foreign = [s for s in probes if s in ALL_SIZES and not model.accepts_size(s)][:3]
    malformed: list[Any] = ["1024", "", "1024X1024", "1024*1024", " 1024x1024", "0x0", "-1024x1024", 1024]
    if model.sizes == FLUX_SIZES:
        step = FLUX_DIMENSIONS[1] - FLUX_DIMENSIONS[0]
        lo, hi = FLUX_DIMENSIONS[0], FLUX_DIMENSIONS[-1]
        foreign = [f"{lo - step}x{lo}", f"{hi + step}x{hi}", f"{lo + 1}x{lo}", f"{hi}x{hi + step}", "1000x1000"]
    return [*foreign, *malformed]


def invalid_cases() -> list[Any]:
    """(model, parameter, value) triples the spec rejects."""
    cases: list[Any] = []
    for name, model in MODELS.items():
        for n in (0, -1, model.max_n + 1, 1.5, "1", True, [1]):
            cases.append(pytest.param(name, "n", n, id=f"{name}-n={n!r}"))
        for size in _size_cases(name):
            cases.append(pytest.param(name, "size", size, id=f"{name}-size={size!r}"))
        for quality in [q for q in QUALITIES if q not in model.qualities] + ["ultra", 1]:
            cases.append(pytest.param(name, "quality", quality, id=f"{name}-quality={quality!r}"))
        styles = ["bold", 1] if model.styles else [*STYLES]
        for style in styles:
            cases.append(pytest.param(name, "style", style, id=f"{name}-style={style!r}"))
        cases.append(pytest.param(name, "prompt", "x" * (model.max_prompt_chars + 1), id=f"{name}-prompt-too-long"))
    for value in ("png", "URL", "", 1, ["url"]):
        cases.append(pytest.param("dall-e-3", "response_format", value, id=f"response_format={value!r}"))
    assert not any(f in RESPONSE_FORMATS for f in ("png", "URL", ""))
    return cases


def _smoke(case_id: str) -> bool:
    return case_id in {"dall-e-3-n=2", "dall-e-2-n=11", "dall-e-3-size='512x512'", "flux-pro-size='1000x1000'", "flux-dev-quality='hd'"}


def _with_smoke(cases: list[Any]) -> list[Any]:
    return [pytest.param(*c.values, id=c.id, marks=[pytest.mark.smoke] if _smoke(c.id) else []) for c in cases]


@pytest.mark.parametrize(("model", "param", "value"), _with_smoke(invalid_cases()))
@pytest.mark.partly(decisions.CUSTOM_SIZE, decisions.MAX_N_OF_4, decisions.STYLE_DALLE3_ONLY, decisions.DALLE2_PROMPT_LIMIT)
def test_invalid_parameter_per_model(api: ContractClient, target: Target, model: str, param: str, value: Any) -> None:
    """An invalid value of one parameter for a model is a 400 invalid_request with error.param naming it."""
    body: dict[str, Any] = {"prompt": PROMPT, "model": model, param: value}
    exchange = api.generate_admitted(body, key=target.generous_key)
    shown = trimmed(value, 40) if isinstance(value, str) else repr(value)
    with judged_as(decisions.of_invalid_value(model, param, value) or DOCUMENT):
        check_error(
            exchange,
            errors.INVALID_REQUEST,
            param=param,
            rule=f"{param}={shown} is not valid for {model}: refused with 400 invalid_request",
        )


PROMPT_CASES = [
    pytest.param({"model": "dall-e-3"}, id="missing", marks=pytest.mark.smoke),
    pytest.param({"prompt": None}, id="null"),
    pytest.param({"prompt": ""}, id="empty"),
    pytest.param({"prompt": " \t\n "}, id="whitespace-only", marks=pytest.mark.source(decisions.BLANK_PROMPT)),
    pytest.param({"prompt": 42}, id="number"),
    pytest.param({"prompt": ["a cat"]}, id="array"),
    pytest.param({"prompt": {"text": "a cat"}}, id="object"),
    pytest.param({"prompt": True}, id="boolean"),
    pytest.param({"prompt": "x" * 4001}, id="over-4000-default-model"),
]


@pytest.mark.parametrize("body", PROMPT_CASES)
def test_invalid_prompt(api: ContractClient, target: Target, body: dict[str, Any]) -> None:
    """A missing, empty, blank, non-string or too long prompt is a 400 invalid_request with param "prompt"."""
    check_error(api.generate_admitted(body, key=target.generous_key), errors.INVALID_REQUEST, param="prompt")


@pytest.mark.parametrize("model", ["dall-e-4", "DALL-E-3", "", "gpt-image-1", 3])
def test_unknown_model(api: ContractClient, target: Target, model: Any) -> None:
    """A model outside the spec's table is a 400 invalid_request with param "model"."""
    check_error(api.generate_admitted({"prompt": PROMPT, "model": model}, key=target.generous_key), errors.INVALID_REQUEST, param="model")


@pytest.mark.source(decisions.UNKNOWN_FIELDS_REFUSED)
@pytest.mark.parametrize("field", ["seed", "negative_prompt", "Prompt"])
def test_unknown_field_is_rejected(api: ContractClient, target: Target, field: str) -> None:
    """An unknown request field is a 400 invalid_request naming it (spec/schemas.py: additionalProperties false)."""
    check_error(api.generate_admitted({"prompt": PROMPT, field: 1}, key=target.generous_key), errors.INVALID_REQUEST, param=field)
