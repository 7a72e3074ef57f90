"""The request journal in Redis, shared by every worker: the newest `size` entries, read a bounded page at a time.

Writes are batched: while one batch is on its way to Redis, the entries of concurrent requests queue and go
together in the next, in one script call (ids, entries, order, namespaces' lists, trim). Each request still waits
for its own entry to be written before its answer's last bytes leave, so a client that reads the journal right after its
answer always finds the entry, whichever worker it asks. The writes travel on a batching channel of their own (see
`simulator.state.batching`), and entries are encoded by orjson (`dump_json`): on a worker serving url requests from Redis, the
journal's encoding and redis-py's command handling had cost as much as the rest of the control plane.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Iterable, Iterator
from functools import partial
from typing import Any, cast

from redis.asyncio import Redis

from simulator.control.inspect import entry_from_stored
from simulator.control.journal import Journal, JournalEntry, entry_number
from simulator.http import dump_json
from simulator.state.batching import BatchingChannel, LuaScript
from simulator.state.on_time import on_time, run_on_time
from simulator.state.redis import SOCKET_TIMEOUT_SECONDS, as_text, call_redis, location

# The journal is kept in three parts (see `RedisJournal`):
# - `journal-entries`, a hash of every kept entry by its number (request_N's N): one entry is read by its id alone;
# - `journal-order`, a sorted set of "N:NAMESPACE" scored by N: every namespace's entries, newest first, read a page
#   at a time by number, and the oldest found for the size's trim;
# - `journal-of:NAMESPACE`, each namespace's entry numbers, newest first (a list): a namespace's listing reads its
#   own entries, never the others' (a dashboard poll of a namespace with one entry, beside 500,000 of a load run, had
#   read and decoded all 500,000: 3 s, with Redis blocked for every worker meanwhile).
# An entry is kept as the worker encoded it, without its id: its number, the hash's key, gives it back. No script reads
# or decodes an entry: Redis's cjson refuses JSON that is legal and that the journal keeps (a lone surrogate's escape,
# echoed from a request's body), and Redis does not undo a script that fails half-way. A namespace name is letters,
# digits, ".", "_" and "-" (simulator.context), so it ends an order member, and a list's key, whole.
#
# Decision: an entry's write costs Redis what it did when the journal was one list of entries, read whole (INFO
# commandstats, a full journal of 1.8 kB entries, one entry a batch: 21 us a call then; 37 with the entries as a
# sorted set's members trimmed on every write, 40 with the three parts trimmed on every write, 21 to 24 as written;
# ten entries a batch, 11 us an entry then and now). Each redis.call costs Redis a few microseconds and Redis's CPU
# is the workers' CPU on a small machine, so:
# - the entries are a hash's values, not the sorted set's members (a sorted set hashes and orders its whole member, of
#   1-2 kB), kept as the worker sent them: the script builds no string of an entry's size (building
#   '{"id":"request_N",' .. entry took Redis 12 us, more than the rest of the write);
# - the journal is trimmed to its size once its numbers pass a multiple of TRIM_EVERY, not on every write. Up to
#   TRIM_EVERY entries (and a batch) beyond the size wait for the next trim, never shown: a reader takes the newest
#   `size` alone (`_HIDDEN`), as the in-process journal keeps the rest of its oldest batch unseen;
# - the namespaces set is told of a namespace only when its list starts (it stays in the set until the namespace's
#   reset, while a list goes once its entries are dropped).
TRIM_EVERY = 64

_TRIM = """
local function trim(entries, order, size, lists)
  local over = redis.call('ZCARD', order) - tonumber(size)
  if over <= 0 then return end
  local gone = redis.call('ZPOPMIN', order, over)
  local newest_gone = tonumber(gone[#gone])
  local numbers, dropped, named = {}, {}, {}
  for i = 1, #gone, 2 do
    local number, namespace = string.match(gone[i], '^(%d+):(.*)$')
    numbers[#numbers + 1] = number
    if dropped[namespace] == nil then
      dropped[namespace] = 0
      named[#named + 1] = namespace
    end
    dropped[namespace] = dropped[namespace] + 1
    if #numbers == 1000 or i + 1 == #gone then
      redis.call('HDEL', entries, unpack(numbers))
      numbers = {}
    end
  end
  for i = 1, #named do
    local list = lists .. named[i]
    local tail = redis.call('LRANGE', list, -dropped[named[i]], -1)
    local trimmed = 0
    while trimmed < #tail and tonumber(tail[#tail - trimmed]) <= newest_gone do trimmed = trimmed + 1 end
    if trimmed > 0 then redis.call('LTRIM', list, 0, -1 - trimmed) end
  end
end
"""
"""Drop the oldest entries past `size` from the three parts (a namespace's oldest are its list's tail), so each list
holds exactly its namespace's kept entries. Decision: a tail is trimmed only of numbers up to the newest entry dropped,
not by a count alone: a list out of step with the entries (a full reset that answered 503 had deleted some keys and
not others) then never loses a kept entry's number."""
_HIDDEN = """
local function hidden(order, size)
  local past = redis.call('ZREVRANGE', order, size, size, 'WITHSCORES')
  if past[2] then return tonumber(past[2]) end
  return 0
end
local function add_found(page, entries, numbers)
  local found = redis.call('HMGET', entries, unpack(numbers))
  for i = 1, #found do
    if found[i] then
      page[#page + 1] = numbers[i]
      page[#page + 1] = found[i]
    end
  end
  return page
end
"""
"""`hidden`: the number at or below which entries are past the newest `size`, waiting for the next trim (0: none
is). `add_found`: a page with the number and entry of each of `numbers` still held (a delete may have taken some)."""

# KEYS: the entries, the order, id counter, namespaces set. ARGV: size, the namespace lists' key prefix, then for each
# entry its namespace and its JSON (without "id", which its number gives). Returns the ids given, in ARGV order.
_APPEND = LuaScript(
    _TRIM
    + f"""
local count = (#ARGV - 2) / 2
local last = redis.call('INCRBY', KEYS[3], count)
local ids, entries, order, numbers_of, named = {{}}, {{}}, {{}}, {{}}, {{}}
for k = 1, count do
  local number = last - count + k
  local namespace = ARGV[2 * k + 1]
  ids[k] = 'request_' .. number
  entries[2 * k - 1] = number
  entries[2 * k] = ARGV[2 * k + 2]
  order[2 * k - 1] = number
  order[2 * k] = number .. ':' .. namespace
  if numbers_of[namespace] == nil then
    numbers_of[namespace] = {{}}
    named[#named + 1] = namespace
  end
  table.insert(numbers_of[namespace], number)
end
redis.call('HSET', KEYS[1], unpack(entries))
redis.call('ZADD', KEYS[2], unpack(order))
for i = 1, #named do
  local numbers = numbers_of[named[i]]
  if redis.call('LPUSH', ARGV[2] .. named[i], unpack(numbers)) == #numbers then redis.call('SADD', KEYS[4], named[i]) end
end
if math.floor(last / {TRIM_EVERY}) ~= math.floor((last - count) / {TRIM_EVERY}) then trim(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) end
return ids
"""
)
# Entries written by one script call at most: the script passes them to one HSET through Lua's `unpack`, whose stack
# holds about 8,000 values.
_BATCH_LIMIT = 1000
# KEYS: the order, the entries. ARGV: the number every entry read is below (0: none), how many to read, the size.
# Returns how many it read, the lowest number read, then each entry's number and entry, newest first. By number, not
# by an offset: entries written meanwhile are above it, and those dropped or deleted are gone (`RedisJournal.pages`).
_ALL_PAGE = (
    _HIDDEN
    + """
local high, low = '+inf', '-inf'
if ARGV[1] ~= '0' then high = '(' .. ARGV[1] end
local past = hidden(KEYS[1], ARGV[3])
if past > 0 then low = '(' .. past end
local read = redis.call('ZREVRANGEBYSCORE', KEYS[1], high, low, 'LIMIT', 0, tonumber(ARGV[2]))
if #read == 0 then return {0, 0} end
local numbers = {}
for i = 1, #read do numbers[i] = string.match(read[i], '^(%d+):') end
return add_found({#read, tonumber(numbers[#numbers])}, KEYS[2], numbers)
"""
)
# KEYS: a namespace's list, the entries, the order. ARGV: the list's index to read from, the number every entry read
# is below (0: none), how many numbers to read, the size. Returns how many numbers it read (0 once past the newest
# `size`), the lowest of them, then the number and entry of each below the given number, newest first. The reader
# asks for the next page from where the last ended, below the lowest number it has read: entries written meanwhile
# push the list's numbers along (the page then starts with numbers read already, which it skips), a trim takes from
# the far end, and a delete of the namespace empties the list (the page finds nothing more).
_NAMESPACE_PAGE = (
    _HIDDEN
    + """
local numbers = redis.call('LRANGE', KEYS[1], ARGV[1], tonumber(ARGV[1]) + tonumber(ARGV[3]) - 1)
if #numbers == 0 then return {0, 0} end
local below, past = tonumber(ARGV[2]), hidden(KEYS[3], ARGV[4])
local page, wanted = {#numbers, tonumber(numbers[#numbers])}, {}
for i = 1, #numbers do
  local number = tonumber(numbers[i])
  if number <= past then
    page[1] = 0
    break
  end
  if below == 0 or number < below then wanted[#wanted + 1] = numbers[i] end
end
if #wanted == 0 then return page end
return add_found(page, KEYS[2], wanted)
"""
)
# KEYS: the entries, the order. ARGV: the entry's number, the size. Returns the entry, or nil: none has that number,
# or it is past the newest `size`.
_ENTRY = (
    _HIDDEN
    + """
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry or tonumber(ARGV[1]) <= hidden(KEYS[2], ARGV[2]) then return false end
return entry
"""
)
# KEYS: the entries, the order, namespaces set. ARGV: the deadline (`on_time`: a `DELETE /_sim/requests` answered
# 503 deleted nothing), the namespace ('': every one), the namespace lists' key prefix, the size. Returns how many
# entries it deleted. The entries past the size go first, so a reset never brings them back into the newest `size`
# (as in process). A namespace's entries are found by its list: no other namespace's is read.
_DELETE = on_time(
    _TRIM
    + """
trim(KEYS[1], KEYS[2], ARGV[4], ARGV[3])
if ARGV[2] == '' then
  local count = redis.call('HLEN', KEYS[1])
  local namespaces = redis.call('SMEMBERS', KEYS[3])
  for i = 1, #namespaces do redis.call('DEL', ARGV[3] .. namespaces[i]) end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return count
end
local list = ARGV[3] .. ARGV[2]
local numbers = redis.call('LRANGE', list, 0, -1)
local deleted = 0
for start = 1, #numbers, 1000 do
  local chunk, members = {}, {}
  for i = start, math.min(start + 999, #numbers) do
    chunk[#chunk + 1] = numbers[i]
    members[#members + 1] = numbers[i] .. ':' .. ARGV[2]
  end
  deleted = deleted + redis.call('HDEL', KEYS[1], unpack(chunk))
  redis.call('ZREM', KEYS[2], unpack(members))
end
redis.call('DEL', list)
redis.call('SREM', KEYS[3], ARGV[2])
return deleted
"""
)
PAGE = 500
"""The most entries one read of the journal takes (a few hundred kB): a listing reads pages, newest first, until it
has found its `limit`, so neither Redis nor a worker ever holds more than a page of it for one call."""


def _encoded(entry: JournalEntry) -> bytes:
    """The entry as the journal keeps it, without its id (its number, which the script gives, is its key)."""
    fields = entry.stored()
    del fields["id"]
    return dump_json(fields)


def _entry(number: bytes | int, raw: bytes) -> JournalEntry:
    fields: dict[str, Any] = json.loads(raw)
    fields["id"] = f"request_{int(number)}"
    return entry_from_stored(fields)


def _decoded(found: list[Any]) -> Iterator[JournalEntry]:
    """The entries of a page (each number, then its entry), each decoded only when its reader comes to it (a listing
    that has found its `limit` decodes no more)."""
    return (_entry(number, raw) for number, raw in zip(found[::2], found[1::2], strict=True))


class RedisJournal(Journal):
    def __init__(self, redis: Redis, prefix: str, size: int) -> None:
        super().__init__(size)
        self._redis = redis
        self._entries, self._order, self._namespaces = prefix + "journal-entries", prefix + "journal-order", prefix + "namespaces"
        self._of = prefix + "journal-of:"
        """Each namespace's list of its entry numbers is this and its name."""
        self._ids = prefix.removesuffix(":") + "-kept:journal-id"
        """Outside the prefix a full reset empties, as the rule ids' counter: an entry id names one request for the
        whole run, across resets, as in process (after a reset the id went back to request_1 and named two
        requests); a run starts it over (`start_numbering`)."""
        self._channel = BatchingChannel(redis.connection_pool, SOCKET_TIMEOUT_SECONDS, location(redis))
        self._delete = redis.register_script(_DELETE)
        self._all_page = redis.register_script(_ALL_PAGE)
        self._entry = redis.register_script(_ENTRY)
        self._namespace_page = redis.register_script(_NAMESPACE_PAGE)
        self._pending: list[tuple[JournalEntry, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    def record(self, entry: JournalEntry) -> Awaitable[None]:
        return self._record_when_written(self._append(entry), entry)

    def flush(self) -> None:
        """Nothing waits: each entry's listeners are told once it is written."""

    def _append(self, entry: JournalEntry) -> asyncio.Future[None]:
        """Queue the entry for the next batch the writer sends; the future is done once it is written."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return done

    async def _write(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:_BATCH_LIMIT], self._pending[_BATCH_LIMIT:]
                try:
                    args: list[str | bytes | int] = [self.size, self._of]
                    for entry, _ in batch:
                        args += (entry.namespace, _encoded(entry))
                    ids = await self._channel.run_script(_APPEND, (self._entries, self._order, self._ids, self._namespaces), args)
                except Exception as exc:
                    for _, done in batch:
                        done.set_exception(exc)
                    continue
                for (entry, done), entry_id in zip(batch, ids, strict=True):
                    entry.id = as_text(entry_id)
                    done.set_result(None)
        finally:
            self._writer = None

    async def entries(self, namespace: str | None = None) -> Iterable[JournalEntry]:
        return [entry async for page in self.pages(namespace) for entry in page]

    async def pages(self, namespace: str | None, wanted: int | None = None) -> AsyncGenerator[Iterable[JournalEntry], None]:
        """A page at a time, each one bounded call (PAGE entries at most; the first no more than `wanted`): a listing
        of 50 reads about 50 entries, whatever the journal's size, and a count or a long listing never holds Redis for
        more than a page's time.

        Decision: pages are read below the lowest number read so far, not at an offset. Between two pages, entries
        are written (at the newest end), dropped past the size (the oldest) and a namespace's deleted (anywhere), so an
        offset read the same entry twice or skipped one; by number a reader sees each entry once, those written since
        it began not at all, and those dropped or deleted before their page came not at all, as the in-process journal's
        reader does."""
        size = PAGE if wanted is None else max(1, min(wanted, PAGE))
        if namespace is None:
            async for page in self._all_pages(size):
                yield page
        else:
            async for page in self._namespace_pages(namespace, size):
                yield page

    async def _all_pages(self, size: int) -> AsyncGenerator[Iterable[JournalEntry], None]:
        keys, below = [self._order, self._entries], 0
        while True:
            found = await call_redis(self._redis, partial(self._all_page, keys=keys, args=[below, size, self.size]))
            read, below, raw = int(found[0]), int(found[1]), found[2:]
            if raw:
                yield _decoded(raw)
            if read < size:
                return
            size = PAGE

    async def _namespace_pages(self, namespace: str, size: int) -> AsyncGenerator[Iterable[JournalEntry], None]:
        keys, start, below = [self._of + namespace, self._entries, self._order], 0, 0
        while True:
            found = await call_redis(self._redis, partial(self._namespace_page, keys=keys, args=[start, below, size, self.size]))
            read, lowest, raw = int(found[0]), int(found[1]), found[2:]
            if read:
                start, below = start + read, lowest if below == 0 else min(below, lowest)
            if raw:
                yield _decoded(raw)
            if read < size:
                return
            size = PAGE

    async def entry(self, entry_id: str, namespace: str | None) -> JournalEntry | None:
        """Reads only the entry asked for, by its number."""
        number = entry_number(entry_id)
        if number is None:
            return None
        keys = [self._entries, self._order]
        raw = cast(bytes | None, await call_redis(self._redis, partial(self._entry, keys=keys, args=[number, self.size])))
        if raw is None:
            return None
        found = _entry(number, raw)
        return found if namespace is None or found.namespace == namespace else None

    async def delete(self, namespace: str | None) -> int:
        keys = [self._entries, self._order, self._namespaces]
        where = location(self._redis)
        args = [namespace or "", self._of, self.size]
        return int(await run_on_time(partial(call_redis, self._redis), self._redis, where, self._delete, keys, args))

    async def start_numbering(self) -> None:
        await call_redis(self._redis, lambda: self._redis.delete(self._ids))

    async def seen(self) -> set[str]:
        members = await call_redis(self._redis, lambda: self._redis.smembers(self._namespaces))
        return {as_text(member) for member in members}

    async def close(self) -> None:
        """The channel's connection is the journal's; the pool is the control plane's (see simulator.control.open)."""
        await self._channel.close()
