"""Which `State` a simulator uses, from its `--state` setting."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from simulator.state.base import State
from simulator.state.memory import MemoryState

MEMORY = "memory"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def is_shared(state_url: str) -> bool:
    """Whether several processes can share this state (everything but the in-process memory)."""
    return state_url != MEMORY


def check_state_url(state_url: str) -> None:
    """Raise ValueError with the accepted forms unless `state_url` is one."""
    if state_url == MEMORY:
        return
    parts = urlsplit(state_url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"{state_url!r} is not a state: use 'memory' or a Redis URL such as redis://127.0.0.1:6379/0")
    path = parts.path.strip("/")
    if parts.scheme != "unix" and path and not path.isdigit():
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
