"""Validation of a Perf API request body against the spec, with one clear message per broken rule.

The checks mirror `spec.schemas.request_schema()` rule for rule (tests hold the two in agreement); they are
written out by hand because a compiled schema cannot say which parameter broke, and this runs on every request.
Checks run in a fixed order (unknown fields, prompt, model, n, size, quality, style, response_format) and the
first failure is reported.
"""

from __future__ import annotations

from typing import Any

from simulator.engine.errors import invalid, quoted
from simulator.engine.jsontypes import json_integer, json_type
from simulator.engine.request import GenerationRequest
from spec.models import (
    DEFAULT_MODEL,
    DEFAULT_N,
    DEFAULT_QUALITY,
    DEFAULT_RESPONSE_FORMAT,
    DEFAULT_SIZE,
    DEFAULT_STYLE,
    MODELS,
    RESPONSE_FORMATS,
    is_blank,
)
from spec.schemas import KNOWN_REQUEST_FIELDS

_KNOWN = frozenset(KNOWN_REQUEST_FIELDS)


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string, got {json_type(value)}")
    return value


def _string_or_default(body: dict[str, Any], name: str, default: str) -> str:
    value = _optional_string(body, name)
    return default if value is None else value


def _choice(value: str, allowed: tuple[str, ...], name: str, model: str | None = None) -> str:
    if value in allowed:
        return value
    where = f" for model {model}" if model else ""
    raise invalid(name, f"{name} {quoted(value)} is not supported{where}; expected one of: {', '.join(allowed)}")


def validate_perf_request(body: Any) -> GenerationRequest:
    if not isinstance(body, dict):
        raise invalid(None, f"request body must be a JSON object, got {json_type(body)}")
    for name in body:
        if name not in _KNOWN:
            raise invalid(name, f"unknown parameter {quoted(name)}; allowed: {', '.join(KNOWN_REQUEST_FIELDS)}")

    if "prompt" not in body or body["prompt"] is None:
        raise invalid("prompt", "prompt is required")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise invalid("prompt", f"prompt must be a string, got {json_type(prompt)}")
    if is_blank(prompt):
        raise invalid("prompt", "prompt must not be empty")

    model_name = _string_or_default(body, "model", DEFAULT_MODEL)
    if model_name not in MODELS:
        raise invalid("model", f"model {quoted(model_name)} does not exist; available models: {', '.join(MODELS)}")
    model = MODELS[model_name]
    if len(prompt) > model.max_prompt_chars:
        raise invalid(
            "prompt",
            f"prompt is {len(prompt)} characters; {model_name} takes at most {model.max_prompt_chars}",
        )

    given_n = body.get("n")
    n = DEFAULT_N if given_n is None else json_integer(given_n)
    if n is None:
        raise invalid("n", f"n must be an integer, got {json_type(given_n)} {quoted(given_n)}")
    if not 1 <= n <= model.max_n:
        raise invalid("n", f"n for model {model_name} must be {model.valid_n}; got {quoted(n)}")

    size = _string_or_default(body, "size", DEFAULT_SIZE)
    if not model.accepts_size(size):
        raise invalid("size", f"size {quoted(size)} is not supported for model {model_name}; it takes {model.valid_sizes}")

    quality = _choice(_string_or_default(body, "quality", DEFAULT_QUALITY), model.qualities, "quality", model_name)

    style = _optional_string(body, "style")
    if model.styles:
        style = _choice(DEFAULT_STYLE if style is None else style, model.styles, "style", model_name)
    elif style is not None:
        raise invalid("style", f"style is not supported for model {model_name} (dall-e-3 only)")

    response_format = _choice(_string_or_default(body, "response_format", DEFAULT_RESPONSE_FORMAT), RESPONSE_FORMATS, "response_format")
    _optional_string(body, "user")
    return GenerationRequest(prompt, model_name, n, size, quality, style, response_format)
