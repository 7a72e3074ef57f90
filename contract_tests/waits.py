"""Seconds waited for 429s by the key refused, so the run's advice about waits follows the key that was refused.

The client passes each wait's 429 to `on_wait` (contract_tests/client.py), which names its key by option and adds the
wait here. Real-time runs wait on their own threads too, hence the lock. One is kept per session (run_hooks.py), so a
second pytest.main in one process starts its own count.
"""

from __future__ import annotations

import threading


class WaitsByKey:
    """The seconds waited on each key's option."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waited_on: dict[str, float] = {}

    def waited(self, option: str, seconds: float) -> None:
        with self._lock:
            self._waited_on[option] = self._waited_on.get(option, 0.0) + seconds

    def waited_on(self) -> dict[str, float]:
        """Seconds slept for 429s, by the option naming the refused key (`key_names.key_option`): a copy."""
        with self._lock:
            return dict(self._waited_on)
