"""Google Imagen 3's `:predict` <-> engine, in both directions, on the mapping protocol (`providers.protocol`).

Face direction: `request_from_native` (`{"instances": [{"prompt"}], "parameters": {...}}` -> `ImagenRequest`, or
`NativeInvalid`), `success_answer`, `error_answer` (Google's RPC envelope `{"error": {"code", "message", "status",
"details"?}}`).
Gateway direction (`UPSTREAM`): `native_calls` (one Gemini `:predict` for all the images), `credentials`,
`images_from_native`, `error_from_native`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.engine.errors import ApiError, cut
from simulator.engine.generate import CountNeverAdmitted, RateLimited
from simulator.engine.jsontypes import as_sent, json_integer
from simulator.engine.request import GenerationRequest
from simulator.providers.protocol import (
    NativeAnswer,
    NativeCall,
    NativeImage,
    NativeInvalid,
    Upstream,
    body_text,
    header_waits,
    json_or_none,
    native_message,
    native_status,
    said_text,
    upstream_error,
    upstream_rate_limited,
    wait_seconds,
)
from spec import errors
from spec.models import IMAGEN_ASPECT_SIZES, MODELS, is_blank
from spec.providers import google

PROVIDER = "google"


class RpcError(ApiError):
    """An error Google answers with a status of its own and, for auth, the reason in an ErrorInfo detail."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(errors.AUTHENTICATION_ERROR if status in (401, 403) else errors.INVALID_REQUEST, message, status=status)
        self.reason = reason


class UnknownNames(NativeInvalid):
    """Names at a predict body's top level that Google's parse does not know: its 400 INVALID_ARGUMENT, each name's
    message on a line of its own and again in a google.rpc.BadRequest field violation."""

    def __init__(self, names: list[str]) -> None:
        self.violations = [{"description": google.IMAGEN_UNKNOWN_NAME_MESSAGE.format(name=cut(name))} for name in names]
        super().__init__(None, "\n".join(violation["description"] for violation in self.violations))


@dataclass(frozen=True)
class ImagenRequest:
    """A native predict call: the engine's request plus what only the wire needs."""

    generation: GenerationRequest
    mime_type: str
    include_rai_reason: bool
    sample_count_set: bool
    """Whether the body set `parameters.sampleCount`: unset, the count is Google's default
    (`IMAGEN_DEFAULT_SAMPLE_COUNT`), which a refusal then says."""


def _given(fields: dict[str, Any], name: str, default: Any) -> Any:
    """A field's value, its default when absent or null.

    Decision: proto3 JSON, which Google's REST APIs speak, reads null as the field left unset, as the other faces take
    null for an optional field: `"aspectRatio": null` is 1:1, not an error (it was a 500)."""
    value = fields.get(name)
    return default if value is None else value


def _as_sent(value: object) -> str:
    """A JSON value as its client wrote it (`true`, `"abc"`, `null`, `[1e400]`), not as Python shows it (`True`,
    `'abc'`, `[inf]`): the client speaks JSON, and a message saying `got True` names a value nobody sent (the face
    parses with `huge_numbers_as_sent`, so a number beyond a double's range keeps its text at any depth)."""
    return cut(as_sent(value))


def _choice(fields: dict[str, Any], name: str, allowed: tuple[str, ...] | list[str], default: str, where: str = "parameters") -> str:
    value = _given(fields, name, default)
    if value not in allowed:
        raise NativeInvalid(name, f"Invalid value for {where}.{name}: {_as_sent(value)}. Supported values: {', '.join(allowed)}.")
    return str(value)


