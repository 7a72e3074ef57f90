"""State shared through Redis, so several worker processes keep one set of rate windows, images, clock and ids.

Semantics are those of `MemoryState` (see `spec.tiers` and `decide()`): admission runs as one Lua script, so
it is atomic across both windows and across every process; the script only counts and records, and the
retry_after arithmetic stays in the shared `decide()`.

Decisions:
- Every key lives under one prefix (`perf-sim:` by default); `reset` deletes that prefix only, so a Redis
  database may hold other data, but one database serves one simulator (its workers share it on purpose).
  Windows, the clock offset and the sequence sit under the namespace's prefix (`perf-sim:ns:<name>:`), so
  `reset(namespace)` deletes that prefix; images and blobs sit outside namespaces (see `simulator.state.base`).
- The clock is the configured origin (wall time, or the manual start) plus an offset kept in Redis, so an
  advance by any worker moves every worker's clock. Workers on one machine share its wall clock.
- Stored images (and blobs) expire in Redis after their lifetime in wall time, which bounds Redis memory (in
  place of the in-memory store's count and byte caps); each record also keeps its expiry in simulator time,
  which reads check, so moving the simulator clock an hour forward expires URLs as it does in memory.
- With the real clock, a key's windows expire a day and a minute after its last admission (by then both are
  empty anyway); with the manual clock they stay until reset, since wall time says nothing about them.
- Redis unreachable or slow: every call is bounded by short socket timeouts and raises `StateUnavailable`
  (a 503 in the API envelope). Nothing is retried: a retried admission could count twice. The pool checks
  a connection before reuse, so service resumes with the first request after Redis is back.
"""

from __future__ import annotations

import json
import math
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from simulator.context import namespace
from simulator.state.base import (
    CLOCK_MANUAL,
    Admission,
    ImageRecord,
    Limits,
    RateState,
    State,
    StateUnavailable,
    day_index,
    decide,
    namespace_prefix,
    rate_state,
    window_totals,
)
from spec import tiers
from spec.models import IMAGE_URL_TTL_SECONDS

DEFAULT_PREFIX = "perf-sim:"
# Decision: a healthy local Redis answers in well under a millisecond, but a worker's event loop can stall for
# a second on a loaded 2-core machine; three seconds (two to connect) means Redis is gone or stuck. A stopped
# Redis refuses connections at once, so an outage answers 503 in milliseconds, not after these timeouts.
SOCKET_TIMEOUT_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 2.0
WINDOW_TTL_MS = (tiers.DAY_SECONDS + tiers.MINUTE_SECONDS) * 1000
_EXPIRY = struct.Struct(">d")

T = TypeVar("T")

# KEYS: minute window (sorted set of "<images>:<unique>" scored by admission time), totals (hash: day, used
# today, images in the minute window). The minute total is kept running, so a request costs the same whatever
# the window holds; only a rejected request returns the window's entries (at most the limit's worth).
# ARGV: now, n, images per minute, images per day, day index, unique member id, window TTL in ms (0 = none),
# minute window length in seconds (spec.tiers.MINUTE_SECONDS).
# Workers read their clocks before their scripts run, so a script can find an entry newer than its `now`; it
# then admits at that entry's time, keeping each key's window in order (else retry_after could say 61).
# Returns {1, images today, images this minute, effective now} or {0, images today, images this minute,
# effective now, {member, score, ...}}.
_ADMIT = """
local now_s = ARGV[1]
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #newest == 2 and tonumber(newest[2]) > tonumber(now_s) then now_s = newest[2] end
local now = tonumber(now_s)
local n = tonumber(ARGV[2])
local totals = redis.call('HMGET', KEYS[2], 'day', 'used', 'minute')
local minute_used = tonumber(totals[3] or '0')
local window_start = now - tonumber(ARGV[8])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', window_start)
if #expired > 0 then
  for i = 1, #expired do
    minute_used = minute_used - tonumber(string.match(expired[i], '^(%d+):'))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', window_start)
  redis.call('HSET', KEYS[2], 'minute', minute_used)
end
local day_used = 0
if totals[1] == ARGV[5] then day_used = tonumber(totals[2]) end
if minute_used + n > tonumber(ARGV[3]) or day_used + n > tonumber(ARGV[4]) then
  return {0, day_used, minute_used, now_s, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
end
redis.call('ZADD', KEYS[1], now_s, n .. ':' .. ARGV[6])
day_used = day_used + n
minute_used = minute_used + n
redis.call('HSET', KEYS[2], 'day', ARGV[5], 'used', day_used, 'minute', minute_used)
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return {1, day_used, minute_used, now_s}
"""


def connect(url: str) -> Redis:
    """A client with the simulator's timeouts and no retries (see the module's decisions)."""
    return Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
        # RESP2: with RESP3 redis-py skips its check for pooled connections the server has closed, and the
        # first request after a Redis restart would fail.
        protocol=2,
    )


def location(redis: Redis) -> str:
    """Host, port and database, never a password."""
    kwargs = redis.connection_pool.connection_kwargs
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


async def call_redis(redis: Redis, operation: Callable[[], Awaitable[T]]) -> T:
    """The operation's result, or StateUnavailable (a 503) when Redis does not answer."""
    try:
        return await operation()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        raise StateUnavailable(f"Redis at {location(redis)} did not answer ({exc.__class__.__name__}); retry shortly") from exc


