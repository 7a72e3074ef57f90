"""Validation of a Perf API request body against the spec, with one clear message per broken rule.

The checks mirror `spec.schemas.request_schema()` rule for rule (tests hold the two in agreement); they are
written out by hand because a compiled schema cannot say which parameter broke, and this runs on every request.
Checks run in a fixed order (unknown fields, prompt, model, then the options n, size, quality, style and
response_format, whose rules `simulator.engine.options` holds for the OpenAI face too) and the first failure is
reported.
"""

from __future__ import annotations

from typing import Any

from simulator.engine.errors import ApiError, invalid, param_name, quoted
from simulator.engine.jsontypes import json_integer, json_type
from simulator.engine.options import OptionError, request_with_options
from simulator.engine.request import GenerationRequest
from spec.models import DEFAULT_MODEL, MODELS, is_blank
from spec.schemas import KNOWN_REQUEST_FIELDS

_KNOWN = frozenset(KNOWN_REQUEST_FIELDS)


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string, got {json_type(value)}")
    return value


def _optional_integer(body: dict[str, Any]) -> int | None:
    """n, which may be written as a float with an integral value (2.0), as JSON Schema's integer allows."""
    n = body.get("n")
    if n is None:
        return None
    whole = json_integer(n)
    if whole is None:
        raise invalid("n", f"n must be an integer, got {json_type(n)} {quoted(n)}")
    return whole


def _worded(exc: OptionError) -> ApiError:
    """A broken option rule in the Perf API's words."""
    model, param, value = exc.model, exc.param, exc.value
    if exc.problem == "not_for_model":
        return invalid(param, f"{param} is not supported for model {model.name} ({', '.join(map(str, exc.allowed))} only)")
    if param == "n":
        return invalid(param, f"n for model {model.name} must be {model.valid_n}; got {quoted(value)}")
    if param == "size":
        return invalid(param, f"size {quoted(value)} is not supported for model {model.name}; it takes {model.valid_sizes}")
    where = "" if param == "response_format" else f" for model {model.name}"  # the same two formats for every model
    return invalid(param, f"{param} {quoted(value)} is not supported{where}; expected one of: {', '.join(map(str, exc.allowed))}")


def validate_perf_request(body: Any) -> GenerationRequest:
    if not isinstance(body, dict):
        raise invalid(None, f"request body must be a JSON object, got {json_type(body)}")
    for name in body:
        if name not in _KNOWN:
            raise invalid(param_name(name), f"unknown parameter {quoted(name)}; allowed: {', '.join(KNOWN_REQUEST_FIELDS)}")

    if "prompt" not in body or body["prompt"] is None:
        raise invalid("prompt", "prompt is required")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise invalid("prompt", f"prompt must be a string, got {json_type(prompt)}")
    if is_blank(prompt):
        raise invalid("prompt", "prompt must not be empty")

    model_name = _optional_string(body, "model")
    if model_name is None:
        model_name = DEFAULT_MODEL
    if model_name not in MODELS:
        raise invalid("model", f"model {quoted(model_name)} does not exist; available models: {', '.join(MODELS)}")
    model = MODELS[model_name]
    if len(prompt) > model.max_prompt_chars:
        raise invalid(
            "prompt",
            f"prompt is {len(prompt)} characters; {model_name} takes at most {model.max_prompt_chars}",
        )

    try:
        request = request_with_options(prompt, model, body, _optional_string, _optional_integer)
    except OptionError as exc:
        raise _worded(exc) from None
    _optional_string(body, "user")
    return request
