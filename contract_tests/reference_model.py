"""A reference model of one key's rate windows, written from spec/tiers.py alone (not from any server's code).

Semantics it encodes, in the spec's words:
- limits count images (the request's n), not requests;
- the minute window is sliding: a request is admitted when the images admitted in the 60 seconds before it,
  plus its n, stay within the per-minute limit (an admission at t counts while now < t + 60);
- the day window is the UTC calendar day of the clock, reset at 00:00 UTC;
- admission is against both windows at once or not at all, and a rejected request consumes nothing;
- retry_after is the whole number of seconds, at least 1, after which the same request will be admitted:
  here, the least such whole number, found by trying every moment at which a window can free up;
- n above the per-minute limit can never be admitted and is a 400 on n, not a 429.
Header values: remaining = limit - used; a reset value is the whole seconds until that window is fully
replenished (0 when it counts nothing): the minute window frees 60 s after its newest admission, the day
window at the next UTC midnight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from spec import tiers

ADMITTED = "admitted"
RATE_LIMITED = "rate_limited"
NEVER = "never"


@dataclass(frozen=True)
class Outcome:
    verdict: str
    retry_after: int | None = None


@dataclass
class KeyWindows:
    images_per_minute: int
    images_per_day: int
    admissions: list[tuple[float, int]] = field(default_factory=list)
    """Every (time, images) admitted, oldest first; kept whole so the model needs no eviction logic."""

    @classmethod
    def for_tier(cls, tier: tiers.Tier) -> KeyWindows:
        return cls(tier.images_per_minute, tier.images_per_day)

    def minute_used(self, now: float) -> int:
        return sum(n for t, n in self.admissions if now - tiers.MINUTE_SECONDS < t <= now)

    def day_used(self, now: float) -> int:
        day = math.floor(now / tiers.DAY_SECONDS)
        return sum(n for t, n in self.admissions if math.floor(t / tiers.DAY_SECONDS) == day and t <= now)

    def fits(self, n: int, now: float) -> bool:
        return self.minute_used(now) + n <= self.images_per_minute and self.day_used(now) + n <= self.images_per_day

    def retry_after(self, n: int, now: float) -> int:
        """The least whole s >= 1 with the request fitting at now + s, trying each moment a window frees."""
        candidates = {1, tiers.seconds_to_utc_midnight(now)}
        candidates |= {math.ceil(t + tiers.MINUTE_SECONDS - now) for t, _ in self.admissions}
        for seconds in sorted(c for c in candidates if c >= 1):
            if self.fits(n, now + seconds):
                return seconds
        raise AssertionError("no moment frees the windows; n must exceed a limit")

    def request(self, n: int, now: float) -> Outcome:
        """Decide a request of n images at `now` and, when admitted, record it."""
        if n > self.images_per_minute:
            return Outcome(NEVER)
        if self.fits(n, now):
            self.admissions.append((now, n))
            return Outcome(ADMITTED)
        return Outcome(RATE_LIMITED, self.retry_after(n, now))

    def headers(self, now: float) -> dict[str, int]:
        """The six rate-limit headers a response at `now` must carry."""
        in_minute = [t for t, _ in self.admissions if now - tiers.MINUTE_SECONDS < t <= now]
        minute_used, day_used = self.minute_used(now), self.day_used(now)
        return {
            tiers.HEADER_LIMIT_MINUTE: self.images_per_minute,
            tiers.HEADER_REMAINING_MINUTE: max(0, self.images_per_minute - minute_used),
            tiers.HEADER_RESET_MINUTE: max(0, math.ceil(max(in_minute) + tiers.MINUTE_SECONDS - now)) if in_minute else 0,
            tiers.HEADER_LIMIT_DAY: self.images_per_day,
            tiers.HEADER_REMAINING_DAY: max(0, self.images_per_day - day_used),
            tiers.HEADER_RESET_DAY: tiers.seconds_to_utc_midnight(now) if day_used else 0,
        }
