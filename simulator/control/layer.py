"""The control layer: the ASGI wrapper every request passes through before it reaches a face.

    wire request ─► namespace (X-Sim-Namespace) ─► fault? (X-Sim-Fault, [sim:...] token, rule) ─► face
                                                      │ answered in the face's own envelope
                                                      ▼
                                                 journal entry ─► listeners (request log, metrics)

It wraps the whole Starlette app (outside its error handling) because `drop`, `reset` and `truncate` act on the
connection itself. Requests for the simulator itself (anything under /_sim/, and what its pages serve: /, an image
download) only get their namespace and their body's deadline (`--body-timeout`); a request no route serves is the
Perf API's unmatched request (`_page`). A path under a namespace's base path (`/_sim/ns/<name>/...`,
simulator.namespace_path) is first made the plain request of that namespace.

A request to which no fault can apply (no header, no token, no rule) takes the fast path: while the journal is in
process, the face's endpoint and the engine note the answer and what was made in a plain `Made` (simulator.context),
and the layer keeps the request's journal row from it (simulator.control.journal_row), making no entry object and
not wrapping `send` (a request for a face's literal path it sends down that face's lane itself,
simulator.face_lanes, which is the next layer in); with a journal in Redis, a thin wrapper only writes the
request's entry before the answer's last bytes. Every other request (a fault may apply, or a CORS preflight, which
no endpoint answers) goes through `_Exchange`, which watches the answer's messages. The control plane's cost on the
fast path is what `python -m load.same_core` and `python -m load.bench --only control` measure (issue 9 bounds it at
5% of url throughput).

Decisions:
- A fault that answers instead of the face (status, drop, reset, malformed) runs no face, so it consumes no quota;
  a delay then the normal answer, and a truncated normal answer, went through the face and count.
- Precedence: the X-Sim-Fault header, then a [sim:...] token in the body, then the namespace's rules.
- A [sim: in a body is a token unless the run was started with --no-prompt-tokens (SimulatorConfig.prompt_tokens):
  tokens are on by default for clients that cannot set a header (issue 9), and an app that sends its users' text on
  turns them off, the header and the rules still working.
- A delay waits in real time (it is for client timeouts), on the event loop, so other requests go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from functools import lru_cache
from time import perf_counter
from typing import Any, NamedTuple

from starlette._utils import get_route_path
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.connection import close_connection, cut_at_stop, server_cycle, unless_client_leaves
from simulator.context import (
    DEFAULT_NAMESPACE,
    ERROR_BODY_CAP,
    NAMESPACE_RULE,
    Made,
    made_in_namespace,
    recording,
    sent_request_id,
    valid_namespace,
)
from simulator.control.actions import DRIBBLE_PARTS, FAULT_HEADER, TOKEN_START, Action, action_from_text, header_text, token_action
from simulator.control.body_deadline import BodyDeadlines
from simulator.control.inspect import BEARER_FACES, FORM_TYPE, KEPT_BODY_BYTES, RequestEntry, form_fields, key_headers
from simulator.control.journal import kept_path
from simulator.control.journal_row import join_ids
from simulator.control.memory_journal import MemoryJournal
from simulator.control.plane import ControlPlane
from simulator.control.rules import RequestFacts
from simulator.control.token_field import token_field
from simulator.cors import open_answer
from simulator.engine.errors import ApiError, invalid, quoted, state_unavailable
from simulator.face_lanes import FaceLanes
from simulator.http import BODY, dump_json, header_dict, through_a_gateway, whole_number
from simulator.namespace_path import NAMED_BY_PATH, is_control_path, namespace_from_path
from simulator.namespace_path import NAMESPACE_HEADER as NAMESPACE_KEY
from simulator.namespace_path import PREFIX as NAMESPACE_PATH
from simulator.perf.wire import OWN_ROUTE
from simulator.registry import MAX_BODY_BYTES, control_refusal, error_response, face_for_path, malformed_response
from simulator.state.base import State, StateUnavailable
from spec import errors
from spec.models import PERF_FACE

NAMESPACE_HEADER = "X-Sim-Namespace"
_FAULT_KEY = FAULT_HEADER.lower().encode()
_FORM_TYPE_LENGTH = len(FORM_TYPE)
_LIMIT_DIGITS = len(str(min(MAX_BODY_BYTES.values())))
"""How many digits the smallest body limit has: a Content-Length of fewer is within every face's limit."""
# Which face a path belongs to, remembered: the registry reads its table for each path, the layer for every request.
_face_of = lru_cache(maxsize=4096)(face_for_path)


