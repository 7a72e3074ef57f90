"""State shared through Redis, so several worker processes keep one set of rate windows, images, clock and ids.

Semantics are those of `MemoryState` (see `spec.tiers` and `decide()`). Everything an admitted request writes
(read the clock, check and charge both windows, take the sequence number, record the images) is one Lua script:
one round trip per request, atomic across every process, and the scripts of a worker's concurrent requests travel
together on one connection (`BatchingChannel`). The script only counts and records; the retry_after arithmetic stays
in the shared `decide()`.

Decisions:
- Every key lives under one prefix (`perf-sim:` by default); `reset` deletes that prefix only, so a Redis
  database may hold other data, but one database serves one simulator (its workers share it on purpose).
  Windows, the clock offset and the sequence sit under the namespace's prefix (`perf-sim:ns:<name>:`), so
  `reset(namespace)` deletes that prefix. Images and blobs sit outside namespaces (see `simulator.state.base`), so
  each namespace also keeps an index of the ids it made, under its prefix: one set per hour of wall time in which
  they were made (images; `image-index:<hour>`) or will expire (blobs; `blob-index:<hour>`), expiring when the last
  record it names has, so the index never outgrows the records. The reset deletes the records its index names and
  reads no other record (it used to read every stored record to learn its namespace: about a second per 100,000); it
  still walks the key space for the namespace's prefix (SCAN MATCH, in Redis, no value read), as the namespace's
  windows need. The admission script adds each request's ids to the index in the same round trip, with one more
  command (SADD). Figures: docs/load.md, `python -m load.reset_cost`.
- The clock is the configured origin (wall time, or the manual start) plus an offset kept in Redis, so an
  advance by any worker moves every worker's clock. Workers on one machine share its wall clock.
- Stored images (and blobs) expire in Redis after their lifetime in wall time, which bounds Redis memory (in
  place of the in-memory store's count and byte caps); each record also keeps its expiry in simulator time,
  which reads check, so moving the simulator clock an hour forward expires URLs as it does in memory.
  On the manual clock images get no Redis expiry: wall time says nothing about them there (a session over an hour
  of wall time got 404s for URLs memory still served), so they expire by the namespace's simulator clock alone, as
  in memory, and Redis memory is bounded as memory's is, by count: the admission script keeps the stored images in
  order of storing (`image-order`) and deletes the oldest past MAX_STORED_IMAGES, with their index entries; a
  namespace's index is one set (`image-index:manual`), with no expiry either. Blobs keep their wall-time expiry.
  The order is a sorted set, not a list, scored by a counter (`image-order-count`) that each stored image moves on:
  image ids repeat (a namespace reset restarts its sequence, and the same seed makes the same ids), and a list held
  the old copy of a re-made id, whose eviction deleted the live image (a 404 with the store far below its cap). In
  the set a re-made id is one member moved to the newest place, and a namespace reset takes its members out, so an
  evicted member is always its record's latest write and the bound counts live images only. A member is
  "<index key>\\x1f<id>" and ids are salted with their namespace, so one id has one member. ZPOPMIN takes the oldest
  (Redis 5.0; LPOP with a count needed 6.2).
- With the real clock, a key's windows expire a day and a minute after its last admission (by then both are
  empty anyway); with the manual clock they stay until reset, since wall time says nothing about them.
- Redis unreachable or slow: every call is bounded by one timer (SOCKET_TIMEOUT_SECONDS) and raises
  `StateUnavailable` (a 503 in the API envelope). Nothing is retried: a retried admission could count twice. The
  pool and the channel check a connection before reuse, so service resumes with the first request after Redis is back.
- A reset is not atomic (one bounded call per page of keys), so it fences what it resets (`resetting`): a set of
  the resets' tokens per namespace, and one for a full reset, which the admission script checks (one EXISTS, in the
  same round trip). A fenced admission wrote nothing; the worker asks again a few milliseconds later, for at most
  SOCKET_TIMEOUT_SECONDS, then answers the 503 a stuck Redis gets. Without the fence an admission between two pages
  found the namespace's clock offset deleted but its window totals not yet, took the old, advanced time from them
  (the script never runs a window backwards) and rebuilt the window at that time, which outlived the reset: the key
  stayed refused for a simulator hour, every 429 saying to retry in 60 s. The fence keys sit outside the prefix, so
  the reset's own walk of the prefix never deletes them, and expire (FENCE_TTL_SECONDS, kept alive while the reset
  runs) so a worker that dies mid-reset cannot hold a namespace for ever. A reset that Redis did not answer (a 503)
  leaves no fence: its worker takes its token out once Redis answers, and a raise Redis runs after that does nothing.
- A control write (a clock advance, a rule added or removed, the journal emptied) is one script that Redis runs only
  while its caller still waits (`simulator.state.on_time`), so its 503 means nothing was changed and a retry is safe.
- A burst is not an outage: the pool is bounded and a request waits for a free connection (see POOL_SIZE).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from simulator.context import namespace
from simulator.http import dump_json
from simulator.state.base import (
    CLOCK_MANUAL,
    IMAGE_ID_HEX_DIGITS,
    IMAGE_ID_PREFIX,
    LATEST_CLOCK_TIME,
    MAX_STORED_IMAGES,
    Admission,
    Charge,
    ClockLimit,
    ImageBatch,
    ImageRecord,
    Limits,
    RateState,
    Refusal,
    State,
    StateUnavailable,
    Ticket,
    day_index,
    decide,
    namespace_prefix,
    no_answer,
    rate_state,
    window_totals,
)
from simulator.state.batching import BatchingChannel, LuaScript, busy_refusal
from simulator.state.on_time import on_time, run_on_time
from spec import tiers
from spec.models import IMAGE_URL_TTL_SECONDS

DEFAULT_PREFIX = "perf-sim:"
CLIENT_NAME = "perf-sim"
"""The name every connection of a simulator gives itself (CLIENT SETNAME), so a simulator starting on a database
can tell that another one is using it (simulator.state.claim)."""
# Decision: a healthy local Redis answers in well under a millisecond, but a worker's event loop can stall for
# a second on a loaded 2-core machine; three seconds (two to connect) means Redis is gone or stuck. A stopped
# Redis refuses connections at once, so an outage answers 503 in milliseconds, not after these timeouts.
SOCKET_TIMEOUT_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 2.0
# Decision: each worker keeps at most this many connections and, when all are busy, a request waits for one (up to
# the socket timeout, the same "Redis is stuck" bound) instead of failing: a burst of hundreds of requests queues
# for a few milliseconds each and never answers 503 while Redis is healthy. WARM_CONNECTIONS are opened at start-up
# so the first burst does not open dozens of connections at once. A request holds a connection for one round trip.
POOL_SIZE = 32
WARM_CONNECTIONS = 8
POOL_WAIT_SECONDS = SOCKET_TIMEOUT_SECONDS
WINDOW_TTL_MS = (tiers.DAY_SECONDS + tiers.MINUTE_SECONDS) * 1000
_EXPIRY = struct.Struct(">dB")
"""A blob's expiry and the length of its namespace's name (at most 64 ASCII characters)."""
_IMAGE_INDEX = "image-index:"
_BLOB_INDEX = "blob-index:"
_MANUAL_INDEX = "manual"
"""The one image index of a namespace on the manual clock, where wall-time hours say nothing about an image's life."""
# Decision: a reset's fence expires this long after it was last refreshed (every fifth of it while the reset runs, so
# a worker's event loop stalled for a second keeps it), which bounds how long a worker that died mid-reset holds
# back its namespace: its requests wait SOCKET_TIMEOUT_SECONDS, then answer 503, until the fence is gone.
FENCE_TTL_SECONDS = 10.0
# A reset answered 503 (Redis did not answer) may have raised its fence (Redis runs the command once it wakes) and has
# not lowered it, so its worker lowers it again and again, GIVEN_UP_PAUSE_SECONDS apart (doubling up to
# GIVEN_UP_PAUSE_MAX_SECONDS), until Redis answers; the tombstone it leaves for the reset's token turns a raise that
# Redis runs after that into nothing. The tombstone outlives by far any command a woken Redis still has queued.
GIVEN_UP_PAUSE_SECONDS = 0.05
GIVEN_UP_PAUSE_MAX_SECONDS = 0.5
TOMBSTONE_TTL_SECONDS = 6 * FENCE_TTL_SECONDS
# A fenced admission asks again after a pause that starts at FENCED_PAUSE_SECONDS and doubles up to
# FENCED_PAUSE_MAX_SECONDS: a namespace reset takes milliseconds on a store of thousands of keys.
FENCED_PAUSE_SECONDS = 0.002
FENCED_PAUSE_MAX_SECONDS = 0.05
_FENCED = -1
"""The admission script's answer when a reset fences the namespace: it wrote nothing."""

