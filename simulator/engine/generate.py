"""The generation core every face shares: content policy, admission, ids, storage, latency and the result.

A face has already validated its wire request into a `GenerationRequest` and authenticated a tenant; from here
on every decision is the engine's, so the Perf API and each provider emulation give the same image bytes, the
same policy decision and the same latency for the same prompt, size and seed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from starlette.requests import ClientDisconnect

from simulator.connection import unless_this_client_leaves
from simulator.context import DEFAULT_NAMESPACE, in_namespace, namespace, note_generation, note_image_ids, note_time
from simulator.engine.digest import hex_id, id_salt, salted_hex_id
from simulator.engine.encode import base64_text, blur_png, png_to_jpeg, rendered_base64_text
from simulator.engine.errors import ApiError, ProviderCall, ProviderCallsFailed
from simulator.engine.latency import modelled_latency_ms
from simulator.engine.render import RenderCache, RenderKey
from simulator.engine.request import GenerationRequest
from simulator.engine.revise import revised_prompt
from simulator.keys import KeyRegistry, Tenant
from simulator.state.base import Charge, ImageBatch, RateState, RateWindow, State, StateUnavailable, charge_of, image_id
from simulator.state.base import Ticket as Outcome
from spec import errors
from spec.models import IMAGE_URL_TTL_SECONDS, MODELS, PERF_FACE
from spec.policy import flags_output, violates_policy

T = TypeVar("T")


# Slotted, not frozen, like the state's values (simulator.state.base): built for every request.
@dataclass(slots=True)
class GeneratedImage:
    image_id: str
    render_key: RenderKey


@dataclass(slots=True)
class GenerationResult:
    request_id: str
    created: int
    request: GenerationRequest
    images: list[GeneratedImage]
    revised_prompt: str
    latency_ms: int
    cost_usd: float
    rate: RateState


@dataclass(slots=True)
class Ticket:
    """An admission: the sequence number its ids derive from, when it happened, the windows after it and the ids its
    images were recorded under (none when it recorded none), and the state's own outcome (for `charge_of`)."""

    sequence: int
    now: float
    rate: RateState
    image_ids: tuple[str, ...]
    outcome: Outcome


@dataclass(slots=True)
class RequestFacts:
    """What the engine derives from a request alone: its modelled latency, revised prompt and price."""

    latency_ms: int
    revised_prompt: str
    cost_usd: float


@dataclass(slots=True)
class UpstreamAdmission:
    """An admitted request whose images a provider makes (gateway mode): what its answer carries besides them, priced
    and identified as `generate` prices and identifies a request whose images the engine makes."""

    request_id: str
    created: int
    rate: RateState
    image_ids: tuple[str, ...]
    """The ids to keep the provider's images behind, in order: one for each of the n images asked for."""
    cost_usd: float
    prompt: str
    charge: Charge | None
    """What the admission counted, for `Engine.from_upstream` to give back."""

    def revised_prompt(self, said: str | None) -> str:
        """The revised prompt an image is answered with: the provider's, or the prompt as asked when it `said` none.
        Decision: never the engine's own rewrite (`revised_prompt`), which would tell of a revision no model made."""
        return said or self.prompt


@lru_cache(maxsize=4096)
def request_facts(seed: int, request: GenerationRequest) -> RequestFacts:
    """Computed once per distinct request (clients repeat requests; the price is exact decimal arithmetic): one
    cache lookup, where one for each fact showed in the profile."""
    return RequestFacts(
        modelled_latency_ms(seed, request),
        revised_prompt(seed, request),
        MODELS[request.model].cost_usd(request.size, request.quality, request.n),
    )


class RateLimited(ApiError):
    """A 429 that carries the window state, so the face can still send rate-limit headers, and which window refused.

    Decision: on a manual clock (`real_clock` False) it should not be retried, whatever its wait: no real wait frees
    the window (only /_sim/clock/advance moves the clock), and the openai SDK's two sleeping retries would hold a test
    for two minutes to meet the same 429."""

    def __init__(self, retry_after: int, rate: RateState, window: RateWindow, real_clock: bool) -> None:
        super().__init__(errors.RATE_LIMIT_EXCEEDED, errors.RATE_LIMIT_MESSAGE, None, retry_after)
        self.rate = rate
        self.window = window
        self.should_retry = self.should_retry and real_clock


