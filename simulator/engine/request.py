"""The engine's request: what every face translates its wire format into."""

from __future__ import annotations

from typing import NamedTuple

from spec.models import MODELS, ModelSpec


class GenerationRequest(NamedTuple):
    """A named tuple, not a frozen dataclass: every request builds one and looks it up in a cache, and a tuple is
    built, hashed and compared in C."""

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
    index_period: int = 0
    """Render indices wrap at this many (0: never; see `simulator.state.base.ImageBatch`): a native face whose seed is
    the render index and whose request makes several images (Ideogram) sets its seed range, so every image's index is
    a seed the provider accepts."""

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]
