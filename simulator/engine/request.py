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

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]
