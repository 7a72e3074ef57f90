"""The fault action vocabulary, and its three spellings: a rule's JSON, the X-Sim-Fault header and a [sim:...] token.

An action says how to answer instead of (or before) the normal answer. Every spelling is parsed into the same
`Action`, and anything wrong in it is an `ApiError` (400, invalid_request) naming the field, never ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from simulator.engine.errors import ApiError, cut, invalid, param_name, quoted
from simulator.engine.jsontypes import as_sent, json_integer
from simulator.http import whole_number
from spec import errors, tiers

FAULT_HEADER = "X-Sim-Fault"
# Decision: a delay is at most ten minutes, longer than any client timeout worth testing, short enough that a
# forgotten rule cannot hold connections for ever; and at least 1 ms: a delay of 0 changes nothing, and could be
# listed neither as part of the action (a listed `{}` is refused when posted back) nor in the journal's fault.
MIN_DELAY_MS = 1
MAX_DELAY_MS = 600_000
MIN_FAULT_STATUS, MAX_FAULT_STATUS = 400, 599
"""An injected status is an error's: a fault answers what the face would answer when something goes wrong."""
DRIBBLE_PARTS = 10
"""A dribbled body is sent in this many parts (fewer for a shorter body), evenly over `dribble_ms`: the first at once,
the last at the end. WireMock's chunked dribble delay, with its number of chunks fixed: what a test varies is the gap
between reads (`dribble_ms` / 9), which a client's per-read timeout is measured against."""
MAX_MESSAGE_CHARS = 500
INJECTED_MESSAGE = "perf-image-sim injected this error"
"""How an injected status's message begins unless the rule gives its own: what tells a client (the load verdict) that
the simulator's fault, not its rate limiting or its engine, answered."""
MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS = 1, tiers.DAY_SECONDS
"""Decision: at least 1, as the Perf API's document and every face's envelope say of a Retry-After: an injected 0
made an answer that broke the contract the fault was meant to test within. At most a day, the longest wait a day
window asks for."""
_FLAGS = ("drop", "reset", "truncate", "malformed")
_FIELDS = ("status", "type", "message", "retry_after", "delay_ms", "dribble_ms", *_FLAGS)
# The error type an injected status answers with when none is given: the first type of that status in the spec.
_TYPE_OF_STATUS: dict[int, str] = {}
for _type, _status in errors.STATUS.items():
    _TYPE_OF_STATUS.setdefault(_status, _type)


_BOUNDS = {
    "status": (MIN_FAULT_STATUS, MAX_FAULT_STATUS),
    "retry_after": (MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS),
    "delay_ms": (MIN_DELAY_MS, MAX_DELAY_MS),
    "dribble_ms": (MIN_DELAY_MS, MAX_DELAY_MS),
}
"""Each number of an action, and its bounds."""
WHOLE_FIELDS = tuple(_BOUNDS)
"""An action's fields that take a whole number."""


def type_for_status(status: int) -> str:
    return _TYPE_OF_STATUS.get(status, errors.INVALID_REQUEST if status < 500 else errors.INTERNAL_ERROR)


@dataclass(frozen=True)
class Action:
    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    retry_after: int | None = None
    delay_ms: int = 0
    dribble_ms: int = 0
    """Send the answer's body in parts spread over this long (a slow or stalling upstream); the answer is the face's
    unless another part (status, malformed, truncate) says otherwise."""
    drop: bool = False
    reset: bool = False
    """Like `drop`, but the connection is reset (TCP RST: the client reads ECONNRESET) instead of closed."""
    truncate: bool = False
    malformed: bool = False

    def error(self) -> ApiError:
        assert self.status is not None
        error_type = self.error_type or type_for_status(self.status)
        message = self.message or f"{INJECTED_MESSAGE} (fault {self.describe()})"
        return ApiError(error_type, message, None, self.retry_after, status=self.status)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.status is not None:
            body["status"] = self.status
            if self.error_type is not None:
                body["type"] = self.error_type
            if self.message is not None:
                body["message"] = self.message
            if self.retry_after is not None:
                body["retry_after"] = self.retry_after
        if self.delay_ms:
            body["delay_ms"] = self.delay_ms
        if self.dribble_ms:
            body["dribble_ms"] = self.dribble_ms
        body.update({flag: True for flag in _FLAGS if getattr(self, flag)})
        return body

    def describe(self) -> str:
        """The action in header form (`delay_ms=1500;status=503;message=try%3B later`), as an X-Sim-Fault header
        would write it: the journal's text of a fault, whole, so two rules differing only in their message are told
        apart in it."""
        parts = [f"delay_ms={self.delay_ms}"] if self.delay_ms else []
        if self.status is not None:
            parts.append(f"status={self.status}")
            if self.error_type:
                parts.append(f"type={self.error_type}")
            if self.message is not None:
                parts.append(f"message={_escaped(self.message)}")
            if self.retry_after is not None:
                parts.append(f"retry_after={self.retry_after}")
        if self.dribble_ms:
            parts.append(f"dribble_ms={self.dribble_ms}")
        parts += [flag for flag in _FLAGS if getattr(self, flag)]
        return ";".join(parts)


