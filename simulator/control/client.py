"""A typed Python client for the simulator's control API (`/_sim/`), so tests steer and read it without raw HTTP.

    from simulator.control.client import SimulatorControl

    with SimulatorControl("http://127.0.0.1:8080", namespace="job-7") as sim:
        sim.add_fault({"face": "openai", "model": "dall-e-3"}, status=503, times=2)
        ...  # the app under test is pointed at sim.base_url (.../_sim/ns/job-7), or sends sim.headers
        assert sim.count(model="dall-e-3", status=200) == 1

A client bound to a namespace reads and steers only that namespace (its rules, journal, clock, windows). Without
one, calls over collections (faults, requests, count) cover every namespace, clock and usage mean the default
namespace, and reset forgets everything: the simulator's own rule for control calls. A control call the simulator
refuses raises `ControlError` with the simulator's own error type, message and field; so does a call that gets no
answer (status 0, type `unreachable`), one made after the client was closed (status 0, type `closed`), and one
answered by a server that is not the simulator's control API (type `not_the_simulator`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypedDict, cast
from urllib.parse import quote

import httpx

from simulator.context import NAMESPACE_RULE, valid_namespace
from simulator.namespace_path import namespace_base_path
from spec import errors
from spec.control_openapi import MAX_LIST_LIMIT

NAMESPACE_HEADER = "X-Sim-Namespace"
NO_ANSWER = 0
"""ControlError.status of a call that got no HTTP answer at all (types UNREACHABLE and CLOSED)."""
UNREACHABLE = "unreachable"
"""ControlError.type when the simulator could not be reached: nothing listening, a wrong host, a timeout."""
CLOSED = "closed"
"""ControlError.type of a call made after the client (or the in-process simulator it spoke to) was closed."""
NOT_THE_SIMULATOR = "not_the_simulator"
"""ControlError.type of an answer that is not the control API's (not its JSON, not its error envelope): server_url
names another server (a dev server answering every path with its page, a proxy, a redirect), or a base URL."""


def _named(argument: str, value: object, example: str) -> str:
    """`value` as the one path segment naming a key, rule or entry. An empty one made the call's path its collection's
    (`usage("")` asked `GET /_sim/usage/`), whose route 404 named no argument; refused here naming the argument."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string such as {example!r}, got {value!r}")
    if not value:
        raise ValueError(f"{argument} must be a non-empty string such as {example!r}, got ''")
    return _segment(value)


def _segment(value: str) -> str:
    """`value` as one path segment: a key or rule id holding `/` or `..` must name that key, not another path
    (`usage("x/../../clock")` read the clock); `.` and `..` alone, which `quote` leaves as they are, are encoded too
    (`usage(".")` listed every key)."""
    return quote(value, safe="") if value not in (".", "..") else value.replace(".", "%2E")


class Match(TypedDict, total=False):
    """Which requests a fault rule or a journal query is about; every field given must hold."""

    face: str
    path: str
    method: str
    model: str
    key: str
    prompt: str
    status: int
    """Only for the journal (`requests`, `count`), as `fault`, `key_id`, `since` and `request_id` are."""
    fault: str
    """The action's parts in X-Sim-Fault's form, each of which an entry's fault must hold."""
    key_id: str
    """The one key whose `key_id` (a journal entry's) it is, where `key` masked selects every key masked alike; in a
    listed rule (`faults`), the id of its key, shown masked."""
    since: float | str | datetime
    """Only for the journal too: entries whose time is this or later (Unix seconds, a datetime with its timezone, or
    an ISO 8601 string with its offset, as an entry's `time` and `iso`)."""
    request_id: str
    """Only for the journal too: the answer's x-request-id, exactly as its client got it."""


class FaultRule(TypedDict):
    id: str
    match: Match
    action: dict[str, Any]
    times: int | None
    remaining: int | None
    probability: float | None
    namespace: str
    fired: int


