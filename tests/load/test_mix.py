"""The load mix only sends requests the spec accepts, and covers every model and both response formats."""

from __future__ import annotations

import random

from load.mix import MODEL_WEIGHTS, random_request
from simulator.engine.validate import validate_perf_request
from spec.models import MODELS


def test_every_mixed_request_is_valid_and_the_mix_covers_the_model_table() -> None:
    rng = random.Random(5)
    requests = [validate_perf_request(random_request(rng, max_images=5)) for _ in range(2000)]
    assert set(MODEL_WEIGHTS) == set(MODELS)
    assert {r.model for r in requests} == set(MODELS)
    assert {r.response_format for r in requests} == {"url", "b64_json"}
    assert max(r.n for r in requests) == 4
    assert all(r.n <= 1 for r in (validate_perf_request(random_request(rng, max_images=1)) for _ in range(200)))
