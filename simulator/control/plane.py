"""The control plane's stores, held together: the request journal and the fault rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.control.journal import Journal
from simulator.control.rules import RuleSpec, RuleStore


@dataclass
class ControlPlane:
    journal: Journal
    rules: RuleStore
    starting_rules: list[RuleSpec] = field(default_factory=list)
    """The scenario's fault rules (`--scenario`), which the run started with."""

    async def reset(self, namespace: str | None) -> None:
        """Forget a namespace's journal entries and rules (None: every namespace's), then put back the scenario's rules
        of the namespaces forgotten, in file order (so their probability draws repeat).

        Decision: a reset takes the run back to how it started, as WireMock's reset restores the stubs it loaded from
        disk: the clock goes back to its start, and a scenario's rules, part of that start, come back with it."""
        await self.journal.delete(namespace)
        await self.rules.reset(namespace, self.starting_rules)

    async def close(self) -> None:
        await self.journal.close()
        await self.rules.close()
