"""The generation core every face shares: content policy, admission, ids, storage, latency and the result.

A face has already validated its wire request into a `GenerationRequest` and authenticated a tenant; from here
on every decision is the engine's, so the Perf API and each provider emulation give the same image bytes, the
same policy decision and the same latency for the same prompt, size and seed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from simulator.engine.digest import hex_id
from simulator.engine.errors import ApiError
from simulator.engine.latency import modelled_latency_ms
from simulator.engine.render import RenderCache, RenderKey
from simulator.engine.request import GenerationRequest
from simulator.engine.revise import revised_prompt
from simulator.keys import Tenant
from simulator.state.base import ImageRecord, RateState, State
from spec import errors
from spec.models import IMAGE_URL_TTL_SECONDS
from spec.policy import violates_policy


@dataclass(frozen=True)
class GeneratedImage:
    image_id: str
    render_key: RenderKey


@dataclass(frozen=True)
class GenerationResult:
    request_id: str
    created: int
    request: GenerationRequest
    images: list[GeneratedImage]
    revised_prompt: str
    latency_ms: int
    cost_usd: float
    rate: RateState


class RateLimited(ApiError):
    """A 429 that carries the window state, so the face can still send rate-limit headers."""

    def __init__(self, retry_after: int, rate: RateState) -> None:
        super().__init__(errors.RATE_LIMIT_EXCEEDED, errors.RATE_LIMIT_MESSAGE, None, retry_after)
        self.rate = rate


class Engine:
    def __init__(self, state: State, seed: int, latency_scale: float = 0.0) -> None:
        self.state = state
        self.seed = seed
        self.latency_scale = latency_scale
        self.renders = RenderCache()

    def check_policy(self, prompt: str) -> None:
        if violates_policy(prompt):
            raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)

    async def generate(self, tenant: Tenant, request: GenerationRequest, bucket: str = "perf") -> GenerationResult:
        """Generate, or raise ApiError; a request that raises consumes no quota."""
        if request.n > tenant.limits.images_per_minute:
            raise ApiError(
                errors.INVALID_REQUEST,
                f"n={request.n} exceeds this key's limit of {tenant.limits.images_per_minute} images per minute "
                f"({tenant.tier} tier), so it could never be admitted",
                "n",
            )
        self.check_policy(request.prompt)
        now = await self.state.now()
        admission = await self.state.admit(f"{bucket}:{tenant.key}", request.n, tenant.limits, now)
        if not admission.admitted:
            assert admission.retry_after is not None
            raise RateLimited(admission.retry_after, admission.state)

        sequence = await self.state.next_sequence()
        images = [
            GeneratedImage(
                f"img_{hex_id(self.seed, 'image', sequence, index)}",
                RenderKey(self.seed, request.model, request.prompt, request.size, index),
            )
            for index in range(request.n)
        ]
        for image in images:
            record = ImageRecord(request.model, request.prompt, request.size, image.render_key.index, now + IMAGE_URL_TTL_SECONDS)
            await self.state.put_image(image.image_id, record)

        latency_ms = modelled_latency_ms(self.seed, request)
        if self.latency_scale > 0:
            await asyncio.sleep(latency_ms * self.latency_scale / 1000)
        return GenerationResult(
            request_id=f"req_img_{hex_id(self.seed, 'request', sequence)}",
            created=int(now),
            request=request,
            images=images,
            revised_prompt=revised_prompt(self.seed, request),
            latency_ms=latency_ms,
            cost_usd=request.spec.cost_usd(request.size, request.quality, request.n),
            rate=admission.state,
        )

    async def usage(self, tenant: Tenant, bucket: str = "perf") -> RateState:
        return await self.state.usage(f"{bucket}:{tenant.key}", tenant.limits, await self.state.now())

    async def image_png(self, image_id: str) -> bytes | None:
        """The PNG behind an image URL, or None when unknown or expired."""
        record = await self.state.get_image(image_id, await self.state.now())
        if record is None:
            return None
        key = RenderKey(self.seed, record.model, record.prompt, record.size, record.index)
        return await self.render(key)

    async def render(self, key: RenderKey) -> bytes:
        """Rendering is CPU work of milliseconds: off the event loop, so other requests keep flowing."""
        png = self.renders.cached(key)
        return png if png is not None else await asyncio.to_thread(self.renders.get, key)
