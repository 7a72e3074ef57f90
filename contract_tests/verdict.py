"""The run's verdict as a person (the end summary) and a machine (the JSON report) reads it.

Rules are the suite's test functions (their docstrings), each with its area (module), source and cases; broken
rules are grouped by cause across cases, most frequent first, with the first example in full. Judging by the
document, differences from the simulator's decisions are shown in a section of their own and counted nowhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract_tests import decisions
from contract_tests.key_names import GENEROUS_OPTION, KEY_OPTION, wait_advice
from contract_tests.sources import RuleSources, Source
from contract_tests.violations import Finding

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
DIFFERS = "differs"
"""The count of cases (and the table state) whose only findings are differences from decisions."""
RULE_CHARS = 200
CASES_NAMED_PER_GROUP = 5
NOT_CHECKABLE_IN_REAL_TIME = (
    "Not checkable in real time (the target has no manual clock for the suite to move): the day windows (the free tier's UTC day, the "
    "pro and enterprise day limits: each would take a day), "
    "the one-hour image URL expiry (it would take an hour) and the state machine of the windows (it moves the clock by "
    "hours) were not judged; run against the simulator "
    "with --clock manual to judge them there."
)


NOT_JUDGED = "not judged"
"""How a skip reason begins when the case could have been judged but was not (not for a missing option)."""


@dataclass
class CaseResult:
    case: str
    """The test id, e.g. test_validation::test_invalid_parameter_per_model[dall-e-3-n=0]."""
    area: str
    rule: str
    outcome: str
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    """Why it was skipped, or the text of a failure that is not a broken rule (the suite could not run the case)."""
    summary: str = ""
    """A failure's one line for the end summary: the first error inside it, where `reason` ends in a traceback's
    frame (a Hypothesis failure's exception group ended in its box's border)."""
    source: RuleSources = field(default_factory=RuleSources)
    """The rule's sources as declared (contract_tests/sources.py)."""
    differences: list[Finding] = field(default_factory=list)
    """Findings from decisions the run does not count (--judge document)."""
    checked: set[Source] = field(default_factory=set)
    """The sources of the checks the case made, held or broken."""


def _one_line(case: CaseResult) -> str:
    line = case.summary or (case.reason.splitlines()[-1] if case.reason else "")
    return line if len(line) <= SUMMARY_CHARS else line[:SUMMARY_CHARS] + "…"


SUMMARY_CHARS = 400
"""A broken exchange's line holds its curl line, so it is longer than a rule's."""


@dataclass
class CauseGroup:
    cause: str
    rule: str
    cases: list[str]
    first: Finding


WAIT_WORTH_SAYING_SECONDS = 5.0


