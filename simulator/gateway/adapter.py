"""The gateway's call to any provider, driven by that provider's `Upstream` (its mapping's terms): make the calls,
read the images from the answers, poll the tasks a provider answers with (BFL's submit-and-poll) until each is
ready, and fetch the images given by URL.

The driver knows HTTP only; which calls to make, how to present the key and what an answer means are the mapping
module's. Calls of one request run concurrently (Stability and BFL make one image per call); the first failure
cancels the rest and is the request's answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io

import httpx
from PIL import Image

from simulator.context import DEFAULT_NAMESPACE, namespace
from simulator.engine.errors import ApiError, ProviderCall, ProviderCallsFailed, cut
from simulator.engine.request import GenerationRequest
from simulator.gateway.transport import Reach, UpstreamAnswer, UpstreamHttp, UpstreamImage, all_or_none
from simulator.http import GATEWAY_VIA
from simulator.namespace_path import NAMESPACE_HEADER
from simulator.providers.protocol import NativeCall, NativeImage, NativeTask, Upstream, said_anywhere, upstream_error
from spec import errors

# Every format an upstream may answer with is known from now on, and no plugin is read from disk on a request: see
# simulator/engine/encode.py's `Image.init()` for why.
Image.init()

POLL_RETRIES = 3
"""Poll failures in a row that a task outlives (see `_Driver._ready`)."""
PASSING_POLL_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers that say "not now" rather than "never": a limit, an overloaded or restarting upstream."""
MAX_POLL_WAIT_SECONDS = 5.0
"""The longest a poll waits on an upstream's Retry-After: the request's whole upstream budget is --upstream-timeout
(60 s by default), and a longer wait would spend it in one sleep."""

# httpx sends a form as multipart/form-data only when a file part is present; Stability's own examples add an
# empty part named "none" for the same reason, and the provider ignores it.
_MULTIPART_MARKER = {"none": ""}


async def call_upstream(
    upstream: Upstream, http: UpstreamHttp, base: str, key: str, request: GenerationRequest, calls: list[NativeCall]
) -> list[UpstreamImage]:
    """The request's images from the provider at `base`, made by `calls` (`upstream.native_calls(request)`, which the
    caller builds before admission: a request the provider's format cannot carry is refused at no cost); raises
    ApiError in Perf terms for any failure, as `ProviderCallsFailed` while the calls are made, telling what each got
    (see `Reach`), for the engine to judge whether the provider made anything."""
    driver = _Driver(upstream, http, base, key)
    reaches = [Reach() for _ in calls]
    try:
        answers = await all_or_none(driver.call(call, reach) for call, reach in zip(calls, reaches, strict=True))
    except ApiError as exc:
        # Read after all_or_none has cancelled the other calls, so none can get past connecting or be answered later.
        raise ProviderCallsFailed(exc, tuple(ProviderCall(reach.maybe, reach.status) for reach in reaches)) from None
    items = [item for answer in answers for item in answer]
    if len(items) != request.n:
        raise upstream_error(upstream.name, f"asked for {request.n} images, got {len(items)}", 200)
    images = await all_or_none(driver.image(item) for item in items)
    for image in images:
        _check_picture(upstream.name, image.data, request.size)
    return images


