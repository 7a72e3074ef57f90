"""What stderr says about journal entries a shared journal could not write (Redis down or stuck).

Decision: one line when the first entry is lost, then one every REPORT_EVERY_SECONDS with how many more were lost
while they still are, and one with the total once an entry is written again. A line per entry, as before, put
hundreds of identical lines a second into the log the request log writes to, under load, for as long as Redis
stayed away.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("perf-sim")

REPORT_EVERY_SECONDS = 10.0


class UnwrittenEntries:
    """Counts the entries a journal lost in an outage, and says so on stderr (see the module's decision)."""

    def __init__(self) -> None:
        self._lost = 0
        """Entries lost since the first of this outage."""
        self._since = 0.0
        self._told_lost = 0
        self._told_at = 0.0

    def lost(self, reason: Exception) -> None:
        """An entry was not written, for `reason`."""
        now = time.monotonic()
        self._lost += 1
        if self._lost == 1:
            self._since, self._told_at, self._told_lost = now, now, 1
            log.warning("request journal not written: %s (until it is again, stderr counts the entries lost)", reason)
        elif now - self._told_at >= REPORT_EVERY_SECONDS:
            more, seconds = self._lost - self._told_lost, now - self._told_at
            log.warning("request journal still not written: %d more entries lost in the last %.0f s: %s", more, seconds, reason)
            self._told_at, self._told_lost = now, self._lost

    def written(self) -> None:
        """An entry was written: the end of an outage, if one was under way (one test of an int per entry otherwise)."""
        if self._lost:
            log.warning("request journal written again: %d entries lost in %.1f s", self._lost, time.monotonic() - self._since)
            self._lost = 0
