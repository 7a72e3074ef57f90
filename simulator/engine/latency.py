"""The latency model: how long each generation would take upstream, fixed by the seed and the request.

Centred on each model's `base_latency_ms` from the spec (for dall-e-3, so that an hd 1024x1024 request, the
document's example, is centred on its 5,234 ms), growing with pixel count (square root), with hd quality, and with
each extra image, and spread +/-15% by a seeded draw so figures look real but repeat exactly. `perf.latency_ms` is
this modelled figure whatever `--latency-scale` makes the answer wait (the body says what the real API would have
taken; the scale only decides how much of it the simulator spends).
"""

from __future__ import annotations

import math

from simulator.engine.digest import unit_interval
from simulator.engine.request import GenerationRequest
from spec.models import DEFAULT_SIZE, HD_LATENCY_FACTOR, parse_size

DEFAULT_PIXELS = math.prod(parse_size(DEFAULT_SIZE))
"""The pixel count at which a model takes its `base_latency_ms` (spec.models.ModelSpec)."""
EXTRA_IMAGE_FACTOR = 0.35
SPREAD = 0.15


def modelled_latency_ms(seed: int, request: GenerationRequest) -> int:
    width, height = parse_size(request.size)
    size_factor = math.sqrt(width * height / DEFAULT_PIXELS)
    quality_factor = HD_LATENCY_FACTOR if request.quality == "hd" else 1.0
    count_factor = 1 + EXTRA_IMAGE_FACTOR * (request.n - 1)
    draw = unit_interval(seed, "latency", request.model, request.prompt, request.size, request.quality, request.n)
    jitter = 1 - SPREAD + 2 * SPREAD * draw
    return round(request.spec.base_latency_ms * size_factor * quality_factor * count_factor * jitter)
