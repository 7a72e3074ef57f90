"""How long a request's body may take to come (`--body-timeout`): one timer for every request awaiting its body.

A client whose Content-Length promises more than it sends (or a chunked body that stops) was never answered: uvicorn
has no body timeout, and the control layer awaited the rest for ever. A deadline per request by `asyncio.timeout` or
`wait_for` costs 17-20 µs a request (a timer or a task each), paid by every client that sends its headers and body in
two writes (httpx, the openai SDK); here a request only notes its task and deadline in a dict, and one timer, ticking
while any request waits, cancels those past theirs. A deadline is therefore kept to within a tick.

The app outlives event loops when it is served in process (httpx's ASGITransport, Starlette's TestClient, a test
framework's loop per test): the timer is the running loop's, and a loop closed before its tick ran leaves no timer
behind, so the next loop starts its own; entries of a closed loop, whose tasks can no longer be cancelled, are dropped.
"""

from __future__ import annotations

import asyncio

TICK_SECONDS = 0.5


class BodyDeadlines:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._waiting: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._ticking_on: asyncio.AbstractEventLoop | None = None
        """The loop whose timer is pending (None while no request waits)."""

    def enter(self) -> asyncio.Task[object] | None:
        """Start the current request's deadline; its task, which `leave` takes (None outside a task)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = asyncio.get_running_loop()
        self._waiting[task] = loop.time() + self.seconds
        if loop is not self._ticking_on:
            self._ticking_on = loop
            loop.call_later(TICK_SECONDS, self._tick)
        return task

    def leave(self, task: asyncio.Task[object] | None) -> bool:
        """End the request's deadline; True when it had passed, and cancelled the task (the cancellation is then
        taken back: the request goes on, to answer its 408)."""
        if task is None:
            return False
        self._waiting.pop(task, None)
        if task not in self._expired:
            return False
        self._expired.discard(task)
        task.uncancel()
        return True

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._ticking_on:
            return  # the timer of a loop left since, run again: the timer moved to the loop that entered last
        now = loop.time()
        waits = False
        for task, deadline in list(self._waiting.items()):
            owner = task.get_loop()
            if owner is not loop:
                if owner.is_closed():
                    del self._waiting[task]
            elif deadline <= now:
                del self._waiting[task]
                self._expired.add(task)
                task.cancel()
            else:
                waits = True
        if self._expired:
            self._expired = {task for task in self._expired if not task.get_loop().is_closed()}
        if waits:
            loop.call_later(TICK_SECONDS, self._tick)
        else:
            self._ticking_on = None