def as_text(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value


def _entries(flat: list[bytes]) -> list[tuple[float, int]]:
    """(admitted_at, images) from ZRANGE ... WITHSCORES output, oldest first."""
    pairs = [(float(flat[i + 1]), int(flat[i].split(b":", 1)[0])) for i in range(0, len(flat), 2)]
    return sorted(pairs)


class RedisState(State):
    def __init__(self, url: str, clock_mode: str, start_time: float | None = None, prefix: str = DEFAULT_PREFIX) -> None:
        self._clock_mode = clock_mode
        self._origin = start_time if clock_mode == CLOCK_MANUAL else None
        self._prefix = prefix
        self._redis = connect(url)
        self._admit = self._redis.register_script(_ADMIT)

    def _key(self, *parts: str) -> str:
        """A key of the current namespace."""
        return self._prefix + namespace_prefix(namespace()) + ":".join(parts)

    def _shared_key(self, *parts: str) -> str:
        """A key outside every namespace (images, blobs)."""
        return self._prefix + ":".join(parts)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await call_redis(self._redis, operation)

    @property
    def location(self) -> str:
        return location(self._redis)

    def _time(self, offset: float) -> float:
        base = self._origin if self._origin is not None else time.time()
        return base + offset

    async def now(self) -> float:
        offset = await self._call(lambda: self._redis.get(self._key("clock-offset")))
        return self._time(float(offset or 0.0))

    async def advance_clock(self, seconds: float) -> float:
        offset = await self._call(lambda: self._redis.incrbyfloat(self._key("clock-offset"), seconds))
        return self._time(float(offset))

    async def next_sequence(self) -> int:
        return int(await self._call(lambda: self._redis.incr(self._key("sequence"))))

    async def admit(self, bucket: str, n: int, limits: Limits, now: float) -> Admission:
        ttl = 0 if self._clock_mode == CLOCK_MANUAL else WINDOW_TTL_MS
        args: list[str | int] = [
            repr(now),
            n,
            limits.images_per_minute,
            limits.images_per_day,
            day_index(now),
            uuid.uuid4().hex,
            ttl,
            tiers.MINUTE_SECONDS,
        ]
        keys = [self._key("minute", bucket), self._key("totals", bucket)]
        admitted, day_used, minute_used, effective_now, *rest = await self._call(lambda: self._admit(keys=keys, args=args))
        now = float(effective_now)
        if admitted:
            return Admission(True, window_totals(int(minute_used), now, int(day_used), limits, now))
        entries = _entries(rest[0])
        _, retry_after = decide(entries, int(day_used), n, limits, now)
        # The script and decide() apply one rule; the fallback only guards against float rounding at the edge.
        return Admission(False, rate_state(entries, int(day_used), limits, now), retry_after or 1)

    async def usage(self, bucket: str, limits: Limits, now: float) -> RateState:
        """Read-only, so the minute total is recounted from the live entries (usage is not on the hot path)."""

        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrangebyscore(self._key("minute", bucket), f"({now - tiers.MINUTE_SECONDS!r}", "+inf", withscores=True)
                pipe.hmget(self._key("totals", bucket), "day", "used")
                return await pipe.execute()

        scored, (day, used) = await self._call(read)
        entries = sorted((float(score), int(member.split(b":", 1)[0])) for member, score in scored)
        day_used = int(used) if day is not None and int(day) == day_index(now) else 0
        return rate_state(entries, day_used, limits, now)

    async def put_image(self, image_id: str, record: ImageRecord) -> None:
        value = json.dumps([record.model, record.prompt, record.size, record.index, record.expires_at])
        await self._call(lambda: self._redis.set(self._shared_key("image", image_id), value, ex=IMAGE_URL_TTL_SECONDS))

    async def get_image(self, image_id: str, now: float) -> ImageRecord | None:
        raw = await self._call(lambda: self._redis.get(self._shared_key("image", image_id)))
        if raw is None:
            return None
        model, prompt, size, index, expires_at = json.loads(raw)
        return ImageRecord(model, prompt, size, index, expires_at) if expires_at > now else None

    async def put_blob(self, key: str, value: bytes, expires_at: float) -> None:
        """For the native faces' task records and the gateway's image copies (the `State` interface on main).

        Stored with its simulator-time expiry in front, and a Redis expiry of the same length in wall time.
        """
        now = await self.now()
        ttl_ms = max(1, math.ceil((expires_at - now) * 1000))
        packed = _EXPIRY.pack(expires_at) + value
        await self._call(lambda: self._redis.set(self._shared_key("blob", key), packed, px=ttl_ms))

    async def get_blob(self, key: str, now: float) -> bytes | None:
        raw = await self._call(lambda: self._redis.get(self._shared_key("blob", key)))
        if not isinstance(raw, bytes):
            return None
        (expires_at,) = _EXPIRY.unpack_from(raw)
        return raw[_EXPIRY.size :] if expires_at > now else None

    async def buckets(self) -> list[str]:
        totals = self._key("totals", "")

        async def scan() -> list[str]:
            return [key.decode().removeprefix(totals) async for key in self._redis.scan_iter(match=totals + "*", count=1000)]

        return await self._call(scan)

    async def reset(self, namespace: str | None = None) -> None:
        pattern = self._prefix + ("*" if namespace is None else namespace_prefix(namespace) + "*")

        async def delete_prefix() -> None:
            batch: list[bytes] = []
            async for key in self._redis.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    await self._redis.unlink(*batch)
                    batch.clear()
            if batch:
                await self._redis.unlink(*batch)

        await self._call(delete_prefix)

    async def ping(self) -> None:
        """Raise StateUnavailable unless Redis answers: the CLI checks this before it starts serving."""
        await self._call(self._redis.ping)

    async def close(self) -> None:
        await self._redis.aclose()
