"""Plumbing the native provider faces share: reading a key, rendering a result's images, sending an answer."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from simulator.context import note_request_id
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, GenerationResult
from simulator.http import SafeJSONResponse
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.wire import error_ids
from simulator.providers.protocol import NativeAnswer
from simulator.urls import image_url
from spec import errors


def authenticate(keys: KeyRegistry, key: str | None, missing: str) -> Tenant:
    """The tenant of a native key (the engine applies the provider's limits).

    Decision: native faces share the Perf API's KeyRegistry, so pk_test_<tier>_* keys, the document's key and
    keys-file keys work on every face. A native-looking key (sk-..., an Ideogram key) is refused like any unknown
    key, so a client's 401 path can be exercised with any made-up key; add it to the keys file to accept it.
    """
    if key is None:
        raise ApiError(errors.AUTHENTICATION_ERROR, missing)
    return keys.authenticate_key(key)  # its refusal ends with KEY_HINT, as the Perf API's does


async def image_items(engine: Engine, result: GenerationResult, inline: bool, base: str) -> list[str]:
    """Each image of a result as base64 PNG (rendered now) or as its URL (rendered when fetched)."""
    if not inline:
        return [image_url(base, image.image_id) for image in result.images]
    return await engine.images_b64(result)


def send(answer: NativeAnswer) -> Response:
    return SafeJSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


NATIVE_ERROR_ID_CHARS = 32
"""The hex digits of a native error id (OpenAI's `req_<32 hex>`, Stability's bare 32)."""


class NativeErrorAnswer(SafeJSONResponse):
    """A native face's error answer whose id (header, and body where the provider repeats it) is drawn as it is sent
    from the simulator's error ids (simulator.perf.wire.ErrorIds), as the Perf face's are: a run repeats its error ids
    under the same seed and after a reset. It is built once with a stand-in id of the same length, so its status,
    headers and body are there for whatever reads them before it is sent (the journal's note, a Retry-After); the id
    drawn is noted for the request's journal entry as it is sent (`note_request_id`)."""

    def __init__(self, answer_with_id: Callable[[str], NativeAnswer]) -> None:
        self.answer_with_id = answer_with_id
        answer = answer_with_id("0" * NATIVE_ERROR_ID_CHARS)
        super().__init__(answer.body, status_code=answer.status, headers=answer.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.answer_with_id(error_ids(scope).next_hex(NATIVE_ERROR_ID_CHARS))
        self.body = self.render(answer.body)
        request_id = self.request_id = self.headers["x-request-id"] = answer.headers["x-request-id"]
        note_request_id(request_id)
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)
