"""The OpenAPI 3.1 document of the simulator's control API (`/_sim/`), served at `/_sim/openapi.json`.

It is a separate document from the Perf API's (`spec/openapi.py`): the control API is the simulator's own, not
part of the service it imitates, and a contract suite run against the real service must not see it. Face names,
error types and statuses come from `spec/`, as in the Perf document.
"""

from __future__ import annotations

import copy
from functools import cache
from itertools import combinations
from typing import Any

from spec import errors, tiers
from spec.models import MODELS, PERF_FACE, PROVIDERS
from spec.schemas import error_schema

# The simulator's bounds, which spec/ does not import (it imports nothing from the simulator); a test holds them equal:
# the most times a rule may be given (simulator.control.rules.MAX_TIMES); the shortest and longest delay, an injected
# status's range, the parts of a dribbled body, the longest retry_after and the longest message of an action
# (simulator.control.actions); the most entries a listing gives (simulator.control.api.MAX_LIST_LIMIT); the longest
# clock advance (simulator.control.state_api.MAX_ADVANCE_SECONDS); a key_id's length and a request id filter's longest
# (simulator.control.journal); the methods a match may name (simulator.control.rules.MATCH_METHODS).
MAX_TIMES = 1_000_000
MIN_DELAY_MS = 1
MAX_DELAY_MS = 600_000
MIN_FAULT_STATUS, MAX_FAULT_STATUS = 400, 599
DRIBBLE_PARTS = 10
MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS = 1, tiers.DAY_SECONDS
MAX_MESSAGE_CHARS = 500
MAX_LIST_LIMIT = 1_000_000
MAX_PATH_CHARS = 512
MAX_ADVANCE_SECONDS = 3_155_760_000
KEY_ID_CHARS = 8
REQUEST_ID_CHARS = 128
MAX_PATTERN_CHARS = 10_000
KEY_PATTERN = r"[A-Za-z0-9_\-]{8,200}"
MATCH_METHODS = (
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    "ACL", "BIND", "CHECKOUT", "COPY", "LINK", "LOCK", "M-SEARCH", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE",
    "NOTIFY", "PROPFIND", "PROPPATCH", "PURGE", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "UNBIND",
    "UNLINK", "UNLOCK", "UNSUBSCRIBE",
)  # fmt: skip

API_VERSION = "1.0.0"
FACES = (PERF_FACE, *PROVIDERS)
NAMESPACE_HEADER = "X-Sim-Namespace"

