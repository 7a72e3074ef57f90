"""The simulator behind a rate limiter that answers before anything is validated: every second request for images
is a 429 with retry_after 1, whatever its body. A legitimate order (the document does not say which check comes
first), so rules about validation must wait the 429 out rather than fail.

`uvicorn --factory tests.contract.throttled:app`.
"""

from __future__ import annotations

import json

from spec import errors
from tests.contract.asgi_defects import GENERATIONS, ASGIApp, Receive, Scope, Send
from tests.contract.mutants import _simulator

REFUSAL = json.dumps({"error": {"type": errors.RATE_LIMIT_EXCEEDED, "message": errors.RATE_LIMIT_MESSAGE, "retry_after": 1}}).encode()


class ThrottleFirst:
    """Answer every second POST under the generations path with a 429 before the app sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == GENERATIONS:
            self.requests += 1
            if self.requests % 2 == 1:
                headers = [(b"content-type", b"application/json"), (b"retry-after", b"1"), (b"content-length", str(len(REFUSAL)).encode())]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": REFUSAL})
                return
        await self.app(scope, receive, send)


def app() -> ASGIApp:
    return ThrottleFirst(_simulator())
