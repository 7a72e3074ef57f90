"""The Perf API as a real gateway: POST /v1/images/generations answered by calling the provider over HTTP.

The Perf API's own rules run first, exactly as in process (key, body validation, whether the provider's format can
carry the request, n against the key's limit, content policy, then admission against the key's windows); then the
provider is called in its native format through the mapping modules, and its answer or failure comes back in the
Perf envelope with `perf.latency_ms` as measured. Providers without an upstream URL are served in process.

Decisions: the Perf API's content policy is applied before admission, as in process, so a refused prompt costs no
quota in either mode (the provider's own moderation, e.g. of outputs, still maps to content_policy_violation); the
images count against the key's windows once admitted, even when the upstream then fails (admission precedes the
call, as it must to bound what reaches the provider), unless the failure proves that the provider made nothing
(every generation call unreached, or refused with one of `REFUSALS`: 400, 401, 403, 404, 413, 422, 429: the engine
gives the charge back, `Engine.from_upstream`; docs/providers.md); the upstream is called with `--upstream-key` or, by default, the caller's
own key (so a perf-sim upstream applies per-key limits per tenant). The Perf windows, the clock and the image URLs
are the gateway's own: `/_sim/` on the gateway controls the Perf API, `/_sim/` on a perf-sim upstream controls the
providers. A caller that leaves while the provider works (its own timeout) has the calls upstream cancelled at once
(simulator.connection), is given its charge back, and is journalled unanswered (`status: null`), as a delay fault its
client gave up on is.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.requests import ClientDisconnect

from simulator.config import SimulatorConfig
from simulator.connection import unless_this_client_leaves
from simulator.engine.encode import base64_text
from simulator.engine.generate import Engine, GenerationResult, UpstreamAdmission
from simulator.engine.request import GenerationRequest
from simulator.gateway.adapter import call_upstream
from simulator.gateway.transport import UpstreamHttp, UpstreamImage
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.face import PerfFace, PerfFlow
from simulator.perf.wire import success_body
from simulator.providers.protocol import NativeCall, Upstream, upstream_error
from simulator.state.base import RateState
from simulator.urls import image_url


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    """The images a provider made for an admitted request, and how long it took to make them."""

    request: GenerationRequest
    admission: UpstreamAdmission
    images: list[UpstreamImage]
    latency_ms: int

    @property
    def request_id(self) -> str:
        return self.admission.request_id

    @property
    def rate(self) -> RateState:
        return self.admission.rate


class GatewayFace(PerfFlow[GenerationResult | UpstreamResult]):
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig, upstreams: dict[str, tuple[str, Upstream]]) -> None:
        """`upstreams`: provider -> (its base URL, how to call it), for every provider sent upstream."""
        super().__init__(engine, keys, config.public_url)
        self.in_process = PerfFace(engine, keys, config.public_url)
        self.upstreams = upstreams
        self.upstream_key = config.upstream_key
        self.http = UpstreamHttp(config.upstream_seconds)

    async def close(self) -> None:
        await self.http.close()

    async def make(self, tenant: Tenant, generation: GenerationRequest) -> GenerationResult | UpstreamResult:
        provider = generation.spec.provider
        if provider not in self.upstreams:
            return await self.in_process.make(tenant, generation)
        # Before admission, as body validation is: a request the provider's wire format cannot carry (a lone surrogate
        # in a prompt for Stability's multipart form) is a 400 that costs no quota.
        calls = self.upstreams[provider][1].native_calls(generation)
        admission = await self.engine.admit_for_upstream(tenant, generation)
        started = time.monotonic()
        try:
            images = await self.engine.from_upstream(admission, unless_this_client_leaves(self._call(provider, tenant, generation, calls)))
        except ClientDisconnect:
            # Decision: the caller left before its answer, so the calls upstream are cancelled and the request costs
            # the caller nothing, as a delay fault its client gave up on costs nothing (docs/control.md): no answer
            # was given. (A real provider may still bill what it had begun; the Perf windows are the caller's.)
            await self.engine.give_back(admission)
            raise
        return UpstreamResult(generation, admission, images, round((time.monotonic() - started) * 1000))

    async def _call(self, provider: str, tenant: Tenant, generation: GenerationRequest, calls: list[NativeCall]) -> list[UpstreamImage]:
        """The provider's images, within the upstream timeout overall (polling included)."""
        try:
            async with asyncio.timeout(self.http.timeout_seconds):
                base, upstream = self.upstreams[provider]
                return await call_upstream(upstream, self.http, base, self.upstream_key or tenant.key, generation, calls)
        except TimeoutError:
            raise upstream_error(provider, f"did not finish within {self.http.timeout_seconds:g} s") from None

    async def payload(self, made: GenerationResult | UpstreamResult, base: str) -> dict[str, object]:
        """Decision: every image is kept behind its id, a b64_json one too, as in process (where any image id loads
        at /images/ID.png): the journal lists its id, so the metrics count it and the dashboard's gallery shows it."""
        if isinstance(made, GenerationResult):
            return await self.in_process.payload(made, base)
        generation, admission = made.request, made.admission
        data: list[dict[str, str]] = []
        for image_id, image in zip(admission.image_ids, made.images, strict=True):
            revised = admission.revised_prompt(image.revised_prompt)
            await self.engine.store_png(image_id, image.data)
            if generation.response_format == "b64_json":
                data.append({"b64_json": base64_text(image.data), "revised_prompt": revised})
            else:
                data.append({"url": image_url(base, image_id), "revised_prompt": revised})
        return success_body(generation, admission.created, data, admission.request_id, admission.cost_usd, made.latency_ms)
