"""The control layer: the ASGI wrapper every request passes through before it reaches a face.

    wire request ─► namespace (X-Sim-Namespace) ─► fault? (X-Sim-Fault, [sim:...] token, rule) ─► face
                                                      │ answered in the face's own envelope
                                                      ▼
                                                 journal entry ─► listeners (request log, metrics)

It wraps the whole Starlette app (outside its error handling) because `drop` and `truncate` act on the
connection itself. Requests to the simulator's own paths (/_sim/, /images/, /) only get their namespace.

Decisions:
- A fault that answers instead of the face (status, drop, malformed) runs no face, so it consumes no quota;
  a delay then the normal answer, and a truncated normal answer, went through the face and count.
- Precedence: the X-Sim-Fault header, then a [sim:...] token in the body, then the namespace's rules.
- A delay waits in real time (it is for client timeouts), on the event loop, so other requests go on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.context import in_namespace, start_recording, valid_namespace
from simulator.control.actions import FAULT_HEADER, Action, action_from_text, token_action
from simulator.control.faces import PERF, error_response, face_for_path
from simulator.control.inspect import Inspected, inspect
from simulator.control.journal import PROMPT_CHARS, JournalEntry, key_digest, mask_key
from simulator.control.plane import ControlPlane
from simulator.control.rules import RequestFacts
from simulator.engine.errors import ApiError, invalid
from simulator.state.base import State, StateUnavailable
from spec import errors

NAMESPACE_HEADER = "X-Sim-Namespace"
_NAMESPACE_KEY = NAMESPACE_HEADER.lower().encode()
_FAULT_KEY = FAULT_HEADER.lower().encode()
# An error body is read for its type up to this size; a malformed answer is this JSON cut short.
_ERROR_BODY_CAP = 16 * 1024
MALFORMED_BODY = b'{"created": 1767225600, "data": [{"url": "http://127.0.0.1/images/img_'


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _Replay:
    """The request body, read once by the layer and replayed to the face."""

    def __init__(self, receive: Receive, body: bytes, complete: bool) -> None:
        self._receive = receive
        self._pending: Message | None = {"type": "http.request", "body": body, "more_body": not complete}

    async def __call__(self) -> Message:
        if self._pending is not None:
            message, self._pending = self._pending, None
            return message
        return await self._receive()


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """Up to the API's body limit (a larger body is refused by the face, unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > errors.MAX_BODY_BYTES:
            return b"".join(chunks), False


async def _close_connection(send: Send) -> None:
    """Close the client's connection at once. uvicorn's `send` is a method of the request cycle holding the transport."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("drop and truncate need a server that exposes its transport (uvicorn)")
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)  # let the server see the connection lost, so it does not answer 500 on it


def _error_type(body: bytes) -> str | None:
    """The error's type as the face wrote it: Perf/OpenAI `error.type`, Google `error.status`, Stability `name`."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    if isinstance(error, dict):
        found = error.get("type") or error.get("status")
        return found if isinstance(found, str) else None
    name = parsed.get("name")
    return name if isinstance(name, str) else None


