"""How long a request's body may take to come (`--body-timeout`): one timer per event loop for every request of that
loop awaiting its body.

A client whose Content-Length promises more than it sends (or a chunked body that stops) was never answered: uvicorn
has no body timeout, and the control layer awaited the rest for ever. A deadline per request by `asyncio.timeout` or
`wait_for` costs 17-20 µs a request (a timer or a task each), paid by every client that sends its headers and body in
two writes (httpx, the openai SDK); here a request only notes its task and deadline in its loop's dict, and the loop's
one timer, ticking while any of its requests waits, cancels those past theirs. A deadline is therefore kept to within
a tick.

The app outlives event loops when it is served in process (httpx's ASGITransport, Starlette's TestClient, a test
framework's loop per test), and may be served on several at once (a loop per thread): each loop has its own timer and
deadlines, since a task can only be cancelled from its own loop. One timer that moved to the loop entered last left
a still-open loop's stalled body without its 408. A loop closed before its tick ran leaves its timer behind with it;
the deadlines of closed loops, whose tasks can no longer be cancelled, are dropped when a new loop enters.
"""

from __future__ import annotations

import asyncio

TICK_SECONDS = 0.5


class _LoopDeadlines:
    """One event loop's requests awaiting their bodies, those cancelled for being past their deadline, and whether
    the loop's timer is pending. Only that loop's thread touches it."""

    __slots__ = ("expired", "ticking", "waiting")

    def __init__(self) -> None:
        self.waiting: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.ticking = False


class BodyDeadlines:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loops: dict[asyncio.AbstractEventLoop, _LoopDeadlines] = {}

    def enter(self) -> asyncio.Task[object] | None:
        """Start the current request's deadline; its task, which `leave` takes (None outside a task)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = task.get_loop()
        deadlines = self._loops.get(loop)
        if deadlines is None:
            self._forget_closed_loops()
            deadlines = self._loops[loop] = _LoopDeadlines()
        deadlines.waiting[task] = loop.time() + self.seconds
        if not deadlines.ticking:
            deadlines.ticking = True
            loop.call_later(TICK_SECONDS, self._tick, loop, deadlines)
        return task

    def leave(self, task: asyncio.Task[object] | None) -> bool:
        """End the request's deadline; True when it had passed, and cancelled the task (the cancellation is then
        taken back: the request goes on, to answer its 408)."""
        if task is None:
            return False
        deadlines = self._loops[task.get_loop()]
        deadlines.waiting.pop(task, None)
        if task not in deadlines.expired:
            return False
        deadlines.expired.discard(task)
        task.uncancel()
        return True

    def _tick(self, loop: asyncio.AbstractEventLoop, deadlines: _LoopDeadlines) -> None:
        now = loop.time()
        for task, deadline in list(deadlines.waiting.items()):
            if deadline <= now:
                del deadlines.waiting[task]
                deadlines.expired.add(task)
                task.cancel()
        if deadlines.waiting:
            loop.call_later(TICK_SECONDS, self._tick, loop, deadlines)
        else:
            deadlines.ticking = False

    def _forget_closed_loops(self) -> None:
        """Loops of other threads may enter meanwhile: the keys are copied first, and each loop is removed by its own
        key only (a closed loop enters no more)."""
        for loop in [loop for loop in list(self._loops) if loop.is_closed()]:
            self._loops.pop(loop, None)
