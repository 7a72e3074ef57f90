"""The implementation under test: where it is, which keys to use, and whether it has the simulator's control API.

Decisions:
- `--key` is any valid key. Its tier is known when it is the document's example key, a `pk_test_<tier>_...` key
  or given by `--key-tier`; otherwise tier-specific checks on it are skipped (limits are still read from headers).
- `--free-key` is a free-tier key for rate-limit tests (the free tier's 5 images a minute are cheap to exhaust).
  On the simulator it defaults to `pk_test_free_contract`.
- `--generous-key` is used where many images are generated (schemathesis, property tests, per-model tables).
  On the simulator it defaults to `pk_test_enterprise_contract`; elsewhere it falls back to `--key`, and the
  client waits out a 429 (tests that are not about rate limits must not fail because of them).
- The control API is "present" when GET /_sim/health answers {"status": "ok"}; clock-exact tests also need the
  simulator's manual clock (GET /_sim/config), because a real clock moves between two requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from spec import tiers

SIM_FREE_KEY = f"{tiers.TEST_KEY_PREFIX}free_contract"
SIM_GENEROUS_KEY = f"{tiers.TEST_KEY_PREFIX}enterprise_contract"
LEVELS = ("smoke", "full")


@dataclass(frozen=True)
class Control:
    """The simulator's /_sim/ control API: not part of the Perf API, used only to move time and reset state."""

    base_url: str
    manual_clock: bool
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10), compare=False, repr=False)

    def reset(self) -> float:
        return float(self._post("/_sim/reset", None)["now"])

    def now(self) -> float:
        response = self.http.get(self.base_url + "/_sim/clock")
        response.raise_for_status()
        return float(response.json()["now"])

    def advance(self, seconds: float) -> float:
        return float(self._post("/_sim/clock/advance", {"seconds": seconds})["now"])

    def _post(self, path: str, body: object) -> dict[str, Any]:
        response = self.http.post(self.base_url + path, json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


def detect_control(base_url: str) -> Control | None:
    try:
        health = httpx.get(base_url + "/_sim/health", timeout=5)
        if health.status_code != 200 or health.json().get("status") != "ok":
            return None
        config = httpx.get(base_url + "/_sim/config", timeout=5)
        manual = config.status_code == 200 and config.json().get("clock") == "manual"
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return Control(base_url, manual)


def tier_of_key(key: str) -> str | None:
    if key == tiers.DOCUMENT_EXAMPLE_KEY:
        return tiers.DOCUMENT_EXAMPLE_TIER
    return tiers.tier_for_test_key(key)


@dataclass(frozen=True)
class Target:
    base_url: str
    key: str
    key_tier: str | None
    free_key: str | None
    generous_key: str
    level: str
    control: Control | None

    @classmethod
    def resolve(
        cls,
        base_url: str,
        key: str,
        key_tier: str | None = None,
        free_key: str | None = None,
        generous_key: str | None = None,
        level: str = "full",
    ) -> Target:
        base_url = base_url.rstrip("/")
        control = detect_control(base_url)
        on_sim = control is not None
        return cls(
            base_url=base_url,
            key=key,
            key_tier=key_tier or tier_of_key(key),
            free_key=free_key or (SIM_FREE_KEY if on_sim else None),
            generous_key=generous_key or (SIM_GENEROUS_KEY if on_sim else key),
            level=level,
            control=control,
        )

    def __repr__(self) -> str:
        """Short, and without keys: Hypothesis prints its arguments (this included) in failure reports."""
        return f"Target({self.base_url!r}, level={self.level!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def describe(self) -> str:
        control = "absent (clock tests skipped)"
        if self.control:
            control = "present, manual clock" if self.control.manual_clock else "present, real clock (clock-exact tests skipped)"
        return (
            f"perf-contract: target {self.base_url}  level {self.level}  key tier {self.key_tier or 'unknown'}  "
            f"free key {'set' if self.free_key else 'absent (free-tier tests skipped)'}  control API {control}"
        )
