"""Which control-plane stores a simulator uses: in process, or in Redis beside the shared state."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from simulator.config import SimulatorConfig
from simulator.control.memory_journal import MemoryJournal
from simulator.control.plane import ControlPlane
from simulator.control.redis_journal import RedisJournal
from simulator.control.redis_rules import RedisRuleStore
from simulator.control.rules import MemoryRuleStore
from simulator.state.open import is_shared
from simulator.state.redis import CLIENT_NAME, DEFAULT_PREFIX, connect


class RedisControlPlane(ControlPlane):
    """The stores in Redis, under the state's prefix (so a full reset of the state empties them too)."""

    def __init__(self, url: str, config: SimulatorConfig) -> None:
        self._redis = connect(url)
        # The change channel's connection waits for messages indefinitely, so it has no socket timeout. Nor does it
        # retry: redis-py's retries reconnected a broken one and subscribed again unseen, so a worker kept the rules
        # it held, missed the changes made meanwhile and, after a Redis restart without its data, never put back the
        # run's starting rules (RedisRuleStore._listening); broken, the listener ends and the next request reloads.
        self._subscriber = Redis.from_url(url, client_name=CLIENT_NAME, protocol=2, retry=Retry(NoBackoff(), 0))
        self.shared_rules = RedisRuleStore(self._redis, self._subscriber, DEFAULT_PREFIX, config.seed)
        """`rules`, as the Redis store it is (a run's start and a Redis restart use what only it does)."""
        super().__init__(RedisJournal(self._redis, DEFAULT_PREFIX, config.journal_size), self.shared_rules)

    async def close(self) -> None:
        await super().close()
        await self._redis.aclose()
        await self._subscriber.aclose()


def open_plane(config: SimulatorConfig) -> ControlPlane:
    if is_shared(config.state):
        return RedisControlPlane(config.state, config)
    return ControlPlane(MemoryJournal(config.journal_size), MemoryRuleStore(config.seed))