_NAMESPACE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# An action's answers, of which it gives at most one (simulator.control.actions), and those no dribble can join.
_ANSWERS = ("status", "drop", "reset", "truncate", "malformed")
_NOTHING_TO_DRIBBLE = ("drop", "reset")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _deleted(description: str) -> dict[str, Any]:
    return _json({"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "integer", "minimum": 0}}}, description)


def _list_of(name: str, items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [name], "properties": {name: {"type": "array", "items": items}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _namespace(absent: str, by_header: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The namespace parameters every call takes: `?namespace=` and the X-Sim-Namespace header, which names it as well
    (simulator.control.api.namespace_param reads both; a /_sim/ns/<name>/ base path sends the header). `absent` says
    what naming none means for the call; `by_header`, what the header does, where it differs from the query (the
    dashboard's). An empty or doubled name is a 400, as is any query parameter a call does not list.

    Decision: the header is declared, not only said in the document's description: a client generated from the
    document, or one that reads its parameters, otherwise knew only the query, and a base path's calls (which send the
    header) looked undocumented."""
    schema = {"type": "string", "pattern": _NAMESPACE_PATTERN}
    in_query = (
        f"act on this namespace (absent: {absent}); naming another namespace than the {NAMESPACE_HEADER} header, a "
        "/_sim/ns/<name>/ base path or the body does is a 400, as is naming it twice differently"
    )
    in_header = (
        f"{by_header or f'act on this namespace, as ?namespace= does (absent, and no ?namespace=: {absent})'}; what a "
        "/_sim/ns/<name>/ base path sends. Given with ?namespace= or a body's namespace, both must name the same one: "
        "two different names are a 400 naming namespace; a value that is no namespace name, or the header sent twice "
        f"with different values, is a 400 naming {NAMESPACE_HEADER}"
    )
    header = {"name": NAMESPACE_HEADER, "in": "header", "required": False, "schema": dict(schema), "description": in_header}
    return _query("namespace", schema, in_query), header


_IN_DEFAULT = _namespace("the default one")
_IN_ALL = _namespace("every namespace")
_ANY = _namespace("the answer is the same in every namespace")


_PATH_PREFIX = {
    "type": "string",
    "pattern": "^/(?!_sim/)",
    "maxLength": MAX_PATH_CHARS,
    "description": "a prefix of an API request's path as the journal shows it: starting with /, not under /_sim/ (a "
    f"namespace base path is taken off; the simulator's own paths are never journalled), at most the {MAX_PATH_CHARS} "
    "characters an entry keeps",
}


_FAULT_PARTS = {"type": "string", "minLength": 1, "examples": ["drop", "status=503", "delay_ms=1500;status=503"]}
_FAULT_PARTS_MEANING = (
    "fault (as the journal writes it, in X-Sim-Fault's form) holds every part given: status=503 selects status=503;retry_after=2 too"
)


_KEY_ID = {"type": "string", "pattern": f"^[0-9a-f]{{{KEY_ID_CHARS}}}$"}
_KEY_REFUSED = "white space at either end (every face strips the key it reads) or a lone surrogate is a 400: no request has such a key"
_KEY_GIVEN = f"the full key, or masked as entries show it; {_KEY_REFUSED}"
_KEY_ID_MEANING = "the one key whose key_id (a journal entry's) this is; a masked key selects every key masked alike"


_REQUEST_ID = {"type": "string", "pattern": f"^[!-~]{{1,{REQUEST_ID_CHARS}}}$", "examples": ["req_img_3f9a61c2d4b8e07f15a9c3d2"]}
_REQUEST_ID_MEANING = (
    "the answer's x-request-id, exactly as its client got it (1 to 128 printable ASCII characters, no spaces): the "
    "Perf API's req_img_... (perf.request_id) or req_err_..., the OpenAI and Stability faces' own forms"
)


_SINCE = {
    "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
    "examples": [1767225600, "2026-01-01T00:00:00Z"],
}
_SINCE_MEANING = (
    "the entry's time is this or later: Unix seconds, or an ISO 8601 time with its offset (Z or +HH:MM), as an entry's time or iso"
)
_ENTRY_ID = {
    "type": "string",
    "description": "an entry's id, as the journal shows it (request_N); any other text is the 404 of an id not kept",
}


_METHOD = {
    "type": "string",
    # one of MATCH_METHODS in any case (JSON Schema's patterns have no flag for case)
    "pattern": "^(?:" + "|".join("".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in method) for method in MATCH_METHODS) + ")$",
    "examples": list(MATCH_METHODS[:9]),
}
_METHODS_NAMED = (
    f"one of {', '.join(MATCH_METHODS[:9])} (RFC 9110's and PATCH) or the others uvicorn's parser passes "
    f"({', '.join(MATCH_METHODS[9:])}), in any case"
)
_METHOD_MEANING = f"the request's method: {_METHODS_NAMED}"


def _match_schema(with_status: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "face": {"enum": list(FACES), "description": "the API a request came in by"},
        "path": {**_PATH_PREFIX, "description": "a prefix of the request path (with face: one of that face's paths)"},
        "method": {**_METHOD, "description": f"{_METHOD_MEANING} (absent: every method but OPTIONS)"},
        "model": {"type": "string", "minLength": 1, "examples": list(MODELS)},
        "key": {"type": "string", "minLength": 1, "description": f"the API key the request was sent with ({_KEY_GIVEN})"},
        "prompt": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_PATTERN_CHARS,
            "description": "a regular expression searched in the prompt",
        },
    }
    if with_status:
        properties["status"] = {"type": "integer", "minimum": 100, "maximum": 599}
        properties["fault"] = {**_FAULT_PARTS, "description": _FAULT_PARTS_MEANING}
        properties["key_id"] = {**_KEY_ID, "description": _KEY_ID_MEANING}
        properties["since"] = {**_SINCE, "description": _SINCE_MEANING}
        properties["request_id"] = {**_REQUEST_ID, "description": _REQUEST_ID_MEANING}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _shown_match_schema() -> dict[str, Any]:
    """A rule's match as the control API shows it: as given, but a key masked with its key_id beside it."""
    schema = _match_schema(with_status=False)
    schema["properties"] = {
        **schema["properties"],
        "key": {"type": "string", "minLength": 1, "description": "the key it matches, masked as the journal shows a key"},
        "key_id": {**_KEY_ID, "description": "tells apart keys whose masked forms are alike (absent for a masked key given)"},
    }
    return schema


def _action_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": "How to answer instead of (or, for delay_ms, before) the normal answer: at most one of status, "
        "drop, reset, truncate and malformed; delay_ms joins any, dribble_ms any but drop and reset.",
        # Decision: the combinations the simulator refuses are refused here too, so a client generated from this
        # document (or a fuzzer trusting it) does not build an action the simulator answers 400.
        "dependentRequired": {"type": ["status"], "message": ["status"], "retry_after": ["status"]},
        "allOf": [
            *({"not": {"required": list(pair)}} for pair in combinations(_ANSWERS, 2)),
            *({"not": {"required": ["dribble_ms", name]}} for name in _NOTHING_TO_DRIBBLE),
        ],
        "properties": {
            "status": {
                "type": "integer",
                "minimum": MIN_FAULT_STATUS,
                "maximum": MAX_FAULT_STATUS,
                "description": "answer this status in the face's own envelope",
            },
            "type": {"enum": list(errors.STATUS), "description": "error type (default: follows from the status)"},
            "message": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_CHARS},
            "retry_after": {
                "type": "integer",
                "minimum": MIN_RETRY_AFTER_SECONDS,
                "maximum": MAX_RETRY_AFTER_SECONDS,
                "description": "seconds, sent as Retry-After",
            },
            "delay_ms": {
                "type": "integer",
                "minimum": MIN_DELAY_MS,
                "maximum": MAX_DELAY_MS,
                "description": "wait, then answer normally (or with the rest of the action)",
            },
            "dribble_ms": {
                "type": "integer",
                "minimum": MIN_DELAY_MS,
                "maximum": MAX_DELAY_MS,
                "description": f"send the answer's body in up to {DRIBBLE_PARTS} parts spread over this long (not with drop or reset)",
            },
            "drop": {"const": True, "description": "close the connection without a response"},
            "reset": {"const": True, "description": "reset the connection (TCP RST) without a response"},
            "truncate": {"const": True, "description": "send the status line, headers and part of the body, then close"},
            "malformed": {"const": True, "description": "answer 200 with a body that is not JSON"},
        },
    }


def _rule_request_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["action"],
        "additionalProperties": False,
        "properties": {
            "match": _ref("Match"),
            "action": _ref("Action"),
            "times": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_TIMES,
                "description": "apply to the next N matching requests (absent or null: until removed)",
            },
            "probability": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "maximum": 1,
                "description": "apply to this share of matching requests, decided from the seed and the request sequence "
                "(absent or null: every one; 0, which could never fire, is refused)",
            },
            "namespace": {"type": "string", "pattern": _NAMESPACE_PATTERN},
        },
    }


