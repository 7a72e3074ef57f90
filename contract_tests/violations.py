"""How a broken rule is reported: the rule in words, what was sent, what came back, and a curl line.

A case checks every rule that applies and reports every broken one: while the plugin collects findings for a
case, `expect` records a broken rule and lets the case go on; `require` (a rule later steps depend on) stops it.
Outside a collecting case (Hypothesis examples, background runs) every broken rule stops at once.

Each finding carries its source (contract_tests/sources.py). When the run judges by the document alone, the plugin
gives the case a list of differences: a broken decision rule goes there and never stops the case, so the document
rules after it are still judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import NoReturn

from contract_tests.exchange import Exchange
from contract_tests.sources import DOCUMENT, Source, current_source


@dataclass(frozen=True)
class Finding:
    """One broken rule: `cause` is what groups findings of many cases in the summary (the rule unless said)."""

    rule: str
    detail: str
    exchanges: tuple[Exchange, ...]
    cause: str = ""
    source: Source = DOCUMENT

    @property
    def group(self) -> str:
        return self.cause or self.rule

    def report(self) -> str:
        parts = [f"RULE BROKEN: {self.rule}", f"from: {self.source}", f"what happened: {self.detail}"]
        parts += [exchange.describe() for exchange in self.exchanges]
        return "\n".join(parts)


class ContractViolation(AssertionError):
    """One or more documented rules the implementation under test broke; its text is the whole report."""

    def __init__(self, findings: list[Finding], stopped_by: str = "") -> None:
        self.findings = findings
        self.stopped_by = stopped_by
        super().__init__(self.report())

    @property
    def rule(self) -> str:
        return self.findings[0].rule

    def report(self) -> str:
        parts = [finding.report() for finding in self.findings]
        if len(self.findings) > 1:
            parts.insert(0, f"{len(self.findings)} rules broken in this case:")
        if self.stopped_by:
            parts.append(f"(the case then stopped: {self.stopped_by})")
        return "\n\n".join(parts)


_collected: ContextVar[list[Finding] | None] = ContextVar("perf_contract_findings", default=None)
_differences: ContextVar[list[Finding] | None] = ContextVar("perf_contract_differences", default=None)
_checked: ContextVar[set[Source] | None] = ContextVar("perf_contract_checked", default=None)


@contextmanager
def collecting(findings: list[Finding]) -> Iterator[list[Finding]]:
    """Within this block, `expect` records broken rules into `findings` instead of stopping."""
    token = _collected.set(findings)
    try:
        yield findings
    finally:
        _collected.reset(token)


@contextmanager
def noting_differences(differences: list[Finding] | None) -> Iterator[None]:
    """Within this block (with a list), a broken decision rule is noted in `differences` and the case goes on:
    the run judges by the document alone. With None, decisions are judged like the document."""
    token = _differences.set(differences)
    try:
        yield
    finally:
        _differences.reset(token)


@contextmanager
def noting_checked(checked: set[Source]) -> Iterator[set[Source]]:
    """Within this block, the source of every check made, held or broken, is added to `checked`: what a case
    actually judged, against which its rule's declared sources are held (a rule must name every decision it checks)."""
    token = _checked.set(checked)
    try:
        yield checked
    finally:
        _checked.reset(token)


def note_checked(sources: set[Source]) -> None:
    """Note checks made elsewhere for this case (the real-time runs' threads) as made by it."""
    checked = _checked.get()
    if checked is not None:
        checked.update(sources)


def _source_of(source: Source | None) -> Source:
    """The check's source (its own, else its rule's), noted as checked."""
    source = source or current_source()
    note_checked({source})
    return source


@contextmanager
def first_broken_rule_stops() -> Iterator[None]:
    """For sequences whose later steps mean nothing once one step broke (state machines, scenarios)."""
    token = _collected.set(None)
    try:
        yield
    finally:
        _collected.reset(token)


def violation(rule: str, detail: str, *exchanges: Exchange, cause: str = "", source: Source | None = None) -> NoReturn:
    raise ContractViolation([Finding(rule, detail, exchanges, cause, _source_of(source))])


def expect(condition: object, rule: str, detail: str, *exchanges: Exchange, cause: str = "", source: Source | None = None) -> bool:
    """Hold `rule`: when `condition` is false, record (or raise) the rule, `detail` and the exchanges that show it.
    `source` names the decision the check holds, when it is not its rule's own source."""
    __tracebackhide__ = True
    source = _source_of(source)
    if condition:
        return True
    finding = Finding(rule, detail, exchanges, cause, source)
    differences = _differences.get()
    findings = differences if differences is not None and not finding.source.is_document else _collected.get()
    if findings is None:
        raise ContractViolation([finding])
    findings.append(finding)
    return False


def require(condition: object, rule: str, detail: str, *exchanges: Exchange, cause: str = "", source: Source | None = None) -> None:
    """Like `expect`, for a rule the rest of the case depends on: a broken one always stops the case."""
    __tracebackhide__ = True
    source = _source_of(source)
    if not condition:
        violation(rule, detail, *exchanges, cause=cause, source=source)