def _whole(value: object, name: str, low: int, high: int) -> int:
    whole = json_integer(value)
    if whole is None or not low <= whole <= high:
        raise invalid(name, f"{name} must be a whole number from {low} to {high}, got {cut(as_sent(value))}")
    return whole


def _whole_text(name: str, value: str, field: str) -> int:
    """Number `name` of an action in header form (`status=503`) given in `field` (X-Sim-Fault, a token's field, a
    count's fault). A 400 names it as that form writes it (`X-Sim-Fault: retry_after`) and says its bounds whatever
    is wrong, as a rule's does: a value of more digits than any number an action takes is a whole number out of range,
    not "not a whole number". Digits are shown as sent, anything else quoted as the text it is."""
    number = whole_number(value)
    low, high = _BOUNDS[name]
    if number is None or not low <= number <= high:
        shown = cut(value) if value.isascii() and value.isdigit() else quoted(value)
        raise invalid(field, f"{field}: {name} must be a whole number from {low} to {high}, got {shown}")
    return number


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_MESSAGE_CHARS:
        raise invalid(name, f"{name} must be a non-empty string of at most {MAX_MESSAGE_CHARS} characters")
    return value


def _error_type(value: object, name: str) -> str:
    """Decision: one of the spec's error types, as the control API's document has always said. Each native face
    translates these into its own words; a made-up type would reach the Perf face's envelope as it is, outside the
    Perf API's own list, and be listed back in a rule the document calls invalid."""
    if not isinstance(value, str) or value not in errors.STATUS:
        raise invalid(name, f"{name} must be one of {', '.join(errors.STATUS)}, got {quoted(value)}")
    return value


def action_from_json(body: object, field: str = "action") -> Action:
    """An action from its JSON form; `field` prefixes the names in error messages (action.status, ...)."""
    if not isinstance(body, dict) or not body:
        raise invalid(field, f'{field} must be an object such as {{"status": 503}}, {{"delay_ms": 1500}} or {{"drop": true}}')
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise invalid(
            param_name(f"{field}.{unknown[0]}"), f"{field}.{cut(unknown[0])} is not an action field; fields: {', '.join(_FIELDS)}"
        )
    for flag in _FLAGS:
        if flag in body and body[flag] is not True:
            raise invalid(f"{field}.{flag}", f"{field}.{flag} must be true when given")
    flags = [flag for flag in _FLAGS if body.get(flag)]
    status = _whole(body["status"], f"{field}.status", *_BOUNDS["status"]) if "status" in body else None
    combined = _combination_problem(
        {*(["status"] if status is not None else []), *flags, *(["dribble_ms"] if "dribble_ms" in body else [])}, field
    )
    if combined is not None:
        raise combined
    for name in ("type", "message", "retry_after"):
        if name in body and status is None:
            raise invalid(f"{field}.{name}", f"{field}.{name} needs {field}.status")
    retry_after = _whole(body["retry_after"], f"{field}.retry_after", *_BOUNDS["retry_after"]) if "retry_after" in body else None
    if status == 429 and retry_after is None:
        retry_after = 1
    return Action(
        status=status,
        error_type=_error_type(body["type"], f"{field}.type") if "type" in body else None,
        message=_text(body["message"], f"{field}.message") if "message" in body else None,
        retry_after=retry_after,
        delay_ms=_whole(body["delay_ms"], f"{field}.delay_ms", *_BOUNDS["delay_ms"]) if "delay_ms" in body else 0,
        dribble_ms=_whole(body["dribble_ms"], f"{field}.dribble_ms", *_BOUNDS["dribble_ms"]) if "dribble_ms" in body else 0,
        drop="drop" in flags,
        reset="reset" in flags,
        truncate="truncate" in flags,
        malformed="malformed" in flags,
    )


_ESCAPED = re.compile(r"[%;\]\x00-\x1f\x7f]|^\s|\s$")
"""What a value in header form cannot hold as itself: `;` and `]` end it, `%` starts an escape, control characters
have no place in a header, and the parser strips a value's outer spaces."""


