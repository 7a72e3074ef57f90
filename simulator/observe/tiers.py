"""The tier of a journalled request's key, for `perf_sim_rate_limited_total{tier}`.

The journal keeps no full key: only its masked start and a digest. A key from the keys file or the document's key
is found by its digest; a ready-made test key (`pk_test_<tier>_...`) by its masked start, which always shows its tier
(spec.tiers.mask_key); anything else is `unknown`.
"""

from __future__ import annotations

from simulator.control.journal import JournalEntry, key_digest
from simulator.keys import KeyRegistry
from spec import tiers

UNKNOWN_TIER = "unknown"
_MASK_MARK = "…"


class TierOf:
    def __init__(self, keys: KeyRegistry) -> None:
        """Each known key's tier as the registry gives it, so a keys file that redefines the document's key wins here
        as it does at admission."""
        known = [tiers.DOCUMENT_EXAMPLE_KEY, *(tenant.key for tenant in keys.configured())]
        self.by_digest = {key_digest(key): tenant.tier for key in known if (tenant := keys.lookup(key)) is not None}

    def __call__(self, entry: JournalEntry) -> str:
        if entry.key_digest in self.by_digest:
            return self.by_digest[entry.key_digest]
        shown = (entry.key or "").removesuffix(_MASK_MARK)
        if not shown.startswith(tiers.TEST_KEY_PREFIX):
            return UNKNOWN_TIER
        tier, named, _ = shown[len(tiers.TEST_KEY_PREFIX) :].partition("_")
        return tier if named and tier in tiers.TIERS else UNKNOWN_TIER
