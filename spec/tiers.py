"""Rate tiers and the semantics of their windows.

Decisions (the document gives only the numbers):
- Limits count images (the request's n), not requests.
- The minute window is sliding: a request is admitted when the images admitted in the 60 seconds before it,
  plus its n, stay within the per-minute limit. A sliding window never admits a burst of twice the limit
  across a minute boundary, which a fixed window would.
- The day window is the UTC calendar day of the simulator clock; it resets at 00:00 UTC.
- A request is admitted against both windows at once or not at all; a rejected request consumes nothing.
- retry_after is the whole number of seconds (at least 1) after which the same request will be admitted. (The
  document shows one 429, `"retry_after": 60`: whole seconds is read from that example, and HTTP's Retry-After.)
- A request whose n exceeds the per-minute limit can never be admitted; it is a 400 on `n`, not a 429.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_SECONDS = 60
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Tier:
    name: str
    images_per_minute: int
    images_per_day: int


TIERS: dict[str, Tier] = {
    "free": Tier("free", 5, 50),
    "pro": Tier("pro", 30, 1_000),
    # Decision: "Custom" in the document; a key file sets an enterprise key's limits, and an enterprise key
    # without its own figures (e.g. pk_test_enterprise_*) gets these.
    "enterprise": Tier("enterprise", 300, 100_000),
}

PAID_TIERS = tuple(name for name in TIERS if name != "free")
"""The tiers a key is paid for (every one but the document's Free tier): the contract suite judges their limits only
with a key the user gives it (`--tier-key`)."""

# The document's own example key works out of the box, on the Pro tier.
DOCUMENT_EXAMPLE_KEY = "pk_live_abc123"
DOCUMENT_EXAMPLE_TIER = "pro"
# Keys of this form get their tier with no configuration, so a load test can mint many tenants.
TEST_KEY_PREFIX = "pk_test_"

# Rate-limit state headers (the document names none; these follow OpenAI's x-ratelimit-* family, counting images),
# sent on every answer the API gives a request whose key it read and accepted: a 200, 400, 413 or 429 (and a
# gateway's 502 or 503 for its upstream). Not on a 401 (the key was refused), nor on an answer given
# before the key is read: a 404 or 405 (no route reads it), a 408 (the body never came, so the API never ran), what
# the control plane answers in the API's place (an injected fault; the 400 of a bad X-Sim-* header or [sim:] token);
# nor on a 503 when the state that holds the windows is unreachable. Reset values are whole seconds until the window
# is fully replenished (0 when it counts nothing): stated so the contract suite's reference model and servers agree.
HEADER_LIMIT_MINUTE = "x-ratelimit-limit-images"
HEADER_REMAINING_MINUTE = "x-ratelimit-remaining-images"
HEADER_RESET_MINUTE = "x-ratelimit-reset-images"
HEADER_LIMIT_DAY = "x-ratelimit-limit-images-day"
HEADER_REMAINING_DAY = "x-ratelimit-remaining-images-day"
HEADER_RESET_DAY = "x-ratelimit-reset-images-day"
RATE_LIMIT_HEADERS = (
    HEADER_LIMIT_MINUTE,
    HEADER_REMAINING_MINUTE,
    HEADER_RESET_MINUTE,
    HEADER_LIMIT_DAY,
    HEADER_REMAINING_DAY,
    HEADER_RESET_DAY,
)


def tier_for_test_key(key: str) -> str | None:
    """The tier a ready-made key names (pk_test_<tier>_<anything>), or None."""
    if not key.startswith(TEST_KEY_PREFIX):
        return None
    tier, sep, rest = key[len(TEST_KEY_PREFIX) :].partition("_")
    if tier in TIERS and sep and rest:
        return tier
    return None


# Decision: wherever a key is shown (the journal, the request log, the contract suite's reports, which CI logs keep),
# it shows its first characters (at most 12, and never all but the last 6) then "…"; a ready-made test key shows at
# least its `pk_test_<tier>_`, which is no secret (any such key works) and says what a reader most asks.
_KEY_SHOWN = 12
_KEY_HIDDEN_AT_LEAST = 6


def mask_key(key: str) -> str:
    shown = min(_KEY_SHOWN, len(key) - _KEY_HIDDEN_AT_LEAST)
    tier = tier_for_test_key(key)
    if tier is not None:
        shown = max(shown, len(TEST_KEY_PREFIX) + len(tier) + 1)
    return key[: max(0, shown)] + "…"


def tier_named_by(key: str) -> str | None:
    """The tier a key's own name gives: the document's example key's, or a ready-made key's; None for any other key,
    whose tier only a keys file (or a run's --tier-key) says."""
    return DOCUMENT_EXAMPLE_TIER if key == DOCUMENT_EXAMPLE_KEY else tier_for_test_key(key)


def given_tier_note(tier: str, key: str) -> str | None:
    """What a load or contract run notes when it is given `key` as a key of `tier` but the key's name says another
    tier: it is judged by the tier given, as asked, and a person reading a failure should know why."""
    named = tier_named_by(key)
    if named in (None, tier):
        return None
    return f"note: --tier-key {tier}=... gives a key whose name says {named}: it is judged by the {tier} tier, as asked"


def seconds_to_utc_midnight(now: float) -> int:
    """Whole seconds (at least 1) until the day window of `now` resets."""
    return max(1, DAY_SECONDS - int(now) % DAY_SECONDS)
