"""The state interface: rate windows, stored images, the simulator clock and the id sequence.

Nothing outside an implementation of `State` touches a dict or a Redis key. The in-memory implementation serves
one process; a shared implementation (Redis) serves several workers with the same semantics.

Namespaces: rate windows, the clock offset and the id sequence belong to the current request's namespace
(`simulator.context.namespace()`), under a key prefix (`namespace_prefix`), so each namespace behaves as a
simulator of its own and `reset` can forget one. Images and blobs are kept outside any namespace: their ids
never collide across namespaces (the engine mixes the namespace into them), and a URL must resolve from a
browser that sends no namespace header. Each keeps the namespace it was made in, and expires by that namespace's
clock, whichever namespace asks for it (a plain image URL is asked for in the default one), and goes when that
namespace is reset.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from spec import tiers
from spec.models import IMAGE_URL_TTL_SECONDS

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
# Decision: the clock shows times from the Unix epoch to 9999-01-01T00:00:00Z: it starts in that range (simulator.config
# checks the start), and `State.advance_clock` never moves it past, in the same atomic step as the move, so concurrent
# advances (on any worker) cannot together carry it over. Later, ISO dates and Ideogram's `created` cannot be written;
# earlier, `created` would be negative (the OpenAPI document says at least 0) and the request log's timestamps
# malformed. A real clock advanced close to the bound still runs on past it with wall time (nothing stops it): its
# `iso` then shows the last moment a date can name (simulator.control.since.shown_moment), answers carry its Unix
# seconds, every advance is refused saying so, and a reset of the namespace brings it back.
EARLIEST_CLOCK_TIME = 0.0
LATEST_CLOCK_TIME = datetime(9999, 1, 1, tzinfo=UTC).timestamp()
IMAGE_ID_PREFIX = "img_"
IMAGE_ID_HEX_DIGITS = 24


@dataclass(frozen=True)
class Limits:
    images_per_minute: int
    images_per_day: int


# The values made for every request are slotted dataclasses, not frozen ones: building a frozen dataclass costs
# about three times as much, and a request builds a dozen. Nothing mutates them.
@dataclass(slots=True)
class WindowState:
    limit: int
    used: int
    reset_seconds: int
    """Whole seconds until the window is fully replenished (0 when nothing is counted in it)."""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(slots=True)
class RateState:
    minute: WindowState
    day: WindowState


RateWindow = Literal["minute", "day"]


@dataclass(slots=True)
class Admission:
    admitted: bool
    state: RateState
    retry_after: int | None = None
    window: RateWindow | None = None
    """The window whose wait is `retry_after` (see `decide`); None when admitted."""


@dataclass(slots=True)
class ImageRecord:
    model: str
    prompt: str
    size: str
    namespace: str
    """Whose clock `expires_at` is on."""
    index: int
    expires_at: float


@dataclass(slots=True)
class ImageBatch:
    """The images an admitted request records, so any worker can serve their URLs for their lifetime.

    Image i gets the id `image_id(id_salt, sequence, i)`, renders at `render_index(i)` and expires
    IMAGE_URL_TTL_SECONDS after admission; the state derives all three, so it can record them in the same step
    that admits the request and allocates its sequence number (the Redis script repeats the index rule in Lua).
    """

    model: str
    prompt: str
    size: str
    namespace: str
    first_index: int
    id_salt: str
    index_period: int = 0
    """0, or where render indices wrap (`GenerationRequest.index_period`)."""

    def render_index(self, i: int) -> int:
        """Decision: image i renders at `first_index + i`, modulo `index_period` when one is set, so a face whose seed
        is the render index (Ideogram: seed k + i for image i) reports only seeds it accepts back; past its top seed
        the count starts again at 0, and sending a reported seed back still gives that image."""
        index = self.first_index + i
        return index % self.index_period if self.index_period else index

    def records(self, sequence: int, n: int, now: float) -> list[tuple[str, ImageRecord]]:
        expires_at = now + IMAGE_URL_TTL_SECONDS
        return [
            (
                image_id(self.id_salt, sequence, i),
                ImageRecord(self.model, self.prompt, self.size, self.namespace, self.render_index(i), expires_at),
            )
            for i in range(n)
        ]


@dataclass(slots=True)
class Charge:
    """What one admission counted, so that `State.give_back` takes back exactly that and nothing else: its images in
    the day window of `day` and its own entry in the minute window of `bucket` (in namespace `namespace`)."""

    namespace: str
    bucket: str
    images: int
    day: int
    """The `day_index` the images were counted in."""
    entry: object
    """The admission's own entry in the minute window: in memory the (time, images) pair itself, found by identity;
    in Redis the window's member, unique to the admission."""