async def _read_rest(receive: Receive, first: bytes, limit: int) -> tuple[bytes, bool]:
    """The rest of a body sent in several messages, up to the face's body limit (a larger body is refused by the face,
    unread); True when it was all read. A client that leaves mid-body has not sent a request: False, and the face,
    reading on, meets the disconnect and answers nothing (a cut upload never generates, nor costs quota)."""
    chunks = [first]
    size = len(first)
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), size <= limit  # the last part may be the one that crosses the limit
    return b"".join(chunks), False


def _stalled(headers: dict[bytes, bytes], seconds: float) -> ApiError:
    """The 408 for a body that stopped coming, saying how long was waited and what was promised."""
    declared = headers.get(b"content-length")
    promised = f" of the {declared.decode('latin-1')} bytes its Content-Length promised" if declared else ""
    return ApiError(errors.REQUEST_TIMEOUT, f"the request's body{promised} did not arrive within {seconds:g} s (--body-timeout)")


def _declared_too_large(headers: dict[bytes, bytes], limit: int) -> bool:
    """Whether the body's declared length is past its face's limit: the layer then reads none of it (nor asks for it
    with `100 Continue`), and the face refuses it by that length."""
    declared = whole_number(headers.get(b"content-length", b"").decode("latin-1"))
    return declared is not None and declared > limit


def _through_a_gateway(scope: Scope) -> bool:
    """Whether the request is a perf-sim gateway's call upstream (its `Via` header, simulator.http.through_a_gateway).

    Decision: a prompt's fault token is applied by the first simulator that reads it. The gateway sends the prompt on
    as its caller wrote it (so the upstream renders what the Perf API in process renders), and a delay or a truncation
    applied again upstream, once per native call, would double what the caller asked for."""
    return through_a_gateway(scope["headers"])


@lru_cache(maxsize=8)
def _over_limit_note(limit: int) -> bytes:
    """What the journal keeps of a body past its face's limit, which the face refuses (413) unread: a JSON string,
    which the journal shows as it is, where the part read so far would show as `<131072 bytes, not JSON>`."""
    return dump_json(f"<a body over {limit} bytes, not read>")


def _ambiguous(scope: Scope, key: bytes, name: str) -> ApiError | None:
    """The 400 for header `name` (`key` as sent, lower-cased) given more than once with different values (named in
    the order sent), else None.
    Decision: a control header is never ignored, so neither is a second one; the same value repeated (a proxy or a
    client's middleware adding it again) is one header."""
    values = dict.fromkeys(value for header, value in scope["headers"] if header == key)
    if len(values) < 2:
        return None
    shown = ", ".join(quoted(header_text(value)) for value in values)
    if key == NAMESPACE_KEY and NAMED_BY_PATH in scope:
        base = f"{NAMESPACE_PATH}{scope[NAMED_BY_PATH]}/"
        return invalid(name, f"the base path {base} and {name} name different namespaces ({shown}); name one")
    return invalid(name, f"{name} given {len(values)} different values ({shown}); send one")


