"""The simulator behind a rate limiter that answers before anything is validated: every second request for images
is a 429 with retry_after 1, whatever its body. A legitimate order (the document does not say which check comes
first), so rules about validation must wait the 429 out rather than fail.

`uvicorn --factory tests.contract.throttled:app`.
"""

from __future__ import annotations

import json
import os

from spec import errors
from tests.contract.asgi_defects import GENERATIONS, ASGIApp, Receive, Scope, Send
from tests.contract.mutants import CLOCK_ENV, _simulator
from tests.contract.without_control import hide_control


class ThrottleFirst:
    """Answer every second POST under the generations path with a 429 (retry_after `wait`) before the app sees it."""

    def __init__(self, app: ASGIApp, wait: int = 1) -> None:
        self.app = app
        self.requests = 0
        self.wait = wait
        error = {"type": errors.RATE_LIMIT_EXCEEDED, "message": errors.RATE_LIMIT_MESSAGE, "retry_after": wait}
        self.refusal = json.dumps({"error": error}).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == GENERATIONS:
            self.requests += 1
            if self.requests % 2 == 1:
                headers = [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(self.wait).encode()),
                    (b"content-length", str(len(self.refusal)).encode()),
                ]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": self.refusal})
                return
        await self.app(scope, receive, send)


def app() -> ASGIApp:
    return ThrottleFirst(_simulator())


FOREIGN_WAIT = 5
"""The retry_after of `foreign_app`: a wait long enough for a run to say it as it happens."""


def foreign_app() -> ASGIApp:
    """The same as another implementation (real clock, no /_sim/): the suite sleeps its 429s out."""
    os.environ[CLOCK_ENV] = "real"
    return hide_control(ThrottleFirst(_simulator(), FOREIGN_WAIT))