class JournalEntry(TypedDict):
    """One request as the journal recorded it (key masked, prompt cut, no image bytes)."""

    id: str
    time: float
    iso: str
    method: str
    path: str
    query: str | None
    """The query string as sent (Google's `?key=` masked as `key` is); None when the request had none."""
    face: str
    namespace: str
    key: str | None
    key_id: str | None
    """Tells apart two keys masked alike (`key` shows only their first characters)."""
    model: str | None
    n: int | None
    size: str | None
    status: int | None
    """None when a drop or reset fault closed the connection."""
    request_id: str | None
    """The answer's x-request-id as its client got it (the Perf API's `perf.request_id` on a success, `req_err_...` on
    an error; the OpenAI and Stability faces' own forms); None where the face's answer carries none (BFL, Google, an
    Ideogram error) and for a dropped connection."""
    error_type: str | None
    error_message: str | None
    """The error answer's message as the face wrote it (cut at 200 characters, then `…`); None for a success, a
    dropped connection, and an answer that is no error envelope (or was over 16 KiB)."""
    error_param: str | None
    """The request field the error names where the face's envelope names one (the Perf and OpenAI `param`, BFL's
    `detail[].loc`), else None."""
    latency_ms: float
    fault: str | None
    image_ids: list[str]
    prompt: str | None
    body: Any


class Clock(TypedDict):
    now: float
    iso: str


class ControlError(Exception):
    """The simulator refused a control call: `status`, and the Perf error envelope's `type`, `message` and `param`; or
    the client could not send it (a 400 of its own, saying so); or it got no answer (status NO_ANSWER, 0: type
    UNREACHABLE, or CLOSED for a call after the client was closed)."""

    def __init__(self, status: int, error_type: str | None, message: str, param: str | None = None) -> None:
        self.status = status
        self.type = error_type
        self.message = message
        self.param = param
        where = f" (field {param})" if param else ""
        super().__init__(f"{status} {error_type or 'error'}: {message}{where}")

    def __reduce__(self) -> tuple[type[ControlError], tuple[int, str | None, str, str | None]]:
        """Rebuilt from its fields, so one raised in a worker process (multiprocessing, ProcessPoolExecutor) reaches
        the parent as itself: the default rebuilt it from the formatted text alone, a TypeError on unpickling."""
        return type(self), (self.status, self.type, self.message, self.param)


def _since(since: float | str | datetime | None) -> float | str | None:
    """`since` as the control API takes it: a datetime as ISO 8601 (one without a timezone is the server's 400, as
    naming no one moment)."""
    return since.isoformat() if isinstance(since, datetime) else since


def _unreachable(server_url: str, exc: httpx.TransportError) -> str:
    """Why a call got no answer, in words that name where it went and what to check."""
    cause = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
    cause = cause[:1].lower() + cause[1:]
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return f"the simulator at {server_url} did not answer within the client's timeout ({type(exc).__name__}: {cause})"
    return f"cannot reach the simulator at {server_url} ({cause}): is it running, and is server_url its root?"


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's body as a JSON object, or None when it is none (no body, not JSON, an array, a string)."""
    try:
        body = response.json()
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return None
    return body if isinstance(body, dict) else None


def _error_envelope(response: httpx.Response) -> dict[str, Any] | None:
    """The error of a refusal in the control API's envelope (`{"error": {"type", "message", ...}}`, the Perf API's), or
    None for an answer in no such envelope: an HTML error page, a gateway's `{"detail": ...}`."""
    error = (_json_object(response) or {}).get("error")
    if isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str):
        return error
    return None


_BODY_SHOWN = 80
"""How much of a foreign answer's body a not_the_simulator message shows: enough to recognise the server."""


def _body_start(response: httpx.Response) -> str:
    """The start of an answer's body on one line (an HTML page's newlines and indentation folded), quoted."""
    text = " ".join(response.text.split())
    if not text:
        return "an empty body"
    return repr(text[:_BODY_SHOWN]) + ("…" if len(text) > _BODY_SHOWN else "")


def _check_match(match: object, example: str) -> None:
    """A match given as a string (`count("dall-e-3")`, meaning `model=`) would fail inside the client with an error
    about dict updates; said here in the terms of the call."""
    if match is not None and not isinstance(match, Mapping):
        raise TypeError(f"match must be a dict of request fields, as in {example}; got {match!r}")


