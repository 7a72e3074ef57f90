"""Control writes that Redis carries out only while their caller still waits, so that a control call's 503 from a stuck
Redis means "nothing was changed" and its retry is safe.

A command sent to a stuck Redis is not lost: Redis runs it once it wakes, after the simulator has answered 503. For a
request's admission that is documented (docs/load.md); for a control call it made a `POST /_sim/faults` answered 503
store its rule anyway, and the retry that the 503 asks for store it twice. So each control write is one script that
starts by reading Redis's clock and does nothing (it answers `LATE`) past a deadline taken from Redis's own clock
just before: `TIME`, then the script with that time plus LATE_AFTER_SECONDS. Redis's clock on both sides, so the
deadline holds whatever the workers' clocks say (they may run on other machines than Redis).

Decision: LATE_AFTER_SECONDS is half the state's timeout (SOCKET_TIMEOUT_SECONDS, 3 s). The caller waits the whole
timeout for the script's answer, from after `TIME` answered: a script that runs in time leaves its answer 1.5 s to
arrive, and one Redis runs later refuses, whether the caller is still waiting (its 503 then says so) or not. A
healthy Redis runs it within milliseconds; a worker's event loop stalled for more than 1.5 s between the two calls
makes the change a 503 too, which a retry mends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from simulator.state.base import StateUnavailable

LATE_AFTER_SECONDS = 1.5
LATE = "PERFSIM_LATE"
"""The error a script answers when it ran past its deadline (it changed nothing)."""

ON_TIME = f"""
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('{LATE} ran past its deadline')
end
"""
"""The start of every script `run_on_time` runs: ARGV[1] is its deadline, in ms of Redis's clock."""

Caller = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""How a store makes one bounded call to Redis (`RedisState._call`, or `call_redis` with its client)."""


def on_time(source: str) -> str:
    """A script's source made to refuse when run late (its own ARGV then start at ARGV[2])."""
    return ON_TIME + source


async def run_on_time(call: Caller, redis: Redis, where: str, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """The answer of `script` (made by `on_time`), run by Redis while the caller still waits for it, or StateUnavailable
    (a 503): Redis did not answer, or ran the script too late for it to change anything."""
    seconds, micros = await call(redis.time)
    deadline_ms = int(seconds) * 1000 + int(micros) // 1000 + int(LATE_AFTER_SECONDS * 1000)
    try:
        return await call(partial(script, keys=list(keys), args=[deadline_ms, *args]))
    except redis_errors.ResponseError as exc:
        if LATE not in str(exc):
            raise
        raise StateUnavailable(
            f"Redis at {where} was too slow: it took over {LATE_AFTER_SECONDS:g} s to take the change, so nothing was changed; "
            "retry shortly"
        ) from None
