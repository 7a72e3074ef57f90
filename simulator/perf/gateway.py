"""The Perf API as a real gateway: POST /v1/images/generations answered by calling the provider over HTTP.

The Perf API's own rules run first, exactly as in process (key, body validation, n against the key's limit, content
policy, then admission against the key's windows); then the provider is called in its native format through the
mapping modules, and its answer or failure comes back in the Perf envelope with `perf.latency_ms` as measured.
Providers without an upstream URL are served in process.

Decisions: the Perf API's content policy is applied before admission, as in process, so a refused prompt costs no
quota in either mode (the provider's own moderation, e.g. of outputs, still maps to content_policy_violation);
the images count against the key's windows once admitted, even when the upstream then fails (admission precedes
the call, as it must to bound what reaches the provider); the upstream is called with `--upstream-key` or, by
default, the caller's own key (so a perf-sim upstream applies per-key limits per tenant). The Perf windows, the
clock and the image URLs are the gateway's own: `/_sim/` on the gateway controls the Perf API, `/_sim/` on a
perf-sim upstream controls the providers.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import SimulatorConfig
from simulator.engine.encode import base64_text
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, RateLimited, Ticket
from simulator.engine.request import GenerationRequest
from simulator.gateway.adapter import call_upstream
from simulator.gateway.transport import UpstreamHttp, UpstreamImage
from simulator.http import Endpoint, SafeJSONResponse, read_body, request_header
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.face import PerfFace
from simulator.perf.wire import PATH, error_response, request_from_wire, success_body, success_headers
from simulator.providers.protocol import Upstream, upstream_error
from simulator.urls import base_url, image_url


class GatewayFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig, upstreams: dict[str, tuple[str, Upstream]]) -> None:
        """`upstreams`: provider -> (its base URL, how to call it), for every provider sent upstream."""
        self.engine = engine
        self.keys = keys
        self.public_url = config.public_url
        self.real_clock = config.real_clock
        self.in_process = PerfFace(engine, keys, config.public_url, self.real_clock)
        self.upstreams = upstreams
        self.upstream_key = config.upstream_key
        self.http = UpstreamHttp(config.upstream_timeout)

    def routes(self) -> list[Route]:
        return [Route(PATH, Endpoint(self.create_image), methods=["POST"])]

    async def close(self) -> None:
        await self.http.close()

    async def create_image(self, request: Request) -> Response:
        tenant: Tenant | None = None
        try:
            tenant = self.keys.authenticate(request_header(request, b"authorization"))
            generation = request_from_wire(await read_body(request))
            base = base_url(request, self.public_url)
            provider = generation.spec.provider
            if provider not in self.upstreams:
                result = await self.engine.generate(tenant, generation)
                return SafeJSONResponse(
                    await self.in_process.payload(result, base), headers=success_headers(result.request_id, result.rate)
                )
            ticket = await self.engine.admit_for_upstream(tenant, generation)
            started = time.monotonic()
            images = await self._call(provider, tenant, generation)
            latency_ms = round((time.monotonic() - started) * 1000)
        except RateLimited as exc:
            return error_response(exc, exc.rate, window_on_manual_clock=not self.real_clock)
        except ApiError as exc:
            return error_response(exc, await self.engine.usage(tenant) if tenant else None)
        payload = await self._payload(generation, ticket, images, latency_ms, base)
        return SafeJSONResponse(payload, headers=success_headers(self.engine.request_id(ticket.sequence), ticket.rate))

    async def _call(self, provider: str, tenant: Tenant, generation: GenerationRequest) -> list[UpstreamImage]:
        """The provider's images, within the upstream timeout overall (polling included)."""
        try:
            async with asyncio.timeout(self.http.timeout_seconds):
                base, upstream = self.upstreams[provider]
                return await call_upstream(upstream, self.http, base, self.upstream_key or tenant.key, generation)
        except TimeoutError:
            raise upstream_error(provider, f"did not finish within {self.http.timeout_seconds:g} s") from None

    async def _payload(
        self, generation: GenerationRequest, ticket: Ticket, images: list[UpstreamImage], latency_ms: int, base: str
    ) -> dict[str, object]:
        """Decision: every image is kept behind its id, a b64_json one too, as in process (where any image id loads
        at /images/ID.png): the journal lists its id, so the metrics count it and the dashboard's gallery shows it."""
        data: list[dict[str, str]] = []
        for index, image in enumerate(images):
            revised = image.revised_prompt or generation.prompt
            image_id = self.engine.image_id(ticket.sequence, index)
            await self.engine.store_png(image_id, image.data)
            if generation.response_format == "b64_json":
                data.append({"b64_json": base64_text(image.data), "revised_prompt": revised})
            else:
                data.append({"url": image_url(base, image_id), "revised_prompt": revised})
        request_id = self.engine.request_id(ticket.sequence)
        cost_usd = generation.spec.cost_usd(generation.size, generation.quality, len(images))
        return success_body(generation, int(ticket.now), data, request_id, cost_usd, latency_ms)
