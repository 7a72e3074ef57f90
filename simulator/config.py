"""Settings of one simulator instance, shared by the CLI, the app factory and the tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulator.state.base import CLOCK_REAL, DEFAULT_MANUAL_START
from simulator.state.open import MEMORY, redacted

DEFAULT_PORT = 8080
DEFAULT_SEED = 0


@dataclass(frozen=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed: int = DEFAULT_SEED
    latency_scale: float = 0.0
    """0 answers at once; 1 waits the modelled latency in real time (without blocking other requests)."""
    keys_file: str | None = None
    public_url: str | None = None
    clock: str = CLOCK_REAL
    """"real" follows wall time (windows reset as they would in production); "manual" starts at `start_time`
    and moves only through the control API, which makes whole runs byte-for-byte reproducible."""
    start_time: float = DEFAULT_MANUAL_START
    state: str = MEMORY
    """"memory" (one process) or a Redis URL that several workers share."""
    workers: int = 1

    def public_settings(self) -> dict[str, object]:
        return {**asdict(self), "state": redacted(self.state)}