def _present(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def fault_action(
    *,
    status: int | None = None,
    type: str | None = None,
    message: str | None = None,
    retry_after: int | None = None,
    delay_ms: int | None = None,
    dribble_ms: int | None = None,
    drop: bool = False,
    reset: bool = False,
    truncate: bool = False,
    malformed: bool = False,
) -> dict[str, Any]:
    """The action object of a fault rule, from keyword arguments named as the control API names them."""
    action = _present(status=status, type=type, message=message, retry_after=retry_after, delay_ms=delay_ms, dribble_ms=dribble_ms)
    for name, on in (("drop", drop), ("reset", reset), ("truncate", truncate), ("malformed", malformed)):
        # Only the booleans: `drop="no"` (truthy) installed a drop, where the server takes only `true` for it.
        if on is not True and on is not False:
            raise TypeError(f"{name} must be True or False, got {on!r}")
        if on:
            action[name] = True
    return action


class SimulatorControl:
    """The control API of one simulator, seen from one namespace (None: the default namespace)."""

    def __init__(self, server_url: str, namespace: str | None = None, timeout: float = 30.0, http: httpx.Client | None = None) -> None:
        if namespace is not None and not valid_namespace(namespace):
            # "" would send `?namespace=` (a 400 on every call) while `base_url` named no namespace at all
            raise ValueError(f"namespace must be {NAMESPACE_RULE} (or None), got {namespace!r}")
        self.server_url = server_url.rstrip("/")
        self.namespace = namespace
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)

    def in_namespace(self, namespace: str | None) -> SimulatorControl:
        """The same simulator (and connection pool) seen from another namespace."""
        return SimulatorControl(self.server_url, namespace, http=self._http)

    @property
    def base_url(self) -> str:
        """Where an app sends API requests to be in this client's namespace without sending any header:
        `<server>/_sim/ns/<namespace>` (add `/v1`, `/openai/v1`, ... as for the server itself)."""
        return self.server_url + namespace_base_path(self.namespace) if self.namespace else self.server_url

    @property
    def headers(self) -> dict[str, str]:
        """The header that puts an API request sent to `server_url` in this client's namespace (none for the default)."""
        return {NAMESPACE_HEADER: self.namespace} if self.namespace else {}

    def __repr__(self) -> str:
        """What a failed assertion shows of the object: where the simulator is and which namespace this speaks for."""
        return f"{type(self).__name__}({self.server_url!r}, namespace={self.namespace!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    _closed_reason = "this SimulatorControl was closed when its with block ended (or by close()): make a new one"
    """What a call after `close()` is told; PerfSim says its simulator stopped."""

    def _send(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> httpx.Response:
        """The answer to a control call, whatever its status. Every way the call can fail to get one is a
        ControlError, so `except ControlError` covers every refused call, and a test's report says what to check
        rather than showing httpx's internals."""
        __tracebackhide__ = True
        if self._http.is_closed:  # httpx's own "Cannot send a request, as the client has been closed." names no cause
            raise ControlError(NO_ANSWER, CLOSED, self._closed_reason)
        query = _present(**(params or {}), namespace=self.namespace)
        # The body is encoded here, as httpx would (UTF-8, no NaN), so a value JSON cannot carry (a datetime, a set,
        # NaN, a lone surrogate) is the documented 400 below, not a bare TypeError from inside httpx.
        try:
            content = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            message = f"the call cannot be sent: its body holds what JSON cannot carry ({exc})"
            raise ControlError(400, errors.INVALID_REQUEST, message) from None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            return self._http.request(method, self.server_url + path, content=content, headers=headers, params=query)
        except httpx.UnsupportedProtocol:
            raise ControlError(
                400,
                errors.INVALID_REQUEST,
                f"the call cannot be sent: server_url must be the simulator's root with its scheme and host, such as "
                f"http://127.0.0.1:8080; got {self.server_url!r}",
                "server_url",
            ) from None
        except httpx.TransportError as exc:
            raise ControlError(NO_ANSWER, UNREACHABLE, _unreachable(self.server_url, exc)) from exc
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
            # A value a URL cannot carry (a lone surrogate, a query past httpx's length): refused here as the
            # simulator refuses what it cannot read.
            raise ControlError(400, errors.INVALID_REQUEST, f"the call cannot be sent: {exc}") from None

    def _call(
        self, method: str, path: str, field: str, *, body: Any = None, params: dict[str, Any] | None = None, value: object = None
    ) -> dict[str, Any]:
        """The control API's answer to the call: a JSON object holding `field` (equal to `value`, if given), as every
        answer of that call does. Anything else came from another server (see `_answer`)."""
        __tracebackhide__ = True
        response = self._send(method, path, body=body, params=params)
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise self._refused(response)
        return self._answer(response, field, value)

    def _answer(self, response: httpx.Response, field: str, value: object = None) -> dict[str, Any]:
        """The JSON object of a successful answer, which must hold `field` (equal to `value`, if given).

        Decision: checked, not trusted. A server that is not the simulator's control API answers 200 too (a dev
        server's page on every path, a proxy's landing page) or redirects (http to https); read blindly, its answer
        was a JSONDecodeError or KeyError far from the cause, or a silent success (`add_fault` returning `{}`, so a
        test believed its rule was installed)."""
        if response.is_redirect:
            raise self._not_the_control_api(response, f"a redirect to {response.headers.get('location', 'nowhere')}")
        answer = _json_object(response)
        if answer is None:
            raise self._not_the_control_api(response, "no JSON object")
        if field not in answer:
            raise self._not_the_control_api(response, f"no {field!r} field")
        if value is not None and answer[field] != value:
            raise self._not_the_control_api(response, f"{field} is not {value!r}")
        return answer

    def _not_the_control_api(self, response: httpx.Response, why: str) -> ControlError:
        """The error of an answer the control API would never give, naming the URL called and what came back."""
        url = response.request.url.copy_with(query=None)
        content_type = response.headers.get("content-type") or "no content type"
        return ControlError(
            response.status_code,
            NOT_THE_SIMULATOR,
            f"the answer of {response.request.method} {url} is not the control API's ({why}: {response.status_code}, "
            f"{content_type}, {_body_start(response)}){self._root_hint()}",
        )

    def _root_hint(self) -> str:
        return (
            "; server_url should be the simulator's root, such as http://127.0.0.1:8080 (not a base URL such as "
            f".../v1), got {self.server_url!r}"
        )

    def _refused(self, response: httpx.Response) -> ControlError:
        """The error of a refused call. One in no error envelope of the control API's (an HTML 404 page, a gateway's
        401 `{"detail": ...}`) came from another server. A 401, 403, 404 or 405 where the control API's health check
        does not answer either means server_url is not the simulator's root (a base URL such as `.../v1`, another
        API), not a rule or entry that is missing: the message says so, where the face's own 404 would read as "not
        found"."""
        error = _error_envelope(response)
        if error is None:
            return self._not_the_control_api(response, "no error envelope")
        status, param = response.status_code, error.get("param")
        refused = ControlError(status, error["type"], error["message"], param if isinstance(param, str) else None)
        foreign = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED)
        if status in foreign and not self._serves_control():
            return ControlError(status, refused.type, refused.message + self._root_hint(), refused.param)
        return refused

    def _serves_control(self) -> bool:
        """Whether server_url + /_sim/health gives the control API's answer (`{"status": "ok"}`; a server answering
        every path with 200 does not), asked only after a 401, 403, 404 or 405 (a probe that gets no answer says yes:
        no hint rather than a wrong one)."""
        try:
            health = self._http.get(self.server_url + "/_sim/health")
        except httpx.HTTPError:
            return True
        return health.status_code == HTTPStatus.OK and (_json_object(health) or {}).get("status") == "ok"

    # fault rules

    def add_fault(
        self,
        match: Match | None = None,
        *,
        times: int | None = None,
        probability: float | None = None,
        status: int | None = None,
        type: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        delay_ms: int | None = None,
        dribble_ms: int | None = None,
        drop: bool = False,
        reset: bool = False,
        truncate: bool = False,
        malformed: bool = False,
    ) -> FaultRule:
        """Answer matching requests of this namespace with the action, for the next `times` of them (None: until
        removed), or for a `probability` share of them (decided from the seed and the count of matching requests, so
        a run whose requests are sent one after another is reproducible; requests sent at once are counted in the
        order they arrive, so which of them gets the fault can differ from run to run)."""
        __tracebackhide__ = True
        action = fault_action(
            status=status,
            type=type,
            message=message,
            retry_after=retry_after,
            delay_ms=delay_ms,
            dribble_ms=dribble_ms,
            drop=drop,
            reset=reset,
            truncate=truncate,
            malformed=malformed,
        )
        _check_match(match, 'add_fault({"model": "dall-e-3"}, status=503)')
        body = {"match": dict(match or {}), "action": action, **_present(times=times, probability=probability, namespace=self.namespace)}
        return cast(FaultRule, self._call("POST", "/_sim/faults", "id", body=body))

    def add_rule(self, rule: Mapping[str, Any]) -> FaultRule:
        """Add a rule written as `POST /_sim/faults` takes it (a scenario file's [[faults]] entry), in the namespace it
        names, else this client's. A client bound to a namespace steers only that one: a rule naming another is the
        server's 400 (two different namespaces in one call)."""
        __tracebackhide__ = True
        if not isinstance(rule, Mapping):
            raise TypeError(
                'rule must be a dict as POST /_sim/faults takes it, such as {"match": {"model": "dall-e-3"}, '
                f'"action": {{"status": 503}}, "times": 1}}; got {rule!r}'
            )
        return cast(FaultRule, self._call("POST", "/_sim/faults", "id", body={**_present(namespace=self.namespace), **rule}))

    def faults(self) -> list[FaultRule]:
        __tracebackhide__ = True
        rules: list[FaultRule] = self._call("GET", "/_sim/faults", "faults")["faults"]
        return rules

    def remove_fault(self, rule_id: str) -> int:
        """Remove one rule; returns how many it removed (1: an unknown id, or another namespace's, is ControlError
        404), as `clear_faults` returns its count."""
        __tracebackhide__ = True
        deleted: int = self._call("DELETE", f"/_sim/faults/{_named('rule_id', rule_id, 'fault_1')}", "deleted")["deleted"]
        return deleted

    def clear_faults(self) -> int:
        """Remove this namespace's rules (without a namespace: every rule); returns how many."""
        __tracebackhide__ = True
        deleted: int = self._call("DELETE", "/_sim/faults", "deleted")["deleted"]
        return deleted

    # the request journal

    def requests(
        self,
        *,
        face: str | None = None,
        path: str | None = None,
        method: str | None = None,
        model: str | None = None,
        status: int | None = None,
        key: str | None = None,
        key_id: str | None = None,
        prompt: str | None = None,
        fault: str | None = None,
        since: float | str | datetime | None = None,
        request_id: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The journal's entries of this namespace, newest first, filtered by every field given as `count` reads it
        (`prompt` a regular expression; `since` the earliest time, in Unix seconds or a datetime with its timezone;
        `request_id` an answer's x-request-id, as the app logged it; without `method`, every method but OPTIONS: a
        browser's CORS preflights are left out unless asked for); without `limit`, every one the journal holds.

        Decision: the control API lists 100 unless asked for more, which suits a person's curl; a test asserting
        `len(requests()) == 110` means all of them, and a silent cut at 100 would make it measure something else."""
        __tracebackhide__ = True
        limit = MAX_LIST_LIMIT if limit is None else limit
        params = _present(
            face=face,
            path=path,
            method=method,
            model=model,
            status=status,
            key=key,
            key_id=key_id,
            prompt=prompt,
            fault=fault,
            since=_since(since),
            request_id=request_id,
            limit=limit,
        )
        entries: list[JournalEntry] = self._call("GET", "/_sim/requests", "requests", params=params)["requests"]
        return entries

    def request(self, entry_id: str) -> JournalEntry:
        """The journal entry with this id (as `requests` shows it, `request_N`): ControlError 404 when this namespace
        has none (dropped past the journal's size, deleted, or another namespace's)."""
        __tracebackhide__ = True
        return cast(JournalEntry, self._call("GET", f"/_sim/requests/{_named('entry_id', entry_id, 'request_1')}", "id"))

    def count(self, match: Match | None = None, **fields: Any) -> int:
        """How many journalled requests of this namespace match (as a fault rule matches, plus `status`, `fault`,
        `key_id`, `since` and `request_id`)."""
        __tracebackhide__ = True
        _check_match(match, 'count({"model": "dall-e-3"}) or count(model="dall-e-3")')
        selected: dict[str, Any] = {**(match or {}), **fields}
        if "since" in selected:
            selected["since"] = _since(selected["since"])
        body = {"match": selected, **_present(namespace=self.namespace)}
        return int(self._call("POST", "/_sim/requests/count", "count", body=body)["count"])

    def clear_requests(self) -> int:
        """Empty this namespace's journal (without a namespace: all of it); returns how many entries it held."""
        __tracebackhide__ = True
        deleted: int = self._call("DELETE", "/_sim/requests", "deleted")["deleted"]
        return deleted

    # namespaces, clock, usage

    def namespaces(self) -> list[str]:
        """Every namespace requests have used, "default" first."""
        __tracebackhide__ = True
        names: list[str] = self._call("GET", "/_sim/namespaces", "namespaces")["namespaces"]
        return names

    def reset(self) -> Clock:
        """Forget this namespace's windows, ids, clock offset, rules and journal (without a namespace: everything)."""
        __tracebackhide__ = True
        return cast(Clock, self._call("POST", "/_sim/reset", "now"))

    def clock(self) -> Clock:
        __tracebackhide__ = True
        return cast(Clock, self._call("GET", "/_sim/clock", "now"))

    def advance(self, seconds: float | timedelta) -> Clock:
        """Move this namespace's clock forward (cross a minute or a day of rate windows without waiting) by `seconds`,
        or by a `datetime.timedelta` (`advance(timedelta(minutes=1))`: its total seconds)."""
        __tracebackhide__ = True
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        return cast(Clock, self._call("POST", "/_sim/clock/advance", "now", body={"seconds": seconds}))

    def usage(self, key: str) -> dict[str, Any]:
        """The key's tier and windows (minute, day, and per native provider) in this namespace."""
        __tracebackhide__ = True
        return self._call("GET", f"/_sim/usage/{_named('key', key, 'pk_test_pro_me')}", "tier")

    def usage_by_key(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self._call("GET", "/_sim/usage", "keys")

    def health(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self._call("GET", "/_sim/health", "status", value="ok")

    def ready(self) -> bool:
        """Whether the simulator serves (`GET /_sim/ready`), for a poll while it starts: True on its 200 answer
        `{"status": "ready", ...}`; False on its 503 (its Redis is down or stuck) and while nothing answers yet
        (ControlError `unreachable` inside).

        Decision: any other answer raises ControlError, as no poll will ever see it change: a 404 is a server_url that
        is not the simulator's root, a closed client stays closed, a URL without its scheme stays wrong, and a 200
        that is not the ready answer (a dev server's page on every path) is another server (`not_the_simulator`),
        where True ended the poll and the calls after it failed far from the cause."""
        __tracebackhide__ = True
        try:
            response = self._send("GET", "/_sim/ready")
        except ControlError as exc:
            if exc.type == UNREACHABLE:
                return False
            raise
        if response.status_code == HTTPStatus.SERVICE_UNAVAILABLE:
            return False
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise self._refused(response)
        self._answer(response, "status", "ready")
        return True

    def config(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self._call("GET", "/_sim/config", "state")

    def openapi(self) -> dict[str, Any]:
        """The control API's own OpenAPI 3.1 document (`GET /_sim/openapi.json`), as the simulator serves it: for a
        tool that generates a client in another language or checks answers against it."""
        __tracebackhide__ = True
        return self._call("GET", "/_sim/openapi.json", "openapi")
