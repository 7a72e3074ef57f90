"""Which control-plane stores a simulator uses: in process, or in Redis beside the shared state."""

from __future__ import annotations

from simulator.config import SimulatorConfig
from simulator.control.journal import MemoryJournal
from simulator.control.plane import ControlPlane, MemoryNamespaces
from simulator.control.rules import MemoryRuleStore


def open_plane(config: SimulatorConfig) -> ControlPlane:
    return ControlPlane(MemoryJournal(config.journal_size), MemoryRuleStore(config.seed), MemoryNamespaces())
