"""Which key each wait for a 429 was on, so the run's advice about waits follows the key that was refused.

The client tells `on_wait` how long it is about to sleep, not for which key (contract_tests/client.py). The 429 it
waits out is the latest its own thread received: each thread's latest refusal is kept here, from the client's
observers, and read when the wait is said.
"""

from __future__ import annotations

import threading

from contract_tests.exchange import Exchange
from contract_tests.key_names import bearer_key
from spec import errors


class RefusedKeys:
    """The key of each thread's latest 429, and the seconds waited on each key's option."""

    def __init__(self) -> None:
        self._latest = threading.local()
        self._lock = threading.Lock()
        self.waited_on: dict[str, float] = {}
        """Seconds slept for 429s, by the option naming the refused key (`key_names.key_option`)."""

    def observe(self, exchange: Exchange) -> None:
        if exchange.status == errors.STATUS[errors.RATE_LIMIT_EXCEEDED]:
            self._latest.key = bearer_key(exchange.request_headers)

    def latest(self) -> str | None:
        """The key of this thread's latest 429 (the one its client is about to wait out)."""
        key: str | None = getattr(self._latest, "key", None)
        return key

    def waited(self, option: str, seconds: float) -> None:
        with self._lock:
            self.waited_on[option] = self.waited_on.get(option, 0.0) + seconds

    def clear(self) -> None:
        """A new session starts its own count (a second pytest.main in one process)."""
        with self._lock:
            self.waited_on = {}


REFUSED = RefusedKeys()
