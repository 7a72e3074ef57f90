"""The Stability AI face: POST /stability/v2beta/stable-image/generate/sd3, multipart in, image bytes or JSON out."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial

from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartException, MultiPartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError, cut
from simulator.engine.generate import Engine
from simulator.http import Endpoint, credential_header, read_body
from simulator.keys import KeyRegistry, bearer_token
from simulator.mounting import unknown_route_error
from simulator.providers.protocol import NativeInvalid
from simulator.providers.serving import NativeErrorAnswer, authenticate, send
from simulator.providers.stability import mapping
from spec.providers import stability as p

PREFIX = "/stability"
MALFORMED_ANSWER = b'{"image": "iVBORw0KGgoAAAANSUhEUgAA'
"""The start of a success answer (JSON, base64 image), cut short: what the `malformed` fault sends on this face to a
client that asked for JSON."""
MALFORMED_IMAGES = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\x00\x00\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01",
}
"""The start of an image of each output format, cut inside its first chunk (PNG's header, JPEG's JFIF segment): the
`malformed` fault's body for a client that asked for the image bytes (`malformed_image`)."""


async def _once(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw


class _WholeForm(MultiPartParser):
    """Starlette's multipart parser, refusing what it would misread: a text field that is not in the form's charset
    (UTF-8 unless it says), which Starlette reads as Latin-1, so the image and the content policy saw `cafÃ©`; and a
    form cut before its closing boundary, whose fields read so far Starlette keeps, so the answer blamed a missing
    prompt that was sent."""

    ended = False

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                bytes(part.data).decode(self._charset)
            except UnicodeDecodeError:
                raise MultiPartException(f"field {cut(part.field_name)!r} is not {self._charset} text") from None
        super().on_part_end()

    def on_end(self) -> None:
        self.ended = True

    async def parse(self) -> FormData:
        form = await super().parse()
        if not self.ended:
            await form.close()
            raise MultiPartException("it ends before its closing boundary")
        return form


class StabilityFace:
    def __init__(self, engine: Engine, keys: KeyRegistry) -> None:
        self.engine = engine
        self.keys = keys

    def routes(self) -> list[Route]:
        return [Route(mapping.PATH, Endpoint(self.generate), methods=["POST"])]

    async def form(self, request: Request) -> dict[str, object]:
        """The multipart form's fields, read within Stability's body limit (uploaded files stay as UploadFile)."""
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise NativeInvalid("content-type", f"content-type: must be multipart/form-data; got {content_type or 'none'!r}")
        if parse_options_header(content_type)[1].get(b"boundary") == b"":
            # Refused before parsing: a parser splitting on an empty boundary finds no fields in a well-framed body and
            # the answer blamed the prompt that was sent.
            raise NativeInvalid("content-type", "content-type: boundary must not be empty (RFC 2046)")
        raw = await read_body(request, p.STABILITY_MAX_BODY_BYTES)
        try:
            form = await _WholeForm(Headers(raw=request.headers.raw), _once(raw), max_part_size=p.STABILITY_MAX_BODY_BYTES).parse()
        except MultiPartException as exc:
            raise NativeInvalid(None, f"body: not a valid multipart form ({exc.message})") from None
        fields: dict[str, object] = dict(form.items())
        await form.close()
        return fields

    async def generate(self, request: Request) -> Response:
        try:
            key = bearer_token(credential_header(request, b"authorization", "Authorization"))
            tenant = authenticate(self.keys, key, mapping.MISSING_KEY_MESSAGE)
            native = mapping.request_from_native(await self.form(request), request.headers.get("accept"))
            result = await self.engine.generate(tenant, native.generation, face=mapping.PROVIDER)
        except ApiError as exc:
            return NativeErrorAnswer(partial(mapping.error_answer, exc))
        filtered = self.engine.output_flagged(native.generation)
        if native.as_json:
            [image_b64] = await self.engine.images_b64(result, native.output_format, blurred=filtered)
            return send(mapping.success_json(result, image_b64, native.output_format, filtered))
        [image] = await self.engine.images(result, native.output_format, blurred=filtered)
        return Response(image, headers=mapping.success_headers(result, native.output_format, filtered))


def malformed_image(headers: Headers) -> tuple[bytes, dict[str, str]] | None:
    """The `malformed` fault's answer to a request whose Accept asks for the image bytes (Stability's default, with
    Accept absent or `image/*`): an image cut short with the bytes' own headers, which is what the client's image
    code must survive; None (the JSON form) for one that asked for JSON, or whose Accept neither answer meets.

    Decision: the fault answers before the form is read, so its `output_format` is unknown: the image is a PNG (the
    default format), or a JPEG when Accept names `image/jpeg` and not PNG, as the answer to that form would be."""
    accept = headers.get("accept")
    for output_format in p.STABILITY_OUTPUT_FORMATS:
        try:
            as_json = mapping.wants_json(accept, output_format)
        except ApiError:  # Accept names another image type: the next format may be the one it names
            continue
        if not as_json:
            image_headers = {"content-type": f"image/{output_format}", "finish-reason": "SUCCESS", "seed": "0"}
            return MALFORMED_IMAGES[output_format], image_headers
    return None


def error_response(exc: ApiError) -> Response:
    return NativeErrorAnswer(partial(mapping.error_answer, exc))


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    return unknown_route_error(method, path.removeprefix(PREFIX) or "/", allowed)