def _enum_choice(parameters: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    """Check a safety enum given as Google's REST docs write it (`allow_adult`) or as its enum name
    (`ALLOW_ADULT`), which is what the official google-genai client sends, whatever case its caller used."""
    value = parameters.get(name)
    if value is not None and (not isinstance(value, str) or value.lower() not in allowed):
        raise NativeInvalid(name, f"Invalid value for parameters.{name}: {_as_sent(value)}. Supported values: {', '.join(allowed)}.")


def _refuse_unknown_names(body: dict[str, Any], vertex: bool) -> None:
    """Every name at the body's top level that Google's parse would not know, refused at once; names inside
    `instances[0]`, `parameters` and `outputOptions` are free-form, as on Google (spec.providers.google, beside
    IMAGEN_UNKNOWN_NAME_MESSAGE)."""
    known = google.VERTEX_REQUEST_FIELDS if vertex else google.IMAGEN_REQUEST_FIELDS
    unknown = [name for name in body if name not in known]
    if unknown:
        raise UnknownNames(unknown)


def _whole(fields: dict[str, Any], name: str, bounds: tuple[int, int], where: str = "parameters") -> int | None:
    """An integer parameter within `bounds`, None when absent or null."""
    value = fields.get(name)
    if value is None:
        return None
    whole, (lo, hi) = json_integer(value), bounds
    if whole is None or not lo <= whole <= hi:
        raise NativeInvalid(None, f"{where}.{name} must be an integer from {lo} to {hi}, got {_as_sent(value)}.")
    return whole


def _check_types(parameters: dict[str, Any], options: dict[str, Any]) -> None:
    """The documented parameters that change nothing here still have their types checked, as Imagen checks them: a
    `"seed": "abc"` or `"addWatermark": "maybe"` accepted here would fail in production."""
    for name in google.IMAGEN_BOOLEAN_PARAMETERS:
        value = parameters.get(name)
        if value is not None and not isinstance(value, bool):
            raise NativeInvalid(None, f"parameters.{name} must be a boolean, got {_as_sent(value)}.")
    for name in google.IMAGEN_STRING_PARAMETERS:
        value = parameters.get(name)
        if value is not None and not isinstance(value, str):
            raise NativeInvalid(None, f"parameters.{name} must be a string, got {_as_sent(value)}.")
    _whole(options, "compressionQuality", google.IMAGEN_COMPRESSION_QUALITY, "parameters.outputOptions")


def request_from_native(model_id: str, body: Any, vertex: bool = False) -> ImagenRequest:
    """A predict body for `model_id` (already known to be an Imagen 3 id) as the engine's request; `vertex`: it came
    by a Vertex path (express mode included), whose PredictRequest also takes `labels`.

    Top-level names Google's parse does not know are refused first, as its front end refuses them before anything
    runs; unknown names inside `instances[0]` and `parameters` are ignored, as Google ignores them. The documented
    parameters that do not change the picture here (personGeneration, safetySetting, language, addWatermark,
    enhancePrompt, compressionQuality, ...) are checked for their types or values, then ignored; `seed` picks the
    images (spec.providers.google, beside IMAGEN_SEED).
    """
    model = MODELS[google.IMAGEN_MODELS[model_id]]
    if not isinstance(body, dict):
        raise NativeInvalid(None, "Invalid JSON payload received. Expected an object with 'instances' and 'parameters'.")
    _refuse_unknown_names(body, vertex)
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise NativeInvalid(None, "instances must be a list holding exactly one instance object with a prompt.")
    prompt = instances[0].get("prompt")
    if not isinstance(prompt, str) or is_blank(prompt):
        raise NativeInvalid(None, "instances[0].prompt is required and must be a non-empty string.")
    if len(prompt) > model.max_prompt_chars:
        raise NativeInvalid(None, f"The prompt is too long: {len(prompt)} characters; at most {model.max_prompt_chars} are accepted.")
    labels = _given(body, "labels", {})
    if not isinstance(labels, dict) or not all(isinstance(value, str) for value in labels.values()):
        raise NativeInvalid(None, f"labels must be an object whose values are strings, got {_as_sent(labels)}.")
    parameters = _given(body, "parameters", {})
    if not isinstance(parameters, dict):
        raise NativeInvalid(None, "parameters must be an object.")

    sample_count = _whole(parameters, "sampleCount", google.IMAGEN_SAMPLE_COUNT)
    aspect = _choice(parameters, "aspectRatio", list(IMAGEN_ASPECT_SIZES), google.IMAGEN_DEFAULT_ASPECT_RATIO)
    _enum_choice(parameters, "personGeneration", google.IMAGEN_PERSON_GENERATION)
    _enum_choice(parameters, "safetySetting", google.IMAGEN_SAFETY_SETTINGS)
    options = _given(parameters, "outputOptions", {})
    if not isinstance(options, dict):
        raise NativeInvalid(None, "parameters.outputOptions must be an object.")
    mime_type = _choice(options, "mimeType", google.IMAGEN_MIME_TYPES, google.IMAGEN_DEFAULT_MIME_TYPE, "parameters.outputOptions")
    _check_types(parameters, options)
    seed = _whole(parameters, "seed", google.IMAGEN_SEED)
    n = google.IMAGEN_DEFAULT_SAMPLE_COUNT if sample_count is None else sample_count
    request = GenerationRequest(prompt, model.name, n, IMAGEN_ASPECT_SIZES[aspect], "standard", None, "b64_json", first_index=seed or 0)
    include_reason = bool(parameters.get("includeRaiReason"))
    return ImagenRequest(request, mime_type, include_reason, sample_count is not None)


def count_refusal(exc: CountNeverAdmitted, native: ImagenRequest) -> NativeInvalid:
    """The engine's refusal of a count no window fits, naming `parameters.sampleCount` as the face's other refusals
    do, and saying when the count is the default, which a client that never set it cannot guess."""
    default = "" if native.sample_count_set else " (its default, as it was not set)"
    return NativeInvalid(None, exc.naming(f"parameters.sampleCount of {exc.n}{default}") + ".")


def success_answer(encoded: list[str], native: ImagenRequest, flagged: bool) -> NativeAnswer:
    """The predictions: each image base64 in the asked format; filtered outputs omitted, or explained by one
    `raiFilteredReason` item when asked; Google omits an empty repeated field, so all filtered and no reason is {}."""
    if flagged:
        predictions = [{"raiFilteredReason": google.IMAGEN_OUTPUT_FILTERED_MESSAGE}] if native.include_rai_reason else []
    else:
        predictions = [{"bytesBase64Encoded": data, "mimeType": native.mime_type} for data in encoded]
    return NativeAnswer(200, {"predictions": predictions} if predictions else {})


def _rpc(status: int, message: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> NativeAnswer:
    error: dict[str, Any] = {"code": status, "message": message, "status": google.GOOGLE_STATUS.get(status, google.GOOGLE_STATUS_UNKNOWN)}
    if details:
        error["details"] = details
    return NativeAnswer(status, {"error": error}, headers or {})


def error_answer(exc: ApiError) -> NativeAnswer:
    """Any error in Google's RPC envelope: a wait as a RetryInfo detail, an auth failure's reason as an ErrorInfo."""
    if exc.retry_after is not None:
        retry = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{exc.retry_after}s"}]
        message = google.IMAGEN_RATE_LIMIT_MESSAGE if isinstance(exc, RateLimited) else exc.message
        return _rpc(exc.status, message, retry, {"Retry-After": str(exc.retry_after)})
    if exc.type == errors.CONTENT_POLICY_VIOLATION:
        return _rpc(native_status(exc, 400), native_message(exc, google.IMAGEN_PROMPT_BLOCKED_MESSAGE))
    if isinstance(exc, UnknownNames):
        return _rpc(exc.status, exc.message, [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": exc.violations}])
    if isinstance(exc, RpcError) and exc.reason:
        info = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": exc.reason, "domain": "googleapis.com"}]
        return _rpc(exc.status, exc.message, info)
    return _rpc(exc.status, exc.message)


def native_calls(request: GenerationRequest) -> list[NativeCall]:
    """The one Gemini predict call a gateway makes for a Perf request: PNG, and reasons for filtered images."""
    aspect = next(ratio for ratio, size in IMAGEN_ASPECT_SIZES.items() if size == request.size)
    body = {
        "instances": [{"prompt": request.prompt}],
        "parameters": {
            "sampleCount": request.n,
            "aspectRatio": aspect,
            "includeRaiReason": True,
            "outputOptions": {"mimeType": "image/png"},
        },
    }
    return [NativeCall("POST", f"/v1beta/models/{MODELS[request.model].native_ids[PROVIDER]}:predict", json=body)]


def credentials(key: str) -> dict[str, str]:
    """The Gemini Developer API takes the key in its `x-goog-api-key` header."""
    return {"x-goog-api-key": key}


def images_from_native(status: int, headers: Mapping[str, str], content: bytes) -> list[NativeImage]:
    """The images of a predict answer, or the ApiError it stands for (raised).

    Decision: the gateway asks for reasons (`includeRaiReason`), so Google lists each filtered image as a
    `raiFilteredReason` item; a Perf answer has exactly n images (priced as n), so an answer with any filtered image,
    or none at all (`{}`), is a content-policy violation, as Stability and Ideogram outputs flagged in part are.
    """
    if status != 200:
        raise error_from_native(status, headers, content)
    body = json_or_none(content)
    predictions = body.get("predictions", []) if isinstance(body, dict) else None
    if not isinstance(predictions, list):
        raise upstream_error(PROVIDER, "answered predict without a predictions list", status)
    if not all(isinstance(p, dict) and isinstance(p.get("bytesBase64Encoded", ""), str) for p in predictions):
        raise upstream_error(PROVIDER, "answered predict with a prediction that is not an image or a filtered one", status)
    encoded = [p.get("bytesBase64Encoded") for p in predictions]
    if not encoded or not all(isinstance(item, str) for item in encoded):
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    return [NativeImage(b64=item) for item in encoded if isinstance(item, str)]


def error_from_native(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    """An HTTP error answer from Google, in Perf terms: a blocked prompt (400 with a support code) is a
    content-policy violation, 429 a rate limit, 503 an outage, anything else the upstream's failure."""
    body = json_or_none(content)
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = error.get("message")
    message = message if isinstance(message, str) else ""
    if status == 400 and "Support codes" in message:
        return ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    said = f"{said_text(error.get('status'))} {message}".strip() or body_text(content)
    if status == 429:
        details = error.get("details")
        delays = [d.get("retryDelay") for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        return upstream_rate_limited(PROVIDER, wait_seconds(*delays, *header_waits(headers)), said)
    return upstream_error(PROVIDER, said, status, headers)


UPSTREAM = Upstream(PROVIDER, native_calls, credentials, images_from_native)