def _rule_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "match", "action", "times", "remaining", "probability", "namespace", "fired"],
        "properties": {
            "id": {"type": "string"},
            "match": _ref("FaultRuleMatch"),
            "action": _ref("Action"),
            "times": {"type": ["integer", "null"]},
            "remaining": {"type": ["integer", "null"], "description": "how many more times it applies (null: until removed)"},
            "probability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "namespace": {"type": "string"},
            "fired": {"type": "integer", "minimum": 0, "description": "how often it was applied"},
        },
    }


def _journal_entry_schema() -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    properties: dict[str, Any] = {
        "id": {"type": "string"},
        "time": {"type": "number", "description": "simulator clock, Unix seconds"},
        "iso": {"type": "string"},
        "method": {"type": "string"},
        "path": {"type": "string"},
        "query": {**nullable_string, "description": "the query string as sent, an API key in it masked as key is; null when none"},
        "face": {"enum": list(FACES)},
        "namespace": {"type": "string"},
        "key": {**nullable_string, "description": "masked to its first characters"},
        "key_id": {**nullable_string, "description": "tells apart keys whose masked forms are alike (the start of a digest)"},
        "model": nullable_string,
        "n": {"type": ["integer", "null"]},
        "size": nullable_string,
        "status": {"type": ["integer", "null"], "description": "null when a drop or reset fault closed the connection"},
        "request_id": {
            **nullable_string,
            "description": "the answer's x-request-id as its client got it (the Perf API's perf.request_id on a success, "
            "req_err_... on an error; the OpenAI and Stability faces' own forms); null where the face's answer carries "
            "none (BFL, Google, an Ideogram error) and for a dropped connection",
        },
        "error_type": {**nullable_string, "description": "the error's kind as the face's envelope names it"},
        "error_message": {
            **nullable_string,
            "description": "the error's message as the face wrote it, cut at 200 characters; null for a success, a dropped "
            "connection, and an answer that is no error envelope or was over 16 KiB",
        },
        "error_param": {
            **nullable_string,
            "description": "the request field the error names (Perf and OpenAI `param`, BFL's first `detail[].loc`); null where "
            "the face's envelope names none",
        },
        "latency_ms": {"type": "number"},
        "fault": {**nullable_string, "description": "the fault applied, in X-Sim-Fault form, if any"},
        "image_ids": {"type": "array", "items": {"type": "string"}},
        "prompt": {**nullable_string, "description": "cut to its first characters"},
        "body": {"description": "the request body, trimmed (prompts cut, never image bytes)"},
    }
    return {"type": "object", "required": list(properties), "properties": properties}