MIN_REDIS_VERSION = (5, 0)
"""The oldest Redis the simulator runs on: the admission script evicts with ZPOPMIN (5.0), the control scripts write
after reading TIME (allowed since 5.0 replicates a script's effects by default), a reset deletes with UNLINK and
writes several hash fields per HSET (4.0). Refused at start (`version_problem`), not at the first request that
needs the command, which on the manual clock came only once 100,000 images had been stored."""

T = TypeVar("T")

# KEYS: clock offset, minute window (sorted set of "<images>:<unique>" scored by admission time), totals (hash:
# day, used today, images in the minute window, newest admission time, when the TTLs were last set), id sequence,
# the namespace's reset fence and the full reset's (while either exists the script writes nothing: `resetting`).
# ARGV: the clock's base (wall time, or the manual start), n, images per minute, images per day, unique member id,
# window TTL in ms (0 = none), minute window length in seconds (spec.tiers.MINUTE_SECONDS), day length in seconds,
# then for an image batch (absent: record nothing): the image key prefix (with the id's "img_"), the id salt, the
# record's JSON head (model, prompt, size, namespace), the first render index, the image TTL in seconds, the id's hex
# digits, when the namespace's index key of this hour (KEYS[7], present with a batch) may expire (Unix seconds),
# when render indices wrap, their period (`ImageBatch.render_index`; 0: they do not), and the most images kept on the
# manual clock. The index key's expiry is set once per hour and
# bucket: the totals remember ('indexed') the expiry they last set. On the manual clock KEYS[8], the sorted set of
# every stored image (as "<its index key>\31<id>", scored by when it was stored), and KEYS[9], the counter those
# scores come from, are given: the records get no Redis expiry and the index no EXPIREAT, and the oldest records past
# that most are deleted, with their index entries (see the module's decisions).
# One script is one round trip and one atomic step for everything an admitted request writes: the clock is read,
# the windows checked and charged, the sequence taken and every image recorded (its id is `image_id()` in
# simulator.state.base, which Lua can compute: SHA-1). Image keys are built here, not declared in KEYS: the
# simulator uses one Redis instance, never a cluster.
# Workers read their wall clocks before their scripts run, so a script can find an entry newer than its `now`; it
# then admits at that entry's time, keeping each key's window in order (else retry_after could say 61).
# Each redis.call costs Redis a few microseconds, and Redis's CPU is the workers' CPU on a small machine, so the
# script makes as few as it can: the newest admission time is kept in the totals (not read from the window), and
# the windows' TTLs are set again only when a minute has passed since they were last set (they stay longer than a
# day after every admission, and a window emptied by expiry, which Redis deletes, is always a minute past that).
# Times leave the script as '%.17g' strings, which round-trip doubles exactly.
# Returns {1, images today, images this minute, effective now, sequence, {image id hex, ...}}, {0, images today,
# images this minute, effective now, {member, score, ...}} or, fenced, {-1} (`_FENCED`).
_ADMIT = LuaScript("""
if redis.call('EXISTS', KEYS[5], KEYS[6]) > 0 then return {-1} end
local now = tonumber(ARGV[1]) + tonumber(redis.call('GET', KEYS[1]) or '0')
local totals = redis.call('HMGET', KEYS[3], 'day', 'used', 'minute', 'newest', 'ttl_set', 'indexed')
if totals[4] and tonumber(totals[4]) > now then now = tonumber(totals[4]) end
local now_s = string.format('%.17g', now)
local n = tonumber(ARGV[2])
local minute_length = tonumber(ARGV[7])
local day = string.format('%d', math.floor(math.floor(now) / tonumber(ARGV[8])))
local minute_used = tonumber(totals[3] or '0')
local window_start = string.format('%.17g', now - minute_length)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', window_start)
if #expired > 0 then
  for i = 1, #expired do
    minute_used = minute_used - tonumber(string.match(expired[i], '^(%d+):'))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', window_start)
end
local day_used = 0
if totals[1] == day then day_used = tonumber(totals[2]) end
if minute_used + n > tonumber(ARGV[3]) or day_used + n > tonumber(ARGV[4]) then
  if #expired > 0 then redis.call('HSET', KEYS[3], 'minute', minute_used) end
  return {0, day_used, minute_used, now_s, redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}
end
redis.call('ZADD', KEYS[2], now_s, n .. ':' .. ARGV[5])
day_used = day_used + n
minute_used = minute_used + n
local ttl = tonumber(ARGV[6])
if ttl > 0 and (totals[5] == false or now - tonumber(totals[5]) >= minute_length) then
  redis.call('HSET', KEYS[3], 'day', day, 'used', day_used, 'minute', minute_used, 'newest', now_s, 'ttl_set', now_s)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
else
  redis.call('HSET', KEYS[3], 'day', day, 'used', day_used, 'minute', minute_used, 'newest', now_s)
end
local sequence = redis.call('INCR', KEYS[4])
local ids = {}
if #ARGV > 8 then
  local tail = string.format('%.17g', now + tonumber(ARGV[13]))
  local first = tonumber(ARGV[12])
  local period = tonumber(ARGV[16])
  if period == 0 then period = nil end
  for i = 0, n - 1 do
    local id = redis.sha1hex(ARGV[10] .. sequence .. '\\31' .. i):sub(1, tonumber(ARGV[14]))
    local index = first + i
    if period then index = index % period end
    local record = '[' .. ARGV[11] .. ',' .. index .. ',' .. tail .. ']'
    if KEYS[8] then redis.call('SET', ARGV[9] .. id, record) else redis.call('SET', ARGV[9] .. id, record, 'EX', ARGV[13]) end
    ids[i + 1] = id
  end
  redis.call('SADD', KEYS[7], unpack(ids))
  if KEYS[8] then
    local newest = redis.call('INCRBY', KEYS[9], n)
    local entries = {}
    for i = 1, #ids do
      entries[2 * i - 1] = newest - n + i
      entries[2 * i] = KEYS[7] .. '\\31' .. ids[i]
    end
    redis.call('ZADD', KEYS[8], unpack(entries))
    local over = redis.call('ZCARD', KEYS[8]) - tonumber(ARGV[17])
    if over > 0 then
      local gone = redis.call('ZPOPMIN', KEYS[8], over)
      for i = 1, #gone, 2 do
        local index, id = string.match(gone[i], '^(.*)\\31(.*)$')
        redis.call('DEL', ARGV[9] .. id)
        redis.call('SREM', index, id)
      end
    end
  elseif totals[6] ~= ARGV[15] then
    redis.call('EXPIREAT', KEYS[7], ARGV[15])
    redis.call('HSET', KEYS[3], 'indexed', ARGV[15])
  end
end
return {1, day_used, minute_used, now_s, sequence, ids}
""")
# KEYS: a key's minute window and totals (as `_ADMIT`'s). ARGV: one admission's member in the window, its images, the
# day it counted them in (`day_index`, as `_ADMIT` writes it). Takes back what that admission counted
# (`State.give_back`): nothing unless its member is still in the window, which a reset deletes (members are unique
# across every process, so a window made anew never holds it) and the roll of the minute removes (`_ADMIT` then took
# its images off the minute total); the day's total only while it is still that day's. A total a reset deleted
# meanwhile is not written back. 1 when something was given back, else 0.
_GIVE_BACK = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
local totals = redis.call('HMGET', KEYS[2], 'day', 'used', 'minute')
if totals[3] then redis.call('HSET', KEYS[2], 'minute', math.max(0, tonumber(totals[3]) - n)) end
if totals[1] == ARGV[3] and totals[2] then redis.call('HSET', KEYS[2], 'used', math.max(0, tonumber(totals[2]) - n)) end
return 1
"""
# KEYS: a reset fence (the set of the tokens of the resets under way), the reset's tombstone. ARGV: the reset's token,
# the fence's TTL in ms. One more reset under way (see `resetting`); none when the reset's caller has given it up
# already (its tombstone is there): Redis, stuck when the reset began, ran this after the caller's timeout.
_RAISE_FENCE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS: a reset fence and, for a reset given up, its tombstone. ARGV: the reset's token and the tombstone's TTL in ms.
# One reset fewer, as often as it is run; the last one out takes the fence down (Redis deletes an empty set).
_LOWER_FENCE = """
redis.call('SREM', KEYS[1], ARGV[1])
if KEYS[2] then redis.call('SET', KEYS[2], 1, 'PX', ARGV[2]) end
"""
# KEYS: the namespace's clock offset. ARGV: the deadline (`on_time`), seconds, the clock's origin, the latest time it
# may show. The new offset; nil, moving nothing, when the clock would pass the latest time. The check and the move in
# one script: checked in one round trip and moved in the next, concurrent advances all passed the check and carried a
# clock near the limit past the year 9999, after which reading it failed (a 500).
_ADVANCE = on_time("""
local offset = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[3]) + offset + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return false end
return redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
""")


NAMED_CONNECTION: dict[str, Any] = {
    "client_name": CLIENT_NAME,
    "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
    # RESP2: with RESP3 redis-py skips its check for pooled connections the server has closed, and the first request
    # after a Redis restart would fail.
    "protocol": 2,
}
"""What every connection a simulator opens has in common (its clients add their timeouts and retries)."""


def connect(url: str) -> Redis:
    """A client with the simulator's timeouts and no retries (see the module's decisions)."""
    return Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0), **NAMED_CONNECTION)


def location(redis: Redis) -> str:
    """Host, port (or socket path) and database, never a password."""
    return location_of(redis.connection_pool.connection_kwargs)


def location_of(kwargs: Mapping[str, Any]) -> str:
    """`location` from a connection pool's settings, which the synchronous client (simulator.state.claim) has too."""
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