@dataclass(slots=True)
class Ticket:
    """The outcome of `State.admit_and_record`: the admission, the clock it was decided at and, when admitted,
    the request's sequence number (its ids derive from it), the ids its images were recorded under and its own entry
    in the minute window (`Charge.entry`, made into a `Charge` by `charge_of` only when one is given back: a url
    request made every Charge for nothing, about 2% of its instructions)."""

    admission: Admission
    now: float
    sequence: int | None
    image_ids: tuple[str, ...] = ()
    entry: object = field(default=None, compare=False)
    """Not compared: a handle of the state that made it (memory's and Redis's outcomes compare equal without it)."""


def charge_of(ticket: Ticket, namespace: str, bucket: str, n: int) -> Charge | None:
    """What the admission `ticket` tells of (n images of `bucket` in `namespace`) counted, for `State.give_back`;
    None for a refusal."""
    return None if ticket.entry is None else Charge(namespace, bucket, n, day_index(ticket.now), ticket.entry)


def image_id(salt: str, sequence: int, index: int) -> str:
    """SHA-1 rather than the blake2b of `simulator.engine.digest`: Redis's Lua can compute SHA-1 too
    (`redis.sha1hex`), so a worker records an admitted request's images in the round trip that allocates its
    sequence number, instead of a second one once the number is known."""
    digest = hashlib.sha1(f"{salt}{sequence}\x1f{index}".encode("utf-8", "surrogatepass")).hexdigest()
    return IMAGE_ID_PREFIX + digest[:IMAGE_ID_HEX_DIGITS]


def fits(used_minute: int, day_used: int, n: int, limits: Limits) -> bool:
    """The admission rule: n more images stay within the minute window and the day window.

    Implementations keep running totals and call this on every request; only a rejected request needs the
    window's entries (to compute retry_after through `decide()`), and those are few: at most the limit.
    """
    return used_minute + n <= limits.images_per_minute and day_used + n <= limits.images_per_day


class Refusal(NamedTuple):
    """Why n images do not fit now: the seconds until they will, and the window that wait is for."""

    retry_after: int
    window: RateWindow


def decide(minute_entries: list[tuple[float, int]], day_used: int, n: int, limits: Limits, now: float) -> Refusal | None:
    """None when n images fit both windows now; else when they will, and which window a client is told it exceeded.

    `minute_entries` are (admitted_at, images) of the last 60 seconds, oldest first. Every implementation
    decides through this one function so the semantics in `spec.tiers` hold whatever the storage.

    When both windows refuse, the wait is the longer one (the images need room in both), so the window named is the
    one that wait is for: the day's, unless midnight comes no later than the minute's room. Naming the minute beside the
    day's wait would tell a client that reads the window that a minute will do.
    """
    used_minute = sum(count for _, count in minute_entries)
    waits: list[Refusal] = []
    if used_minute + n > limits.images_per_minute:
        freed = 0
        for admitted_at, count in minute_entries:
            freed += count
            if used_minute - freed + n <= limits.images_per_minute:
                waits.append(Refusal(max(1, math.ceil(admitted_at + tiers.MINUTE_SECONDS - now)), "minute"))
                break
    if day_used + n > limits.images_per_day:
        waits.append(Refusal(tiers.seconds_to_utc_midnight(now), "day"))
    return max(waits, key=lambda refusal: refusal.retry_after) if waits else None


def rate_state(minute_entries: list[tuple[float, int]], day_used: int, limits: Limits, now: float) -> RateState:
    newest = minute_entries[-1][0] if minute_entries else None
    return window_totals(sum(count for _, count in minute_entries), newest, day_used, limits, now)


def window_totals(used_minute: int, newest: float | None, day_used: int, limits: Limits, now: float) -> RateState:
    """The windows from running totals: the images in each, and when the newest minute entry was admitted."""
    minute_reset = math.ceil(newest + tiers.MINUTE_SECONDS - now) if newest is not None else 0
    day_reset = tiers.seconds_to_utc_midnight(now) if day_used else 0
    return RateState(
        WindowState(limits.images_per_minute, used_minute, max(0, minute_reset)),
        WindowState(limits.images_per_day, day_used, day_reset),
    )


def namespace_prefix(name: str) -> str:
    """The prefix of every namespaced state key of namespace `name`."""
    return f"ns:{name}:"


def day_index(now: float) -> int:
    return int(now) // tiers.DAY_SECONDS


class StateUnavailable(Exception):
    """The shared state cannot be reached; the API answers 503 rather than hang or guess."""


