"""In-process state for a single worker.

Every method finishes without awaiting anything, so on one event loop each call is atomic: that is what makes
admission exact under any number of concurrent requests without a lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from simulator.context import namespace
from simulator.state.base import (
    CLOCK_MANUAL,
    LATEST_CLOCK_TIME,
    MAX_BLOB_BYTES,
    MAX_STORED_IMAGES,
    Admission,
    Charge,
    ClockLimit,
    ImageBatch,
    ImageRecord,
    Limits,
    RateState,
    State,
    Ticket,
    day_index,
    decide,
    fits,
    namespace_prefix,
    rate_state,
    window_totals,
)
from spec import tiers

_FIRST_SWEEP = 10_000


class _Bucket:
    def __init__(self) -> None:
        self.minute: deque[tuple[float, int]] = deque()
        self.minute_used = 0
        """The images in `minute`, kept as a running total: a busy key's window holds thousands of entries."""
        self.day = -1
        self.day_used = 0

    def roll(self, now: float) -> None:
        while self.minute and self.minute[0][0] <= now - tiers.MINUTE_SECONDS:
            self.minute_used -= self.minute.popleft()[1]
        today = day_index(now)
        if today != self.day:
            self.day, self.day_used = today, 0


class MemoryState(State):
    def __init__(
        self, clock_mode: str, start_time: float | None = None, max_images: int = MAX_STORED_IMAGES, max_blob_bytes: int = MAX_BLOB_BYTES
    ) -> None:
        self._clock_mode = clock_mode
        self._start = start_time
        self._max_images = max_images
        self._max_blob_bytes = max_blob_bytes
        self.reset_now()

    def reset_now(self) -> None:
        self._offsets: dict[str, float] = {}
        self._origin = self._start if self._clock_mode == CLOCK_MANUAL else None
        self._sequences: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._counted_in = _Bucket()
        """The bucket the latest admission counted in, whose newest entry `admit_and_record` keeps for `give_back`
        (found again by its name, it cost a url request about 0.7% of its instructions)."""
        self._sweep_at = _FIRST_SWEEP
        self._images: OrderedDict[str, ImageRecord] = OrderedDict()
        self._blobs: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
        """key -> (expires_at, the namespace whose clock that is on, value)"""
        self._blob_bytes = 0

    def _now(self) -> float:
        return self._time_in(namespace())

    def _time_in(self, name: str) -> float:
        base = self._origin if self._origin is not None else time.time()
        return base + self._offsets.get(name, 0.0)

    async def now(self) -> float:
        return self._now()

    async def advance_clock(self, seconds: float) -> float:
        name = namespace()
        if self._time_in(name) + seconds > LATEST_CLOCK_TIME:
            raise ClockLimit(seconds)
        self._offsets[name] = self._offsets.get(name, 0.0) + seconds
        return self._now()

    async def next_sequence(self) -> int:
        return self._next_sequence()

    def _next_sequence(self) -> int:
        name = namespace()
        sequence = self._sequences[name] = self._sequences.get(name, 0) + 1
        return sequence

    def _bucket(self, name: str, now: float) -> _Bucket:
        name = namespace_prefix(namespace()) + name
        bucket = self._buckets.get(name)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._sweep(now)
            bucket = self._buckets[name] = _Bucket()
        bucket.roll(now)
        return bucket

    def _sweep(self, now: float) -> None:
        """Forget keys that count nothing any more, so minting tenants cannot grow the process for ever.

        Runs when the table has doubled since the last sweep, which keeps its cost amortised O(1) per new key.
        """
        for name, bucket in list(self._buckets.items()):
            bucket.roll(now)
            if not bucket.minute and not bucket.day_used:
                del self._buckets[name]
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._buckets))

    async def admit_and_record(self, bucket: str, n: int, limits: Limits, batch: ImageBatch | None) -> Ticket:
        """Composed of the single steps: none of them suspends, so nothing interleaves on one event loop."""
        now = self._now()
        admission = await self.admit(bucket, n, limits, now)
        if not admission.admitted:
            return Ticket(admission, now, None)
        # The entry `admit` has just appended (nothing ran in between), kept by identity for `give_back`.
        entry = self._counted_in.minute[-1]
        sequence = self._next_sequence()
        if batch is None:
            return Ticket(admission, now, sequence, entry=entry)
        records = batch.records(sequence, n, now)
        self._drop_expired()
        for image_id, record in records:
            self._put_image(image_id, record)
        return Ticket(admission, now, sequence, tuple(image_id for image_id, _ in records), entry)

    async def give_back(self, charge: Charge) -> None:
        """The entry is looked for by identity: a reset bucket, or one made anew after a reset, never holds it."""
        b = self._buckets.get(namespace_prefix(charge.namespace) + charge.bucket)
        if b is None:
            return
        for position, entry in enumerate(b.minute):
            if entry is charge.entry:
                del b.minute[position]
                b.minute_used -= charge.images
                if b.day == charge.day:
                    b.day_used -= charge.images
                return

    async def admit(self, bucket: str, n: int, limits: Limits, now: float) -> Admission:
        """Admit n images against both windows of `bucket` at `now`, or admit nothing."""
        b = self._bucket(bucket, now)
        if fits(b.minute_used, b.day_used, n, limits):
            b.minute.append((now, n))
            self._counted_in = b
            b.minute_used += n
            b.day_used += n
            return Admission(True, window_totals(b.minute_used, now, b.day_used, limits, now))
        entries = list(b.minute)
        refusal = decide(entries, b.day_used, n, limits, now)
        assert refusal is not None, "fits() refused, and decide() applies its rule to the same entries"
        return Admission(False, rate_state(entries, b.day_used, limits, now), refusal.retry_after, refusal.window)

    async def usage(self, bucket: str, limits: Limits, now: float) -> RateState:
        b = self._buckets.get(namespace_prefix(namespace()) + bucket)
        if b is None:
            return window_totals(0, None, 0, limits, now)
        b.roll(now)
        return window_totals(b.minute_used, b.minute[-1][0] if b.minute else None, b.day_used, limits, now)

    def _put_image(self, image_id: str, record: ImageRecord) -> None:
        self._images[image_id] = record
        while len(self._images) > self._max_images:
            self._images.popitem(last=False)

    async def get_image(self, image_id: str) -> ImageRecord | None:
        self._drop_expired()
        record = self._images.get(image_id)
        return record if record is not None and record.expires_at > self._time_in(record.namespace) else None

    def _drop_expired(self) -> None:
        """Drop the oldest records while they have expired, each by its own namespace's clock (a record behind one
        that has not is dropped later, or read as expired)."""
        while self._images:
            oldest = next(iter(self._images.values()))
            if oldest.expires_at > self._time_in(oldest.namespace):
                return
            self._images.popitem(last=False)

    async def put_blob(self, key: str, value: bytes, expires_at: float) -> None:
        self._drop_blob(key)
        self._blobs[key] = (expires_at, namespace(), value)
        self._blob_bytes += len(value)
        while self._blob_bytes > self._max_blob_bytes and self._blobs:
            self._drop_blob(next(iter(self._blobs)))

    async def get_blob(self, key: str) -> bytes | None:
        entry = self._blobs.get(key)
        if entry is None:
            return None
        expires_at, name, value = entry
        if expires_at <= self._time_in(name):
            self._drop_blob(key)
            return None
        return value

    def _drop_blob(self, key: str) -> None:
        entry = self._blobs.pop(key, None)
        if entry is not None:
            self._blob_bytes -= len(entry[2])

    async def buckets(self) -> list[str]:
        prefix = namespace_prefix(namespace())
        return [
            name.removeprefix(prefix)
            for name, bucket in self._buckets.items()
            if name.startswith(prefix) and (bucket.minute or bucket.day_used)
        ]

    async def reset(self, namespace: str | None = None) -> None:
        if namespace is None:
            self.reset_now()
            return
        self._offsets.pop(namespace, None)
        self._sequences.pop(namespace, None)
        prefix = namespace_prefix(namespace)
        for name in [name for name in self._buckets if name.startswith(prefix)]:
            del self._buckets[name]
        for image_id in [image_id for image_id, record in self._images.items() if record.namespace == namespace]:
            del self._images[image_id]
        for key in [key for key, (_, name, _) in self._blobs.items() if name == namespace]:
            self._drop_blob(key)

    @asynccontextmanager
    async def resetting(self, namespace: str | None) -> AsyncIterator[None]:
        """Nothing to hold back: `reset` awaits nothing, so no admission runs in the middle of it."""
        yield

    async def reset_holds(self, namespace: str | None) -> bool:
        """Never: no admission runs in the middle of a reset (`resetting`)."""
        return False

    async def warm_up(self) -> None:
        """Nothing to open in process."""

    async def close(self) -> None:
        """Nothing to release in process."""
