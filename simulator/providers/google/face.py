"""Google Imagen 3's native `:predict` API, Gemini Developer API and Vertex AI paths. Wire format only.

- Gemini:  POST /google/v1beta/models/{model}:predict           (`x-goog-api-key` header or `?key=`);
  its :generateContent and :streamGenerateContent answer every model with Google's 404 for a model that does not
  serve it
- Vertex:  POST /google/{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{model}:predict  (Bearer)
- Vertex express mode: POST /google/{v1|v1beta1}/publishers/google/models/{model}:predict  (`x-goog-api-key`, as
  `genai.Client(vertexai=True, api_key=...)` sends it)
The `google-genai` SDK keeps a path in its base URL, so `base_url=".../google"` reaches both.
Errors use Google's RPC envelope (`mapping.error_answer`).
"""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError, cut
from simulator.engine.generate import CountNeverAdmitted, Engine
from simulator.http import Endpoint, credential_header, parse_json, read_body
from simulator.keys import KeyRegistry, Tenant, bearer_token
from simulator.providers.google import mapping
from simulator.providers.google.mapping import RpcError
from simulator.providers.protocol import NativeInvalid
from simulator.providers.serving import send
from spec import errors
from spec.providers import google

PREFIX = "/google"
API_KEY_HEADER = "x-goog-api-key"
API_KEY_HEADER_KEY = API_KEY_HEADER.encode("latin-1")
API_KEY_QUERY = "key"
MALFORMED_ANSWER = b'{"predictions": [{"mimeType": "image/png", "bytesBase64Encoded": "iVBORw0KGgoAAAANSUhEUgAA'
"""The start of a success answer, cut short: what the control plane's `malformed` fault sends on this face."""
VERTEX_VERSIONS = ("v1", "v1beta1")


