"""ASGI wrappers that inject a defect into a real simulator from the outside: rewrite what it answers, or what
it is asked. The product holds no switch for any of this.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from contract_tests.proxy import whole_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GENERATIONS = "/v1/images/generations"


@dataclass
class Answer:
    """A whole response, editable before it goes out."""

    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    @property
    def error(self) -> dict[str, Any] | None:
        body = self.json()
        return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None


class RewriteAnswers:
    """Buffer each response under `prefix` and pass it through `edit` before sending it."""

    def __init__(self, app: ASGIApp, edit: Callable[[Answer], None], prefix: str = GENERATIONS) -> None:
        self.app = app
        self.edit = edit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
            answer = Answer(scope["path"], start["status"], headers, b"".join(chunks))
            self.edit(answer)
            answer.headers["content-length"] = str(len(answer.body))
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
            await send({"type": "http.response.start", "status": answer.status, "headers": raw})
            await send({"type": "http.response.body", "body": answer.body})

        await self.app(scope, receive, capture)


class RewriteRequests:
    """Read each request body under `prefix` whole; `edit` returns the body to pass on, or an Answer to send instead."""

    def __init__(self, app: ASGIApp, edit: Callable[[bytes], bytes | Answer], prefix: str = GENERATIONS) -> None:
        self.app = app
        self.edit = edit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix) or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        edited = self.edit(await whole_body(receive))
        if isinstance(edited, Answer):
            headers = {**edited.headers, "content-length": str(len(edited.body))}
            await send(
                {"type": "http.response.start", "status": edited.status, "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
            )
            await send({"type": "http.response.body", "body": edited.body})
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]}
        scope["headers"].append((b"content-length", str(len(edited)).encode()))
        await self.app(scope, replaying(edited, receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` whole (read already by the wrapper), then whatever the server has after it."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
