"""The state interface: rate windows, stored images, the simulator clock and the id sequence.

Nothing outside an implementation of `State` touches a dict or a Redis key. The in-memory implementation serves
one process; a shared implementation (Redis) serves several workers with the same semantics.

Namespaces: rate windows, the clock offset and the id sequence belong to the current request's namespace
(`simulator.context.namespace()`), under a key prefix (`namespace_prefix`), so each namespace behaves as a
simulator of its own and `reset` can forget one. Images and blobs are kept outside any namespace: their ids
never collide across namespaces (the engine mixes the namespace into them), and a URL must resolve from a
browser that sends no namespace header.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

from spec import tiers

CLOCK_REAL = "real"
CLOCK_MANUAL = "manual"
# Decision: a manual clock starts at 2026-01-01T00:00:00Z unless told otherwise, so a run is reproducible.
DEFAULT_MANUAL_START = 1_767_225_600.0
# Decision: at most this many image records are kept (oldest dropped first) besides the one-hour expiry, so
# a long load run cannot grow the process without bound.
MAX_STORED_IMAGES = 100_000
# Decision: blobs (BFL task records, the gateway's copies of upstream images) are bounded by total size, oldest
# dropped first, besides their own expiry.
MAX_BLOB_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    images_per_minute: int
    images_per_day: int


@dataclass(frozen=True)
class WindowState:
    limit: int
    used: int
    reset_seconds: int
    """Whole seconds until the window is fully replenished (0 when nothing is counted in it)."""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class RateState:
    minute: WindowState
    day: WindowState


@dataclass(frozen=True)
class Admission:
    admitted: bool
    state: RateState
    retry_after: int | None = None


@dataclass(frozen=True)
class ImageRecord:
    model: str
    prompt: str
    size: str
    index: int
    expires_at: float


def fits(used_minute: int, day_used: int, n: int, limits: Limits) -> bool:
    """The admission rule: n more images stay within the minute window and the day window.

    Implementations keep running totals and call this on every request; only a rejected request needs the
    window's entries (to compute retry_after through `decide()`), and those are few: at most the limit.
    """
    return used_minute + n <= limits.images_per_minute and day_used + n <= limits.images_per_day


def decide(minute_entries: list[tuple[float, int]], day_used: int, n: int, limits: Limits, now: float) -> tuple[bool, int | None]:
    """Whether n images fit both windows now, and if not, the seconds until they will.

    `minute_entries` are (admitted_at, images) of the last 60 seconds, oldest first. Every implementation
    decides through this one function so the semantics in `spec.tiers` hold whatever the storage.
    """
    used_minute = sum(count for _, count in minute_entries)
    waits: list[int] = []
    if used_minute + n > limits.images_per_minute:
        freed = 0
        for admitted_at, count in minute_entries:
            freed += count
            if used_minute - freed + n <= limits.images_per_minute:
                waits.append(max(1, math.ceil(admitted_at + tiers.MINUTE_SECONDS - now)))
                break
    if day_used + n > limits.images_per_day:
        waits.append(tiers.seconds_to_utc_midnight(now))
    if not waits:
        return True, None
    return False, max(waits)


def rate_state(minute_entries: list[tuple[float, int]], day_used: int, limits: Limits, now: float) -> RateState:
    newest = minute_entries[-1][0] if minute_entries else None
    return window_totals(sum(count for _, count in minute_entries), newest, day_used, limits, now)


def window_totals(used_minute: int, newest: float | None, day_used: int, limits: Limits, now: float) -> RateState:
    """The windows from running totals: the images in each, and when the newest minute entry was admitted."""
    minute_reset = math.ceil(newest + tiers.MINUTE_SECONDS - now) if newest is not None else 0
    day_reset = tiers.seconds_to_utc_midnight(now) if day_used else 0
    return RateState(
        minute=WindowState(limits.images_per_minute, used_minute, max(0, minute_reset)),
        day=WindowState(limits.images_per_day, day_used, day_reset),
    )


def namespace_prefix(name: str) -> str:
    """The prefix of every namespaced state key of namespace `name`."""
    return f"ns:{name}:"


def day_index(now: float) -> int:
    return int(now) // tiers.DAY_SECONDS


class StateUnavailable(Exception):
    """The shared state cannot be reached; the API answers 503 rather than hang or guess."""


class State(ABC):
    @abstractmethod
    async def now(self) -> float:
        """The simulator clock, in Unix seconds."""

    @abstractmethod
    async def advance_clock(self, seconds: float) -> float:
        """Move the simulator clock forward; returns the new time."""

    @abstractmethod
    async def next_sequence(self) -> int:
        """The next number of the run's id sequence, starting at 1."""

    @abstractmethod
    async def admit(self, bucket: str, n: int, limits: Limits, now: float) -> Admission:
        """Atomically admit n images against both windows of `bucket`, or admit nothing."""

    @abstractmethod
    async def usage(self, bucket: str, limits: Limits, now: float) -> RateState:
        """The windows of `bucket` as they stand, without admitting anything."""

    @abstractmethod
    async def put_image(self, image_id: str, record: ImageRecord) -> None: ...

    @abstractmethod
    async def get_image(self, image_id: str, now: float) -> ImageRecord | None:
        """The record, or None when unknown or expired."""

    @abstractmethod
    async def put_blob(self, key: str, value: bytes, expires_at: float) -> None:
        """Keep opaque bytes under `key` until `expires_at`: the native faces' task records and the gateway's
        copies of upstream images, so every worker sharing the state can answer for them."""

    @abstractmethod
    async def get_blob(self, key: str, now: float) -> bytes | None:
        """The bytes, or None when unknown or expired."""

    @abstractmethod
    async def buckets(self) -> list[str]:
        """The buckets of the current namespace that hold a window (the keys a dashboard shows usage for)."""

    @abstractmethod
    async def reset(self, namespace: str | None = None) -> None:
        """Forget namespace `namespace`'s windows and sequence and put its clock back to its start; with None,
        forget everything (every namespace, image and blob)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
