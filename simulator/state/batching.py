"""One Redis connection that carries many concurrent requests' commands, several per write (automatic pipelining).

Under load a worker has many requests in flight; sending each request's admission script on its own connection
costs a system call, a wake-up of redis-server and redis-py's per-command bookkeeping every time, which made a
worker on Redis less than half as fast as one in memory. Here the commands that arrive while a batch is on the wire
wait, and go together in the next write; their replies come back in order on the same connection. Each request
still makes exactly one round trip, and nothing is retried: a batch whose connection fails or stalls fails every
command in it (the caller answers 503), and the next batch connects afresh.

Commands are packed by hiredis (in C, a few microseconds each); redis-py's own packing, in Python, was the largest
single cost of a worker on Redis after the journal's encoding.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import AbstractConnection, ConnectionPool

from simulator.state.base import StateUnavailable, no_answer

Command = Sequence[str | bytes | int | float]


def busy_refusal(location: str, exc: redis_errors.ResponseError) -> StateUnavailable | None:
    """The 503 for a command Redis refused as BUSY, else None (the error is the caller's).

    Redis answers BUSY to every command once a script (or a slow module command) has run past its busy threshold
    (`busy-reply-threshold`, 5 s by default): as stuck as a Redis that does not answer, so the same 503 with
    `Retry-After`, not a 500 saying the simulator has a bug, with a traceback per request on stderr. Before that
    threshold Redis reads nothing, and the commands sent meanwhile wait their timeout as on a stopped process."""
    if not str(exc).startswith("BUSY "):
        return None
    return StateUnavailable(f"Redis at {location} is busy (a script or command has run past its busy threshold); retry shortly")


class LuaScript:
    """A script run by its SHA-1 (EVALSHA), its source sent only when Redis does not know it yet."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


class BatchingChannel:
    def __init__(self, pool: ConnectionPool, timeout_seconds: float, location: str) -> None:
        self._pool = pool
        self._timeout = timeout_seconds
        self._location = location
        self._connection: AbstractConnection | None = None
        self._waiting: list[tuple[Command, asyncio.Future[Any]]] = []
        self._sending = False

    async def execute(self, command: Command) -> Any:
        """The command's reply; raises the reply's ResponseError, or ConnectionError / TimeoutError for its batch."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((command, future))
        if not self._sending:
            self._sending = True
            asyncio.get_running_loop().create_task(self._send_batches())
        return await future

    async def call(self, command: Command) -> Any:
        """The command's reply; StateUnavailable (a 503) when Redis does not answer."""
        try:
            return await self.execute(command)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, TimeoutError) as exc:
            raise no_answer(self._location, exc) from exc
        except redis_errors.ResponseError as exc:
            refusal = busy_refusal(self._location, exc)
            if refusal is None:
                raise
            raise refusal from exc

    async def run_script(self, script: LuaScript, keys: Sequence[str | bytes], args: Sequence[str | bytes | int | float]) -> Any:
        """The script's reply. A Redis that does not know the script (restarted, or flushed) refuses it without
        running it, so loading it and sending again is safe."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self.call(command)
        except redis_errors.NoScriptError:
            await self.call(("SCRIPT", "LOAD", script.source))
            return await self.call(command)

    async def _send_batches(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._round_trip(batch)
        finally:
            self._sending = False

    async def _round_trip(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        replies: list[Any] = []
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connected()
                # hiredis's stub types its argument as a one-element tuple; it takes any length.
                packed = b"".join([hiredis.pack_command(tuple(command)) for command, _ in batch])  # type: ignore[arg-type]
                await connection.send_packed_command(packed, check_health=False)
                for _ in batch:
                    try:
                        replies.append(await connection.read_response())
                    except redis_errors.ResponseError as error:
                        replies.append(error)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, TimeoutError, OSError) as exc:
            await self._drop()
            failure = exc if isinstance(exc, redis_errors.RedisError | TimeoutError) else redis_errors.ConnectionError(str(exc))
            replies += [failure] * (len(batch) - len(replies))
            if isinstance(exc, redis_errors.TimeoutError | TimeoutError):
                # Redis did not answer for the whole timeout: the commands queued behind this batch fail with it, not
                # after a timeout of their own (under a stuck Redis most requests waited twice as long as one).
                stalled, self._waiting = self._waiting, []
                batch = [*batch, *stalled]
                replies += [failure] * len(stalled)
        except Exception as exc:
            await self._drop()
            replies += [exc] * (len(batch) - len(replies))
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _connected(self) -> AbstractConnection:
        """The channel's connection, a new one when there is none or Redis closed it since the last batch (a restart):
        the same check redis-py's pool makes before lending a connection."""
        if self._connection is not None:
            try:
                stale = await self._connection.can_read()
            except (redis_errors.ConnectionError, OSError):
                stale = True
            if stale:
                await self._drop()
        if self._connection is None:
            self._connection = self._pool.make_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        return self._connection

    async def _drop(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.disconnect(nowait=True)

    async def close(self) -> None:
        await self._drop()