def _window_schema() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "required": ["limit", "used", "remaining", "reset_seconds"],
        "properties": {"limit": count, "used": count, "remaining": count, "reset_seconds": count},
    }


def _usage_schema() -> dict[str, Any]:
    windows = {"type": "object", "properties": {"minute": _ref("Window"), "day": _ref("Window")}}
    return {
        "type": "object",
        "required": ["key", "tier", "minute", "day"],
        "properties": {
            "key": {"type": "string"},
            "tier": {"type": "string"},
            "minute": _ref("Window"),
            "day": _ref("Window"),
            "providers": {"type": "object", "properties": {provider: windows for provider in PROVIDERS}},
        },
    }


def _clock_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["now", "iso"], "properties": {"now": {"type": "number"}, "iso": {"type": "string"}}}


def _journal_filters() -> list[dict[str, Any]]:
    return [
        _query("face", {"enum": list(FACES)}, "only requests to this face"),
        _query("path", _PATH_PREFIX, "only paths starting with this"),
        _query(
            "method",
            _METHOD,
            f"only this method: {_METHODS_NAMED} (absent: every method but OPTIONS, as a rule)",
        ),
        _query("model", {"type": "string", "minLength": 1}, "only this model (its Perf name and its provider's names select the same)"),
        _query("status", {"type": "integer", "minimum": 100, "maximum": 599}, "only this status"),
        _query("key", {"type": "string", "minLength": 1}, f"only this API key ({_KEY_GIVEN})"),
        _query("key_id", _KEY_ID, "only " + _KEY_ID_MEANING),
        _query(
            "prompt",
            {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_CHARS},
            "only prompts this regular expression is found in, as a count's match.prompt",
        ),
        _query("fault", _FAULT_PARTS, "only requests whose " + _FAULT_PARTS_MEANING),
        _query("since", _SINCE, "only entries whose " + _SINCE_MEANING.removeprefix("the entry's ")),
        _query("request_id", _REQUEST_ID, "only entries whose request_id is this: " + _REQUEST_ID_MEANING),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT}, "at most this many entries (absent: 100)"),
        *_IN_ALL,
    ]


