"""The request journal in Redis, shared by every worker: one list, newest first, trimmed to the journal size.

Writes are batched: while one batch is on its way to Redis, the entries of concurrent requests queue and go
together in the next, in one script call (ids, push, trim, namespaces seen). Each request still waits for its
own entry to be written before its answer's last bytes leave, so a client that reads the journal right after its
answer always finds the entry, whichever worker it asks. The writes travel on a batching channel of their own (see
`simulator.state.batching`), and entries are encoded by orjson (`dump_json`): on a worker serving url requests from Redis, the
journal's encoding and redis-py's command handling had cost as much as the rest of the control plane.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterable
from functools import partial
from typing import Any

from redis.asyncio import Redis

from simulator.control.inspect import entry_from_stored
from simulator.control.journal import Journal, JournalEntry, entry_number
from simulator.http import dump_json
from simulator.state.batching import BatchingChannel, LuaScript
from simulator.state.on_time import on_time, run_on_time
from simulator.state.redis import SOCKET_TIMEOUT_SECONDS, as_text, call_redis, location

# KEYS: journal list, id counter, namespaces set. ARGV: size, then for each entry its namespace and its JSON (an
# object, without "id" and "namespace"). Returns the ids given, in ARGV order. Four calls a batch, whatever its
# length: each redis.call costs Redis a few microseconds, and Redis's CPU is the workers' CPU on a small machine.
# Each entry starts {"id":"request_N","namespace":"NAME", so a script finds its namespace without decoding it
# (`_DELETE`); a namespace's characters need no escaping in JSON.
_APPEND = LuaScript("""
local count = (#ARGV - 1) / 2
local last = redis.call('INCRBY', KEYS[2], count)
local ids, entries, namespaces = {}, {}, {}
for k = 1, count do
  local id = 'request_' .. (last - count + k)
  ids[k] = id
  entries[k] = '{"id":"' .. id .. '","namespace":"' .. ARGV[2 * k] .. '",' .. string.sub(ARGV[2 * k + 1], 2)
  namespaces[k] = ARGV[2 * k]
end
redis.call('LPUSH', KEYS[1], unpack(entries))
redis.call('SADD', KEYS[3], unpack(namespaces))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
return ids
""")
# Entries written by one script call at most: the script passes them to one LPUSH through Lua's `unpack`, whose stack
# holds about 8,000 values.
_BATCH_LIMIT = 1000
# KEYS: journal list, namespaces set. ARGV: the deadline (`on_time`: a `DELETE /_sim/requests` answered 503 deleted
# nothing), the namespace ('': every one). Returns how many entries it deleted; keeps the other namespaces' in order.
# Decision: the script reads each entry's namespace where `_APPEND` put it and never decodes an entry: Redis's cjson
# refuses JSON that is legal and that the journal keeps (a lone surrogate's escape, echoed from a request's body),
# and Redis does not undo a script that fails half-way, so a decoding error after the list's DEL had lost every
# namespace's entries. The list is rewritten only once the entries to keep are known.
_DELETE = on_time("""
if ARGV[2] == '' then
  local count = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1], KEYS[2])
  return count
end
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local kept = {}
for i = 1, #entries do
  if string.match(entries[i], '^{"id":"[^"]*","namespace":"([^"]*)"') ~= ARGV[2] then kept[#kept + 1] = entries[i] end
end
if #kept < #entries then
  redis.call('DEL', KEYS[1])
  for i = 1, #kept do redis.call('RPUSH', KEYS[1], kept[i]) end
end
redis.call('SREM', KEYS[2], ARGV[2])
return #entries - #kept
""")


def _encoded(entry: JournalEntry) -> bytes:
    """The entry as the journal keeps it, without its id and namespace (the script writes both, first)."""
    fields = entry.stored()
    del fields["id"], fields["namespace"]
    return dump_json(fields)


def _entry(raw: bytes | str) -> JournalEntry:
    fields: dict[str, Any] = json.loads(raw)
    return entry_from_stored(fields)


class RedisJournal(Journal):
    def __init__(self, redis: Redis, prefix: str, size: int) -> None:
        super().__init__(size)
        self._redis = redis
        self._list, self._namespaces = prefix + "journal", prefix + "namespaces"
        self._ids = prefix.removesuffix(":") + "-kept:journal-id"
        """Outside the prefix a full reset empties, as the rule ids' counter: an entry id names one request for the
        whole run, across resets, as in process (after a reset the id went back to request_1 and named two
        requests); a run starts it over (`start_numbering`)."""
        self._channel = BatchingChannel(redis.connection_pool, SOCKET_TIMEOUT_SECONDS, location(redis))
        self._delete = redis.register_script(_DELETE)
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
                    args: list[str | bytes | int] = [self.size]
                    for entry, _ in batch:
                        args += (entry.namespace, _encoded(entry))
                    ids = await self._channel.run_script(_APPEND, (self._list, self._ids, self._namespaces), args)
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
        raw = await call_redis(self._redis, lambda: self._redis.lrange(self._list, 0, -1))
        every = (_entry(item if isinstance(item, bytes) else item.encode()) for item in raw)
        return [entry for entry in every if namespace is None or entry.namespace == namespace]

    async def entry(self, entry_id: str, namespace: str | None) -> JournalEntry | None:
        """Decodes only the entry found: each starts with its id, where `_APPEND` wrote it."""
        if entry_number(entry_id) is None:
            return None
        raw = await call_redis(self._redis, lambda: self._redis.lrange(self._list, 0, -1))
        start = f'{{"id":"{entry_id}",'.encode()
        for item in raw:
            written = item if isinstance(item, bytes) else item.encode()
            if written.startswith(start):
                found = _entry(written)
                return found if namespace is None or found.namespace == namespace else None
        return None

    async def delete(self, namespace: str | None) -> int:
        keys = [self._list, self._namespaces]
        where = location(self._redis)
        return int(await run_on_time(partial(call_redis, self._redis), self._redis, where, self._delete, keys, [namespace or ""]))

    async def start_numbering(self) -> None:
        await call_redis(self._redis, lambda: self._redis.delete(self._ids))

    async def seen(self) -> set[str]:
        members = await call_redis(self._redis, lambda: self._redis.smembers(self._namespaces))
        return {as_text(member) for member in members}

    async def close(self) -> None:
        """The channel's connection is the journal's; the pool is the control plane's (see simulator.control.open)."""
        await self._channel.close()
