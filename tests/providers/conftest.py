"""Fixtures of the native faces' tests: a rate-limited real-clock simulator, and engine results built without a server."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulator.engine.generate import GeneratedImage, GenerationResult
from simulator.engine.render import RenderKey
from simulator.engine.request import GenerationRequest
from simulator.engine.revise import revised_prompt
from simulator.launcher import RunningServer, running_simulator
from simulator.state.base import RateState, WindowState

# Each provider face gets its own small window, so a test exhausts it in a few requests; Imagen's is below its
# default sampleCount of 4, so a request that never sets it meets the 400 of a count no window fits.
PROVIDER_LIMITS = {"openai": (2, 100), "stability": (3, 100), "bfl": (2, 100), "ideogram": (4, 100), "google": (3, 100)}

_fresh = itertools.count()


@pytest.fixture(scope="session")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    keys = Path(tmp_path_factory.mktemp("keys")) / "keys.toml"
    sections = [f"[providers.{name}]\nimages_per_minute = {m}\nimages_per_day = {d}\n" for name, (m, d) in PROVIDER_LIMITS.items()]
    keys.write_text("\n".join(sections))
    with running_simulator("--keys", str(keys), "--seed", "7") as running:
        yield running


@pytest.fixture
def provider_limits() -> dict[str, tuple[int, int]]:
    """The (per minute, per day) limits the `limited` server's keys file sets per provider face."""
    return PROVIDER_LIMITS


@pytest.fixture
def fresh_key() -> str:
    """A key no other test has used, so its rate windows start empty even on a shared real-clock server."""
    return f"pk_test_pro_fresh{next(_fresh):04d}"


def _result(request: GenerationRequest, retry_state: RateState | None = None) -> GenerationResult:
    window = WindowState(limit=30, used=request.n, reset_seconds=60)
    images = [
        GeneratedImage(f"img_{index:024x}", RenderKey(7, request.model, request.prompt, request.size, request.first_index + index))
        for index in range(request.n)
    ]
    return GenerationResult(
        request_id="req_img_" + "ab" * 12,
        created=1_767_225_600,
        request=request,
        images=images,
        revised_prompt=revised_prompt(7, request),
        latency_ms=1234,
        cost_usd=request.spec.cost_usd(request.size, request.quality, request.n),
        rate=retry_state or RateState(window, window),
    )


@pytest.fixture
def make_result() -> Callable[[GenerationRequest], GenerationResult]:
    """An engine result for a request, built without a server, for the mapping round trips."""
    return _result


@pytest.fixture
def full_rate() -> RateState:
    return RateState(WindowState(5, 5, 17), WindowState(50, 5, 3600))