class CountNeverAdmitted(ApiError):
    """A request for more images than its key's per-minute limit: no wait frees a window it fits, so a 400, not a 429.

    Its message and `param` name the Perf API's `n`; a face that asks for images in a field of its own (Ideogram's
    `num_images`, Imagen's `sampleCount`) words its 400 with `naming`, so every face names the count its client sent."""

    def __init__(self, n: int, limit: int, limits_from: str) -> None:
        self.n = n
        self.limit = limit
        self.limits_from = limits_from
        """Where the limit comes from, as a keys-file user looks for it (`[providers.google] of the keys file`, `pro tier`)."""
        super().__init__(errors.INVALID_REQUEST, self.naming(f"a request for {n} images"), "n")

    def naming(self, count: str) -> str:
        """The refusal, `count` saying what asked for the images (a face's field and its value)."""
        return f"{count} exceeds this key's limit of {self.limit} images per minute ({self.limits_from}), so it could never be admitted"


REFUSALS = frozenset({400, 401, 403, 404, 413, 422, 429})
"""A provider's answers to a generation call that refuse it before any image is made: a field or prompt it refuses
(400, Ideogram's 422, moderation of the prompt), a key it refuses or does not know (401, 403), a path it does not
serve (404), a body too large (413), a limit reached (429). A provider makes nothing for them, and bills nothing."""


def made_nothing(calls: tuple[ProviderCall, ...]) -> bool:
    """Whether a gateway request's generation calls prove that the provider made nothing: each one never got past
    connecting, or was answered with a refusal (`REFUSALS`).

    Decision: anything else keeps the charge. A 2xx made an image (even one then filtered or unreadable); a 5xx may
    have (a provider that fails after generating still bills; a 503 is no promise either); a call reset, timed out, or
    cancelled once past connecting may have been received and run. So for a provider called once per image (Stability,
    BFL), a refusal of one call proves nothing for a sibling that was already sent when the refusal cancelled it."""
    return all(not call.reached or call.status in REFUSALS for call in calls)