def _escaped(value: str) -> str:
    """`value` as a header-form value: each character it cannot hold as itself percent-encoded (`a;b` -> `a%3Bb`)."""
    return _ESCAPED.sub(lambda found: "".join(f"%{byte:02X}" for byte in found.group().encode("utf-8")), value)


def _unescaped(value: str, name: str, field: str) -> str:
    """A header-form value with its percent escapes decoded (`a%3Bb` -> `a;b`, `caf%C3%A9` -> `café`).

    Decision: a value may percent-encode any character, as a URL's query does, so a message can hold the `;` that
    separates a header's parts and the `]` that ends a token (and a header, which HTTP keeps to Latin-1, any
    character); a `%` not followed by two hex digits is itself. Escapes that are not UTF-8 are a 400, not a guess."""
    if "%" not in value:
        return value
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise invalid(field, f"{field}: {cut(name)} holds percent escapes that are not UTF-8, got {quoted(value)}") from None


def _combination_problem(names: set[str], field: str) -> ApiError | None:
    """The 400 for parts no one action can hold together, or None: the answers (status and each flag) exclude each
    other, and a dribble needs an answer."""
    chosen = [name for name in ("status", *_FLAGS) if name in names]
    if len(chosen) > 1:
        return invalid(field, f"{field} combines {' and '.join(chosen)}: choose one of them (delay_ms may join any)")
    if "dribble_ms" in names and ("drop" in names or "reset" in names):
        return invalid(f"{field}.dribble_ms", f"{field}.dribble_ms needs an answer to dribble: it cannot join drop or reset")
    return None


def _header_parts(text: str, field: str) -> Iterator[tuple[str, str, bool, str]]:
    """(part, name, whether it has a value, the value percent-decoded) of each part of an action in header form; a
    name given twice, or a part with no name before its `=` (`=503`, which read as an empty name: "X-Sim-Fault:  is not
    an action field"), is a 400 naming `field`."""
    seen: set[str] = set()
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, has_value, value = (s.strip() for s in part.partition("="))
        if not name:
            raise invalid(field, f"{field}: {quoted(part)} has no name before its '='; write each part as name=value, e.g. status=503")
        if name in seen:
            raise invalid(field, f"{field}: {cut(name)} is given twice")
        seen.add(name)
        yield part, name, bool(has_value), _unescaped(value, name, field)


def action_from_text(text: str, field: str) -> Action:
    """An action from its header or token form: `status=503;retry_after=2`, `delay_ms=1500`, `drop`, `reset`, a
    value's `;`, `]` or `%` percent-encoded (`message=a%3Bb`)."""
    body: dict[str, object] = {}
    for part, name, has_value, value in _header_parts(text, field):
        if name in _FLAGS and not has_value:
            body[name] = True
        elif not has_value:
            raise invalid(field, f"{field}: {quoted(part)} is neither name=value nor one of {', '.join(_FLAGS)}")
        elif name in _BOUNDS:
            body[name] = _whole_text(name, value, field)
        elif name in _FLAGS:
            if value.lower() != "true":
                raise invalid(field, f"{field}: {name} takes no value (or true)")
            body[name] = True
        else:
            body[name] = value
    if not body:
        raise invalid(field, f"{field}: no action given; write one as status=503, delay_ms=1500 or drop")
    try:
        return action_from_json(body, "action")
    except ApiError as exc:  # worded for a rule's JSON: the header and token name an action's parts without `action.`
        raise invalid(field, f"{field}: {exc.message.removeprefix('action.')}") from None


def fault_parts(text: object, field: str) -> frozenset[str]:
    """The parts of an action in header form (`status=503;message=a%3Bb`) as the journal writes them, for selecting
    entries by their fault: each part must be one an action can hold, within its bounds and given once (`status=200`
    could never match, and a count of 0 would pass a test that tested nothing: a 400 naming `field`), and is written
    as `Action.describe` writes it (`%3b` -> `%3B`, `status=0503` -> `status=503`). Any parts select: `message=down`
    alone too."""
    if not isinstance(text, str) or not text.strip():
        raise invalid(field, f"{field} must be a fault in header form, e.g. drop, status=503 or delay_ms=1500")
    parts: dict[str, str] = {}
    for _, name, has_value, value in _header_parts(text, field):
        try:
            parts[name] = _fault_part(name, has_value, value, field)
        except ApiError as exc:  # named by the field the caller gave, as every control error is
            raise invalid(field, exc.message) from None
    combined = _combination_problem(set(parts), field)
    if combined is not None:  # no request can have got it
        raise invalid(field, combined.message)
    return frozenset(parts.values())


