"""The control plane's stores, held together: the request journal and the fault rules."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.control.journal import Journal
from simulator.control.rules import RuleStore


@dataclass
class ControlPlane:
    journal: Journal
    rules: RuleStore

    async def reset(self, namespace: str | None) -> None:
        """Forget a namespace's journal entries and rules (None: every namespace's)."""
        await self.journal.delete(namespace)
        await self.rules.clear(namespace)

    async def close(self) -> None:
        await self.journal.close()
        await self.rules.close()