@dataclass
class Verdict:
    target: str
    level: str
    real_time: bool
    judge: str = "document"
    cases: list[CaseResult] = field(default_factory=list)
    waited_seconds: float = 0.0
    """How long rules not about rate limits slept out 429s (`ContractClient.admitted`)."""
    generous_given: bool = False
    """Whether the run had a --generous-key of its own (the advice after waits differs)."""
    aborted: str = ""
    """Why the run ended before every case ran ("" when it did not): contract_tests/aborted.py."""
    not_run: list[tuple[str, str, str]] = field(default_factory=list)
    """(case id, area, rule) of each case an aborted run never ran."""
    waited_on: dict[str, float] = field(default_factory=dict)
    """`waited_seconds` by the option naming the key each 429 was on (contract_tests/waits.py); empty when not told,
    and then the waits are taken as the generated traffic's key's."""

    def rules(self) -> dict[tuple[str, str], dict[str, int]]:
        table: dict[tuple[str, str], dict[str, int]] = {}
        for case in self.cases:
            counts = table.setdefault((case.area, case.rule), {PASSED: 0, FAILED: 0, SKIPPED: 0, DIFFERS: 0})
            counts[case.outcome] += 1
            counts[DIFFERS] += bool(case.differences) and case.outcome != FAILED
        return table

    def sources(self) -> dict[tuple[str, str], RuleSources]:
        """Each rule's sources over its cases (`RuleSources.merged`)."""
        by_rule: dict[tuple[str, str], list[RuleSources]] = {}
        for case in self.cases:
            by_rule.setdefault((case.area, case.rule), []).append(case.source)
        return {rule: RuleSources.merged(each) for rule, each in by_rule.items()}

    def groups(self, differences: bool = False) -> list[CauseGroup]:
        """Counted findings grouped by cause; with `differences`, the uncounted differences from decisions."""
        by_cause: dict[str, CauseGroup] = {}
        for case in self.cases:
            for finding in case.differences if differences else case.findings:
                group = by_cause.setdefault(finding.group, CauseGroup(finding.group, finding.rule, [], finding))
                if case.case not in group.cases:
                    group.cases.append(case.case)
        return sorted(by_cause.values(), key=lambda g: -len(g.cases))

    def totals(self) -> dict[str, int]:
        totals = {PASSED: 0, FAILED: 0, SKIPPED: 0}
        for case in self.cases:
            totals[case.outcome] += 1
        return totals

    def notes(self) -> list[str]:
        return [
            *self._incomplete(),
            *self._not_judged(),
            *self._cases_not_judged(),
            *([NOT_CHECKABLE_IN_REAL_TIME] if any(map(self._covered_by_real_time_note, self.cases)) else []),
            *self._waited(),
        ]

    def rules_not_run(self) -> dict[tuple[str, str], list[str]]:
        """(area, rule) -> the ids of its cases the aborted run never ran."""
        rules: dict[tuple[str, str], list[str]] = {}
        for case, area, rule in self.not_run:
            rules.setdefault((area, rule), []).append(case)
        return rules

    def _incomplete(self) -> list[str]:
        """An aborted run names what it never judged: its counts are those of the cases it reached, and a reader (or
        CI) must not take them for a finished run's."""
        if not self.aborted:
            return []
        ran = set(self.rules())
        rules = self.rules_not_run()
        lines = [
            f"INCOMPLETE: the run was aborted ({self.aborted}); {len(self.not_run)} cases of {len(rules)} rules never ran, "
            f"so this run says nothing of them ({sum(rule not in ran for rule in rules)} rules not at all):"
        ]
        lines += [f"  {area}: {rule}" + (" (in part)" if (area, rule) in ran else "") for area, rule in rules]
        return ["\n".join(lines)]

    def _waited(self) -> list[str]:
        """Decision: a run that slept a while for its keys' minute limits says so, per key with what would have spared
        the wait. Back-to-back smoke runs took a minute where the docs say seconds, with nothing in the output to tell
        why or what to change; and "give --generous-key" was said of waits on free keys, which no generous key shortens."""
        if self.waited_seconds < WAIT_WORTH_SAYING_SECONDS:
            return []
        by_key = self.waited_on or {GENEROUS_OPTION if self.generous_given else KEY_OPTION: self.waited_seconds}
        parts = [
            f"{seconds:.0f} s on {option}" + (f" ({advice})" if (advice := wait_advice(option, self.generous_given)) else "")
            for option, seconds in sorted(by_key.items(), key=lambda item: -item[1])
            if seconds >= 1
        ]
        return [
            f"Waited {self.waited_seconds:.0f} s in all for 429s (the minute limit of the key a rule used, spent by earlier "
            f"cases or runs): {'; '.join(parts)}."
        ]

    def _cases_not_judged(self) -> list[str]:
        """The cases said not judged (a limit beyond the suite's bounds, a difference from a decision first) whose
        rule other cases judged: its state says ok, so the case must be named."""
        judged = {(case.area, case.rule) for case in self.cases if case.outcome != SKIPPED}
        named = [
            f"  {case.case}: {reason}"
            for case in self.cases
            if (case.area, case.rule) in judged and (reason := _skip_reason(case)).startswith(NOT_JUDGED)
        ]
        return ["\n".join(["Not judged, though other cases of their rule were:", *named])] if named else []

    def _not_judged(self) -> list[str]:
        """The rules whose every case skipped, by reason: a green run says nothing about them (no free key given, say,
        and the rate limits went unjudged), and a person reading it must see so."""
        judged = {(case.area, case.rule) for case in self.cases if case.outcome != SKIPPED}
        by_reason: dict[str, set[tuple[str, str]]] = {}
        for case in self.cases:
            if (case.area, case.rule) not in judged and not self._covered_by_real_time_note(case):
                reason = _skip_reason(case)
                by_reason.setdefault(reason, set()).add((case.area, case.rule))
        if not by_reason:
            return []
        count = len(set().union(*by_reason.values()))
        summary = (
            "1 rule had every case skipped, so this run says nothing of it"
            if count == 1
            else f"{count} rules had every case skipped, so this run says nothing of them"
        )
        lines = [f"Not judged: {summary}:"]
        for reason, rules in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            areas = ", ".join(sorted({area for area, _ in rules}))
            lines.append(f"  {len(rules)} ({areas}): {reason}")
        return ["\n".join(lines)]

    def _covered_by_real_time_note(self, case: CaseResult) -> bool:
        """Whether the case is one the real-time note already accounts for: those needing the manual clock. Any skip
        mentioning real time was dropped, so a smoke run's "runs in real time at the full level only" was named
        nowhere."""
        return self.real_time and "not checkable in real time" in case.reason

    def judged_by(self) -> str:
        if self.judge == "document":
            return "judged by the document alone (--judge document): differences from the simulator's decisions are shown, not counted"
        return "judged by the document and the simulator's decisions (--judge all)"

    def summary_lines(self) -> list[str]:
        rules, totals, sources = self.rules(), self.totals(), self.sources()
        differing = sum(counts[DIFFERS] > 0 for counts in rules.values())
        lines = [
            f"Perf contract verdict: {self.target}, level {self.level}, {self.judged_by()}",
            f"{len(rules)} rules, {len(self.cases)} cases: {totals[PASSED]} passed, {totals[FAILED]} failed, {totals[SKIPPED]} skipped"
            + (
                f"; {differing} {'rule differs' if differing == 1 else 'rules differ'} from the simulator's decisions (not counted)"
                if differing
                else ""
            ),
            *([f"INCOMPLETE: the run was aborted, {len(self.not_run)} cases never ran (named at the end)"] if self.aborted else []),
            "",
            "state  area          passed failed skipped  rule  [source]",
        ]
        for (area, rule), counts in rules.items():
            state = "FAIL" if counts[FAILED] else ("skip" if not counts[PASSED] else ("diff" if counts[DIFFERS] else "ok"))
            source = decisions.label(sources[(area, rule)])
            shown = rule if len(rule) <= RULE_CHARS else rule[:RULE_CHARS] + "…"
            lines.append(f"{state:5}  {area:12}  {counts[PASSED]:6} {counts[FAILED]:6} {counts[SKIPPED]:7}  {shown}  [{source}]")
        legend = decisions.legend(sources.values())
        lines += ["", *legend] if legend else []
        lines += self._group_lines(self.groups(), "Broken rules, grouped by cause")
        lines += self._group_lines(self.groups(differences=True), "Differs from the simulator's decisions (not counted)")
        unexplained = [case for case in self.cases if case.outcome == FAILED and not case.findings]
        if unexplained:
            lines += ["", "Cases that could not run to a verdict (the suite's own error, or the target broke the exchange):"]
            lines += [f"  {case.case}: {_one_line(case)}" for case in unexplained]
        for note in self.notes():
            lines += ["", note]
        return lines

    def _group_lines(self, groups: list[CauseGroup], title: str) -> list[str]:
        lines = []
        if groups:
            causes = f"{len(groups)} cause{'s' if len(groups) != 1 else ''}"
            lines += ["", f"{title} ({causes}, most cases first):"]
        for number, group in enumerate(groups, 1):
            named = ", ".join(group.cases[:CASES_NAMED_PER_GROUP])
            more = f" and {len(group.cases) - CASES_NAMED_PER_GROUP} more" if len(group.cases) > CASES_NAMED_PER_GROUP else ""
            lines += [
                "",
                f"[{number}] {len(group.cases)} case{'s' if len(group.cases) != 1 else ''}: {group.cause}",
                f"    cases: {named}{more}",
                "    first example:",
                *("      " + line for line in group.first.report().splitlines()),
            ]
        return lines

    def as_json(self) -> dict[str, Any]:
        def finding(f: Finding) -> dict[str, Any]:
            return {
                "rule": f.rule,
                "source": str(f.source),
                "counted": self.judge == "all" or f.source.is_document,
                "detail": f.detail,
                "cause": f.group,
                "exchanges": [e.as_record() for e in f.exchanges],
            }

        rules = []
        sources = self.sources()
        for (area, rule), counts in self.rules().items():
            cases = [c for c in self.cases if (c.area, c.rule) == (area, rule)]
            rules.append(
                {
                    "area": area,
                    "rule": rule,
                    "source": str(sources[(area, rule)]),
                    "decisions": [str(decision) for decision in sources[(area, rule)].decisions],
                    **counts,
                    "cases": [
                        {
                            "case": c.case,
                            "outcome": c.outcome,
                            "reason": c.reason,
                            "findings": [finding(f) for f in c.findings],
                            "differences": [finding(f) for f in c.differences],
                            "checked": sorted(map(str, c.checked)),
                        }
                        for c in cases
                    ],
                }
            )
        return {
            "target": self.target,
            "level": self.level,
            "judge": self.judge,
            "complete": not self.aborted,
            "aborted": self._aborted_json(),
            "totals": self.totals(),
            "differing": sum(bool(case.differences) and case.outcome != FAILED for case in self.cases),
            "rules": rules,
            "causes": [{"cause": g.cause, "rule": g.rule, "count": len(g.cases), "cases": g.cases} for g in self.groups()],
            "differences": [
                {"cause": g.cause, "rule": g.rule, "source": str(g.first.source), "count": len(g.cases), "cases": g.cases}
                for g in self.groups(differences=True)
            ],
            "notes": self.notes(),
        }

    def _aborted_json(self) -> dict[str, Any] | None:
        """Why the run was aborted and the rules whose cases it never ran (`partly`: some of its cases did run)."""
        if not self.aborted:
            return None
        ran = set(self.rules())
        rules = [
            {"area": area, "rule": rule, "partly": (area, rule) in ran, "cases": cases}
            for (area, rule), cases in self.rules_not_run().items()
        ]
        return {"reason": self.aborted, "cases_not_run": len(self.not_run), "rules_not_run": rules}

    def write_json(self, path: str) -> None:
        Path(path).write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False))


def _skip_reason(case: CaseResult) -> str:
    return case.reason.splitlines()[-1].removeprefix("Skipped: ") if case.reason else "skipped"
