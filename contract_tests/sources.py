"""Where a rule comes from: the API's document, or a decision the simulator made where the document is silent or
ambiguous (written beside the rule in spec/*.py).

A person acting on a verdict must know which it is: a broken document rule is a defect of the target; a difference
from a decision is a choice the target may make otherwise. Every finding carries its source; `--judge document`
counts only the document's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

DOCUMENT_NAME = "document"


@dataclass(frozen=True)
class Source:
    """`decision` names a simulator decision and `spec_file` the spec/ file that records it; both empty for the document."""

    decision: str = ""
    spec_file: str = ""

    @property
    def is_document(self) -> bool:
        return not self.decision

    def __str__(self) -> str:
        return DOCUMENT_NAME if self.is_document else f"decision: {self.decision} ({self.spec_file})"


DOCUMENT = Source()


@dataclass(frozen=True)
class RuleSources:
    """Where a rule comes from: `main` is the rule's own source, `partly` the decisions some of its checks hold
    besides (a document rule whose answer must also carry the simulator's message or headers, say). A rule is
    labelled with both: called `document` alone, a rule that shows a difference from a decision would read as a
    contradiction, and a green one would seem to say nothing of decisions it did check."""

    main: Source = DOCUMENT
    partly: tuple[Source, ...] = ()

    @property
    def decisions(self) -> tuple[Source, ...]:
        """Every decision the rule holds, whole or in part."""
        return tuple(source for source in (self.main, *self.partly) if not source.is_document)

    def __str__(self) -> str:
        if not self.partly:
            return str(self.main)
        named = "; ".join(f"{source.decision} ({source.spec_file})" for source in self.partly)
        return f"{self.main}; in part decision{'s' if len(self.partly) > 1 else ''}: {named}"

    @classmethod
    def merged(cls, sources: Iterable[RuleSources]) -> RuleSources:
        """One rule's sources over its cases: the document when any case is (a few cases of a rule may hold a
        decision), and every other decision in part."""
        cases = list(sources)
        mains = [case.main for case in cases]
        main = DOCUMENT if not mains or DOCUMENT in mains else mains[0]
        partly = dict.fromkeys(source for case in cases for source in (case.main, *case.partly) if source != main)
        return cls(main, tuple(partly))


_rule_source: ContextVar[Source] = ContextVar("perf_contract_rule_source", default=DOCUMENT)


def current_source() -> Source:
    """The source of a check that names none: the rule's (set by the plugin from the test's `source` mark)."""
    return _rule_source.get()


@contextmanager
def judged_as(source: Source) -> Iterator[None]:
    """Within this block, checks that name no source of their own come from `source`. A block can only narrow a
    document rule to a decision: a case of a decision rule never becomes a document case."""
    token = _rule_source.set(source if _rule_source.get().is_document else _rule_source.get())
    try:
        yield
    finally:
        _rule_source.reset(token)
