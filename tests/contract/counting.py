"""The simulator (manual clock) counting the images it admits per key: what a contract run spends on each key, for
the figures the suite warns with (contract_tests/budget.py). `GET /_count/images` answers the counts so far.

`uvicorn --factory tests.contract.counting:app`.
"""

from __future__ import annotations

import json
from collections import Counter

from tests.contract.asgi_defects import GENERATIONS, ASGIApp, Message, Receive, Scope, Send
from tests.contract.mutants import _simulator

COUNT_PATH = "/_count/images"


def app() -> ASGIApp:
    simulator = _simulator()
    images: Counter[str] = Counter()

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == COUNT_PATH:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps(dict(images)).encode()})
            return
        if scope["type"] != "http" or scope["path"] != GENERATIONS:
            await simulator(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        status, chunks = 0, []

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and status == 200:
                    data = json.loads(b"".join(chunks)).get("data")
                    images[authorization.removeprefix("Bearer ")] += len(data) if isinstance(data, list) else 0
            await send(message)

        await simulator(scope, receive, watch)

    return serve