def _usage_by_key_schema() -> dict[str, Any]:
    row = {
        "type": "object",
        "required": ["key", "key_id", "tier", "face", "minute", "day"],
        "properties": {
            "key": {"type": "string", "description": "masked"},
            "key_id": {"type": "string", "description": "tells apart keys whose masked forms are alike (the start of a digest)"},
            "tier": {"type": "string"},
            "face": {"enum": list(FACES)},
            "minute": _ref("Window"),
            "day": _ref("Window"),
        },
    }
    return _list_of("keys", row)


STATELESS_PATHS = ("/_sim/health", "/_sim/config", "/_sim/ui", "/_sim/openapi.json")
"""The control calls that never read the state, so never answer its 503; `/_sim/ready` documents its own."""

STATE_UNAVAILABLE = (
    "service_unavailable (Retry-After: 1): the state (Redis, with --state redis) did not answer in time; a call "
    "answered 503 changed nothing, so its retry is safe"
)
RESET_STATE_UNAVAILABLE = (
    "service_unavailable (Retry-After: 1): the state (Redis, with --state redis) did not answer in time; the reset, "
    "which deletes a page of keys at a time, may have been done in part: repeat it"
)


def _with_common_refusals(paths: dict[str, Any]) -> dict[str, Any]:
    """Any call's body may stop coming (the control layer's --body-timeout, as for an API request's); a call that
    reads its body (every POST and DELETE, if only to refuse one it takes none of) refuses one over the limit; and
    every call that reads or changes the state answers 503 while Redis does not answer (docs/control.md), which a
    client generated from this document must read as the error envelope it is, with its "retry is safe"."""
    too_large = _error(f"payload_too_large: a body over {errors.MAX_BODY_BYTES:,} bytes")
    stalled = _error(errors.STALLED_BODY_ANSWER)
    for path, operations in paths.items():
        for method, operation in operations.items():
            answers = operation["responses"]
            answers["408"] = stalled
            if method in ("post", "delete"):
                answers["413"] = too_large
            if path not in STATELESS_PATHS and "503" not in answers:
                answers["503"] = _error(RESET_STATE_UNAVAILABLE if path == "/_sim/reset" else STATE_UNAVAILABLE)
    return paths