def no_answer(location: str, exc: BaseException) -> StateUnavailable:
    """The error for a call to the shared state at `location` that failed with `exc` (a 503 in the API envelope)."""
    return StateUnavailable(f"Redis at {location} did not answer ({exc.__class__.__name__}); retry shortly")


class ClockLimit(Exception):
    """An advance that would have moved the clock past LATEST_CLOCK_TIME; it moved nothing (the control API's 400)."""


class State(ABC):
    @abstractmethod
    async def now(self) -> float:
        """The simulator clock, in Unix seconds."""

    @abstractmethod
    async def advance_clock(self, seconds: float) -> float:
        """Move the simulator clock forward; returns the new time, as this move left it (a read of the clock after it
        may already see another caller's advance). Raises ClockLimit, moving nothing, when the new time would be past
        LATEST_CLOCK_TIME: the check and the move are one atomic step (one Redis script), so of concurrent advances
        exactly those that fit are made."""

    @abstractmethod
    async def next_sequence(self) -> int:
        """The next number of the run's id sequence, starting at 1."""

    @abstractmethod
    async def admit_and_record(self, bucket: str, n: int, limits: Limits, batch: ImageBatch | None) -> Ticket:
        """Everything an admitted request writes, as one atomic step: read the clock, admit n images against both
        windows of `bucket` (or admit nothing), take the next sequence number and record the batch's images.

        One step, so a shared state makes one round trip of it (Redis: one script).
        """

    @abstractmethod
    async def give_back(self, charge: Charge) -> None:
        """Take back what one admission counted (`charge`), as one atomic step: its entry leaves the minute window and,
        when the day window is still the day it counted in, its images leave that too.

        Decision: only while the admission's own entry is still in the minute window; else nothing. The entry is gone
        when the namespace (or everything) was reset since, which also emptied the windows, or when the minute rolled
        past it; a later admission's totals must not lose images that are not there, so no guess is made (the day's
        images then stay counted, as they did before anything was given back). Neither the sequence number nor the
        image ids are given back: ids stay unique."""

    @abstractmethod
    async def warm_up(self) -> None:
        """Open what the first requests will need (connections) before they arrive, so a burst finds them ready."""

    @abstractmethod
    async def usage(self, bucket: str, limits: Limits, now: float) -> RateState:
        """The windows of `bucket` as they stand, without admitting anything."""

    @abstractmethod
    async def get_image(self, image_id: str) -> ImageRecord | None:
        """The record, or None when unknown or expired (by the clock of the namespace it was made in)."""

    @abstractmethod
    async def put_blob(self, key: str, value: bytes, expires_at: float) -> None:
        """Keep opaque bytes under `key` until `expires_at` on the current namespace's clock: the native faces' task
        records and the gateway's copies of upstream images, so every worker sharing the state can answer for them."""

    @abstractmethod
    async def get_blob(self, key: str) -> bytes | None:
        """The bytes, or None when unknown or expired (by the clock of the namespace that put them)."""

    @abstractmethod
    async def buckets(self) -> list[str]:
        """The buckets of the current namespace that hold a window (the keys a dashboard shows usage for)."""

    @abstractmethod
    async def reset(self, namespace: str | None = None) -> None:
        """Forget namespace `namespace`'s windows, sequence, images and blobs and put its clock back to its start;
        with None, forget everything (every namespace, image and blob).

        Decision: a namespace's images and blobs (BFL tasks) go with it. Its sequence starts over, so its next ids
        are those of a fresh start (a rerun in a reset namespace repeats them); a record kept past the reset would
        have its URL taken over by the new record of the same id. So an image or polling URL handed out before the
        reset is unknown after it (404, `Task not found`) until the namespace makes that id again, as after a full
        reset. Reset is a rare control call: it may walk every key of the store, but reads only the namespace's own
        records (Redis keeps an index per namespace for that)."""

    @abstractmethod
    def resetting(self, namespace: str | None) -> AbstractAsyncContextManager[None]:
        """Hold back the admissions of namespace `namespace` (None: of every namespace) from every worker while the
        block runs: the control API resets the state, the journal and the rules inside it, so a request admitted
        during a reset is admitted after all of it, on the clock and windows it left.

        A state whose `reset` is not one atomic step needs this: Redis deletes a namespace's keys page by page, and
        an admission between two pages could rebuild a window from keys not yet deleted (at the old, advanced
        clock), which then outlived the reset. The in-memory state's reset is atomic, so its block holds nothing."""

    @abstractmethod
    async def reset_holds(self, namespace: str | None) -> bool:
        """Whether a reset holds back the admissions of namespace `namespace` now (None: whether a full reset holds back
        every namespace's), which `GET /_sim/ready` reports: such requests wait, then answer 503."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
