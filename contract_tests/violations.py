"""How a broken rule is reported: the rule in words, what was sent, what came back, and a curl line."""

from __future__ import annotations

from typing import NoReturn

from contract_tests.exchange import Exchange


class ContractViolation(AssertionError):
    """A documented rule the implementation under test broke; its text is the whole report."""

    def __init__(self, rule: str, detail: str, exchanges: tuple[Exchange, ...]) -> None:
        self.rule = rule
        self.detail = detail
        self.exchanges = exchanges
        super().__init__(self.report())

    def report(self) -> str:
        parts = [f"RULE BROKEN: {self.rule}", f"what happened: {self.detail}"]
        for exchange in self.exchanges:
            parts.append(exchange.describe())
        return "\n".join(parts)


def violation(rule: str, detail: str, *exchanges: Exchange) -> NoReturn:
    raise ContractViolation(rule, detail, exchanges)


def expect(condition: object, rule: str, detail: str, *exchanges: Exchange) -> None:
    """Hold `rule`: when `condition` is false, fail with the rule, `detail` and the exchanges that show it."""
    __tracebackhide__ = True
    if not condition:
        violation(rule, detail, *exchanges)
