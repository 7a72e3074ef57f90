"""What a run spends on its keys, and the warning at its start when the key its generated traffic goes to is slow.

Without `--generous-key` the generated traffic (schemathesis, Hypothesis, the per-model tables) goes to `--key`,
and every rule not about rate limits waits out its 429s. On a pro key's 30 images a minute a full run waited about
a quarter of an hour with nothing said before its end: the run now says at its start what it will spend, what the
key's tier allows a minute and a day (spec/tiers.py) and so about how long it will wait, and how not to.

The images are measured, not derived: the suite's cases, Hypothesis's derandomized examples and schemathesis's fixed
seed spend the same on any correct target. tests/contract/test_contract_suite.py measures them on the simulator and
holds these figures to within a fifth of what it counts.
"""

from __future__ import annotations

from contract_tests.target import Target
from spec import tiers

GENEROUS_KEY_IMAGES = {"smoke": 14, "full": 402}
"""Images a run at each level has admitted on `--generous-key` (measured on the simulator, 2026-12-05)."""
KEY_IMAGES = {"smoke": 3, "full": 15}
"""Images a run at each level has admitted on `--key` itself (measured alike)."""
WORTH_SAYING_SECONDS = 5.0


def images_on_the_generous_key(target: Target) -> int:
    """What the run will spend on the key its generated traffic goes to (`--key`'s own spend too when it is that key)."""
    spent = GENEROUS_KEY_IMAGES[target.level]
    return spent + (KEY_IMAGES[target.level] if target.generous_key == target.key else 0)


def waiting_seconds(images: int, per_minute: int) -> float:
    """About how long a run spending `images` as fast as it can waits on a key admitting `per_minute` a minute: the
    first minute's images are free, every further minute's are waited for."""
    return max(0, images - per_minute) * 60 / per_minute


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def slow_generous_key_warning(target: Target) -> str | None:
    """The warning for a run whose generated traffic goes to `--key` (no `--generous-key`) when its tier (known, or
    unknown) makes the run wait; None when it will not wait long enough to say."""
    if target.generous_key != target.key:
        return None
    images = images_on_the_generous_key(target)
    advice = f"pass --generous-key KEY, a key allowing {images} images a minute, to run without waiting"
    start = f"perf-contract: warning: no --generous-key: the {target.level} level's generated traffic (about {images} images) goes to --key"
    if target.key_tier is None:
        pro = tiers.TIERS["pro"]
        slow = _duration(waiting_seconds(images, pro.images_per_minute))
        return (
            f"{start}, whose tier is unknown (pass --key-tier): a key allowing fewer than {images} images a minute makes "
            f"the run wait out its 429s (a {pro.name} key's {pro.images_per_minute}: about {slow}); {advice}"
        )
    tier = tiers.TIERS[target.key_tier]
    if images > tier.images_per_day:
        return (
            f"{start} ({tier.name}), more than its {tier.images_per_day} images a day: once they are spent, rules fail with 429s; {advice}"
        )
    wait = waiting_seconds(images, tier.images_per_minute)
    if wait < WORTH_SAYING_SECONDS:
        return None
    return (
        f"{start} ({tier.name}, {tier.images_per_minute} images a minute): expect about {_duration(wait)} of waiting out its "
        f"429s, said as it happens; {advice}"
    )
