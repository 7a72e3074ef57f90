"""Fault rules in Redis, shared by every worker, with no Redis round trip per request while no rule matches.

Each worker keeps the rules in memory and subscribes to a change channel. A change (add, delete, clear) is
written, then published; every subscribed worker reloads its copy and acknowledges, and the call that made the
change answers only once every worker has (or after a short bound), so a test that adds a rule and then sends a
request reaches a worker that knows the rule, whichever it is. Only a request that matches a rule's `match`
goes to Redis, to count the match and claim one of the rule's `times` atomically across workers.

Rule ids come from a counter kept outside the prefix, which a full reset empties (`RedisState.reset`), so an id is
never given twice by one Redis database (see simulator.control.rules).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from simulator.control.actions import Action
from simulator.control.prompt_pattern import PromptPattern
from simulator.control.rules import RequestFacts, Rule, RuleSpec, RuleStore, draws, prompts_found, rule_spec_from_json
from simulator.state.base import no_answer
from simulator.state.redis import POOL_SIZE, SOCKET_TIMEOUT_SECONDS, as_text, call_redis, location

log = logging.getLogger("perf-sim")

# Decision: a change waits at most this long for every worker to reload its rules (they take a millisecond).
ACK_TIMEOUT_SECONDS = 2.0
ACK_POLL_SECONDS = 0.002

# KEYS: rules hash, counts hash, id counter, ordinals hash. ARGV: namespace, times (0: until removed), spec JSON.
_ADD = """
local id = 'fault_' .. redis.call('INCR', KEYS[3])
local ordinal = redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('HSET', KEYS[1], id, '{"ordinal":' .. ordinal .. ',"spec":' .. ARGV[3] .. '}')
redis.call('HSET', KEYS[2], id .. ':matched', 0, id .. ':fired', 0)
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[2], id .. ':remaining', ARGV[2]) end
return id
"""
# KEYS: rules hash, counts hash. ARGV: id. Returns the count of requests the rule has now matched, or -1 when the
# rule is used up or gone (nothing counted).
_MATCH = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local remaining = redis.call('HGET', KEYS[2], ARGV[1] .. ':remaining')
if remaining and tonumber(remaining) <= 0 then return -1 end
return redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':matched', 1)
"""
# KEYS: counts hash. ARGV: id. Claims one firing: 1, or 0 when another worker took the last of its times.
_FIRE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1] .. ':remaining') == 1 then
  if redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':remaining', -1) < 0 then
    redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':remaining', 1)
    return 0
  end
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':fired', 1)
return 1
"""


def _spec_json(spec: RuleSpec) -> str:
    body: dict[str, Any] = {"match": spec.match.as_json(), "action": spec.action.as_json(), "probability": spec.probability}
    body.update(namespace=spec.namespace, **({"times": spec.times} if spec.times is not None else {}))
    return json.dumps(body)


def _order(rule_id: str) -> int:
    return int(rule_id.rsplit("_", 1)[1])


class RedisRuleStore(RuleStore):
    def __init__(self, redis: Redis, subscriber: Redis, prefix: str, seed: int) -> None:
        super().__init__(seed)
        self._redis = redis
        self._subscriber = subscriber
        self._rules_key, self._counts_key = prefix + "rules", prefix + "rule-counts"
        self._id_key, self._ordinals_key = prefix.removesuffix(":") + "-kept:rule-id", prefix + "rule-ordinals"
        # Decision: Redis's Pub/Sub is one for the whole server, whatever the database, so the channel is named for
        # the database too: a simulator on another database is not waited for, nor does it acknowledge this one's
        # changes. Each change is named by a token of its own (not a counter a reset restarts), so no acknowledgement
        # is ever counted for another change.
        database = redis.connection_pool.connection_kwargs.get("db", 0)
        self._channel, self._ack_prefix = f"{prefix}rules-changed:db{database}", prefix + "rules-ack:"
        self._add, self._match, self._fire = (redis.register_script(s) for s in (_ADD, _MATCH, _FIRE))
        self._worker = uuid.uuid4().hex
        self._cache: list[tuple[str, int, RuleSpec]] = []
        self._specs: dict[bytes | str, RuleSpec] = {}
        """The rules read at the last reload, by what Redis holds for each: a rule unchanged keeps its compiled
        prompt pattern, and with it the pattern's warning said once (simulator.control.prompt_pattern)."""
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._slots = asyncio.Semaphore(POOL_SIZE)
        """Requests counting a match or claiming a firing at once: a burst of requests a rule may match queues for
        these (within `select`'s one timeout) instead of running the client's pool out of connections, which fails
        at once (the state's calls queue the same way, simulator.state.redis)."""

    async def _listening(self) -> None:
        """Subscribe (once, and again after a lost connection), then load the rules: no change is missed."""
        if self._listener is not None and not self._listener.done():
            return
        async with self._starting:
            if self._listener is not None and not self._listener.done():
                return
            if self._pubsub is not None:
                await self._pubsub.aclose()
            self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            await call_redis(self._subscriber, partial(self._pubsub.subscribe, self._channel))
            await self._reload()
            self._listener = asyncio.create_task(self._listen(self._pubsub))

    async def _listen(self, pubsub: PubSub) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                await self._reload()
                ack = self._ack_prefix + as_text(message["data"])
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.sadd(ack, self._worker)
                    pipe.expire(ack, 60)
                    await pipe.execute()
        except Exception as exc:
            log.warning("fault rule updates interrupted (%s); reloading with the next request", exc)

    async def _reload(self) -> None:
        stored = await call_redis(self._redis, partial(self._redis.hgetall, self._rules_key))
        rules, specs = [], {}
        for rule_id, raw in stored.items():
            body = json.loads(raw)
            spec = specs[raw] = self._specs.get(raw) or rule_spec_from_json(body["spec"])
            rules.append((as_text(rule_id), int(body["ordinal"]), spec))
        self._cache, self._specs = sorted(rules, key=lambda rule: _order(rule[0])), specs
        self.keep_prompt_searches_of(specs.values())

    async def _changed(self) -> None:
        """Tell every worker, and wait until each has reloaded."""
        await self._listening()
        change = uuid.uuid4().hex
        receivers = await call_redis(self._redis, partial(self._redis.publish, self._channel, change))
        ack = self._ack_prefix + change
        deadline = time.monotonic() + ACK_TIMEOUT_SECONDS
        while await call_redis(self._redis, partial(self._redis.scard, ack)) < receivers:
            if time.monotonic() > deadline:
                log.warning("not every worker confirmed the fault rule change within %.1f s", ACK_TIMEOUT_SECONDS)
                return
            await asyncio.sleep(ACK_POLL_SECONDS)

    async def _store(self, spec: RuleSpec) -> str:
        """Store the rule, telling no worker yet; its id."""
        keys = [self._rules_key, self._counts_key, self._id_key, self._ordinals_key]
        return as_text(
            await call_redis(self._redis, partial(self._add, keys=keys, args=[spec.namespace, spec.times or 0, _spec_json(spec)]))
        )

    async def add(self, spec: RuleSpec) -> Rule:
        rule_id = await self._store(spec)
        await self._changed()
        return next(rule for rule in await self.rules(spec.namespace) if rule.id == rule_id)

    async def add_all(self, specs: Sequence[RuleSpec]) -> None:
        """Every rule stored first, then one change told: told per rule, every worker reread every rule so far (and
        `add` read them all back), so a scenario of 1,500 rules took 112 s to start and as long to reset."""
        for spec in specs:
            await self._store(spec)
        if specs:
            await self._changed()

    async def rules(self, namespace: str | None = None) -> list[Rule]:
        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._rules_key)
                pipe.hgetall(self._counts_key)
                return list(await pipe.execute())

        stored, counts = await call_redis(self._redis, read)
        count = {as_text(name): int(value) for name, value in counts.items()}
        found = []
        for raw_id, raw in stored.items():
            rule_id, body = as_text(raw_id), json.loads(raw)
            spec = rule_spec_from_json(body["spec"])
            if namespace is None or spec.namespace == namespace:
                remaining = count.get(f"{rule_id}:remaining")
                found.append(
                    Rule(
                        rule_id, int(body["ordinal"]), spec, remaining, count.get(f"{rule_id}:fired", 0), count.get(f"{rule_id}:matched", 0)
                    )
                )
        return sorted(found, key=lambda rule: _order(rule.id))

    async def delete(self, rule_id: str, namespace: str | None = None) -> bool:
        """Read, then remove: an id is never given again, so the rule read is the rule removed, if any."""
        if namespace is not None:
            stored = await call_redis(self._redis, partial(self._redis.hget, self._rules_key, rule_id))
            if stored is None or json.loads(stored)["spec"]["namespace"] != namespace:
                return False
        deleted = await call_redis(self._redis, partial(self._redis.hdel, self._rules_key, rule_id))
        if deleted:
            fields = [f"{rule_id}:{name}" for name in ("matched", "fired", "remaining")]
            await call_redis(self._redis, partial(self._redis.hdel, self._counts_key, *fields))
            await self._changed()
        return bool(deleted)

    async def clear(self, namespace: str | None) -> int:
        doomed = await self.rules(namespace)
        if namespace is None:
            await call_redis(self._redis, partial(self._redis.delete, self._rules_key, self._counts_key, self._ordinals_key))
        else:
            async with self._redis.pipeline(transaction=True) as pipe:
                for rule in doomed:
                    pipe.hdel(self._rules_key, rule.id)
                    pipe.hdel(self._counts_key, *(f"{rule.id}:{name}" for name in ("matched", "fired", "remaining")))
                pipe.hdel(self._ordinals_key, namespace)
                await call_redis(self._redis, pipe.execute)
        await self._changed()
        return len(doomed)

    def may_apply(self) -> bool:
        """Until this worker listens for changes it cannot know the rules, so `select` must run (and start listening)."""
        return self._listener is None or self._listener.done() or bool(self._cache)

    async def select(self, namespace: str, facts: Callable[[], RequestFacts]) -> Action | None:
        """The first rule that fires. Its Redis calls (subscribing, loading the rules, counting a match, claiming a
        firing) get the state's one timeout in all, as each would wait that long on a stuck Redis; the search of the
        prompt patterns between them is no Redis call, and is bounded on its own (simulator.control.prompt_pattern)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                rules = await self._rules_of(namespace)
            if not rules:
                return None
            waited = loop.time() - started
            asked = facts()
            found = await prompts_found((spec.match for _, _, spec in rules), asked, self.prompt_searches)
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS - waited):
                return await self._first_firing(rules, asked, found)
        except TimeoutError as exc:
            raise no_answer(location(self._redis), exc) from None

    async def _rules_of(self, namespace: str) -> list[tuple[str, int, RuleSpec]]:
        await self._listening()
        return [rule for rule in self._cache if rule[2].namespace == namespace]

    async def _first_firing(self, rules: list[tuple[str, int, RuleSpec]], asked: RequestFacts, found: set[PromptPattern]) -> Action | None:
        for rule_id, ordinal, spec in rules:
            if not spec.match.holds(asked, found):
                continue
            async with self._slots:
                matched = int(await call_redis(self._redis, partial(self._match, keys=[self._rules_key, self._counts_key], args=[rule_id])))
            if matched < 0 or not draws(self.seed, Rule(rule_id, ordinal, spec, None, 0, matched), matched):
                continue
            async with self._slots:
                fired = await call_redis(self._redis, partial(self._fire, keys=[self._counts_key], args=[rule_id]))
            if fired:
                return spec.action
        return None

    async def close(self) -> None:
        self.prompt_searches.close()
        if self._listener is not None:
            self._listener.cancel()
        if self._pubsub is not None:
            await self._pubsub.aclose()
