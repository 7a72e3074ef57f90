"""Manual-clock simulators with one HTTP-level quirk a foreign implementation may have, for the suite's own handling of
it (not a defect of the API's rules, so not among tests/contract/mutants.py's):

- `hangs_on_flux_pro`: a valid flux-pro generation is never answered (a provider adapter that hangs); every
  other request, a refused flux-pro one included, is answered as ever.
- `unknown_methods_501`: a method HTTP does not define is a 501, as Python's http.server and many WSGI servers
  answer it (RFC 9110 15.6.2).

`uvicorn --factory tests.contract.http_quirks:<name>`.
"""

from __future__ import annotations

import json
from typing import Any

from contract_tests.proxy import whole_body
from simulator.app import create_app
from simulator.config import CLOCK_MANUAL, SimulatorConfig
from tests.contract.asgi_defects import GENERATIONS, ASGIApp, Message, Receive, Scope, Send, replaying

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def _simulator() -> ASGIApp:
    return create_app(SimulatorConfig(clock=CLOCK_MANUAL))


class _HangsOnModel:
    """Holds a generation for `model` the app would answer 200 until the client goes away, answering it never."""

    def __init__(self, app: ASGIApp, model: str) -> None:
        self.app, self.model = app, model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GENERATIONS or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await whole_body(receive)
        try:
            asked = json.loads(body)
        except ValueError:
            asked = None
        if not isinstance(asked, dict) or asked.get("model") != self.model:
            await self.app(scope, replaying(body, receive), send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, replaying(body, receive), hold)
        if held and held[0].get("status") == 200:
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        for message in held:
            await send(message)


def hangs_on_flux_pro() -> ASGIApp:
    return _HangsOnModel(_simulator(), "flux-pro")


def unknown_methods_501() -> ASGIApp:
    app = _simulator()

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in HTTP_METHODS:
            await app(scope, receive, send)
            return
        body = f"Unsupported method ({scope['method']!r})".encode()
        headers: list[Any] = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 501, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer
