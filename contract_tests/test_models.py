"""Per-model success: every model, its sizes (including custom ones), its n range, its qualities and prices."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import decisions
from contract_tests.checks import check_success
from contract_tests.client import ContractClient
from contract_tests.sources import DOCUMENT, judged_as
from contract_tests.target import Target
from spec.models import FLUX_DIMENSIONS, FLUX_SIZES, MODELS

PROMPT = "A paper boat drifting on a still pond"


def listed_sizes() -> list[tuple[str, str]]:
    """Every size of every model with a size list; flux's 1,369 sizes are sampled at their corners and middle."""
    cases: list[tuple[str, str]] = []
    lo, hi, mid = FLUX_DIMENSIONS[0], FLUX_DIMENSIONS[-1], FLUX_DIMENSIONS[len(FLUX_DIMENSIONS) // 2]
    flux_sample = [f"{w}x{h}" for w, h in ((lo, lo), (hi, hi), (lo, hi), (hi, lo), (mid, lo), (1024, 1024))]
    for name, model in MODELS.items():
        sizes = flux_sample if model.sizes == FLUX_SIZES else list(model.sizes)
        cases += [(name, size) for size in sizes]
    return cases


def _generous(api: ContractClient, target: Target, body: dict[str, Any]) -> None:
    check_success(api.generate_admitted(body, key=target.generous_key), body)


@pytest.mark.smoke
@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_each_model_generates(api: ContractClient, target: Target, model: str) -> None:
    """Every model of the table answers a minimal request with its own defaults and price."""
    _generous(api, target, {"prompt": PROMPT, "model": model})


@pytest.mark.parametrize(("model", "size"), listed_sizes())
@pytest.mark.partly(decisions.CUSTOM_SIZE, *decisions.OF_SUCCESS)
def test_each_listed_size_is_accepted(api: ContractClient, target: Target, model: str, size: str) -> None:
    """Each size a model lists (custom sizes included, per spec/models.py) is accepted and reported in perf.size."""
    with judged_as(decisions.of_size(model, size) or DOCUMENT):
        _generous(api, target, {"prompt": PROMPT, "model": model, "size": size})


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_max_n_per_model(api: ContractClient, target: Target, model: str) -> None:
    """n up to the model's maximum returns n images and costs n times the price."""
    _generous(api, target, {"prompt": PROMPT, "model": model, "n": MODELS[model].max_n, "size": "1024x1024"})


@pytest.mark.source(decisions.INTEGER_N)
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_integral_float_n_counts_as_integer(api: ContractClient, target: Target) -> None:
    """n sent as 2.0 is the integer 2 (JSON Schema integer semantics, spec/schemas.py)."""
    _generous(api, target, {"prompt": PROMPT, "model": "dall-e-2", "n": 2.0, "size": "256x256"})


@pytest.mark.parametrize(("model", "quality"), [(m, q) for m, spec in MODELS.items() for q in spec.qualities])
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_each_quality_is_priced(api: ContractClient, target: Target, model: str, quality: str) -> None:
    """Each quality a model takes is accepted and priced as the spec says (dall-e-3 hd costs double)."""
    _generous(api, target, {"prompt": PROMPT, "model": model, "quality": quality})


@pytest.mark.parametrize("style", MODELS["dall-e-3"].styles)
def test_dalle3_styles(api: ContractClient, target: Target, style: str) -> None:
    """dall-e-3 takes each of its styles."""
    _generous(api, target, {"prompt": PROMPT, "model": "dall-e-3", "style": style})


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_longest_prompt_is_accepted(api: ContractClient, target: Target, model: str) -> None:
    """A prompt of exactly the model's maximum length is accepted."""
    prompt = ("a quiet harbour at dusk " * 200)[: MODELS[model].max_prompt_chars]
    _generous(api, target, {"prompt": prompt, "model": model})