def _replaying(first: Message, receive: Receive) -> Receive:
    """A `receive` that gives `first` (the body as the layer read it, or what came instead of one) and then whatever
    the server says next."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


class _Lane(NamedTuple):
    face: str
    route: BaseRoute


class ControlLayer:
    def __init__(
        self,
        app: ASGIApp,
        plane: ControlPlane,
        state: State,
        pages: Sequence[BaseRoute],
        body_timeout: float,
        prompt_tokens: bool = True,
        waits_below_faces: bool = False,
    ) -> None:
        self.app = app
        self.waits_below_faces = waits_below_faces
        """Whether work below a face may wait on its client (a gateway's calls upstream, the engine's modelled latency:
        `simulator.connection.unless_this_client_leaves`), which the server's `send` noted on the request's `Made` lets
        see the client leave. Noted only then: holding `send` on every url request's `Made` cost it about 3% more CPU
        (`python -m load.same_core`, 2026-12-06: +10.6% to +11.4% against +6.8% without it)."""
        self.deadlines = BodyDeadlines(body_timeout)
        """How long a body not all here yet is awaited (`--body-timeout`)."""
        self.prompt_tokens = prompt_tokens
        """Whether a `[sim:...]` in a body is a fault token (`--no-prompt-tokens`: ordinary text, for an app under test
        that passes its users' text on, code such as `arr[sim:end]` included)."""
        self.pages = pages
        self.plane = plane
        self.journal = plane.journal
        self.rules = plane.rules
        self.keep = plane.journal.keep if isinstance(plane.journal, MemoryJournal) else None
        """The in-process journal's `keep`, which the fast path gives a request's row (in ROW_FIELDS order)."""
        self.front = app if isinstance(app, FaceLanes) else None
        self.lanes: dict[str, _Lane] = {}
        """Each face lane's path (simulator.face_lanes), with its face: the fast path sends a request down its lane
        itself, which spares it a call through the layers (a hundredth of a url request's time)."""
        if self.front is not None:
            self.lanes = {path: _Lane(face, route) for path, route in self.front.lanes.items() if (face := face_for_path(path)) is not None}
        self.state = state
        self.late_writes: set[asyncio.Future[None]] = set()
        """Journal writes of answers the state's outage made, left running after the answer (see `write_entry`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lane = self.lanes.get(get_route_path(scope))
        face = _face_of(scope["path"]) if lane is None else lane.face
        if face is None and scope["path"].startswith(NAMESPACE_PATH):
            scope = namespace_from_path(scope)
            face = _face_of(scope["path"])
        if face is None and not self._page(scope):
            face = PERF_FACE
        if face is None:
            scope[OWN_ROUTE] = True  # its error answers do not use up the API's error ids (simulator.perf.wire.ErrorIds)
        headers = header_dict(scope)
        named = headers.get(NAMESPACE_KEY)
        namespace = DEFAULT_NAMESPACE if named is None else named.decode("latin-1")
        refused: ApiError | None = None
        if named is not None:
            if valid_namespace(namespace):
                refused = _ambiguous(scope, NAMESPACE_KEY, NAMESPACE_HEADER)
            else:
                by_path = scope.get(NAMED_BY_PATH) is not None
                source = f"the base path {NAMESPACE_PATH}<name>/'s name" if by_path else NAMESPACE_HEADER
                # Quoted as its client wrote it: a path's name decoded as a URL's, a header's as X-Sim-Fault's (the
                # name Latin-1 decodes is only for the check, which any non-ASCII byte fails).
                written = scope[NAMED_BY_PATH] if by_path else header_text(named)
                message = f"{source} must be {NAMESPACE_RULE}, got {quoted(written)}"
                refused = invalid("namespace" if by_path else NAMESPACE_HEADER, message)
            if refused is not None:
                if face is None:
                    await error_response(PERF_FACE, refused)(scope, receive, open_answer(scope, send))
                    return
                # Decision: an API request refused for its namespace is journalled (so logged and counted) in the
                # default namespace: the app that sent it sees a 400, and the log is where its developer looks for why.
                namespace = DEFAULT_NAMESPACE
        if face is None:  # the simulator's own paths, in the request's namespace
            own_receive = await self._own_body(scope, receive, send, headers)
            if own_receive is None:
                return
            if named is None:
                await self.app(scope, own_receive, send)
                return
            token = recording.set(made_in_namespace(namespace))
            try:
                await self.app(scope, own_receive, send)
            finally:
                recording.reset(token)
            return
        # An API request: its body is read once (for a [sim:...] token and the journal) and replayed to the face.
        path = scope["path"] if lane is not None else kept_path(scope["path"])
        started = perf_counter()
        first: Message | None = None
        raw: bytes = b""
        limit = MAX_BODY_BYTES[face]
        stalled: ApiError | None = None
        # A body declared past the limit is not read (nor asked for with `100 Continue`): the face refuses it (413) by
        # its declared length at once, not after a body that may never come. Only a Content-Length with as many digits
        # as a limit can be past it; a shorter one (every usual request's) is not parsed.
        if len(headers.get(b"content-length", b"")) < _LIMIT_DIGITS or not _declared_too_large(headers, limit):
            # Only a body not all here yet is awaited under a deadline (simulator.control.body_deadline): one whose
            # first part has come has set uvicorn's message event, so the first `receive` does not wait. (Inline, not
            # a function: it runs on every request.) Under a server whose cycle shows no event, every body is.
            event = getattr(getattr(send, "__self__", None), "message_event", None)
            waiting = None if event is not None and event.is_set() else self.deadlines.enter()
            try:
                first = await receive()
                raw = first.get("body", b"")
                if first["type"] == "http.request":
                    complete = True
                    if first.get("more_body", False):
                        if _declared_too_large(headers, limit):
                            complete = False
                        else:
                            waiting = waiting or self.deadlines.enter()
                            raw, complete = await _read_rest(receive, raw, limit)
                            first = {"type": "http.request", "body": raw, "more_body": not complete}
                    if complete:
                        scope[BODY] = raw  # the face's read_body takes it from here
                if waiting is not None:
                    self.deadlines.leave(waiting)
            except asyncio.CancelledError:
                if self.deadlines.leave(waiting):
                    stalled = _stalled(headers, self.deadlines.seconds)
                    first, raw = None, b""
                elif not await cut_at_stop(send):  # a client still sending its body when the server stops
                    raise
                else:
                    return
        # (Slices and `partition`, not `startswith` and `find`: those parse their arguments by a format string,
        # and `in` on bytes first tries its operand as an integer, raising and formatting an error.)
        content_type = headers.get(b"content-type", b"")
        body: bytes | dict[str, Any]
        if BODY not in scope and (len(raw) > limit or _declared_too_large(headers, limit)):
            body = _over_limit_note(limit)  # the face refuses it unread: no form to parse
        elif content_type[:_FORM_TYPE_LENGTH] == FORM_TYPE:
            body = await form_fields(content_type, raw)
        else:
            body = raw
        query = scope.get("query_string", b"")
        authorization = headers.get(b"authorization")
        keys = b"authorization\n" + authorization if authorization is not None and face in BEARER_FACES else key_headers(headers)
        fault = headers.get(_FAULT_KEY)
        method = scope["method"]
        # A body not read whole (past its limit, or its client gone) holds no token: the face refuses it unread. The
        # setting is looked at only for a body holding `[sim:`, so the usual request pays nothing for it.
        tokened = raw.partition(TOKEN_START)[1] and self.prompt_tokens and BODY in scope and not _through_a_gateway(scope)
        may_fault = fault is not None or tokened or self.rules.may_apply()
        # A whole body is in the scope for the face; anything else it reads comes from the server.
        face_receive = receive if BODY in scope or first is None else _replaying(first, receive)
        if refused is not None or stalled is not None:
            entry = RequestEntry(method, path, face, namespace, keys, query, body)
            exchange = _Exchange(self, scope, receive, send, started, first, entry)
            if refused is not None:
                await exchange.refuse(refused)
            elif stalled is not None:
                await exchange.give_up(stalled)
            return
        keep = self.keep
        # A preflight (OPTIONS) is answered by the CORS layer, not by an endpoint that would note its answer.
        if may_fault or method == "OPTIONS" or keep is None or len(raw) > KEPT_BODY_BYTES:
            entry = RequestEntry(method, path, face, namespace, keys, query, body)
            entry.server_send = send
            token = recording.set(entry)
            try:
                if may_fault or method == "OPTIONS":
                    exchange = _Exchange(self, scope, receive, send, started, first, entry)
                    await exchange.run(fault, raw if tokened else b"", body if isinstance(body, dict) else None)
                else:
                    await self._answer_after_writing(scope, face_receive, send, started, entry)
            finally:
                recording.reset(token)
            return
        # The fast path: no fault can apply and the journal is in process. The face answers, noting its answer and
        # what the engine made (simulator.context); the layer keeps the request's row, without an entry object.
        # The row is kept without awaiting once the answer's last bytes are written, so no other request (a read
        # of the journal) is served in between.
        made = Made()
        # Set on the object, not left to the class's defaults: Python 3.11 reads an attribute the object holds in one
        # specialized step, but its class's default by a generic lookup (the state reads the namespace five times).
        made.namespace, made.image_ids, made.answer_error = namespace, (), None
        if self.waits_below_faces:
            made.server_send = send
        token = recording.set(made)
        try:
            if self.front is None or lane is None:
                await self.app(scope, face_receive, send)
            else:  # as FaceLanes sends it (no preflight comes here), without its call
                await lane.route.handle(self.front.enter(lane.route, scope), face_receive, open_answer(scope, send))
            latency_ms = (perf_counter() - started) * 1000
            when = made.time
            if when is None:
                when = await self.now()
        finally:
            recording.reset(token)
        keep(
            (
                when, method, namespace, latency_ms, join_ids(made.image_ids),
                face, path, made.status, made.made_model, None, len(made.image_ids),
                made.made_n, made.made_size, made.answer_error, made.request_id, keys, query, body, None,
            )
        )  # fmt: skip

    async def _own_body(self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]) -> Receive | None:
        """The body of a request for the simulator itself (a control call), read under the same deadline as an API
        request's: a `receive` that gives it whole, then whatever the server says next. None when the request has
        ended here: its body stopped coming, and it was answered 408 in the Perf envelope, as every bad control input
        is, and its connection closed (the rest of the body may still come, and would be read as the next request);
        or the server's graceful stop cut it.

        Decision: a control call gone wrong (a test's own HTTP helper) is not journalled, as no control call is."""
        if _declared_too_large(headers, errors.MAX_BODY_BYTES):
            return receive  # the endpoint refuses it (413) by its declared length, unread
        event = getattr(getattr(send, "__self__", None), "message_event", None)
        waiting = None if event is not None and event.is_set() else self.deadlines.enter()
        try:
            first = await receive()
            if first["type"] == "http.request" and first.get("more_body", False):
                waiting = waiting or self.deadlines.enter()
                raw, complete = await _read_rest(receive, first.get("body", b""), errors.MAX_BODY_BYTES)
                first = {"type": "http.request", "body": raw, "more_body": not complete}
            self.deadlines.leave(waiting)
        except asyncio.CancelledError:
            if self.deadlines.leave(waiting):
                await error_response(PERF_FACE, _stalled(headers, self.deadlines.seconds))(scope, receive, open_answer(scope, send))
                if server_cycle(send) is not None:
                    await close_connection(send)
            elif not await cut_at_stop(send):  # a client still sending its body when the server stops
                raise
            return None
        return _replaying(first, receive)

    def _page(self, scope: Scope) -> bool:
        """Whether the request is for the simulator itself: a control path, or one of its pages serves it, path
        and method.

        Decision: any other request is an unmatched one of the Perf API (the simulator's own API, whose 404 or 405
        answers it): journalled, logged and counted (as route `unmatched`) like a path under a face's prefix that the
        face does not serve, since a client sent to a wrong base URL (`POST /images/generations`, without `/v1`) is
        what the log and the journal are read for. A control call gone wrong is the test code's, not the app's, and
        stays out of the app's journal."""
        return is_control_path(scope["path"]) or any(route.matches(scope)[0] is Match.FULL for route in self.pages)

    async def _answer_after_writing(self, scope: Scope, receive: Receive, send: Send, started: float, entry: RequestEntry) -> None:
        """The face's answer, its entry written before the answer's last bytes leave: to a shared journal (so a client
        that reads the journal right after its answer finds it, whichever worker it asks), or in process for a body
        too large to keep unread. Only the last body message is held: the endpoint has noted the answer in the
        entry."""
        written = False

        async def send_after_writing(message: Message) -> None:
            nonlocal written
            if not written and message["type"] == "http.response.body" and not message.get("more_body", False):
                written = True
                await self.write_entry(entry, started)
            await send(message)

        await self.app(scope, receive, send_after_writing)
        if not written:  # the face returned without the last part of an answer
            await self.write_entry(entry, started)

    async def write_entry(self, entry: RequestEntry, started: float) -> None:
        """Keep the entry, awaiting a shared journal's write (the in-process fast path does the same inline, without
        the coroutine)."""
        entry.latency_ms = (perf_counter() - started) * 1000
        if entry.state_down:
            # Decision: the face answered 503 because the shared state did not answer in time; asking it again for the
            # clock and the write would hold the 503 for two more timeouts. The entry takes wall time and is written
            # after the answer, if the state comes back in time (the journal logs a write that fails).
            entry.time = time.time() if entry.time is None else entry.time
            writing = self.journal.record(entry)
            if writing is not None:
                late = asyncio.ensure_future(writing)
                self.late_writes.add(late)
                late.add_done_callback(self.late_writes.discard)
            return
        if entry.time is None:
            entry.time = await self.now()
        writing = self.journal.record(entry)
        if writing is not None:
            await writing

    async def now(self) -> float:
        """The namespace's clock; wall time when the shared state is down (the face has answered 503 then)."""
        try:
            return await self.state.now()
        except StateUnavailable:
            return time.time()


class _Exchange:
    """One API request to which a fault may apply (or a CORS preflight): the answer is watched on its way out, and its
    journal entry written before the answer's last bytes leave (so a client that reads the journal right after its
    answer finds it, whichever worker it asks)."""

    # Class-level defaults for what most exchanges never change.
    action: Action | None = None
    held: list[Message] | None = None
    recorded = False

    def __init__(
        self,
        layer: ControlLayer,
        scope: Scope,
        receive: Receive,
        send: Send,
        started: float,
        first: Message | None,
        entry: RequestEntry,
    ) -> None:
        self.layer = layer
        self.scope = scope
        self.receive = receive
        self.send = send
        self.started = started
        self._pending: Message | None = first
        self.entry = entry

    async def run(self, fault_header: bytes | None, raw: bytes, form: dict[str, Any] | None) -> None:
        await self._with_fault(None if fault_header is None else header_text(fault_header), raw, form)
        if not self.recorded:  # the face returned without the last part of an answer
            await self.record()

    async def answer(self, response: ASGIApp) -> None:
        """Send `response` instead of the face's answer, watched as the face's answer is (and with its CORS headers)."""
        await response(self.scope, self.replay, open_answer(self.scope, self.watch))

    async def give_up(self, exc: ApiError) -> None:
        """Answer a request whose body stopped coming (`exc`, its 408) in the face's envelope, journal it, and close
        the connection: the rest of the body may still come, and would be read as the next request. A server that
        exposes no connection (an in-process client) is left to end the request itself."""
        await self.answer(error_response(self.entry.face, exc))
        await self.record()
        if server_cycle(self.send) is not None:
            await close_connection(self.send)

    async def refuse(self, exc: ApiError) -> None:
        """Answer `exc` in the Perf envelope, as every bad control input is (with the face's own fields beside it,
        `registry.control_refusal`), and journal it."""
        await self.answer(control_refusal(self.entry.face, exc))
        await self.record()

    async def _with_fault(self, fault_header: str | None, raw: bytes, form: dict[str, Any] | None) -> None:
        scope = self.scope
        try:
            action = self.action = self._header_or_token(fault_header, raw, form) or await self._rule()
        except ApiError as exc:
            await self.refuse(exc)
            return
        except StateUnavailable as exc:
            self.entry.state_down = True  # its entry is stamped with wall time and written after the answer
            if self.entry.method != "OPTIONS":
                # Decision: the rules could not be read because the shared state did not answer; the face would ask
                # the same state and wait as long again, so the face's own 503 is the answer at once.
                await self.answer(error_response(self.entry.face, state_unavailable(exc)))
                return
            # Decision: an OPTIONS request whose rules cannot be read takes none. A rule takes OPTIONS only when it
            # names the method, and a browser's CORS preflight needs no state: answered 503, it failed (a browser
            # reports a network error, "Failed to fetch"), so a browser app never saw the 503 of the request it
            # preceded, the one its retry handling is for.
            action = None
        if action is None:
            await self.layer.app(scope, self.replay, self.watch)
            return
        self.entry.fault = action.describe()
        if action.delay_ms and not await self._client_waits(action.delay_ms / 1000):
            await self.record()  # as dropped: nobody is left to answer
            return
        if action.drop or action.reset:
            await self.record()
            await close_connection(self.send, reset=action.reset)
            return
        if action.truncate or action.dribble_ms:
            self.held = []
        if action.status is not None:
            await self.answer(error_response(self.entry.face, action.error()))
        elif action.malformed:
            await self.answer(malformed_response(self.entry.face))
        else:
            await self.layer.app(scope, self.replay, self.watch)
        if self.held is not None:
            await self.send_held(action)

    async def _client_waits(self, seconds: float) -> bool:
        """Wait `seconds` (a delay fault, a dribble's gap), unless the client leaves first: False then
        (simulator.connection). Only a request whose body the layer has read whole can listen for the disconnect: the
        server's next message is then that; any other is seen leaving by its connection.

        A wait the server cuts at its graceful stop (GRACEFUL_STOP_SECONDS) closes the connection and ends the request
        quietly, as a client leaving does (uvicorn would log the cancelled request's traceback)."""
        try:
            await unless_client_leaves(asyncio.sleep(seconds), self.send, self.receive if BODY in self.scope else None)
        except ClientDisconnect:
            return False
        return True

    def _header_or_token(self, header: str | None, raw: bytes, form: dict[str, Any] | None) -> Action | None:
        def field_of_token() -> str:
            return token_field(raw, form, self.entry.inspected.prompt)

        if header is not None:
            ambiguous = _ambiguous(self.scope, _FAULT_KEY, FAULT_HEADER)
            if ambiguous is not None:
                raise ambiguous
            action = action_from_text(header, FAULT_HEADER)
            token_action(raw, field_of_token)  # the header decides, but a broken token beside it is refused too: never ignored
            return action
        return token_action(raw, field_of_token)

    async def _rule(self) -> Action | None:
        return await self.layer.plane.rules.select(self.entry.namespace, self._facts)

    def _facts(self) -> RequestFacts:
        entry = self.entry
        asked = entry.inspected
        return RequestFacts(entry.face, entry.path, entry.method, entry.namespace, asked.model, asked.key, asked.prompt)

    async def replay(self) -> Message:
        """The face's `receive`: the body read by the layer, then whatever the server says next (a disconnect)."""
        if self._pending is not None:
            message, self._pending = self._pending, None
            return message
        return await self.receive()

    async def watch(self, message: Message) -> None:
        """The face's `send`: notes the status, the x-request-id and an error's body, records the entry before the last
        bytes."""
        kind = message["type"]
        if kind == "http.response.start":
            self.entry.status = message["status"]
            self.entry.answer_error = None  # what the endpoint noted: the answer sent is what counts
            self.entry.request_id = sent_request_id(message.get("headers", ()))  # what the client got, whoever answered
        elif kind == "http.response.body":
            entry = self.entry
            if entry.status is not None and entry.status >= 400:
                start = entry.answer_error or b""
                if len(start) < ERROR_BODY_CAP:
                    entry.answer_error = start + message.get("body", b"")[: ERROR_BODY_CAP - len(start)]
            if not message.get("more_body", False) and self.held is None:
                await self.record()
        if self.held is not None:
            self.held.append(message)
        else:
            await self.send(message)

    async def record(self) -> None:
        if self.recorded:
            return
        self.recorded = True
        await self.layer.write_entry(self.entry, self.started)

    async def send_held(self, action: Action) -> None:
        """The held answer's status line and headers, then its body: only the first half, then the connection closed,
        when truncated; in parts spread over `dribble_ms` when dribbled, until the client leaves. Nothing when the face
        answered nothing (its client left: simulator.http.unheard_answer)."""
        held = self.held or []
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        await self.record()
        if start is None:
            return
        await self.send(start)
        if action.truncate:
            body = body[: len(body) // 2]
        count = min(DRIBBLE_PARTS, len(body)) if action.dribble_ms else 1
        parts = [body[len(body) * i // count : len(body) * (i + 1) // count] for i in range(count)] or [b""]
        gap = action.dribble_ms / 1000 / max(len(parts) - 1, 1)
        for index, part in enumerate(parts):
            if index and not await self._client_waits(gap):
                return
            await self.send({"type": "http.response.body", "body": part, "more_body": action.truncate or index < len(parts) - 1})
        if action.truncate:
            await close_connection(self.send)
