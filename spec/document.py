"""The document's own figures where spec/ makes them exact, kept as the document gives them.

The simulator's rules are built from the exact forms (spec.models); the contract suite reads these to tell the
document's rules from the simulator's decisions, and the latency model is centred on the document's one figure.
"""

from __future__ import annotations

EXAMPLE_LATENCY_MS = 5234
"""The success example's `"latency_ms": 5234`, of its request for one hd 1024x1024 dall-e-3 image."""
DALLE2_PRICE_RANGE = (0.016, 0.020)
"""The model table's dall-e-2 row, "dall-e-2 | OpenAI | 256x256, 512x512, 1024x1024 | 10 | $0.016-0.020/image": a
range per image, in the dollars `perf.cost_usd` reports; spec.models prices each size within it."""


def text_max_n(model: str) -> int:
    """The most images the parameter text allows `model`: n is "1 for DALL-E 3, 1-10 for others". The model table
    gives every model its own maximum (spec.models.ModelSpec.max_n), 4 for the non-OpenAI ones."""
    return 1 if model == "dall-e-3" else 10
