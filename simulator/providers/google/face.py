"""Google Imagen 3's native `:predict` API, Gemini Developer API and Vertex AI paths. Wire format only.

- Gemini:  POST /google/v1beta/models/{model}:predict           (`x-goog-api-key` header or `?key=`)
- Vertex:  POST /google/{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{model}:predict  (Bearer)
The `google-genai` SDK keeps a path in its base URL, so `base_url=".../google"` reaches both.
Errors use Google's RPC envelope `{"error": {"code", "message", "status", "details"?}}`.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, RateLimited
from simulator.http import SafeJSONResponse, parse_json, read_body
from simulator.keys import KeyRegistry, Tenant, bearer_token
from simulator.providers.google.mapping import ImagenCall, InvalidArgument, call_from_native
from spec import errors
from spec.providers import google

PREFIX = "/google"
VERTEX_VERSIONS = ("v1", "v1beta1")


def google_error(code: int, message: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": google.GOOGLE_STATUS.get(code, google.GOOGLE_STATUS_UNKNOWN)}
    if details:
        error["details"] = details
    return SafeJSONResponse({"error": error}, status_code=code, headers=headers)


def _error_info(reason: str) -> list[dict[str, Any]]:
    return [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]


class GoogleFace:
    def __init__(self, engine: Engine, keys: KeyRegistry) -> None:
        self.engine = engine
        self.keys = keys

    def routes(self) -> list[Route]:
        vertex = "/projects/{project}/locations/{location}/publishers/google/models/{model}:predict"
        return [
            Route("/v1beta/models/{model}:predict", self.gemini_predict, methods=["POST"]),
            *(Route(f"/{version}{vertex}", self.vertex_predict, methods=["POST"]) for version in VERTEX_VERSIONS),
        ]

    async def gemini_predict(self, request: Request) -> Response:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return google_error(403, google.GEMINI_MISSING_KEY_MESSAGE, _error_info("CONSUMER_INVALID"))
        try:
            tenant = self.keys.authenticate_key(key.strip())
        except ApiError:
            return google_error(400, google.GEMINI_INVALID_KEY_MESSAGE, _error_info("API_KEY_INVALID"))
        return await self.predict(request, tenant, "v1beta")

    async def vertex_predict(self, request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        try:
            if token is None:
                raise ApiError(errors.AUTHENTICATION_ERROR, "no bearer token")
            tenant = self.keys.authenticate_key(token)
        except ApiError:
            return google_error(401, google.VERTEX_UNAUTHENTICATED_MESSAGE, _error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED"))
        return await self.predict(request, tenant, request.url.path.split("/")[2])

    async def predict(self, request: Request, tenant: Tenant, version: str) -> Response:
        model_id = request.path_params["model"].removeprefix("models/")
        if model_id not in google.IMAGEN_MODELS:
            message = f"models/{model_id} is not found for API version {version}, or is not supported for predict."
            return google_error(404, message)
        try:
            call = call_from_native(model_id, parse_json(await read_body(request)))
        except InvalidArgument as exc:
            return google_error(400, str(exc))
        except ApiError as exc:
            status = 413 if exc.type == errors.PAYLOAD_TOO_LARGE else 400
            return google_error(status, f"Invalid JSON payload received. {exc.message}")
        return await self.generate(tenant, call)

    async def generate(self, tenant: Tenant, call: ImagenCall) -> Response:
        try:
            result = await self.engine.generate(self.keys.limits_on("google", tenant), call.request, bucket="google")
        except RateLimited as exc:
            retry = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{exc.retry_after}s"}]
            return google_error(429, google.IMAGEN_RATE_LIMIT_MESSAGE, retry, {"Retry-After": str(exc.retry_after)})
        except ApiError as exc:
            if exc.type == errors.CONTENT_POLICY_VIOLATION:
                return google_error(400, google.IMAGEN_PROMPT_BLOCKED_MESSAGE)
            return google_error(400, exc.message)
        if self.engine.output_flagged(call.request):
            predictions: list[dict[str, str]] = (
                [{"raiFilteredReason": google.IMAGEN_OUTPUT_FILTERED_MESSAGE}] if call.include_rai_reason else []
            )
        else:
            image_format = call.mime_type.removeprefix("image/")
            pngs = await asyncio.gather(*(self.engine.render(image.render_key) for image in result.images))
            encoded = await asyncio.gather(*(self.engine.encode(png, image_format) for png in pngs))
            predictions = [{"bytesBase64Encoded": base64.b64encode(data).decode("ascii"), "mimeType": call.mime_type} for data in encoded]
        # Google omits an empty repeated field: a request whose images were all filtered answers {}.
        return SafeJSONResponse({"predictions": predictions} if predictions else {})


def error_response(exc: ApiError) -> Response:
    """Any error in Google's RPC envelope; a rate limit also says how long to wait as a RetryInfo detail."""
    if exc.retry_after is not None:
        retry = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{exc.retry_after}s"}]
        return google_error(exc.status, exc.message, retry, {"Retry-After": str(exc.retry_after)})
    return google_error(exc.status, exc.message)


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    """Google's front end answers an unknown path, and a wrong method on a known one, with a 404."""
    return ApiError(errors.NOT_FOUND, f"The requested URL {path} was not found on this server.")