def _fault_part(name: str, has_value: bool, value: str, field: str) -> str:
    where = f"{field}: {name}"
    if name in _FLAGS and (not has_value or value.lower() == "true"):
        return name
    if name == "type":
        return f"type={_error_type(value, where)}"
    if name == "message":
        return f"message={_escaped(_text(value, where))}"
    if name in _BOUNDS:
        return f"{name}={_whole_text(name, value, field)}"
    given = f"{name}={value}" if has_value else name
    raise invalid(field, f"{field}: {quoted(given)} is no part of an action; parts: {', '.join(_FIELDS)}")


def has_fault_parts(fault: str | None, parts: frozenset[str]) -> bool:
    """Whether a journalled fault (`Action.describe`'s text) holds every part of `parts`."""
    return fault is not None and parts.issubset(fault.split(";"))


TOKEN_START = b"[sim:"
TOKEN_END = b"]"


def token_action(raw_body: bytes, field_of_token: Callable[[], str]) -> Action | None:
    """The action of the first [sim:...] token in a request body, if any (clients that cannot set headers).
    `field_of_token` names the field the token sits in; it is asked only for a bad token's 400, since it parses the
    body (simulator.control.token_field).

    Decision: the token is the first `[sim:` and the first `]` after it (if that one has none, no later one has),
    found by two scans of the bytes. The regular expression this replaced scanned from each unclosed `[sim:` to the
    body's end: a 240 KB body of them held the event loop, every request, for 12 s, a 10 MiB one for hours."""
    start = raw_body.find(TOKEN_START)
    if start < 0:
        return None
    end = raw_body.find(TOKEN_END, start + len(TOKEN_START))
    found = raw_body[start + len(TOKEN_START) : end] if end >= 0 else None
    in_json = raw_body.lstrip()[:1] in _JSON_STARTS
    # In a JSON body a token ends within its string, where a quote is always escaped: a bare one is the string's
    # end, and the `]` after it the body's own (`{"instances": [{"prompt": "a fox [sim:status=503"}]}`).
    if found is None or (in_json and _BARE_QUOTE.search(found)):
        field = field_of_token()
        raise invalid(field, f"{field} holds '[sim:' without its closing ']': write a fault token as [sim:status=503]{_TOKEN_OPT_OUT}")
    text = found.decode("utf-8", "replace")
    written = _as_written(text) if in_json else text
    try:
        return action_from_text(written, _TOKEN_FIELD)
    except ApiError as exc:  # a bad token (rare): only now is the body parsed, to name the field it sits in
        field = field_of_token()
        raise invalid(field, field + exc.message.removeprefix(_TOKEN_FIELD) + _TOKEN_OPT_OUT) from None


_TOKEN_FIELD = "prompt"
"""The name a token's text is parsed under; each message of `action_from_text` starts with it, and a bad token's
400 puts the name of the field that holds the token in its place (parsing the text again would double the time a
long bad token takes)."""


_TOKEN_OPT_OUT = (
    "; it was read as a perf-sim fault token [sim:...] (docs/control.md), and perf-sim --no-prompt-tokens"
    " (a scenario's prompt_tokens = false) makes such text ordinary"
)
"""Ends a bad token's 400. Its reader may never have meant a token: an app that sends its users' text on (code such as
`arr[sim:end]`, markdown) gets a complaint about actions in a body that holds none, unless the message says what
`[sim:` is here and how the simulator is told to leave it alone."""


_BARE_QUOTE = re.compile(rb'(?<!\\)(?:\\\\)*"')
"""A quote no backslash escapes (one after an even run of backslashes, which escape each other)."""


_JSON_STARTS = (b"{", b"[", b'"')
"""How a JSON body starts (a multipart form starts with its boundary)."""


def _as_written(text: str) -> str:
    """A token's text as its writer wrote it. The token is cut from the body's bytes (no parse on the hot path), where
    a JSON body holds it escaped: a message `say "hi"` arrives as `say \\"hi\\"`, `café` maybe as `caf\\u00e9`; so in a
    JSON body it is read as a JSON string's contents. Other bodies (a multipart form) hold the text as written."""
    if "\\" not in text:
        return text
    try:
        return str(json.loads(f'"{text}"'))
    except ValueError:
        return text


def header_text(value: bytes) -> str:
    """An X-Sim-Fault header's value: UTF-8, as curl and every HTTP library send a non-ASCII message, else Latin-1
    (HTTP's old default), so no byte is ever refused for its encoding."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
