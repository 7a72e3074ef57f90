"""The control plane's stores, held together: the journal, the fault rules and the namespaces seen."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from simulator.context import DEFAULT_NAMESPACE
from simulator.control.journal import Journal
from simulator.control.rules import RuleStore


class Namespaces(ABC):
    """The namespaces requests have used, for the dashboard's selector."""

    @abstractmethod
    def note(self, name: str) -> None:
        """Called on every API request: must cost nothing for a namespace already noted."""

    @abstractmethod
    async def names(self) -> list[str]:
        """Every namespace seen, "default" first."""

    @abstractmethod
    async def forget(self, name: str | None) -> None:
        """Forget `name` (None: all) after a reset."""


class MemoryNamespaces(Namespaces):
    def __init__(self) -> None:
        self._seen: set[str] = set()

    def note(self, name: str) -> None:
        self._seen.add(name)

    async def names(self) -> list[str]:
        return [DEFAULT_NAMESPACE, *sorted(self._seen - {DEFAULT_NAMESPACE})]

    async def forget(self, name: str | None) -> None:
        if name is None:
            self._seen.clear()
        else:
            self._seen.discard(name)


@dataclass
class ControlPlane:
    journal: Journal
    rules: RuleStore
    namespaces: Namespaces

    async def reset(self, namespace: str | None) -> None:
        """Forget a namespace's journal entries and rules (None: every namespace's)."""
        await self.journal.delete(namespace)
        await self.rules.clear(namespace)
        await self.namespaces.forget(namespace)

    async def close(self) -> None:
        await self.journal.close()
        await self.rules.close()