class ControlLayer:
    def __init__(self, app: ASGIApp, plane: ControlPlane, state: State) -> None:
        self.app = app
        self.plane = plane
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = _header(scope, _NAMESPACE_KEY)
        if name is None:
            name = "default"
        elif not valid_namespace(name):
            message = f"{NAMESPACE_HEADER} must be 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit, got {name!r}"
            await error_response(PERF, invalid(NAMESPACE_HEADER, message))(scope, receive, send)
            return
        face = face_for_path(scope["path"])
        with in_namespace(name):
            if face is None:
                await self.app(scope, receive, send)
            else:
                await self.serve(face, name, scope, receive, send)

    async def serve(self, face: str, namespace: str, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        made = start_recording()
        headers = Headers(scope=scope)
        raw, complete = await _read_body(receive)
        seen = await inspect(scope["path"], headers, scope.get("query_string", b"").decode("latin-1"), raw)
        replay = _Replay(receive, raw, complete)
        answer = _Answer()

        async def record(action: Action | None) -> None:
            if answer.recorded:
                return
            answer.recorded = True
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            entry = JournalEntry(
                time=made.time if made.time is not None else await self._now(),
                method=scope["method"],
                path=scope["path"],
                face=face,
                namespace=namespace,
                key=mask_key(seen.key) if seen.key else None,
                model=made.model or seen.model,
                n=made.n or seen.n,
                size=made.size or seen.size,
                status=answer.status,
                error_type=answer.error_type(),
                latency_ms=latency_ms,
                fault=action.describe() if action is not None else None,
                image_ids=made.image_ids,
                prompt=_cut(seen.prompt),
                body=seen.body,
                key_digest=key_digest(seen.key) if seen.key else None,
            )
            await self.plane.journal.record(entry)

        try:
            action = await self._action(face, namespace, scope, seen, raw)
        except ApiError as exc:
            await error_response(PERF, exc)(scope, replay, answer.watching(send))
            await record(None)
            return
        if action is not None and action.delay_ms:
            await asyncio.sleep(action.delay_ms / 1000)
        if action is None or not (action.answers_error or action.truncate):
            await self.app(scope, replay, answer.watching(send, before_last=lambda: record(action)))
        elif action.status is not None:
            await error_response(face, action.error())(scope, replay, answer.watching(send, before_last=lambda: record(action)))
        elif action.malformed:
            response = Response(MALFORMED_BODY, media_type="application/json")
            await response(scope, replay, answer.watching(send, before_last=lambda: record(action)))
        elif action.drop:
            await record(action)
            await _close_connection(send)
        else:
            await self.app(scope, replay, answer.holding())
            await record(action)
            await answer.send_truncated(send)
        await record(action)

    async def _now(self) -> float:
        """The namespace's clock; wall time when the shared state is down (the face has answered 503 then)."""
        try:
            return await self.state.now()
        except StateUnavailable:
            return time.time()

    async def _action(self, face: str, namespace: str, scope: Scope, seen: Inspected, raw: bytes) -> Action | None:
        header = _header(scope, _FAULT_KEY)
        if header is not None:
            return action_from_text(header, FAULT_HEADER)
        token = token_action(raw)
        if token is not None:
            return token
        facts = RequestFacts(face, scope["path"], scope["method"], namespace, seen.model, seen.key, seen.prompt)
        try:
            return await self.plane.rules.select(facts)
        except StateUnavailable:
            return None  # the shared state is down: the face answers 503 in its own envelope


def _cut(prompt: str | None) -> str | None:
    return prompt if prompt is None or len(prompt) <= PROMPT_CHARS else prompt[:PROMPT_CHARS] + "…"


class _Answer:
    """What the face (or the fault) answered: its status and, for an error, the start of its body."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.error_body = bytearray()
        self.recorded = False
        self._held: list[Message] = []

    def error_type(self) -> str | None:
        return _error_type(bytes(self.error_body)) if self.status is not None and self.status >= 400 else None

    def _note(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and self.status is not None and self.status >= 400:
            self.error_body += message.get("body", b"")[: max(0, _ERROR_BODY_CAP - len(self.error_body))]

    def watching(self, send: Send, before_last: Callable[[], Awaitable[None]] | None = None) -> Send:
        async def watched(message: Message) -> None:
            self._note(message)
            if before_last is not None and message["type"] == "http.response.body" and not message.get("more_body", False):
                await before_last()
            await send(message)

        return watched

    def holding(self) -> Send:
        async def held(message: Message) -> None:
            self._note(message)
            self._held.append(message)

        return held

    async def send_truncated(self, send: Send) -> None:
        """The held answer's status line, headers and first half of its body, then the connection closed."""
        body = b"".join(m.get("body", b"") for m in self._held if m["type"] == "http.response.body")
        start = next(m for m in self._held if m["type"] == "http.response.start")
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        await _close_connection(send)