class Engine:
    """Faces pass the tenant of the key as authenticated and their face's name (`face`: `PERF_FACE` or a provider's): the
    engine picks the key's limits on that face (`KeyRegistry.limits_on`) with that face's windows, so no caller can
    pair one face's windows with another's limits."""

    def __init__(self, state: State, keys: KeyRegistry, seed: int, real_clock: bool, latency_scale: float = 0.0) -> None:
        self.state = state
        self.keys = keys
        self.seed = seed
        self.real_clock = real_clock
        """Whether the state's clock is real time, so a real wait frees a rate window (see `RateLimited`)."""
        self.latency_scale = latency_scale
        self.renders = RenderCache()
        self._image_salt = f"{seed}\x1fimage\x1f"
        self._request_salt = id_salt(seed, "request")

    def check_policy(self, prompt: str) -> None:
        if violates_policy(prompt):
            raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)

    def _check_n(self, tenant: Tenant, n: int) -> None:
        """A request whose n exceeds the per-minute limit could never be admitted: a 400, not a 429.

        (The keys file refuses a day limit below the minute limit, so the minute limit is the one that binds.)"""
        if n > tenant.limits.images_per_minute:
            raise CountNeverAdmitted(n, tenant.limits.images_per_minute, tenant.limits_from or f"{tenant.tier} tier")

    async def _admit(self, tenant: Tenant, n: int, face: str, batch: ImageBatch | None = None) -> Ticket:
        """Count n images against the tenant's windows on `face` (`tenant` with its limits there) and record `batch`'s
        images, or raise RateLimited having counted and recorded nothing."""
        outcome = await self.state.admit_and_record(f"{face}:{tenant.key}", n, tenant.limits, batch)
        note_time(outcome.now)
        admission = outcome.admission
        if not admission.admitted or outcome.sequence is None:
            assert admission.retry_after is not None and admission.window is not None
            raise RateLimited(admission.retry_after, admission.state, admission.window, self.real_clock)
        return Ticket(outcome.sequence, outcome.now, admission.state, outcome.image_ids, outcome)

    async def admit_for_upstream(self, tenant: Tenant, request: GenerationRequest) -> UpstreamAdmission:
        """The engine's half of a generation whose images a provider makes (gateway mode): the checks and the
        admission of `generate`, in its order, noted for the journal as `generate` notes them (model, n and size with
        the defaults filled in), and its ids and price as `generate` gives them; the images are noted as they are
        kept."""
        tenant = self.keys.limits_on(PERF_FACE, tenant)
        self._check_n(tenant, request.n)
        self.check_policy(request.prompt)
        ticket = await self._admit(tenant, request.n, PERF_FACE)
        charge = charge_of(ticket.outcome, namespace(), f"{PERF_FACE}:{tenant.key}", request.n)
        note_generation(request.model, request.n, request.size, ())
        image_ids = tuple(self.image_id(ticket.sequence, index) for index in range(request.n))
        cost_usd = request_facts(self.seed, request).cost_usd
        return UpstreamAdmission(
            self.request_id(ticket.sequence), int(ticket.now), ticket.rate, image_ids, cost_usd, request.prompt, charge
        )

    async def from_upstream(self, admission: UpstreamAdmission, made: Awaitable[T]) -> T:
        """What `made` (the provider's images for `admission`) gives, or its failure. Decision: a failure that proves
        the provider made nothing (`made_nothing`: every generation call of the request unreached or refused) gives
        the admission's charge back, so a caller retrying through an outage, or through a provider that refuses the
        gateway's calls (its 429 to a shared --upstream-key, a 400), keeps meeting the answer that names the provider,
        not its own windows' 429; any other failure keeps it (the provider may have made, and billed, the images).
        The state takes back exactly what the admission counted, or nothing when a reset or the minute's roll removed
        it meanwhile (`State.give_back`). A state that does not answer the give-back (Redis down) leaves the charge,
        as before, and the caller still gets the provider's answer."""
        try:
            return await made
        except ProviderCallsFailed as failure:
            if made_nothing(failure.calls):
                await self.give_back(admission)
            raise

    async def give_back(self, admission: UpstreamAdmission) -> None:
        """Take back what `admission` counted against the key's windows (`State.give_back`: nothing when a reset or
        the minute's roll removed it meanwhile); a state that does not answer (Redis down) leaves the charge."""
        await self._give_back(admission.charge)

    async def _give_back(self, charge: Charge | None) -> None:
        """`State.give_back(charge)`, if the admission counted anything; a state that does not answer leaves it."""
        if charge is not None:
            with suppress(StateUnavailable):
                await self.state.give_back(charge)

    def _id(self, kind: str, *parts: object, length: int = 24) -> str:
        """An id from the seed and the namespace's sequence. Each namespace counts its own sequence, so the namespace
        is part of the digest (outside the default one): images and tasks of two namespaces never share an id."""
        name = namespace()
        return hex_id(self.seed, kind if name == DEFAULT_NAMESPACE else f"{kind}@{name}", *parts, length=length)

    def request_id(self, sequence: int) -> str:
        """`_id("request", sequence)`, from a salt made once: every response carries one."""
        name = namespace()
        salt = self._request_salt if name == DEFAULT_NAMESPACE else id_salt(self.seed, f"request@{name}")
        return f"req_img_{salted_hex_id(salt, sequence)}"

    def image_id(self, sequence: int, index: int) -> str:
        return image_id(self._id_salt(namespace()), sequence, index)

    def _id_salt(self, name: str) -> str:
        """What image ids of namespace `name` are derived from besides the sequence and index (see `image_id`): the
        seed and, outside the default namespace, the namespace, as `_id` mixes it in."""
        return self._image_salt if name == DEFAULT_NAMESPACE else f"{self.seed}\x1fimage@{name}\x1f"

    async def new_id(self, kind: str, length: int = 24) -> str:
        """A fresh hex id from the run's sequence, for records of the native faces (e.g. a BFL task)."""
        return self._id(kind, await self.state.next_sequence(), length=length)

    async def generate(
        self, tenant: Tenant, request: GenerationRequest, face: str = PERF_FACE, wait_latency: bool = True
    ) -> GenerationResult:
        """Generate, or raise ApiError; a request that raises consumes no quota.

        `wait_latency=False` is for asynchronous providers (BFL), whose faces model the latency on the clock
        instead of holding the submit.
        """
        tenant = self.keys.limits_on(face, tenant)
        self._check_n(tenant, request.n)
        self.check_policy(request.prompt)
        name = namespace()
        batch = ImageBatch(
            request.model, request.prompt, request.size, name, request.first_index, self._id_salt(name), request.index_period
        )
        ticket = await self._admit(tenant, request.n, face, batch)
        now = ticket.now
        images = [
            GeneratedImage(image_id, RenderKey(self.seed, request.model, request.prompt, request.size, batch.render_index(index)))
            for index, image_id in enumerate(ticket.image_ids)
        ]
        facts = request_facts(self.seed, request)
        if wait_latency and self.latency_scale > 0:
            note_generation(request.model, request.n, request.size, ())
            await self._wait_latency(facts.latency_ms, charge_of(ticket.outcome, name, f"{face}:{tenant.key}", request.n))
            note_image_ids(ticket.image_ids)
        else:
            note_generation(request.model, request.n, request.size, ticket.image_ids)
        return GenerationResult(
            self.request_id(ticket.sequence),
            int(now),
            request,
            images,
            facts.revised_prompt,
            facts.latency_ms,
            facts.cost_usd,
            ticket.rate,
        )

    async def _wait_latency(self, latency_ms: int, charge: Charge | None) -> None:
        """Spend the scaled share of a request's modelled latency, unless its client leaves first
        (simulator.connection): `ClientDisconnect` then, its charge given back.

        Decision: a request whose client left during its modelled latency costs it nothing, as one a gateway's caller
        left (simulator.perf.gateway) or a delay fault's client left (docs/control.md): no answer was given, and a
        test of "my app times out and retries" through a slow perf-sim meets its retries' answers, not its own
        windows' 429 for images nobody received. The sequence number and the image ids are not given back (ids stay
        unique; the images' records stay, and nobody holds their URLs). The journal shows no image ids for it: they
        are noted once the wait is over."""
        try:
            await unless_this_client_leaves(asyncio.sleep(latency_ms * self.latency_scale / 1000))
        except ClientDisconnect:
            await self._give_back(charge)
            raise

    def output_flagged(self, request: GenerationRequest) -> bool:
        """Whether output moderation flags this request's images (native faces only; see spec.policy)."""
        return flags_output(request.prompt)

    async def store_png(self, image_id: str, png: bytes) -> None:
        """Keep bytes made elsewhere (the gateway's copy of an upstream image) behind an image URL for its lifetime."""
        now = await self.state.now()
        await self.state.put_blob(f"png:{image_id}", png, now + IMAGE_URL_TTL_SECONDS)
        note_image_ids([image_id])

    async def usage(self, tenant: Tenant, face: str = PERF_FACE) -> RateState:
        """The tenant's windows on `face`, with its limits there, as they stand."""
        limits = self.keys.limits_on(face, tenant).limits
        return await self.state.usage(f"{face}:{tenant.key}", limits, await self.state.now())

    async def image_for_url(self, image_id: str) -> tuple[bytes, int | None] | None:
        """`image_png`, with the whole seconds the image has left by its namespace's clock (for the answer's cache
        lifetime, which must not outlive the URL); None for a gateway's copy, whose expiry the state keeps to itself."""
        record = await self.state.get_image(image_id)
        if record is None:
            png = await self.state.get_blob(f"png:{image_id}")
            return None if png is None else (png, None)
        with in_namespace(record.namespace):
            left = int(record.expires_at - await self.state.now())
        return await self.render(RenderKey(self.seed, record.model, record.prompt, record.size, record.index)), max(0, left)

    async def image_png(self, image_id: str) -> bytes | None:
        """The PNG behind an image URL, or None when unknown or expired (by the clock of the namespace that made it,
        whichever namespace asks: a plain URL is asked for in the default one)."""
        record = await self.state.get_image(image_id)
        if record is None:
            return await self.state.get_blob(f"png:{image_id}")
        key = RenderKey(self.seed, record.model, record.prompt, record.size, record.index)
        return await self.render(key)

    async def render_all(self, keys: list[RenderKey]) -> list[bytes]:
        """Several images' PNGs: straight from the cache when all are there (the usual repeat: no task, no thread),
        else rendered concurrently off the event loop."""
        pngs = [png for png in map(self.renders.cached, keys) if png is not None]
        if len(pngs) == len(keys):
            return pngs
        return list(await asyncio.gather(*(self.render(key) for key in keys)))

    async def images(self, result: GenerationResult, image_format: str = "png", blurred: bool = False) -> list[bytes]:
        """A result's pictures as a provider delivers them: rendered (straight from the cache when there, see
        `render_all`), blurred when its moderation flagged them and still answers with them, in `image_format`."""
        pictures = await self.render_all([image.render_key for image in result.images])
        if blurred:
            pictures = list(await asyncio.gather(*(self.blur(png) for png in pictures)))
        if image_format == "png":
            return pictures
        return list(await asyncio.gather(*(self.encode(png, image_format) for png in pictures)))

    async def images_b64(self, result: GenerationResult, image_format: str = "png", blurred: bool = False) -> list[str]:
        """`images` as base64 text, as every face that answers with the pictures inline sends them: the render
        cache's own PNGs through the encoding cache (a repeated request encodes nothing), any other picture anew."""
        pictures = await self.images(result, image_format, blurred)
        encoded = rendered_base64_text if image_format == "png" and not blurred else base64_text
        return [encoded(picture) for picture in pictures]

    async def render(self, key: RenderKey) -> bytes:
        """Rendering is CPU work of milliseconds: off the event loop, so other requests keep flowing."""
        png = self.renders.cached(key)
        return png if png is not None else await asyncio.to_thread(self.renders.get, key)

    async def blur(self, png: bytes) -> bytes:
        """A flagged output as a provider that still answers with it shows it: blurred, off the event loop."""
        return await asyncio.to_thread(blur_png, png)

    async def encode(self, png: bytes, image_format: str) -> bytes:
        """The picture in "png" (as rendered) or "jpeg" (BFL's default, Imagen's image/jpeg), off the event loop."""
        return png if image_format == "png" else await asyncio.to_thread(png_to_jpeg, png)
