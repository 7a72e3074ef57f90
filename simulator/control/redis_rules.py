"""Fault rules in Redis, shared by every worker, with no Redis round trip per request while no rule matches.

Each worker keeps the rules in memory and subscribes to a change channel. A change (add, delete, clear) is
written and published by one script, which Redis runs only while the call that made it still waits for it
(simulator.state.on_time); every subscribed worker reloads its copy and acknowledges, and the call that made the
change answers only once every worker has (or after a short bound), so a test that adds a rule and then sends a
request reaches a worker that knows the rule, whichever it is. A call answered 503 made no change: written, then
published in a second step, a rule that a stuck Redis stored after the 503 was listed but fired nowhere (no worker
had been told), and the retry the 503 asks for stored it twice. Only a request that matches a rule's `match`
goes to Redis, to count the match and claim one of the rule's `times` atomically across workers.

Rule ids come from a counter kept outside the prefix, which a full reset (`RedisState.reset`) leaves alone, so an id
is never given twice in one run (see simulator.control.rules); a run starts it over (`start_numbering`), as the
journal's, so a restart with the same seed gives the same rule ids.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.commands.core import AsyncScript

from simulator.control.actions import Action
from simulator.control.prompt_pattern import PromptPattern
from simulator.control.rules import RequestFacts, Rule, RuleSpec, RuleStore, draws, prompts_found, rule_spec_from_json
from simulator.state.base import StateUnavailable, no_answer
from simulator.state.on_time import on_time, run_on_time
from simulator.state.redis import POOL_SIZE, SOCKET_TIMEOUT_SECONDS, as_text, call_redis, location

log = logging.getLogger("perf-sim")

# Decision: a change waits at most this long for every worker to reload its rules (they take a millisecond).
ACK_TIMEOUT_SECONDS = 2.0
ACK_POLL_SECONDS = 0.002

# Each change (add, delete, clear) is one script that writes it and publishes it (ARGV[2], the channel, ARGV[3], the
# change's token) in one atomic step, and only while its caller still waits (`on_time`): a change Redis runs is known
# to every worker, and a change whose caller got a 503 was not made. Stored rules start with their ordinal and
# namespace, so a script finds a rule's namespace without decoding its JSON (Redis's decoder refuses some JSON a rule
# keeps, a lone surrogate's escape in a prompt; see simulator.control.redis_journal).
_NAMESPACE_OF = """
local function namespace_of(stored) return string.match(stored, '^{"ordinal":%d+,"namespace":"([^"]*)"') end
"""
# KEYS: rules hash, counts hash, id counter, ordinals hash. ARGV: deadline, channel, change, then for each rule its
# namespace, times (0: until removed) and spec JSON, from ARGV[first]. `add_rules(answer, first, put)` adds those
# whose namespace `put` accepts and publishes the change; the answer is `answer` with the receivers of the change in
# its first place, then each rule's id and ordinal.
_ADD_RULES = """
local function add_rules(answer, first, put)
  for k = first, #ARGV, 3 do
    if put(ARGV[k]) then
      local id = 'fault_' .. redis.call('INCR', KEYS[3])
      local ordinal = redis.call('HINCRBY', KEYS[4], ARGV[k], 1)
      redis.call('HSET', KEYS[1], id, '{"ordinal":' .. ordinal .. ',"namespace":"' .. ARGV[k] .. '","spec":' .. ARGV[k + 2] .. '}')
      redis.call('HSET', KEYS[2], id .. ':matched', 0, id .. ':fired', 0)
      if tonumber(ARGV[k + 1]) > 0 then redis.call('HSET', KEYS[2], id .. ':remaining', ARGV[k + 1]) end
      answer[#answer + 1] = id
      answer[#answer + 1] = ordinal
    end
  end
  answer[1] = redis.call('PUBLISH', ARGV[2], ARGV[3])
  return answer
end
local function every(namespace) return true end
"""
# `clear_rules(rules, counts, ordinals, namespace)` deletes the rules of `namespace` ('': every one) and their counts
# and ordinals; it returns how many rules it deleted.
_CLEAR_RULES = (
    _NAMESPACE_OF
    + """
local function clear_rules(rules, counts, ordinals, namespace)
  local deleted = 0
  if namespace == '' then
    deleted = redis.call('HLEN', rules)
    redis.call('DEL', rules, counts, ordinals)
    return deleted
  end
  local stored = redis.call('HGETALL', rules)
  for i = 1, #stored, 2 do
    if namespace_of(stored[i + 1]) == namespace then
      local id = stored[i]
      redis.call('HDEL', rules, id)
      redis.call('HDEL', counts, id .. ':matched', id .. ':fired', id .. ':remaining')
      deleted = deleted + 1
    end
  end
  redis.call('HDEL', ordinals, namespace)
  return deleted
end
"""
)
_ADD = on_time(_ADD_RULES + "return add_rules({0}, 4, every)")
# Every step that puts the run's starting rules (its scenario's) in: the run's start, a reset, and, after a Redis
# restart, the claim's or a reconnecting worker's. KEYS: _ADD's, then the mark of what put them in since Redis last
# lost the run's data (KEYS[5], a hash kept outside the prefix): 'run' once the run's start or a put back after a
# restart did; until then 'all' after a full reset, 'ns:<namespace>' after a reset of that namespace; and 'unsaid', a
# worker's put back's answer (JSON) until the claim tells it. ARGV: deadline, channel, change, how ('start', 'reset',
# 'again' or 'reconnected'), the namespace reset ('': every one), then the rules to put in (namespace, times, spec)
# from ARGV[6]:
# - 'start' empties the rules and puts them in;
# - 'reset' deletes the namespace's rules (every one's) and puts them (the namespace's starting rules) back;
# - 'again' (the claim's) puts in, only where Redis lost the mark's 'run' (and so the run's data), those no reset put
#   back since; where a worker did so first, it answers (once) what that worker's step did, for the claim to say;
# - 'reconnected' (a worker's) does as 'again', and keeps its answer as the mark's 'unsaid'.
# Returns {receivers, rules deleted, data lost (0, 1), full reset since it was (0, 1), count of the rules held before
# the rules went in, their ids, then each rule put in's id and ordinal}.
_START_OVER = on_time(
    _ADD_RULES
    + _CLEAR_RULES
    + """
local how, namespace, deleted, lost, full, before, put = ARGV[4], ARGV[5], 0, 0, 0, {}, every
if how == 'start' then
  deleted = clear_rules(KEYS[1], KEYS[2], KEYS[4], '')
  redis.call('DEL', KEYS[5])
  redis.call('HSET', KEYS[5], 'run', 1)
elseif how == 'reset' then
  deleted = clear_rules(KEYS[1], KEYS[2], KEYS[4], namespace)
  if redis.call('HEXISTS', KEYS[5], 'run') == 0 then
    redis.call('HSET', KEYS[5], namespace == '' and 'all' or 'ns:' .. namespace, 1)
  end
else
  if redis.call('HEXISTS', KEYS[5], 'run') == 1 then
    local unsaid = how == 'again' and redis.call('HGET', KEYS[5], 'unsaid')
    if not unsaid then return {0, 0, 0, 0, 0} end
    redis.call('HDEL', KEYS[5], 'unsaid')
    return cjson.decode(unsaid)
  end
  lost = 1
  full = redis.call('HEXISTS', KEYS[5], 'all')
  local reset = redis.call('HGETALL', KEYS[5])
  put = function(ns)
    for i = 1, #reset, 2 do
      if reset[i] == 'all' or reset[i] == 'ns:' .. ns then return false end
    end
    return true
  end
  before = redis.call('HKEYS', KEYS[1])
  redis.call('DEL', KEYS[5])
  redis.call('HSET', KEYS[5], 'run', 1)
end
local answer = {0, deleted, lost, full, #before}
for _, id in ipairs(before) do answer[#answer + 1] = id end
answer = add_rules(answer, 6, put)
if how == 'reconnected' then
  local unsaid = {0}
  for i = 2, #answer do unsaid[i] = answer[i] end
  redis.call('HSET', KEYS[5], 'unsaid', cjson.encode(unsaid))
end
return answer
"""
)
# KEYS: rules hash, counts hash. ARGV: deadline, channel, change, id, namespace ('': any). Returns {receivers of the
# change, deleted (0 or 1)}; nothing is published when nothing was deleted.
_DELETE = on_time(
    _NAMESPACE_OF
    + """
local stored = redis.call('HGET', KEYS[1], ARGV[4])
if not stored or (ARGV[5] ~= '' and namespace_of(stored) ~= ARGV[5]) then return {0, 0} end
redis.call('HDEL', KEYS[1], ARGV[4])
redis.call('HDEL', KEYS[2], ARGV[4] .. ':matched', ARGV[4] .. ':fired', ARGV[4] .. ':remaining')
return {redis.call('PUBLISH', ARGV[2], ARGV[3]), 1}
"""
)
# KEYS: rules hash, counts hash, ordinals hash. ARGV: deadline, channel, change, namespace ('': every one). Returns
# {receivers of the change, rules deleted}.
_CLEAR = on_time(
    _CLEAR_RULES
    + """
local deleted = clear_rules(KEYS[1], KEYS[2], KEYS[3], ARGV[4])
return {redis.call('PUBLISH', ARGV[2], ARGV[3]), deleted}
"""
)
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


@dataclass(frozen=True)
class PutBack:
    """What `put_back_starting` (or a reconnecting worker before it) did after Redis lost the run's data, for the
    claim's warning to say."""

    added: list[str]
    """The ids of the starting rules it put back (maybe none: a reset since the restart had put them back)."""
    before: list[str]
    """The ids of the rules Redis held by then, added since the restart (by a client, or a reset), which the starting
    rules it put back come after."""
    full_reset: bool
    """Whether a full reset since the restart had put every starting rule back."""


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
        self._started_key = prefix.removesuffix(":") + "-kept:starting-rules"
        """The mark of what put the run's starting rules in (_START_OVER): kept outside the prefix, as a full reset
        (which puts them back itself, and says so in the mark) leaves it alone; only a Redis that lost its data loses
        it (`put_back_starting`)."""
        # Decision: Redis's Pub/Sub is one for the whole server, whatever the database, so the channel is named for
        # the database too: a simulator on another database is not waited for, nor does it acknowledge this one's
        # changes. Each change is named by a token of its own (not a counter a reset restarts), so no acknowledgement
        # is ever counted for another change.
        database = redis.connection_pool.connection_kwargs.get("db", 0)
        self._channel, self._ack_prefix = f"{prefix}rules-changed:db{database}", prefix + "rules-ack:"
        self._add, self._start_over, self._delete, self._clear, self._match, self._fire = (
            redis.register_script(s) for s in (_ADD, _START_OVER, _DELETE, _CLEAR, _MATCH, _FIRE)
        )
        self._worker = uuid.uuid4().hex
        self._cache: list[tuple[str, int, RuleSpec]] = []
        self._specs: dict[bytes | str, RuleSpec] = {}
        """The rules read at the last reload, by what Redis holds for each: a rule unchanged keeps its compiled
        prompt pattern, and with it the pattern's warning said once (simulator.control.prompt_pattern)."""
        self.starting_rules: Sequence[RuleSpec] = ()
        """The run's starting rules (its scenario's), in a worker: put back by the first worker to reconnect to a Redis
        that lost the run's data (`_listening`)."""
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._slots = asyncio.Semaphore(POOL_SIZE)
        """Requests counting a match or claiming a firing at once: a burst of requests a rule may match queues for
        these (within `select`'s one timeout) instead of running the client's pool out of connections, which fails
        at once (the state's calls queue the same way, simulator.state.redis)."""

    async def _listening(self) -> None:
        """Subscribe (once, and again after a lost connection), then load the rules: no change is missed. Loaded with
        the mark of the run's starting rules, in one step: where Redis lost the run's data, this worker puts them back
        before it serves the request that brought it here (see `_put_back_lost`)."""
        if self._listener is not None and not self._listener.done():
            return
        async with self._starting:
            if self._listener is not None and not self._listener.done():
                return
            if self._pubsub is not None:
                await self._pubsub.aclose()
            self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            await call_redis(self._subscriber, partial(self._pubsub.subscribe, self._channel))
            if not await self._reload_with_mark() and self.starting_rules:
                await self._put_back_lost()
            self._listener = asyncio.create_task(self._listen(self._pubsub))

    async def _reload_with_mark(self) -> bool:
        """`_reload`, and whether Redis holds the mark of the run's starting rules (False: it lost the run's data), read
        in one transaction, so the rules read are those of the mark read: the same one round trip as the rules alone."""

        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._rules_key)
                pipe.hexists(self._started_key, "run")
                return list(await pipe.execute())

        stored, kept = await call_redis(self._redis, read)
        self._load(stored)
        return bool(kept)

    async def _put_back_lost(self) -> None:
        """Put the run's starting rules back (`put_back_starting`'s step, which the claim's check also runs), then load
        them. Redis restarted without the run's data, and the workers reconnect at their next request: they served
        theirs without the rules until the claim's next check (each second, in the parent process) put them back, so a
        times=1 rule fired on the third request after the restart, not the first.

        Decision: the same atomic step, guarded by the same mark, so the rules go in once for the run, whichever of the
        workers and the claim comes first; the claim still says on stderr what the run holds, this step's answer
        (kept in the mark for it) when a worker came first. Loaded again after the step whoever did it (another worker,
        the claim), as the mark was found gone: no wait for the other workers' acknowledgements, as each of them
        finds the mark gone and so runs the step and loads after it, or finds it and the rules put back with it."""
        keys, args = self._start_over_input("reconnected", None, self.starting_rules)
        call = partial(call_redis, self._redis)
        await run_on_time(call, self._redis, location(self._redis), self._start_over, keys, [self._channel, uuid.uuid4().hex, *args])
        await self._reload()

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
        self._load(await call_redis(self._redis, partial(self._redis.hgetall, self._rules_key)))

    def _load(self, stored: dict[Any, Any]) -> None:
        rules, specs = [], {}
        for rule_id, raw in stored.items():
            body = json.loads(raw)
            spec = specs[raw] = self._specs.get(raw) or rule_spec_from_json(body["spec"])
            rules.append((as_text(rule_id), int(body["ordinal"]), spec))
        self._cache, self._specs = sorted(rules, key=lambda rule: _order(rule[0])), specs
        self.keep_prompt_searches_of(specs.values())

    async def _change(self, script: AsyncScript, keys: list[str], args: list[Any]) -> list[Any]:
        """Run a change's script (which writes the change and publishes it, if Redis runs it in time), then wait until
        every worker has reloaded; the script's answer after the count of workers told. Subscribed first, so this
        worker hears its own change too.

        Decision: once the script has run, the change is made and told, so the call answers for it even when Redis
        stops answering before every worker has acknowledged: the wait is bounded (ACK_TIMEOUT_SECONDS) and a worker
        that missed the message reloads when it subscribes again."""
        await self._listening()
        change = uuid.uuid4().hex
        answer: list[Any] = await run_on_time(
            partial(call_redis, self._redis), self._redis, location(self._redis), script, keys, [self._channel, change, *args]
        )
        receivers, *made = answer
        try:
            async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                await self._acknowledged(change, int(receivers))
        except (TimeoutError, StateUnavailable):
            log.warning("not every worker confirmed the fault rule change within %.1f s", ACK_TIMEOUT_SECONDS)
        return made

    async def _acknowledged(self, change: str, receivers: int) -> None:
        ack = self._ack_prefix + change
        while await call_redis(self._redis, partial(self._redis.scard, ack)) < receivers:
            await asyncio.sleep(ACK_POLL_SECONDS)

    async def _store(self, specs: Sequence[RuleSpec]) -> list[tuple[str, int]]:
        """Store the rules and tell every worker, in one step; each rule's id and ordinal."""
        keys = [self._rules_key, self._counts_key, self._id_key, self._ordinals_key]
        args = [value for spec in specs for value in (spec.namespace, spec.times or 0, _spec_json(spec))]
        answer = await self._change(self._add, keys, args)
        return [(as_text(answer[i]), int(answer[i + 1])) for i in range(0, len(answer), 2)]

    async def add(self, spec: RuleSpec) -> Rule:
        """The rule as stored, not read back: once stored, it is the answer (see `_change`)."""
        [(rule_id, ordinal)] = await self._store([spec])
        return Rule(rule_id, ordinal, spec, spec.times, 0, 0)

    async def add_all(self, specs: Sequence[RuleSpec]) -> None:
        """Every rule in one change: told per rule, every worker reread every rule so far (and `add` read them all
        back), so a scenario of 1,500 rules took 112 s to start and as long to reset."""
        if specs:
            await self._store(specs)

    async def start_numbering(self) -> None:
        await call_redis(self._redis, lambda: self._redis.delete(self._id_key))

    def _start_over_input(self, how: str, namespace: str | None, specs: Sequence[RuleSpec]) -> tuple[list[str], list[Any]]:
        """_START_OVER's keys, and its arguments after the deadline, channel and change."""
        keys = [self._rules_key, self._counts_key, self._id_key, self._ordinals_key, self._started_key]
        return keys, [how, namespace or ""] + [value for spec in specs for value in (spec.namespace, spec.times or 0, _spec_json(spec))]

    async def _starting_step(self, how: str, namespace: str | None, specs: Sequence[RuleSpec]) -> tuple[int, PutBack | None]:
        """_START_OVER's answer: the count of rules deleted, and what the rules went in after (None: Redis kept the run's
        data, and nothing was done)."""
        deleted, lost, full, count, *rest = await self._change(self._start_over, *self._start_over_input(how, namespace, specs))
        before, made = rest[: int(count)], rest[int(count) :]
        if how == "again" and not int(lost):
            return int(deleted), None
        added = [as_text(made[i]) for i in range(0, len(made), 2)]
        return int(deleted), PutBack(added, sorted((as_text(rule_id) for rule_id in before), key=_order), bool(int(full)))

    async def add_starting(self, specs: Sequence[RuleSpec]) -> list[str]:
        """The run's start: the rules emptied and its starting rules (its scenario's, maybe none) put in, with the mark
        that the run's start did it; their ids."""
        _, put = await self._starting_step("start", None, specs)
        return put.added if put is not None else []

    async def reset(self, namespace: str | None, starting: Sequence[RuleSpec]) -> int:
        """One step, so a restart's `put_back_starting` cannot run between the clear and the put back (and add the
        rules a second time); the mark says a reset put them back, where Redis lost the run's data since."""
        deleted, _ = await self._starting_step("reset", namespace, [spec for spec in starting if namespace in (None, spec.namespace)])
        return deleted

    async def put_back_starting(self, specs: Sequence[RuleSpec]) -> PutBack | None:
        """After Redis restarted (the claim's check): the run's starting rules put back if Redis lost the run's data
        (its mark's `run`), those of the namespaces no reset has put back since; None when Redis kept the data (nothing
        added). Where a reconnecting worker put them back first (`_put_back_lost`), what it did, once: the claim's
        warning says it, and says it once.

        Decision: one atomic step with the mark, as every step that puts the starting rules in (`add_starting`,
        `reset`), so they go in once whoever asks, however often, and whatever reset came first: a check that the
        rules were gone, then an add, let two askers both add them, and a full reset between the restart and this
        step put them in a second time (a times=3 rule then fired 6 times)."""
        _, put = await self._starting_step("again", None, specs)
        return put

    async def rules(self, namespace: str | None = None) -> list[Rule]:
        """Listening first, as `select` (and within the same one timeout): after a Redis restart without the run's data,
        the starting rules this worker puts back are listed, not an empty set the next request's rules differ from."""
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                await self._listening()
        except TimeoutError as exc:
            raise no_answer(location(self._redis), exc) from None

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
        [deleted] = await self._change(self._delete, [self._rules_key, self._counts_key], [rule_id, namespace or ""])
        return bool(deleted)

    async def clear(self, namespace: str | None) -> int:
        [deleted] = await self._change(self._clear, [self._rules_key, self._counts_key, self._ordinals_key], [namespace or ""])
        return int(deleted)

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
