"""The engine's request: what every face translates its wire format into."""

from __future__ import annotations

from dataclasses import dataclass

from spec.models import MODELS, ModelSpec


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    model: str
    n: int
    size: str
    quality: str
    style: str | None
    response_format: str
    first_index: int = 0
    """Render index of the first image: 0 for the Perf API; a native face whose provider takes a seed but makes one
    image per call (BFL) sets it, so its seed k gives the k-th image of the equivalent Perf request."""

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]
