"""Which face a path belongs to, and an error of any status in that face's envelope.

A stand-in for the provider registry (`simulator.registry`) until it lands: the fault layer asks here instead of
knowing envelopes itself, and switches to the registry's `face_for_path` and `error_response` when it exists.
"""

from __future__ import annotations

from starlette.responses import Response

from simulator.engine.errors import ApiError
from simulator.faces import errors as perf_errors
from simulator.faces.bfl import PREFIXES as BFL_PREFIXES
from simulator.faces.google import PREFIX as GOOGLE_PREFIX
from simulator.faces.google import google_error
from simulator.faces.ideogram import PREFIX as IDEOGRAM_PREFIX
from simulator.faces.native import send
from simulator.faces.openai import PREFIX as OPENAI_PREFIX
from simulator.faces.stability import PREFIX as STABILITY_PREFIX
from simulator.http import SafeJSONResponse
from simulator.mapping import ideogram, openai, stability
from spec import providers
from spec import providers_bfl_google as bfl

PERF = "perf"
FACES = ("perf", "openai", "stability", "bfl", "ideogram", "google")
# The face of each first path segment; /v1/ is the Perf API's but for BFL's root paths.
_FIRST_SEGMENTS = {
    OPENAI_PREFIX: "openai",
    STABILITY_PREFIX: "stability",
    IDEOGRAM_PREFIX: "ideogram",
    GOOGLE_PREFIX: "google",
    **{prefix: "bfl" for prefix in BFL_PREFIXES if prefix},
    "/v1": PERF,
}
_BFL_ROOT_PATHS = tuple(f"/v1/{endpoint}" for endpoint in (*bfl.BFL_MODELS, "get_result"))


def face_for_path(path: str) -> str | None:
    """The API face serving `path`, or None for the simulator's own paths (/_sim/, /images/, /, /openapi.json)."""
    end = path.find("/", 1)
    face = _FIRST_SEGMENTS.get(path[:end]) if end > 0 else None
    if face == PERF and path.startswith(_BFL_ROOT_PATHS):
        return "bfl"
    return face


def error_response(face: str, exc: ApiError, headers: dict[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if exc.retry_after is not None:
        extra.setdefault("Retry-After", str(exc.retry_after))
    if face == "openai":
        answer = openai.error_answer(exc)
        if exc.status == 429:
            answer.body["error"].update(type=providers.OPENAI_ERROR_RATE_LIMIT_TYPE, code=providers.OPENAI_CODE_RATE_LIMIT)
        response = send(answer)
    elif face == "stability":
        response = send(stability.error_answer(exc))
    elif face == "ideogram":
        response = send(ideogram.error_answer(exc))
    elif face == "google":
        response = google_error(exc.status, exc.message) if exc.status in bfl.GOOGLE_STATUS else _google_other(exc)
    elif face == "bfl":
        response = SafeJSONResponse({"detail": exc.message, "message": exc.message}, status_code=exc.status)
    else:
        return perf_errors.error_response(exc, headers=extra)
    response.status_code = exc.status
    response.headers.update(extra)
    return response


def _google_other(exc: ApiError) -> Response:
    status = "INTERNAL" if exc.status >= 500 else "FAILED_PRECONDITION"
    return SafeJSONResponse({"error": {"code": exc.status, "message": exc.message, "status": status}}, status_code=exc.status)
