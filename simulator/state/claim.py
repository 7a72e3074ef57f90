"""A simulator's claim on its Redis database: a connection named `perf-sim`, held for the whole run.

A run starts by emptying its database (simulator.startup), so a second simulator on a database another one uses
would empty that one's state under it; such a start is refused. Every connection a simulator opens is named
`perf-sim` (CLIENT SETNAME), so a start can see another simulator's connections in CLIENT LIST.

Decision: claim, then look. A start opens its named connection first and only then lists the database's other named
connections. Looking first let two starts in the same instant both find nobody, and the second's emptying wiped the
first's state; claiming first, each sees the other and both are refused (a retry of one then starts). The claim is
held until the run stops, which also covers the moments before a run's workers open connections of their own.

Decision: the claim outlives a Redis restart. It is checked every `KEEP_SECONDS` and opened again once Redis
answers: an idle simulator holds no other connection (its workers reconnect at their next request), so a lost claim
let a second simulator start on the database, empty it and share it. Back, the claim finds out whether Redis was
restarted (its `run_id` changed); if so it has the run put right (`after_restart`: a scenario's rules put back where
Redis lost the run's data, simulator.startup, unless a reconnecting worker did it first) and says on stderr what the
run now holds. The claim is one per run, in the process that started it, so a restart is said once, not once per worker.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from simulator.state.base import StateUnavailable
from simulator.state.redis import CLIENT_NAME, NAMED_CONNECTION, SOCKET_TIMEOUT_SECONDS, location_of


class DatabaseInUse(Exception):
    """Another simulator holds connections to the database; the message says whose and what to do."""


KEEP_SECONDS = 1.0
"""How often a held claim checks its connection, and so how soon after Redis is back it holds the database again."""


class DatabaseClaim:
    """The named connection a run holds (`hold` keeps it through a Redis restart); `release` when the run stops."""

    def __init__(self, url: str, after_restart: Callable[[], str] | None = None) -> None:
        self._after_restart = after_restart
        """Called in the claim's thread once Redis is found restarted; says what the run holds now, to end the warning.
        It raises (RedisError, StateUnavailable) when Redis went away again, and is called again at the next check."""
        self._redis = Redis.from_url(
            url, single_connection_client=True, socket_timeout=SOCKET_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0), **NAMED_CONNECTION
        )
        self._released = False
        self._lock = threading.Lock()
        """Held by each check and by `release`: a check after the release would open the connection again."""

    def hold(self) -> None:
        started = self._server_run()
        threading.Thread(target=self._keep, args=(started,), name="perf-sim:claim", daemon=True).start()

    def _keep(self, server_run: str | None) -> None:
        while True:
            time.sleep(KEEP_SECONDS)
            with self._lock:
                if self._released:
                    return
                try:
                    self._redis.ping()  # on a connection Redis dropped: raises, and the next ping connects (and names) again
                    now_run = self._server_run()
                except (RedisError, OSError):
                    continue
            if server_run is not None and now_run is not None and now_run != server_run:
                try:
                    said = self._said_after_restart()
                except (RedisError, OSError, StateUnavailable):
                    continue  # Redis went away again: the next check finds the restart again and tries again
                server_run = now_run
                print(f"perf-sim: warning: Redis at {self.location} restarted {said}", file=sys.stderr, flush=True)

    def _said_after_restart(self) -> str:
        if self._after_restart is not None:
            return self._after_restart()
        return (
            "and, unless it keeps its data, this run's rate windows, clock, fault rules, journal and id sequence "
            "started over, so request ids and image URLs given before are given again"
        )

    def _server_run(self) -> str | None:
        """Redis's `run_id`, new at each start of redis-server: how a restart is told from a stall (a database may be
        empty without one: an idle run's only key expires). None where Redis does not tell it (INFO refused)."""
        try:
            run_id = self._redis.info("server").get("run_id")
        except ResponseError:
            return None
        return str(run_id) if run_id is not None else None

    def others(self) -> list[str]:
        """The addresses of the named connections to this database other than the claim's own; empty where Redis does
        not list its clients (a managed Redis may refuse CLIENT), which leaves that database unguarded."""
        try:
            own = str(self._redis.client_id())
            clients = self._redis.client_list()
        except ResponseError:
            return []
        database = str(self._redis.connection_pool.connection_kwargs.get("db", 0))
        return sorted({c["addr"] for c in clients if c.get("name") == CLIENT_NAME and c.get("db") == database and c.get("id") != own})

    @property
    def location(self) -> str:
        return location_of(self._redis.connection_pool.connection_kwargs)

    def release(self) -> None:
        with self._lock:  # waits out a check in progress (at most the socket's timeout on a stuck Redis)
            self._released = True
            self._redis.close()


def claim_database(url: str, after_restart: Callable[[], str] | None = None) -> DatabaseClaim:
    """The run's claim on `url`'s database; DatabaseInUse (the claim already let go) when another simulator holds it."""
    claim = DatabaseClaim(url, after_restart)
    try:
        others = claim.others()
    except BaseException:
        claim.release()
        raise
    if others:
        claim.release()
        raise DatabaseInUse(
            f"another perf-sim is using Redis at {claim.location} (connections from {', '.join(others[:3])}; its workers "
            "outlive a kill -9 of their parent; or one started at this same moment, and then both are refused: start "
            "again); a run starts by emptying its database, so give each simulator a database of its own "
            "(redis://host:port/1, /2, ...)"
        )
    claim.hold()
    return claim
