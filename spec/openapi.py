"""The OpenAPI 3.1 document of the Perf API, generated from the spec's schemas and tables."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from spec import errors, tiers
from spec.models import IMAGE_URL_TTL_SECONDS, MODELS
from spec.schemas import error_schema, request_schema, response_schema

API_VERSION = "1.0.0"


def _component(schema: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(schema)
    body.pop("$schema", None)
    return body


REQUEST_ID_HEADER = {
    "x-request-id": {
        "schema": {"type": "string", "minLength": 1},
        "description": "the request's id: perf.request_id on a success; an error's own id (req_err_...) on an error",
    }
}


def _error_response(description: str, extra_headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**REQUEST_ID_HEADER, **(extra_headers or {})},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


RATE_HEADERS_SENT = (
    "the key's windows after this request: sent on every answer the API gives a request whose key it read and accepted (spec/tiers.py)"
)


def _rate_limit_headers() -> dict[str, Any]:
    return {name: {"schema": {"type": "integer", "minimum": 0}, "description": RATE_HEADERS_SENT} for name in tiers.RATE_LIMIT_HEADERS}


def _model_table() -> str:
    lines = ["| model | provider | sizes | max n |", "|---|---|---|---|"]
    lines += [f"| {m.name} | {m.provider_name} | {m.size_rule} | {m.max_n} |" for m in MODELS.values()]
    return "\n".join(lines)


@cache
def openapi_document() -> dict[str, Any]:
    rate_headers = _rate_limit_headers()
    should_retry = {
        "schema": {"enum": ["false"]},
        "description": "sent when no wait a client would sleep frees the window (the day window's, or any window on "
        "--clock manual): SDKs that read it (the openai SDKs) raise at once instead of sleeping",
    }
    retry_after = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}, "x-should-retry": should_retry, **rate_headers}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Perf Image Generation API",
            "version": API_VERSION,
            "description": "Generate images with DALL-E 3, Stable Diffusion 3, Flux, Ideogram and Imagen, in the "
            "OpenAI Images API format.\n\n" + _model_table(),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/v1/images/generations": {
                "post": {
                    "operationId": "createImage",
                    "summary": "Generate images from a prompt",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageGenerationRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Images generated",
                            "headers": {**REQUEST_ID_HEADER, **rate_headers},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageGenerationResponse"}}},
                        },
                        "400": _error_response("invalid_request or content_policy_violation", rate_headers),
                        "401": _error_response("Missing, malformed or unknown API key, or Authorization given twice with different values"),
                        "408": _error_response(errors.STALLED_BODY_ANSWER),
                        "413": _error_response(f"Body larger than {errors.MAX_BODY_BYTES} bytes", rate_headers),
                        "429": _error_response("rate_limit_exceeded, with retry_after", retry_after),
                        "502": _error_response("The upstream provider failed (gateway mode)", rate_headers),
                        "503": _error_response(
                            "The simulator's shared state is unreachable (then without rate-limit headers), or, in gateway "
                            "mode, the upstream provider is unreachable or answered 503",
                            rate_headers,
                        ),
                    },
                }
            },
            "/images/{image_file}": {
                "get": {
                    "operationId": "getImage",
                    "summary": f"Fetch a generated image (URLs expire {IMAGE_URL_TTL_SECONDS:,} s of simulator time after they are made)",
                    "security": [],
                    "parameters": [{"name": "image_file", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The PNG", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                        "404": _error_response("Unknown or expired image"),
                        "503": _error_response(
                            "service_unavailable: the simulator's shared state (Redis, with --state redis) is unreachable; "
                            "the fetch is safe to retry after Retry-After",
                            {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                        ),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ImageGenerationRequest": _component(request_schema()),
                "ImageGenerationResponse": _component(response_schema()),
                "Error": _component(error_schema()),
            },
        },
    }