def _paths() -> dict[str, Any]:
    bad = _error("invalid_request naming the field")
    unknown_key = _error("not_found naming key: no key of that name (a malformed one is a 400)")
    clock = _json(_ref("Clock"), "the namespace's clock")
    return {
        "/_sim/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness",
                "parameters": [*_ANY],
                "responses": {
                    "200": _json({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}, "ok"),
                    "400": bad,
                },
            }
        },
        "/_sim/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: whether the state (memory or Redis) answers; 503 when it does not, or while a reset holds back "
                "the namespace's requests",
                "parameters": [*_namespace("only a full reset, which holds back every namespace, makes it a 503")],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["status", "state"],
                            "properties": {"status": {"const": "ready"}, "state": {"type": "string"}},
                        },
                        "ready, and which state (`memory`, or the Redis URL without its password)",
                    ),
                    "400": bad,
                    "503": _error("service_unavailable: the state did not answer, or a reset holds back the namespace's requests"),
                },
            }
        },
        "/_sim/config": {
            "get": {
                "operationId": "config",
                "summary": "The running settings",
                "parameters": [*_ANY],
                "responses": {"200": _json({"type": "object"}, "settings"), "400": bad},
            }
        },
        "/_sim/ui": {
            "get": {
                "operationId": "dashboard",
                "summary": "The dashboard: one page that watches and steers the simulator through this API (docs/observe.md)",
                "parameters": [
                    *_namespace(
                        "the page, on the default namespace; given, a 303 to the page with it chosen",
                        by_header="choose this namespace in the page; alone, the page is served with it chosen rather than a "
                        "303 to it (a client adding the header to every request would follow the redirect for ever)",
                    )
                ],
                "responses": {
                    "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
                    "303": {
                        "description": "opened in a namespace (?namespace=NAME, or under its base path /_sim/ns/NAME/_sim/ui): to "
                        "/_sim/ui#ns=NAME, the page with that namespace chosen (the X-Sim-Namespace header alone serves "
                        "the page with it chosen: a client adding it to every request would follow a redirect for ever)"
                    },
                    "400": bad,
                },
            }
        },
        "/_sim/openapi.json": {
            "get": {
                "operationId": "controlOpenapi",
                "summary": "This document",
                "parameters": [*_ANY],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), "400": bad},
            }
        },
        "/_sim/reset": {
            "post": {
                "operationId": "reset",
                "summary": "Forget windows, images, ids, journal entries, fault rules and the clock offset (of one namespace, or of "
                "all: then the answer is the default namespace's clock)",
                "parameters": [*_namespace("every namespace: forget everything")],
                "responses": {"200": clock, "400": bad},
            }
        },
        "/_sim/clock": {
            "get": {
                "operationId": "clock",
                "summary": "Read the clock",
                "parameters": [*_IN_DEFAULT],
                "responses": {"200": clock, "400": bad},
            }
        },
        "/_sim/clock/advance": {
            "post": {
                "operationId": "advanceClock",
                "summary": "Move the clock forward",
                "parameters": [*_IN_DEFAULT],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["seconds"],
                        "additionalProperties": False,
                        "properties": {
                            "seconds": {
                                "type": "number",
                                "minimum": 0,
                                "maximum": MAX_ADVANCE_SECONDS,
                                "description": "100 years at most, and never past the year 9999 (a 400)",
                            }
                        },
                    }
                ),
                "responses": {"200": clock, "400": bad},
            }
        },
        "/_sim/usage": {
            "get": {
                "operationId": "usageByKey",
                "summary": "Every key with a window in the namespace",
                "parameters": [*_IN_DEFAULT],
                "responses": {"200": _json(_usage_by_key_schema(), "keys"), "400": bad},
            }
        },
        "/_sim/usage/{key}": {
            "get": {
                "operationId": "usage",
                "summary": "A key's tier and windows",
                "parameters": [
                    {"name": "key", "in": "path", "required": True, "schema": {"type": "string", "pattern": f"^{KEY_PATTERN}$"}},
                    *_IN_DEFAULT,
                ],
                "responses": {"200": _json(_ref("Usage"), "the key's windows"), "400": bad, "404": unknown_key},
            }
        },
        "/_sim/namespaces": {
            "get": {
                "operationId": "namespaces",
                "summary": "The namespaces requests have used, default first",
                "parameters": [*_ANY],
                "responses": {"200": _json(_list_of("namespaces", {"type": "string"}), "namespaces"), "400": bad},
            }
        },
        "/_sim/faults": {
            "post": {
                "operationId": "addFault",
                "summary": "Add a fault rule (in the namespace its body names, else the call's, else the default)",
                "parameters": [*_namespace("the body's, else the default one")],
                "requestBody": _body(_ref("FaultRuleRequest")),
                "responses": {"201": _json(_ref("FaultRule"), "the rule"), "400": bad},
            },
            "get": {
                "operationId": "listFaults",
                "summary": "The rules, with how often each fired and how many times remain",
                "parameters": [*_IN_ALL],
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["faults"], "properties": {"faults": {"type": "array", "items": _ref("FaultRule")}}},
                        "rules",
                    ),
                    "400": bad,
                },
            },
            "delete": {
                "operationId": "clearFaults",
                "summary": "Remove every rule (of one namespace, or of all)",
                "parameters": [*_IN_ALL],
                "responses": {"200": _deleted("the rules removed"), "400": bad},
            },
        },
        "/_sim/faults/{rule_id}": {
            "delete": {
                "operationId": "removeFault",
                "summary": "Remove one rule (ids are never given twice)",
                "parameters": [
                    {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    *_namespace("a rule of any namespace; given, a rule of another namespace is a 404"),
                ],
                "responses": {"200": _deleted("removed"), "400": bad, "404": _error("no rule with this id (in this namespace)")},
            }
        },
        "/_sim/requests": {
            "get": {
                "operationId": "listRequests",
                "summary": "The request journal, newest first",
                "parameters": _journal_filters(),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["requests"],
                            "properties": {"requests": {"type": "array", "items": _ref("JournalEntry")}},
                        },
                        "entries",
                    ),
                    "400": bad,
                },
            },
            "delete": {
                "operationId": "clearRequests",
                "summary": "Empty the journal (of one namespace, or all of it)",
                "parameters": [*_IN_ALL],
                "responses": {"200": _deleted("the entries removed"), "400": bad},
            },
        },
        "/_sim/requests/{id}": {
            "get": {
                "operationId": "getRequest",
                "summary": "One journal entry by its id (WireMock's GET /__admin/requests/{id})",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": _ENTRY_ID},
                    *_namespace("an entry of any namespace; given, another namespace's entry is a 404"),
                ],
                "responses": {
                    "200": _json(_ref("JournalEntry"), "the entry"),
                    "400": bad,
                    "404": _error("no entry with this id (in this namespace): never given, dropped past --journal-size, or deleted"),
                },
            }
        },
        "/_sim/requests/count": {
            "post": {
                "operationId": "countRequests",
                "summary": "How many journalled requests match (WireMock's verify; without match.method, every method but OPTIONS)",
                "parameters": [*_IN_ALL],
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"match": _ref("RequestMatch"), "namespace": {"type": "string", "pattern": _NAMESPACE_PATTERN}},
                    }
                ),
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer", "minimum": 0}}}, "the count"
                    ),
                    "400": bad,
                },
            }
        },
    }


@cache
def control_openapi_document() -> dict[str, Any]:
    error = copy.deepcopy(error_schema())
    error.pop("$schema", None)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "perf-sim control API",
            "version": API_VERSION,
            "description": "Steer and observe the simulator: fault rules, the request journal, namespaces, clock and usage. "
            f"Not part of the Perf API. An API request joins a namespace with the header `{NAMESPACE_HEADER}: NAME`; "
            "control calls take `?namespace=NAME` or the same header. Any API path may also be reached as "
            "`/_sim/ns/NAME/<path>`, the same request in namespace NAME, for clients that take only a base URL.",
        },
        "servers": [{"url": "/"}],
        "paths": _with_common_refusals(_paths()),
        "components": {
            "schemas": {
                "Match": _match_schema(with_status=False),
                "RequestMatch": _match_schema(with_status=True),
                "FaultRuleMatch": _shown_match_schema(),
                "Action": _action_schema(),
                "FaultRuleRequest": _rule_request_schema(),
                "FaultRule": _rule_schema(),
                "JournalEntry": _journal_entry_schema(),
                "Clock": _clock_schema(),
                "Window": _window_schema(),
                "Usage": _usage_schema(),
                "Error": error,
            }
        },
    }