class GoogleFace:
    def __init__(self, engine: Engine, keys: KeyRegistry) -> None:
        self.engine = engine
        self.keys = keys

    def routes(self) -> list[Route]:
        vertex = "/projects/{project}/locations/{location}/publishers/google/models/{model}:predict"
        express = "/publishers/google/models/{model}:predict"
        return [
            Route("/v1beta/models/{model}:predict", Endpoint(self.api_key_predict), methods=["POST"]),
            *(
                Route(f"/v1beta/models/{{model}}:{method}", Endpoint(partial(self.generate_content, named)), methods=["POST"])
                for method, named in google.GEMINI_CONTENT_METHODS.items()
            ),
            *(Route(f"/{version}{vertex}", Endpoint(self.vertex_predict), methods=["POST"]) for version in VERTEX_VERSIONS),
            *(Route(f"/{version}{express}", Endpoint(self.api_key_predict), methods=["POST"]) for version in VERTEX_VERSIONS),
        ]

    def _api_key_tenant(self, request: Request) -> Tenant:
        """The Gemini API and Vertex express mode: an API key, in `x-goog-api-key` or `?key=` (`given_api_key`); a
        key given twice differently in either place is a 401 (`credential_header`, and the same rule for the query).
        The header, when it holds a key, is the one read, whatever the query says (given_api_key)."""
        header = credential_header(request, API_KEY_HEADER_KEY, API_KEY_HEADER)
        query = request.scope["query_string"].decode("latin-1")
        if not header:
            different = dict.fromkeys(query_keys(query))
            if len(different) > 1:
                raise RpcError(401, f"{API_KEY_QUERY} given {len(different)} different values in the query; send one")
        key = given_api_key(header, query)
        if not key:
            raise RpcError(403, google.GEMINI_MISSING_KEY_MESSAGE, "CONSUMER_INVALID")
        try:
            return self.keys.authenticate_key(key.strip())
        except ApiError:
            raise RpcError(400, google.GEMINI_INVALID_KEY_MESSAGE, "API_KEY_INVALID") from None

    async def api_key_predict(self, request: Request) -> Response:
        try:
            tenant = self._api_key_tenant(request)
            return await self.predict(request, tenant, request.url.path.split("/")[2])
        except ApiError as exc:
            return error_response(exc)

    async def generate_content(self, method: str, request: Request) -> Response:
        """No model here serves generateContent or streamGenerateContent (Imagen answers :predict only), so a
        google-genai `generate_content` or `generate_content_stream` call naming an Imagen model meets Google's
        model-specific 404 naming that method (`method`, as Google's message names it), after the key is checked, as
        the Gemini API answers it (not the front end's bare "URL not found" of a path it does not know)."""
        try:
            self._api_key_tenant(request)
            raise _model_not_found(request.path_params["model"], "v1beta", method)
        except ApiError as exc:
            return error_response(exc)

    async def vertex_predict(self, request: Request) -> Response:
        try:
            authorization = credential_header(request, b"authorization", "Authorization")
            if authorization is None:
                raise RpcError(401, google.VERTEX_MISSING_CREDENTIALS_MESSAGE, "CREDENTIALS_MISSING")
            token = bearer_token(authorization)
            try:
                tenant = self.keys.authenticate_key(token or "")
            except ApiError:
                raise RpcError(401, google.VERTEX_UNAUTHENTICATED_MESSAGE, "ACCESS_TOKEN_TYPE_UNSUPPORTED") from None
            return await self.predict(request, tenant, request.url.path.split("/")[2])
        except ApiError as exc:
            return error_response(exc)

    async def predict(self, request: Request, tenant: Tenant, version: str) -> Response:
        model_id = request.path_params["model"].removeprefix("models/")
        if model_id not in google.IMAGEN_MODELS:
            raise _model_not_found(model_id, version, "predict")
        try:
            body = parse_json(await read_body(request), huge_numbers_as_sent=True, request=request)
        except ApiError as exc:
            if exc.type == errors.PAYLOAD_TOO_LARGE:
                raise RpcError(400, google.PAYLOAD_TOO_LARGE_MESSAGE.format(limit=errors.MAX_BODY_BYTES)) from None
            raise NativeInvalid(None, f"Invalid JSON payload received. {exc.message}") from None
        native = mapping.request_from_native(model_id, body, vertex=version in VERTEX_VERSIONS)
        try:
            result = await self.engine.generate(tenant, native.generation, face=mapping.PROVIDER)
        except CountNeverAdmitted as exc:
            raise mapping.count_refusal(exc, native) from None
        flagged = self.engine.output_flagged(native.generation)
        encoded = [] if flagged else await self.engine.images_b64(result, native.mime_type.removeprefix("image/"))
        return send(mapping.success_answer(encoded, native, flagged))


def given_api_key(header: str | None, query: str) -> str | None:
    """The API key a Gemini or Vertex express request gives, as sent (the caller strips it): its `x-goog-api-key`
    header, else the query's first `key`, decoded as Starlette decodes a query (`?%6Bey=` names it too; an empty one
    is none). Read here for the face and its journal view alike (journal_view.py), so both read one key.

    Decision: a key repeated (with the same value: two different ones are the face's 401) is read from its first
    occurrence, in the query as in a header on every face (docs/providers.md, Keys); Starlette's `query_params.get`
    would take the last."""
    return header or next(iter(query_keys(query)), None)


def query_keys(query: str) -> list[str]:
    """Every `key` of a query, in the order given."""
    return [value for name, value in parse_qsl(query, keep_blank_values=True) if name == API_KEY_QUERY]


def _model_not_found(model_id: str, version: str, method: str) -> RpcError:
    return RpcError(404, google.MODEL_NOT_FOUND_MESSAGE.format(model=cut(model_id), version=version, method=method))


def error_response(exc: ApiError) -> Response:
    return send(mapping.error_answer(exc))


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    """Google's front end answers an unknown path, and a wrong method on a known one, with a 404 quoting the path as
    its client built it from the base URL: without the simulator's mount prefix, as the other faces name theirs. The
    bare prefix is named as sent (`/google`, not `/`): a client that took the face's base URL for its whole URL
    (LiteLLM's `vertex_ai/` given `api_base=".../google"`) is shown the path it called."""
    return ApiError(errors.NOT_FOUND, f"The requested URL {path.removeprefix(PREFIX) or path} was not found on this server.")
