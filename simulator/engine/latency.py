"""The latency model: how long each generation would take upstream, fixed by the seed and the request.

Centred on each model's `base_latency_ms` from the spec (dall-e-3's 5,234 ms is the document's own figure),
growing with pixel count (square root), with hd quality, and with each extra image, and spread +/-15% by a
seeded draw so figures look real but repeat exactly.
"""

from __future__ import annotations

import math

from simulator.engine.digest import unit_interval
from simulator.engine.request import GenerationRequest
from spec.models import parse_size

HD_FACTOR = 1.3
EXTRA_IMAGE_FACTOR = 0.35
SPREAD = 0.15


def modelled_latency_ms(seed: int, request: GenerationRequest) -> int:
    width, height = parse_size(request.size)
    size_factor = math.sqrt(width * height / (1024 * 1024))
    quality_factor = HD_FACTOR if request.quality == "hd" else 1.0
    count_factor = 1 + EXTRA_IMAGE_FACTOR * (request.n - 1)
    draw = unit_interval(seed, "latency", request.model, request.prompt, request.size, request.quality, request.n)
    jitter = 1 - SPREAD + 2 * SPREAD * draw
    return round(request.spec.base_latency_ms * size_factor * quality_factor * count_factor * jitter)
