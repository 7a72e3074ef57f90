"""Which `State` a simulator uses, from its `--state` setting."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

from simulator.state.base import State
from simulator.state.memory import MemoryState

MEMORY = "memory"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def is_shared(state_url: str) -> bool:
    """Whether several processes can share this state (everything but the in-process memory)."""
    return state_url != MEMORY


def check_state_url(state_url: str) -> None:
    """Raise ValueError with the accepted forms unless `state_url` is one: checked before anything connects, so a
    URL the Redis client would choke on (a port that is no number, an unknown query option) is a one-line refusal."""
    if state_url == MEMORY:
        return
    parts = urlsplit(state_url)
    example = "use 'memory' or a Redis URL such as redis://127.0.0.1:6379/0 or unix:///run/redis.sock?db=0"
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"{state_url!r} is not a state: {example}")
    if parts.fragment:
        raise ValueError(f"{state_url!r}: a state URL has no #fragment; {example}")
    if parts.scheme == "unix":
        # Decision: a socket URL names its database as redis-py reads it, ?db=N, and takes no other option.
        if not parts.path:
            raise ValueError(f"{state_url!r}: give the socket's path, as in unix:///run/redis.sock?db=0")
        query = parse_qs(parts.query, keep_blank_values=True)
        if set(query) - {"db"} or not all(value.isdigit() for value in query.get("db", [])):
            raise ValueError(f"{state_url!r}: a socket URL takes only ?db=N, as in unix:///run/redis.sock?db=0")
        return
    try:
        port = parts.port  # urllib raises for a port that is no number or above 65535
    except ValueError as exc:
        raise ValueError(f"{state_url!r}: {exc}; {example}") from None
    if not parts.hostname or port == 0:
        raise ValueError(f"{state_url!r}: give Redis's host and port; {example}")
    # Decision: no query options: the database is the path, timeouts and pool sizes are the simulator's own.
    if parts.query:
        raise ValueError(f"{state_url!r}: a Redis URL takes no ?options, the database is its path; {example}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"{state_url!r}: the Redis database must be a number, as in redis://127.0.0.1:6379/0")


def redacted(state_url: str) -> str:
    """The URL without a password, fit for logs and /_sim/config."""
    parts = urlsplit(state_url)
    if parts.password is None:
        return state_url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_state(state_url: str, clock_mode: str, start_time: float | None) -> State:
    check_state_url(state_url)
    if state_url == MEMORY:
        return MemoryState(clock_mode, start_time)
    from simulator.state.redis import RedisState

    return RedisState(state_url, clock_mode, start_time)