def _check_picture(provider: str, data: bytes, size: str) -> None:
    """Decision: a Perf image is a PNG of the requested size (README), and the gateway asks every provider for exactly
    that, so any other picture is the upstream's fault (502), not something to hand on as a PNG.

    Besides the header, every chunk is read and its checksum checked (`verify`), without decoding the pixels: a
    download cut short (a CDN or proxy ending a chunked transfer early) or corrupted is a PNG nobody can decode, and
    must not be served as a 200. This costs about 2 ms for a 3 MB 1024x1024 PNG of noise (the checksums over its
    bytes), 20 us for one of a flat colour, against about 40 ms to decode it. `verify` leaves the image unusable, which
    is fine here: only the bytes are kept."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind, (width, height) = picture.format, picture.size
            picture.verify()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise upstream_error(provider, "sent an image that cannot be read", 200) from None
    if kind != "PNG":
        raise upstream_error(provider, f"sent a {kind} image where a PNG was asked for", 200)
    if f"{width}x{height}" != size:
        raise upstream_error(provider, f"sent a {width}x{height} image for a {size} request", 200)


SHOWN_URL_CHARS = 150
"""The most of an image URL a download failure's message gives, so the host's own words fit after it."""


def _shown(url: str) -> str:
    """An image URL as a message gives it: without its query (a signed URL's signature, hundreds of characters that
    say nothing to a reader and grant the download), cut to SHOWN_URL_CHARS."""
    try:
        bare = str(httpx.URL(url).copy_with(query=None, fragment=None))
    except (httpx.InvalidURL, ValueError, TypeError):
        bare = url
    return cut(bare, SHOWN_URL_CHARS)


class _Driver:
    def __init__(self, upstream: Upstream, http: UpstreamHttp, base: str, key: str) -> None:
        self.upstream = upstream
        self.http = http
        self.base = base
        # On every call, the image downloads too (see docs/providers.md, gateway decisions); the key only on the
        # provider's API, not to the host of a signed image URL (a BFL sample is served from blob storage).
        self.marks = {"via": GATEWAY_VIA}
        if (name := namespace()) != DEFAULT_NAMESPACE:
            self.marks[NAMESPACE_HEADER.decode()] = name
        self.headers = {**upstream.credentials(key), **self.marks}

    async def call(self, call: NativeCall, reach: Reach) -> list[NativeImage | NativeTask]:
        """One generation call, `reach` noting how far it got (the later downloads and polls follow calls answered
        with a 2xx, so need not tell)."""
        headers = {**call.headers, **self.headers}
        url = self.base + call.path
        name = self.upstream.name
        if call.form is not None:
            answer = await self.http.send(name, call.method, url, reach=reach, headers=headers, data=call.form, files=_MULTIPART_MARKER)
        else:
            answer = await self.http.send(name, call.method, url, reach=reach, headers=headers, json=call.json)
        return list(self.upstream.images_from_native(answer.status_code, answer.headers, answer.content))

    async def image(self, item: NativeImage | NativeTask) -> UpstreamImage:
        """The image's bytes. A mapping passes the answer's fields on as the provider typed them, so their types are
        checked here, once for every provider: a number where a string belongs is an unreadable answer (502)."""
        image = await self._ready(item) if isinstance(item, NativeTask) else item
        if image.revised_prompt is not None and not isinstance(image.revised_prompt, str):
            raise upstream_error(self.upstream.name, "sent a revised prompt that is not a string", 200)
        if image.b64 is not None:
            try:
                return UpstreamImage(base64.b64decode(image.b64, validate=True), image.revised_prompt)
            except (binascii.Error, ValueError, TypeError):
                raise upstream_error(self.upstream.name, "sent an image that is not valid base64", 200) from None
        if not isinstance(image.url, str):
            raise upstream_error(self.upstream.name, "sent an image with neither bytes nor a URL", 200)
        fetched = await self.http.send(self.upstream.name, "GET", image.url, headers=self.marks)
        if fetched.status_code != 200:
            detail = f"the image at {_shown(image.url)} could not be fetched"
            said = said_anywhere(fetched.content)
            raise upstream_error(self.upstream.name, f"{detail}: {said}" if said else detail, fetched.status_code, fetched.headers)
        return UpstreamImage(fetched.content, image.revised_prompt)

    async def _ready(self, task: NativeTask) -> NativeImage:
        """Poll the task until the provider says it is ready (the gateway's overall timeout bounds the wait).

        Decision: a poll that fails for a passing reason (a 429, a 5xx, a connection refused or not made within the
        connect timeout) is tried again, up to POLL_RETRIES times in a row, after the wait it asks for (at most
        MAX_POLL_WAIT_SECONDS) or the poll interval: the task was submitted and charged, and one lost poll would
        otherwise throw the generation away, with a 429 telling the caller to pay for it again. Any other failure (a
        reset, no answer in time, an answer too large to read), or one more in a row, ends the request."""
        poll = self.upstream.poll_from_native
        if poll is None:
            raise upstream_error(self.upstream.name, "answered with a task to poll, which its mapping cannot read", 200)
        url = task.url or self.base + task.path
        headers = {"accept": "application/json", **self.headers}
        failures = 0
        while True:
            wait = self.upstream.poll_interval_seconds
            answer: UpstreamAnswer | None = None
            try:
                answer = await self.http.send(self.upstream.name, "GET", url, headers=headers)
                image = poll(answer.status_code, answer.headers, answer.content)
            except ApiError as exc:
                failures += 1
                refused = answer is None and exc.type == errors.SERVICE_UNAVAILABLE  # no connection: refused or timed out
                passing = refused or (answer is not None and answer.status_code in PASSING_POLL_STATUSES)
                if failures > POLL_RETRIES or not passing:
                    raise
                wait = max(wait, min(exc.retry_after or 0, MAX_POLL_WAIT_SECONDS))
            else:
                if image is not None:
                    return image
                failures = 0
            await asyncio.sleep(wait)
