"""HTTP plumbing every face shares: bounded body reading, JSON parsing and safe JSON responses."""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from simulator.context import REQUEST_ID_HEADER, note_answer
from simulator.engine.errors import ApiError, cut, invalid, param_name, quoted
from simulator.engine.jsontypes import number_as_sent, strict_json
from spec import errors


def dump_json(content: Any) -> bytes:
    """Compact UTF-8 JSON, always RFC 8259's (no `Infinity` nor `NaN`). orjson (a tenth of the json module's time:
    JSON encoding led the hot path's profile), and the json module for what orjson refuses: lone surrogates, which
    are legal in JSON text and must be echoed, not crash (written as `\\ud800` escapes), and integers beyond 64 bits.

    A number that is not finite is null, as orjson writes it, but one beyond a double's range that its client wrote
    (a HugeNumber, `1e400`, which orjson refuses) is written as sent. The json module writes neither (`Infinity`,
    which no strict parser reads, is refused by `allow_nan=False`), so a document holding one is written by
    `strict_json`: in Python, eight times the json module's time, so only then. `content` is a tree, as every
    answer's is (a cycle is json.dumps's ValueError, which `strict_json` would follow for ever)."""
    try:
        return orjson.dumps(content)
    except TypeError:
        pass
    try:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):
        text = strict_json(content)
    return text.encode("utf-8", "backslashreplace")


class SafeJSONResponse(JSONResponse):
    request_id: str | None = None
    """Its `x-request-id` as given (an error answer that draws its id only as it is sent notes that one then): what
    the face's endpoint notes for the journal (simulator.context.note_answer), taken from the headers given, not
    found and decoded in the encoded ones, on every request."""

    def render(self, content: Any) -> bytes:
        return dump_json(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Starlette's, but the header names of each set of headers are lower-cased and encoded once per process, not
        once per response, and the values are encoded in C."""
        if headers:
            names, has_length, has_type, id_name = _header_row(tuple(headers))
            raw = list(zip(names, map(str.encode, headers.values(), _LATIN_1), strict=True))
            self.request_id = headers.get(id_name)
        else:
            raw, has_length, has_type = [], False, False
        if not has_length and not (self.status_code < 200 or self.status_code in (204, 304)):
            raw.append((b"content-length", b"%d" % len(self.body)))
        if not has_type and self.media_type is not None:
            raw.append((b"content-type", self.media_type.encode("latin-1")))
        self.raw_headers = raw


_LATIN_1 = itertools.repeat("latin-1")
HeaderRow = tuple[tuple[bytes, ...], bool, bool, str]
"""A set of header names as sent (lower-cased, latin-1), whether it holds content-length and content-type, and the
name it gives x-request-id as written ("" when it has none: no header is named that)."""
_HEADER_ROWS: dict[tuple[str, ...], HeaderRow] = {}
_MAX_HEADER_ROWS = 1024


def _header_row(names: tuple[str, ...]) -> HeaderRow:
    row = _HEADER_ROWS.get(names)
    if row is None:
        raw = tuple(name.lower().encode("latin-1") for name in names)
        id_name = next((name for name, sent in zip(names, raw, strict=True) if sent == REQUEST_ID_HEADER), "")
        row = (raw, b"content-length" in raw, b"content-type" in raw, id_name)
        if len(_HEADER_ROWS) < _MAX_HEADER_ROWS:
            _HEADER_ROWS[names] = row
    return row


class Endpoint:
    """An async request handler as a route's ASGI app, like Starlette's `request_response`, but wrapping `send`
    (to know whether the response has started) only when the handler raised: then the exception goes to the
    handlers in the scope through Starlette's own `wrap_app_handling_exceptions`, exactly as before. (A class, not a
    function, so that `Route` takes it as an ASGI app.)

    Every route of an API face is one: it notes its answer for the request journal (`note_answer`), so the control
    layer need not watch the answer's messages. A failure's answer is noted by the face (`FaceApp`)."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self.handler(request)
        except Exception as exc:
            failed = exc

            async def raising(scope: Scope, receive: Receive, send: Send) -> None:
                raise failed

            await wrap_app_handling_exceptions(raising, request)(scope, receive, send)
            return
        note_answer(response)
        await response(scope, receive, send)


HEADERS = "perf_sim.headers"
"""The scope's key for its request's headers as a dict (lower-case name to first value), when the control layer has
made one (it reads every request's headers)."""
BODY = "perf_sim.body"
"""The scope's key for its request's whole body, when the control layer has read it (it reads every API request's
body once, for its fault token and the journal): a face's `read_body` then takes it from there."""


