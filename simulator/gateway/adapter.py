"""The gateway's call for every provider whose mapping speaks `NativeCall` in and `NativeImage` out (OpenAI,
Stability, Ideogram): make the mapping's calls, read the images from the answers, fetch the ones given by URL.

The adapter knows HTTP only; which calls to make, how to present the key and what an answer means are the mapping
module's. Calls of one request run concurrently (Stability makes one image per call); the first failure cancels the
rest and is the request's answer.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from simulator.engine.request import GenerationRequest
from simulator.gateway.transport import UpstreamHttp, UpstreamImage, all_or_none
from simulator.providers.protocol import NativeCall, NativeImage, upstream_error

# httpx sends a form as multipart/form-data only when a file part is present; Stability's own examples add an
# empty part named "none" for the same reason, and the provider ignores it.
_MULTIPART_MARKER = {"none": ""}


@dataclass(frozen=True)
class NativeProvider:
    name: str
    calls: Callable[[GenerationRequest], list[NativeCall]]
    credentials: Callable[[str], dict[str, str]]
    images: Callable[[int, Mapping[str, str], bytes], list[NativeImage]]

    async def generate(self, http: UpstreamHttp, base: str, key: str, request: GenerationRequest) -> list[UpstreamImage]:
        answers = await all_or_none(self._call(http, base, key, call) for call in self.calls(request))
        images = [image for answer in answers for image in answer]
        if len(images) != request.n:
            raise upstream_error(self.name, 200, f"asked for {request.n} images, got {len(images)}")
        return await all_or_none(self._bytes(http, image) for image in images)

    async def _call(self, http: UpstreamHttp, base: str, key: str, call: NativeCall) -> list[NativeImage]:
        headers = {**call.headers, **self.credentials(key)}
        if call.form is not None:
            answer = await http.send(self.name, call.method, base + call.path, headers=headers, data=call.form, files=_MULTIPART_MARKER)
        else:
            answer = await http.send(self.name, call.method, base + call.path, headers=headers, json=call.json)
        return self.images(answer.status_code, answer.headers, answer.content)

    async def _bytes(self, http: UpstreamHttp, image: NativeImage) -> UpstreamImage:
        if image.b64 is not None:
            try:
                return UpstreamImage(base64.b64decode(image.b64, validate=True), image.revised_prompt)
            except (binascii.Error, ValueError):
                raise upstream_error(self.name, 200, "sent an image that is not valid base64") from None
        if image.url is None:
            raise upstream_error(self.name, 200, "sent an image with neither bytes nor a URL")
        fetched: httpx.Response = await http.send(self.name, "GET", image.url)
        if fetched.status_code != 200:
            raise upstream_error(self.name, fetched.status_code, f"the image at {image.url} could not be fetched")
        return UpstreamImage(fetched.content, image.revised_prompt)