async def call_redis(redis: Redis, operation: Callable[[], Awaitable[T]]) -> T:
    """The operation's result, or StateUnavailable (a 503) when Redis does not answer (or answers BUSY)."""
    try:
        return await operation()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        raise no_answer(location(redis), exc) from exc
    except redis_errors.ResponseError as exc:
        refusal = busy_refusal(location(redis), exc)
        if refusal is None:
            raise
        raise refusal from exc


def version_problem(version: str | None) -> str | None:
    """Why a Redis reporting `version` (INFO server's redis_version; None: it did not say) is too old, or None. A
    version this cannot read is let through: the check is to name a known-old server at start, not to guess."""
    if version is None:
        return None
    parts = [int(digits) for digits in (part.partition("-")[0] for part in version.split(".")[:2]) if digits.isdigit()]
    if len(parts) < 2 or tuple(parts) >= MIN_REDIS_VERSION:
        return None
    needed = ".".join(map(str, MIN_REDIS_VERSION))
    return f"is Redis {version}; perf-sim needs Redis {needed} or later (ZPOPMIN, scripts that write after TIME)"


def as_text(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value


def _entries(flat: list[bytes]) -> list[tuple[float, int]]:
    """(admitted_at, images) from ZRANGE ... WITHSCORES output, oldest first."""
    pairs = [(float(flat[i + 1]), int(flat[i].split(b":", 1)[0])) for i in range(0, len(flat), 2)]
    return sorted(pairs)


class RedisState(State):
    def __init__(
        self, url: str, clock_mode: str, start_time: float | None = None, prefix: str = DEFAULT_PREFIX, max_images: int = MAX_STORED_IMAGES
    ) -> None:
        """`max_images`: on the manual clock, the most image records kept (the oldest go first), as in memory."""
        self._clock_mode = clock_mode
        self._origin = start_time if clock_mode == CLOCK_MANUAL else None
        self._prefix = prefix
        self._slots = asyncio.Semaphore(POOL_SIZE)
        # Window members must be unique across every process sharing the Redis: a random per-process prefix and a
        # counter (a uuid4 per request would read the OS's random source every time).
        self._member_prefix = uuid.uuid4().hex[:16]
        self._members = itertools.count()
        # No socket timeout inside redis-py: `_call` bounds each whole operation with one timer instead (redis-py's
        # own costs a task per command sent and a timer per reply read). A cancelled read closes its connection.
        pool = ConnectionPool.from_url(url, max_connections=POOL_SIZE, socket_timeout=None, retry=Retry(NoBackoff(), 0), **NAMED_CONNECTION)
        self._redis = Redis.from_pool(pool)
        self._channel = BatchingChannel(pool, SOCKET_TIMEOUT_SECONDS, location(self._redis))
        # The script's arguments that never change, encoded once.
        window_ttl = 0 if clock_mode == CLOCK_MANUAL else WINDOW_TTL_MS
        self._window_args = [str(value).encode() for value in (window_ttl, tiers.MINUTE_SECONDS, tiers.DAY_SECONDS)]
        self._image_keys = self._shared_key("image", IMAGE_ID_PREFIX).encode()
        self._image_order = self._shared_key("image-order")
        self._image_order_count = self._shared_key("image-order-count")
        self._max_images = max_images
        self._image_args = [str(value).encode() for value in (IMAGE_URL_TTL_SECONDS, IMAGE_ID_HEX_DIGITS)]
        # Outside the prefix, which a reset walks and deletes (as the journal's and the rules' id counters are).
        self._fences = prefix.removesuffix(":") + "-reset:"
        self._full_reset_fence = self._fence(None)
        self._raise_fence, self._lower_fence = (self._redis.register_script(source) for source in (_RAISE_FENCE, _LOWER_FENCE))
        self._advance = self._redis.register_script(_ADVANCE)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._given_up: dict[str, str] = {}
        """The resets given up (their caller got a 503) whose token may still be in a fence: token, fence."""
        self._sweeper: asyncio.Task[None] | None = None

    def _key(self, *parts: str) -> str:
        """A key of the current namespace."""
        return self._prefix + namespace_prefix(namespace()) + ":".join(parts)

    def _key_in(self, name: str, *parts: str) -> str:
        """A key of namespace `name`."""
        return self._prefix + namespace_prefix(name) + ":".join(parts)

    def _shared_key(self, *parts: str) -> str:
        """A key outside every namespace (images, blobs)."""
        return self._prefix + ":".join(parts)

    def _fence(self, namespace: str | None) -> str:
        """The key that holds back the admissions of `namespace` (None: of every namespace) while it is reset."""
        return self._fences + ("all" if namespace is None else namespace_prefix(namespace))

    def _tombstone(self, token: str) -> str:
        """The key that says the reset of this token was given up: a raise of its fence that Redis runs later does nothing."""
        return self._fences + "given-up:" + token

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """One operation on one pooled connection. When every connection is busy, wait for one (a burst), but no
        longer than POOL_WAIT_SECONDS (a stuck Redis). A semaphore rather than redis-py's BlockingConnectionPool,
        whose condition and timer cost every call, not only the calls that wait."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(POOL_WAIT_SECONDS):
                    await self._slots.acquire()
            except TimeoutError:
                raise StateUnavailable(
                    f"Redis at {self.location} did not answer: all {POOL_SIZE} connections stayed busy for {POOL_WAIT_SECONDS:g} s"
                ) from None
        else:
            await self._slots.acquire()
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                return await operation()
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, TimeoutError) as exc:
            raise no_answer(self.location, exc) from exc
        except redis_errors.ResponseError as exc:
            refusal = busy_refusal(self.location, exc)
            if refusal is None:
                raise
            raise refusal from exc
        finally:
            self._slots.release()

    @property
    def location(self) -> str:
        return location(self._redis)

    def _time(self, offset: float) -> float:
        base = self._origin if self._origin is not None else time.time()
        return base + offset

    async def now(self) -> float:
        return await self._time_in(namespace())

    async def _time_in(self, name: str) -> float:
        key = self._prefix + namespace_prefix(name) + "clock-offset"
        offset = await self._call(lambda: self._redis.get(key))
        return self._time(float(offset or 0.0))

    async def advance_clock(self, seconds: float) -> float:
        """Only while the caller still waits (`simulator.state.on_time`): an advance answered 503 has not moved the
        clock, so its retry does not move it twice."""
        origin = self._time(0.0)
        args = [repr(seconds), repr(origin), repr(LATEST_CLOCK_TIME)]
        offset = await run_on_time(self._call, self._redis, self.location, self._advance, [self._key("clock-offset")], args)
        if offset is None:
            raise ClockLimit(seconds)
        return origin + float(offset)

    async def next_sequence(self) -> int:
        return int(await self._call(lambda: self._redis.incr(self._key("sequence"))))

    async def admit_and_record(self, bucket: str, n: int, limits: Limits, batch: ImageBatch | None) -> Ticket:
        """One script, so one round trip: clock, admission, sequence and image records (see `_ADMIT`)."""
        base = self._origin if self._origin is not None else time.time()
        member = f"{self._member_prefix}{next(self._members)}"
        args: list[str | bytes | int | float] = [repr(base), n, limits.images_per_minute, limits.images_per_day, member, *self._window_args]
        keys = [self._key("clock-offset"), self._key("minute", bucket), self._key("totals", bucket), self._key("sequence")]
        keys += [self._fence(namespace()), self._full_reset_fence]
        if batch is not None:
            head = dump_json([batch.model, batch.prompt, batch.size, batch.namespace])[1:-1]
            hour = int(base if self._origin is None else time.time()) // IMAGE_URL_TTL_SECONDS
            bucket_name = _MANUAL_INDEX if self._origin is not None else str(hour)
            keys.append(f"{self._prefix}{namespace_prefix(batch.namespace)}{_IMAGE_INDEX}{bucket_name}")
            if self._origin is not None:
                keys += [self._image_order, self._image_order_count]
            args += [self._image_keys, batch.id_salt, head, batch.first_index, *self._image_args, (hour + 2) * IMAGE_URL_TTL_SECONDS]
            args += [batch.index_period or 0, self._max_images]
        admitted, day_used, minute_used, effective_now, last, *ids = await self._admit(keys, args)
        now = float(effective_now)
        if admitted:
            admission = Admission(True, window_totals(int(minute_used), now, int(day_used), limits, now))
            return Ticket(admission, now, int(last), tuple(IMAGE_ID_PREFIX + image.decode() for image in ids[0]), member)
        entries = _entries(last)
        # The script and decide() apply one rule; the fallback only guards against float rounding at the minute's edge.
        refusal = decide(entries, int(day_used), n, limits, now) or Refusal(1, "minute")
        rate = rate_state(entries, int(day_used), limits, now)
        return Ticket(Admission(False, rate, refusal.retry_after, refusal.window), now, None)

    async def _admit(self, keys: list[str], args: list[str | bytes | int | float]) -> list[Any]:
        """The admission script's answer once no reset fences the namespace (see the module's decisions). Each attempt
        reads the wall clock again (args[0]): a request held back by a reset is admitted when the reset is over."""
        deadline: float | None = None
        pause = FENCED_PAUSE_SECONDS
        while True:
            reply: list[Any] = await self._channel.run_script(_ADMIT, keys, args)
            if reply[0] != _FENCED:
                return reply
            now = time.monotonic()
            deadline = now + SOCKET_TIMEOUT_SECONDS if deadline is None else deadline
            if now >= deadline:
                still = f"a reset of the namespace was still under way after {SOCKET_TIMEOUT_SECONDS:g} s"
                raise StateUnavailable(f"Redis at {self.location} did not answer: {still}")
            await asyncio.sleep(min(pause, deadline - now))
            pause = min(2 * pause, FENCED_PAUSE_MAX_SECONDS)
            if self._origin is None:
                args[0] = repr(time.time())

    async def give_back(self, charge: Charge) -> None:
        """One script, so atomic across every worker (see `_GIVE_BACK`), on the keys of the admission's namespace."""
        keys = [self._key_in(charge.namespace, "minute", charge.bucket), self._key_in(charge.namespace, "totals", charge.bucket)]
        await self._call(partial(self._give_back, keys=keys, args=[f"{charge.images}:{charge.entry}", charge.images, str(charge.day)]))

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

    async def get_image(self, image_id: str) -> ImageRecord | None:
        raw = await self._call(lambda: self._redis.get(self._shared_key("image", image_id)))
        if raw is None:
            return None
        record = ImageRecord(*json.loads(raw))
        return record if record.expires_at > await self._time_in(record.namespace) else None

    async def put_blob(self, key: str, value: bytes, expires_at: float) -> None:
        """For the native faces' task records and the gateway's image copies (the `State` interface on main).

        Stored with its simulator-time expiry and the namespace whose clock that is on in front (the namespace's
        length, then its name), and a Redis expiry of the same length in wall time; named, in the same round trip, in
        the namespace's index of blobs expiring in that hour (see the module's decisions).
        """
        now = await self.now()
        ttl_ms = max(1, math.ceil((expires_at - now) * 1000))
        name = namespace()
        packed = _EXPIRY.pack(expires_at, len(name)) + name.encode() + value
        hour = math.ceil(time.time() + ttl_ms / 1000) // IMAGE_URL_TTL_SECONDS
        index = self._key(_BLOB_INDEX + str(hour))

        async def write() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._shared_key("blob", key), packed, px=ttl_ms)
                pipe.sadd(index, key)
                pipe.expireat(index, (hour + 1) * IMAGE_URL_TTL_SECONDS)
                await pipe.execute()

        await self._call(write)

    async def get_blob(self, key: str) -> bytes | None:
        raw = await self._call(lambda: self._redis.get(self._shared_key("blob", key)))
        if not isinstance(raw, bytes):
            return None
        expires_at, length = _EXPIRY.unpack_from(raw)
        start = _EXPIRY.size + length
        return raw[start:] if expires_at > await self._time_in(raw[_EXPIRY.size : start].decode()) else None

    async def buckets(self) -> list[str]:
        totals = self._key("totals", "")

        async def scan() -> list[str]:
            return [key.decode().removeprefix(totals) async for key in self._redis.scan_iter(match=totals + "*", count=1000)]

        return await self._call(scan)

    @asynccontextmanager
    async def resetting(self, namespace: str | None) -> AsyncIterator[None]:
        """Fence `namespace` (None: every namespace) while the block runs. The fence is the set of the tokens of the
        resets under way, so two workers resetting one namespace at once hold it until both are done, and taking a
        token out is the same however often it is done; it expires FENCE_TTL_SECONDS after it was last kept alive.

        A reset that Redis did not answer in time (its caller gets the 503) is given up (`_give_up`), whether the
        raise, the reset or the lower failed: a stuck Redis still runs the commands it was sent once it wakes, so a
        fence raised late, or never lowered, had held the namespace back for FENCE_TTL_SECONDS after Redis was back,
        each of its requests a 3 s wait and a 503, a successful reset meanwhile changing nothing."""
        fence, token, ttl_ms = self._fence(namespace), uuid.uuid4().hex, int(FENCE_TTL_SECONDS * 1000)
        try:
            await self._call(partial(self._raise_fence, keys=[fence, self._tombstone(token)], args=[token, ttl_ms]))
        except BaseException:
            self._give_up(fence, token)
            raise
        keeper = asyncio.get_running_loop().create_task(self._keep_fence(fence, ttl_ms))
        try:
            yield
        finally:
            keeper.cancel()
            try:
                await self._call(partial(self._lower_fence, keys=[fence], args=[token]))
            except BaseException:
                self._give_up(fence, token)
                raise

    def _give_up(self, fence: str, token: str) -> None:
        """Take the token out of its fence, and leave its tombstone, as soon as Redis answers (`_lower_given_up`)."""
        self._given_up[token] = fence
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._lower_given_up())

    async def _lower_given_up(self) -> None:
        """Lower the fences of the resets given up until Redis has taken each. The first try is sent at once: a stuck
        Redis runs it when it wakes, right beside the raise it may still have queued (whichever it runs first, the
        token ends out of the fence). A stopped Redis is asked again, GIVEN_UP_PAUSE_SECONDS apart and up to
        GIVEN_UP_PAUSE_MAX_SECONDS, so its fences are down within that once it is back."""
        pause = GIVEN_UP_PAUSE_SECONDS
        while self._given_up:
            token, fence = next(iter(self._given_up.items()))
            try:
                await self._call(
                    partial(self._lower_fence, keys=[fence, self._tombstone(token)], args=[token, int(TOMBSTONE_TTL_SECONDS * 1000)])
                )
            except (StateUnavailable, redis_errors.RedisError):
                await asyncio.sleep(pause)
                pause = min(2 * pause, GIVEN_UP_PAUSE_MAX_SECONDS)
                continue
            del self._given_up[token]
            pause = GIVEN_UP_PAUSE_SECONDS

    async def reset_holds(self, namespace: str | None) -> bool:
        fences = [self._full_reset_fence] if namespace is None else [self._fence(namespace), self._full_reset_fence]
        return bool(await self._call(partial(self._redis.exists, *fences)))

    async def _keep_fence(self, fence: str, ttl_ms: int) -> None:
        """Push the fence's expiry back while the reset runs, a page of keys or a journal rewrite at a time alike. A
        refresh that fails is left to the next: the reset's own calls fail too, and end the block."""
        while True:
            await asyncio.sleep(ttl_ms / 5000)
            with suppress(StateUnavailable):
                await self._call(partial(self._redis.pexpire, fence, ttl_ms))

    async def reset(self, namespace: str | None = None) -> None:
        """Delete every key under the prefix; or every key under the namespace's prefix, and the images and blobs its
        indexes name. One bounded call per page of keys (or of an index), so a large store is not mistaken for a
        stuck Redis."""
        space = self._prefix + ("" if namespace is None else namespace_prefix(namespace))
        record_prefix_of_index = {
            space + _IMAGE_INDEX: self._shared_key("image", IMAGE_ID_PREFIX),
            space + _BLOB_INDEX: self._shared_key("blob", ""),
        }
        cursor = 0
        while True:
            cursor, keys = await self._call(partial(self._redis.scan, cursor, match=space + "*", count=1000))
            if namespace is not None:
                for key in map(as_text, keys):
                    record_prefix = record_prefix_of_index.get(key.rpartition(":")[0] + ":")
                    if record_prefix is not None:
                        await self._forget_indexed(key, record_prefix)
            if keys:
                await self._call(partial(self._redis.unlink, *keys))
            if cursor == 0:
                break

    async def _forget_indexed(self, index: str, record_prefix: str) -> None:
        """Delete the records (keys `record_prefix` + member) a namespace's index names, a page of the index at a time."""
        cursor = 0
        while True:
            cursor = await self._call(partial(self._forget_page, index, record_prefix, cursor))
            if cursor == 0:
                break

    async def _forget_page(self, index: str, record_prefix: str, cursor: int) -> int:
        """One SSCAN page of `index`: delete the records it names, and, for the manual clock's image index, their
        entries in `image-order`, so they neither count against the most images kept nor are evicted later; the next
        cursor (0 at the end)."""
        cursor, members = await self._redis.sscan(index, cursor, count=1000)
        if members:
            ids = [as_text(member) for member in members]
            await self._redis.unlink(*(record_prefix + image for image in ids))
            if index.endswith(_IMAGE_INDEX + _MANUAL_INDEX):
                await self._redis.zrem(self._image_order, *(f"{index}\x1f{image}" for image in ids))
        return int(cursor)

    async def ping(self) -> None:
        """Raise StateUnavailable unless Redis answers: the CLI checks this before it starts serving."""
        await self._call(self._redis.ping)

    async def server_version(self) -> str | None:
        """The Redis version the server reports (INFO server), or None where INFO is refused (some managed Redis)."""
        try:
            info = await self._call(partial(self._redis.info, "server"))
        except redis_errors.ResponseError:
            return None
        version = info.get("redis_version")
        return None if version is None else str(version)

    async def warm_up(self) -> None:
        """Open WARM_CONNECTIONS connections (each answers a PING) and load the admission script; a Redis that does
        not answer now is left to the requests, which answer 503 until it does."""
        try:
            await asyncio.gather(self._channel.call(["PING"]), *(self._call(self._redis.ping) for _ in range(WARM_CONNECTIONS)))
            await self._channel.call(("SCRIPT", "LOAD", _ADMIT.source))
        except StateUnavailable:
            return

    async def close(self) -> None:
        """A fence still to be lowered (`_given_up`) is left to expire, as a stopped worker's is."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self._channel.close()
        await self._redis.aclose()