def header_dict(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by name (the first of repeated ones, as Starlette's `Headers.get` answers), made in C
    and kept in the scope for `request_header`."""
    headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))
    scope[HEADERS] = headers
    return headers


def request_header(request: Request, name: bytes) -> str | None:
    """The first value of header `name` (lower-case), as `request.headers.get` answers, without building Starlette's
    `Headers` (its first use raises and catches an AttributeError, and each lookup goes through Mapping.get): from
    the control layer's `header_dict` when it made one, else by a scan (cheaper than a dict for three reads)."""
    scope = request.scope
    headers: dict[bytes, bytes] | None = scope.get(HEADERS)
    if headers is not None:
        value = headers.get(name)
        return None if value is None else value.decode("latin-1")
    for key, found in scope["headers"]:
        if key == name:
            return found.decode("latin-1")
    return None


def credential_header(request: Request, key: bytes, name: str) -> str | None:
    """The first value of header `key` (lower-case), which carries the request's credential (`name`: the header as
    its face's messages spell it, `Authorization`, `x-key`, `Api-Key`, `x-goog-api-key`), or None when it is absent;
    a 401 (`authentication_error`, each face answers it in its own envelope) when it is given more than once with
    different values.

    Decision: a credential header is not a list header (RFC 9110), so two different values are ambiguous, and the
    first one used to win silently: a client or proxy that added a second key was billed and rate-limited on
    whichever came first, and the order of two headers decided between a 200 and a 401. The same value repeated (a
    proxy adding it again) is one header, as the control layer reads a repeated X-Sim-* header. The message names
    neither value: they are keys. Cheap on the hot path: the control layer's `header_dict` holds as many headers as
    the request when none is repeated, so only a request repeating some header scans for this one."""
    scope = request.scope
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    headers: dict[bytes, bytes] | None = scope.get(HEADERS)
    if headers is not None and len(headers) == len(raw):
        value = headers.get(key)
        return None if value is None else value.decode("latin-1")
    values = dict.fromkeys(found for header, found in raw if header == key)
    if len(values) > 1:
        raise ApiError(errors.AUTHENTICATION_ERROR, f"{name} given {len(values)} different values; send one")
    return next(iter(values)).decode("latin-1") if values else None


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is one written in ASCII digits, else None. `str.isdigit` also holds for "²"
    and for other scripts' digits, which `int` refuses (a 500) or reads (a wrong "yes"), and `int` refuses more than
    4,300 digits; no number a request may carry has more than 18."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


async def read_body(request: Request, limit: int = errors.MAX_BODY_BYTES) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit`, without reading the rest.

    Reads the ASGI messages directly rather than through `Request.stream()`, an async generator that costs more
    than the usual one-message body it yields."""
    whole: bytes | None = request.scope.get(BODY)
    if whole is not None:
        if len(whole) > limit:
            raise _too_large(limit)
        return whole
    declared = whole_number(request_header(request, b"content-length") or "")
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return b"".join([*chunks, chunk]) if chunks else chunk
        chunks.append(chunk)


class _Unheard(Response):
    """An answer that sends nothing (see `unheard_answer`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Nothing: nobody is there to hear it."""


_UNHEARD = _Unheard()


def unheard_answer() -> Response:
    """What is answered to a client that left (`ClientDisconnect`: while sending its body, or while a gateway waited
    on its upstream, simulator.connection): nothing, and nothing notes it, so the journal, the request log and the metrics
    show the request unanswered (status null), as a dropped connection, rather than as an error, and no traceback is
    logged for what is a client's choice.

    Decision: not even a status line is sent. It used to be a bare 400, which nobody received but the control layer
    saw going out (it watches the answer of every request a fault or rule may apply to) and journalled, logged and
    counted as a 400 with no error in it: an upstream's journal then showed a 400 for each call a gateway cancelled.
    uvicorn sends nothing itself for a request whose client it has seen leave (a `ClientDisconnect` is that), and an
    in-process client never leaves before its answer."""
    return _UNHEARD


def _too_large(limit: int) -> ApiError:
    return ApiError(errors.PAYLOAD_TOO_LARGE, f"request body exceeds {limit} bytes")


class _NotJson(ValueError):
    """What the decoder raises for text Python's json reads but JSON does not allow (NaN, Infinity)."""


def _reject_constant(name: str) -> None:
    raise _NotJson(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


_HUGE_AS_SENT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=number_as_sent)


class _Fields(list[tuple[str, Any]]):
    """An object's fields in the order written, a name given twice included (the control API's decoder keeps them so)."""


_CONTROL_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=number_as_sent, object_pairs_hook=_Fields)


def _objects(value: Any, place: str) -> Any:
    """`value` with each `_Fields` made a dict, or the 400 naming (by its place, `action.status`) a field given twice."""
    if isinstance(value, _Fields):
        fields: dict[str, Any] = {}
        for name, item in value:
            where = f"{place}.{name}" if place else name
            if name in fields:
                raise invalid(param_name(where), f"request body names {quoted(where)} twice in one object; name each field once")
            fields[name] = _objects(item, where)
        return fields
    if isinstance(value, list):
        return [_objects(item, place) for item in value]
    return value


_COMPRESSED = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
"""The magic numbers of the content codings a client's compression sends, by their first bytes."""
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
"""The byte-order marks a UTF-16 (or UTF-32) body starts with."""
BOM_MESSAGE = "request body starts with a byte-order mark (U+FEFF); send UTF-8 without one (RFC 8259 section 8.1)"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
"""The Content-Types of a form, which a JSON face does not read as one."""
_UTF8_NAMES = ("utf-8", "utf8")


def _unreadable(raw: bytes, reason: str, request: Request | None) -> str:
    """Why a body is neither UTF-8 nor JSON (`reason`, the parser's word), told by what its bytes or its headers show
    when they explain it. Only a failed parse reads the headers, so an ordinary body costs nothing more.

    Decision: the API takes bodies uncompressed, in UTF-8, as JSON whatever the Content-Type (the document names no
    Content-Encoding nor charset), so such a body is a 400 like any other that is not JSON, but one that says why: a
    client whose HTTP library compresses uploads, declares another charset or sends a form otherwise reads only "not
    valid UTF-8" or "Expecting value" and suspects its prompt.
    - gzip and zstd bodies are known by their first bytes, whatever the headers say; a UTF-16 body by its mark.
    - Any other coding (deflate, br) cannot be known from its bytes: a `Content-Encoding` other than `identity`
      names it, unless the body starts as JSON does (`{`, `[`), which a compressed one does not: then the header is
      wrong, not the body, and the parser's word stands (bodies are read as sent, whatever Content-Encoding says).
    - A form (`curl -d`'s type, `requests.post(data=...)`) names itself by its Content-Type; a JSON body sent with
      that type (curl's default) is read as JSON, so only a body that does not start as JSON is called a form.
    - A declared charset other than UTF-8 is named beside the parser's word: UTF-8 is the only one read (RFC 8259
      section 8.1), and a body in another charset whose JSON happens to be ASCII is read as it is."""
    for magic, coding in _COMPRESSED.items():
        if raw.startswith(magic):
            return f"request body is {coding}-compressed; send it uncompressed (bodies are read as sent, whatever Content-Encoding says)"
    if raw.startswith(_UTF16_MARKS):
        return "request body is UTF-16 (it starts with a UTF-16 byte-order mark); only UTF-8 is read: send it as UTF-8"
    if request is None:
        return reason
    content_type = request_header(request, b"content-type") or ""
    if raw.lstrip()[:1] not in (b"{", b"["):
        encoding = request_header(request, b"content-encoding") or ""
        codings = [coding.strip().lower() for coding in encoding.split(",") if coding.strip().lower() not in ("", "identity")]
        if codings:
            compressed = f"{codings[0]}-compressed" if len(codings) == 1 else "compressed"
            return f"request body is {compressed} (Content-Encoding: {cut(encoding.strip())}); send it uncompressed"
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type in FORM_TYPES:
            return f"request body is a form (Content-Type: {media_type}), not JSON; send JSON, not a form"
    charset = _declared_charset(content_type)
    if charset is not None and charset.lower() not in _UTF8_NAMES:
        return f"{reason}; only UTF-8 is read, and the body declares charset={cut(charset)}: send it as UTF-8"
    return reason


def _declared_charset(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type, unquoted, or None."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"')
    return None


def parse_json(raw: bytes, fields_once: bool = False, huge_numbers_as_sent: bool = False, request: Request | None = None) -> Any:
    """Parse strict JSON (no NaN or Infinity) regardless of the declared content type; `request`, when given, is
    the one whose body it is, whose headers a refusal reads to say why the body is not JSON (`_unreadable`).

    One decoder for every request (json.loads with an argument builds a new one each time). Decision: a leading
    byte-order mark is refused (`BOM_MESSAGE`), on every face, saying so, where it was json.loads's own message ("decode
    using utf-8-sig": Python's advice, given to an HTTP client). RFC 8259 section 8.1 says a sender must not add one
    and lets a parser ignore it; a client that adds one breaks the first rule, and a server that reads strictly (Go's
    encoding/json) refuses it, so the simulator, which is there to find what a client would meet, refuses it too,
    with a message naming it rather than the parser's. `fields_once`: an object naming a field twice is a 400 naming it (the control API's
    bodies). Decision: JSON leaves a repeated name to the parser, and Python's keeps the last value, so
    `{"action": {"status": 503}, "action": {"drop": true}}` silently became a drop rule, where the header and token
    forms refuse `status=503;status=504`. The Perf API's bodies keep the C decoder's speed (and its reading).
    `huge_numbers_as_sent`: a number beyond a double's range is a `HugeNumber`, for a caller whose messages quote
    refused values (`quoted`, `as_sent`): the Perf and Google faces, and the control API, whose decoder always does.
    It costs a Python call per fractional number only, which a Perf body rarely holds (the url requests' profile,
    `load.profile_asgi`, did not move). The faces that quote no value leave it off: their `1e400` is a float
    infinity, which an answer echoing it (BFL's 422 echoes its input) writes as null."""
    if not raw.strip():
        raise invalid(None, "request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            raise invalid(None, BOM_MESSAGE)
        if fields_once:
            return _objects(_CONTROL_DECODER.decode(text), "")
        return (_HUGE_AS_SENT_DECODER if huge_numbers_as_sent else _DECODER).decode(text)
    except UnicodeDecodeError:
        raise invalid(None, _unreadable(raw, "request body is not valid UTF-8", request)) from None
    except RecursionError:
        raise invalid(None, "request body is nested too deeply") from None
    except (json.JSONDecodeError, _NotJson) as exc:
        raise invalid(None, _unreadable(raw, f"request body is not valid JSON: {exc}", request)) from None
    except ValueError:
        # Decision: an integer of more digits than Python converts (sys.get_int_max_str_digits, 4300) is refused here,
        # as RFC 8259 section 9 lets a parser limit numbers: no field takes one, and converting it would cost
        # quadratic time. Only this rare error path tells it apart, so ordinary bodies parse at the C decoder's speed.
        raise invalid(
            None, f"request body holds an integer of more than {sys.get_int_max_str_digits()} digits; no field takes one"
        ) from None


VIA_RECEIVED_BY = "perf-sim"
"""The received-by a perf-sim gateway names itself by in its calls' `Via` (RFC 9110, section 7.6.3)."""
GATEWAY_VIA = f"1.1 {VIA_RECEIVED_BY}"
"""The `Via` header of a perf-sim gateway's calls upstream, which a perf-sim upstream reads (`through_a_gateway`)."""
_VIA_RECEIVED_BY_BYTES = VIA_RECEIVED_BY.encode()
_VIA_COMMENT = re.compile(rb"\([^()]*\)")


def through_a_gateway(raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a request came through a perf-sim gateway: one of the hops its `Via` headers list (comma-separated,
    each `protocol received-by [comment]`, in any number of `Via` lines) was received by exactly `VIA_RECEIVED_BY`.

    Decision: the hop's received-by, whole, not the header's text: `Via: 1.1 corp-perf-simple-lb` (or any proxy whose
    name holds "perf-sim") used to pass for a gateway, and a perf-sim behind it silently applied no prompt token, a
    broken one included. Comments are set aside first, so a comma or a name inside one is no hop."""
    for name, value in raw_headers:
        if name == b"via":
            for hop in _VIA_COMMENT.sub(b"", value).split(b","):
                parts = hop.split()
                if len(parts) >= 2 and parts[1] == _VIA_RECEIVED_BY_BYTES:
                    return True
    return False


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The order a 405's `Allow` header names its methods in (any other method after these, alphabetically)."""


def allowed_methods(exc: HTTPException) -> str | None:
    """The `Allow` header of Starlette's 405 (None for any other answer), its methods in `METHOD_ORDER`.

    Decision: Starlette joins a route's methods from a set, whose order follows the process's string hash seed, so the
    same 405 said "GET, HEAD" in one run and "HEAD, GET" in the next, in its header and in the error's message; the
    simulator answers the same inputs with the same bytes in every run."""
    allowed = (exc.headers or {}).get("Allow") if exc.status_code == 405 else None
    if allowed is None:
        return None
    known = len(METHOD_ORDER)
    methods = sorted(allowed.split(", "), key=lambda method: (METHOD_ORDER.index(method) if method in METHOD_ORDER else known, method))
    return ", ".join(methods)
