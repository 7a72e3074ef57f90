"""JSON Schemas (draft 2020-12) of the request, the success response and the error envelope.

They are generated from the model table, so a per-model rule (sizes, n, quality, style, prompt length) is
written once, in `spec.models`, and the schemas, the simulator's validator and the contract suite all agree.

Decisions encoded here:
- Unknown request fields are rejected, except OpenAI's `user` (accepted and ignored), because the API
  "follows the OpenAI Images API format" and OpenAI clients send it.
- An optional field sent as JSON null means "use the default".
- `n` is a JSON Schema integer: 2.0 counts as 2, true does not.
- A field named twice in one object is read as its last value, as Python's json module and most JSON readers
  do (RFC 8259 leaves it to the receiver). The control API refuses it instead
  (simulator.http), since a second `action` there would silently drop the first.
- A prompt must contain a non-whitespace character.
- For models other than dall-e-3, `quality` may only be "standard" (what every model does) and `style` must be
  absent or null; `perf.quality` then reports "standard".
- Every returned image carries `revised_prompt`: dall-e-3's rewrite, or the prompt as used for other models.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from spec import errors
from spec.models import (
    DEFAULT_MODEL,
    DEFAULT_N,
    DEFAULT_QUALITY,
    DEFAULT_RESPONSE_FORMAT,
    DEFAULT_SIZE,
    DEFAULT_STYLE,
    FLUX_DIMENSIONS,
    FLUX_SIZES,
    MAX_PROMPT_CHARS,
    MODELS,
    NON_BLANK_PATTERN,
    QUALITIES,
    RESPONSE_FORMATS,
    STYLES,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
KNOWN_REQUEST_FIELDS = ("prompt", "model", "n", "size", "quality", "style", "response_format", "user")


def _nullable_enum(values: tuple[str, ...]) -> dict[str, Any]:
    return {"enum": [*values, None]}


def _size_schema(sizes: tuple[str, ...]) -> dict[str, Any]:
    if sizes == FLUX_SIZES:
        dims = "|".join(str(d) for d in FLUX_DIMENSIONS)
        return {"type": ["string", "null"], "pattern": f"^({dims})x({dims})$"}
    return _nullable_enum(sizes)


def _model_rules(name: str) -> dict[str, Any]:
    model = MODELS[name]
    # The default model's rules also apply when `model` is absent or null; another model's only when named.
    applies: dict[str, Any] = {"properties": {"model": {"enum": [name, None]}}}
    if name != DEFAULT_MODEL:
        applies = {"required": ["model"], "properties": {"model": {"const": name}}}
    then: dict[str, Any] = {
        "properties": {
            "prompt": {"maxLength": model.max_prompt_chars},
            "n": {"maximum": model.max_n},
            "size": _size_schema(model.sizes),
            "quality": _nullable_enum(model.qualities),
            "style": _nullable_enum(model.styles) if model.styles else {"type": "null"},
        }
    }
    return {"if": applies, "then": then}


@cache
def request_schema() -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "title": "ImageGenerationRequest",
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            "prompt": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_PROMPT_CHARS,
                "pattern": NON_BLANK_PATTERN,
                "description": "A text description of the desired image.",
            },
            "model": {**_nullable_enum(tuple(MODELS)), "default": DEFAULT_MODEL},
            "n": {"type": ["integer", "null"], "minimum": 1, "maximum": max(m.max_n for m in MODELS.values()), "default": DEFAULT_N},
            "size": {"type": ["string", "null"], "default": DEFAULT_SIZE},
            "quality": {**_nullable_enum(QUALITIES), "default": DEFAULT_QUALITY},
            "style": {**_nullable_enum(STYLES), "default": DEFAULT_STYLE},
            "response_format": {**_nullable_enum(RESPONSE_FORMATS), "default": DEFAULT_RESPONSE_FORMAT},
            "user": {"type": ["string", "null"], "description": "Accepted for OpenAI compatibility and ignored."},
        },
        "allOf": [_model_rules(name) for name in MODELS],
    }


@cache
def response_schema() -> dict[str, Any]:
    image = {
        "type": "object",
        "required": ["revised_prompt"],
        "properties": {
            "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
            "b64_json": {"type": "string", "minLength": 1, "contentEncoding": "base64", "contentMediaType": "image/png"},
            "revised_prompt": {"type": "string", "minLength": 1},
        },
        "oneOf": [{"required": ["url"]}, {"required": ["b64_json"]}],
    }
    perf = {
        "type": "object",
        "required": ["request_id", "model_used", "size", "quality", "cost_usd", "latency_ms"],
        "properties": {
            # Decision: as the document types them. Its example id is `req_img_abc123`; its `created` and
            # `latency_ms` are numbers. The simulator sends `req_img_` and 24 hex digits, and whole numbers, which an
            # implementation need not.
            "request_id": {"type": "string", "minLength": 1},
            "model_used": {"enum": list(MODELS)},
            "size": {"type": "string", "pattern": r"^[1-9][0-9]*x[1-9][0-9]*$"},
            "quality": {"enum": list(QUALITIES)},
            "cost_usd": {"type": "number", "exclusiveMinimum": 0},
            "latency_ms": {"type": "number", "minimum": 0},
        },
    }
    return {
        "$schema": DIALECT,
        "title": "ImageGenerationResponse",
        "type": "object",
        "required": ["created", "data", "perf"],
        "properties": {
            "created": {"type": "number", "minimum": 0},
            "data": {"type": "array", "minItems": 1, "maxItems": max(m.max_n for m in MODELS.values()), "items": image},
            "perf": perf,
        },
    }


@cache
def error_schema() -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "title": "Error",
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {
                    "type": {"enum": list(errors.STATUS)},
                    "message": {"type": "string", "minLength": 1},
                    "param": {"type": ["string", "null"]},
                    # Decision (spec/tiers.py): whole seconds, at least 1. The document shows one example, 60, and
                    # types none of the error's fields: a number of seconds to wait is its, a whole one ours.
                    "retry_after": {"type": "integer", "minimum": 1},
                },
                # `required` in the `if`: without it an error object lacking `type` matched it vacuously, and was told
                # it lacked retry_after, a field only a 429's has.
                "if": {"required": ["type"], "properties": {"type": {"const": errors.RATE_LIMIT_EXCEEDED}}},
                "then": {"required": ["retry_after"]},
            }
        },
    }
