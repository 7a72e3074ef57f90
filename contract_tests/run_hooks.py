"""The hooks of a contract run, registered by the plugin (`perf_image_sim_plugins/perf_contract.py`) only in a session that is
one: the --perf-level selection, the verdict (every broken rule of a case, the end summary grouped by cause) and the
JSON and HTML reports. They act only on items collected from `contract_tests`; fixtures live in
`contract_tests/conftest.py`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Generator
from contextlib import ExitStack, nullcontext
from typing import Any

import pytest
from _pytest.junitxml import xml_key
from _pytest.reports import TestReport
from hypothesis.configuration import set_hypothesis_home_dir

from contract_tests import aborted, budget, client, decisions, keep_alive
from contract_tests.exchange import Exchange
from contract_tests.key_names import bearer_key, free_key_warnings, key_option, wait_advice
from contract_tests.report_html import write_html
from contract_tests.sources import DOCUMENT, RuleSources, Source, judged_as
from contract_tests.target import NO_VERDICT_EXIT, Target, TargetUnreachable, reset_if_made_up, tier_key_pair
from contract_tests.verdict import FAILED, PASSED, SKIPPED, CaseResult, Verdict
from contract_tests.violations import ContractViolation, Finding, collecting, noting_checked, noting_differences
from contract_tests.waits import WaitsByKey
from perf_image_sim_plugins.contract_options import PARTLY_MARK, SMOKE_MARK, SOURCE_MARK
from spec.tiers import PAID_TIERS

_TARGET_KEY = pytest.StashKey[Target]()
_VERDICT_KEY = pytest.StashKey[Verdict]()
_DIFFERENCES_KEY = pytest.StashKey[list[Finding]]()
_CHECKED_KEY = pytest.StashKey[set[Source]]()
_HYPOTHESIS_HOME_KEY = pytest.StashKey[str]()
_WAITS_KEY = pytest.StashKey[WaitsByKey]()
HYPOTHESIS_STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


def pytest_configure(config: pytest.Config) -> None:
    _keep_hypothesis_storage_out_of_the_callers_directory(config)
    if config.getoption("perf_list_rules"):
        # The listing alone: with --collect-only set when collection ends, pytest's terminal reporter first printed the
        # collected items (`path: count` per file at -qq), so `perf-contract --list-rules | head -3` showed no rule.
        # Collect-only is set again after it has printed nothing (`pytest_collection_finish`, trylast).
        config.option.collectonly = False


def _keep_hypothesis_storage_out_of_the_callers_directory(config: pytest.Config) -> None:
    """A contract run keeps Hypothesis's storage (its constants cache; the suite writes no example database) in a
    temporary directory, removed when the run ends: by default Hypothesis writes `.hypothesis/` into the directory
    the run started in, the user's, which the suite has no business littering. The environment variable carries the
    place to child processes (schemathesis). A storage directory the user chose themselves is left as it is."""
    if os.environ.get(HYPOTHESIS_STORAGE_ENV):
        return
    home = tempfile.mkdtemp(prefix="perf-contract-hypothesis-")
    config.stash[_HYPOTHESIS_HOME_KEY] = home
    os.environ[HYPOTHESIS_STORAGE_ENV] = home
    set_hypothesis_home_dir(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HYPOTHESIS_HOME_KEY, None)
    if home is not None:
        set_hypothesis_home_dir(None)
        os.environ.pop(HYPOTHESIS_STORAGE_ENV, None)
        shutil.rmtree(home, ignore_errors=True)


def _is_contract_item(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return getattr(module, "__name__", "").startswith("contract_tests.")


def contract_target(config: pytest.Config) -> Target:
    """The target, resolved once per session (resolving probes the control API)."""
    if _TARGET_KEY not in config.stash:
        base_url, key = config.getoption("perf_base_url"), config.getoption("perf_key")
        if not base_url or not key:
            raise pytest.UsageError("the Perf contract suite needs --perf-base-url URL and --perf-key KEY")
        try:
            config.stash[_TARGET_KEY] = Target.resolve(
                base_url,
                key,
                key_tier=config.getoption("perf_key_tier"),
                free_keys=tuple(config.getoption("perf_free_key") or ()),
                generous_key=config.getoption("perf_generous_key"),
                level=config.getoption("perf_level"),
                namespace=config.getoption("perf_namespace"),
                blocked_prompt=config.getoption("perf_blocked_prompt"),
                timeout=config.getoption("perf_timeout"),
                tier_keys=tier_keys_from_option(list(config.getoption("perf_tier_key") or [])),
            )
        except TargetUnreachable as exc:
            pytest.exit(f"perf-contract: no verdict: {exc}", returncode=NO_VERDICT_EXIT)
    return config.stash[_TARGET_KEY]


def _reset_a_made_up_namespace(config: pytest.Config) -> None:
    """The namespace the suite made up for the run (no `--namespace`) is reset when the run ends: a namespace's
    journal entries, windows, images and counters live as long as the simulator, and a shared simulator's
    `--journal-size` is every namespace's. One given with `--namespace` is kept, for the user to look at. (A run
    refused before its target is resolved resets it in `reach`.)"""
    target = config.stash.get(_TARGET_KEY, None)
    reset_if_made_up(target.control if target is not None else None)


def tier_keys_from_option(values: list[str]) -> tuple[tuple[str, str], ...]:
    """The (tier, key) pairs of the `--perf-tier-key` options; a usage error names the first that is not TIER=KEY."""
    pairs = []
    for value in values:
        pair = tier_key_pair(value)
        if pair is None:
            raise pytest.UsageError(f"--perf-tier-key takes TIER=KEY with TIER one of {', '.join(PAID_TIERS)}, got {value!r}")
        pairs.append(pair)
    return tuple(pairs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    contract = [item for item in items if _is_contract_item(item)]
    if not contract:
        return
    if config.getoption("perf_level") == "smoke":  # the option, not the target: listing the rules needs no target
        dropped = [item for item in contract if item.get_closest_marker(SMOKE_MARK) is None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            kept = set(map(id, dropped))
            items[:] = [item for item in items if id(item) not in kept]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if config.getoption("perf_base_url") and config.getoption("perf_key") and not config.getoption("perf_list_rules"):
        target = contract_target(config)
        return [target.describe(), *filter(None, [budget.slow_generous_key_warning(target)]), *free_key_warnings(target)]
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    # A second pytest.main in one process starts its own count: here, not when the verdict is made at the first case's
    # report, which zeroed the waits of that first case (a one-case run that waited 10 s said nothing of it).
    client.waited_for_limits = 0.0
    session.config.stash[_WAITS_KEY] = WaitsByKey()
    client.on_wait = _showing_waits(session.config, session.config.stash[_WAITS_KEY])
    aborted.reason = ""
    keep_alive.take()  # a second pytest.main in one process reports only its own


def _showing_waits(config: pytest.Config, waits: WaitsByKey) -> Callable[[float, float, Exchange], None]:
    """Each wait for a 429 of a few seconds or more, said on the terminal as it starts (past pytest's capture, as its
    live logs are), from the main thread only (a real-time run's thread writing too would break the lines apart). A
    sliding window frees an image a second at times: those waits of a second are counted in the next line's total,
    not each said. Each names the key refused, by its option, and only advice that would have spared that key's wait:
    "--generous-key KEY avoids this" was said of 429s on free keys, and with a generous key already given."""

    def show(seconds: float, before: float, refused: Exchange) -> None:
        key = bearer_key(refused.request_headers)
        option = key_option(contract_target(config), key) if _TARGET_KEY in config.stash else "a key of the run"
        waits.waited(option, seconds)
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if seconds < budget.WORTH_SAYING_SECONDS or terminal is None or threading.current_thread() is not threading.main_thread():
            return
        advice = wait_advice(option, bool(config.getoption("perf_generous_key")))
        line = (
            f"perf-contract: a 429 on {option} (its minute limit): waiting {seconds:.0f} s "
            f"({before:.0f} s waited so far{'; ' + advice if advice else ''})"
        )
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            terminal.write_line(line)

    return show


def rule_listing(items: list[pytest.Item]) -> list[str]:
    """One line per rule (a test function's docstring), with how many cases check it, its source (as the verdict
    table and findings give it), and the totals."""
    cases: dict[tuple[str, str], list[RuleSources]] = {}
    for item in items:
        function = getattr(item, "function", None)
        if function is None or not _is_contract_item(item):
            continue
        doc = (function.__doc__ or item.name).strip().splitlines()[0]
        module = getattr(item, "module", None)
        where = f"{getattr(module, '__name__', '').rsplit('.', 1)[-1]}::{function.__name__}"
        cases.setdefault((where, doc), []).append(rule_sources(item))
    merged = {rule: RuleSources.merged(each) for rule, each in cases.items()}
    lines = [f"{len(cases[rule]):4d}  {rule[1]}   [{rule[0]}]  [{decisions.label(merged[rule])}]" for rule in cases]
    lines.append(f"{len(cases)} rules, {sum(map(len, cases.values()))} cases")
    return lines + decisions.legend(merged.values())


@pytest.hookimpl(trylast=True)  # after the terminal reporter's, which prints the collected items when collect-only
def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.getoption("perf_list_rules"):
        # Listing runs nothing, whether or not --collect-only was given (`pytest --pyargs contract_tests
        # --perf-list-rules` listed, then failed for want of a target).
        session.config.option.collectonly = True
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            if session.config.option.verbose >= 0:  # apart from pytest's header; quiet, the listing's first line is a rule
                terminal.write_line("")
            for line in rule_listing(session.items):
                terminal.write_line(line)


def rule_source(item: pytest.Item) -> Source:
    """The rule's source: the decision its `source` mark names, else the document."""
    mark = item.get_closest_marker(SOURCE_MARK)
    return mark.args[0] if mark is not None else DOCUMENT


def rule_sources(item: pytest.Item) -> RuleSources:
    """The rule's source and the decisions its `partly` marks name (on the function or the case)."""
    main = rule_source(item)
    partly = dict.fromkeys(source for mark in item.iter_markers(PARTLY_MARK) for source in mark.args if source != main)
    return RuleSources(main, tuple(partly))


def judges_by_document(config: pytest.Config) -> bool:
    return bool(config.getoption("perf_judge", "document") == "document")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Through setup, call and teardown, checks naming no source are the rule's, and (judging by the document)
    broken decisions are noted apart instead of stopping the case."""
    if not _is_contract_item(item):
        return (yield)
    differences: list[Finding] = []
    item.stash[_DIFFERENCES_KEY] = differences
    item.stash[_CHECKED_KEY] = set()
    with (
        judged_as(rule_source(item)),
        noting_differences(differences if judges_by_document(item.config) else None),
        noting_checked(item.stash[_CHECKED_KEY]),
        keep_alive.sending_as(aborted.case_of(item)[0]),
    ):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """A fixture stopped by a decision the target differs from leaves the rule not judged, not failed, when
    the run judges by the document."""
    if not _is_contract_item(item):
        return (yield)
    try:
        return (yield)
    except ContractViolation as exc:
        counted, differences = _counted(item.config, exc.findings)
        if counted:
            raise
        item.stash[_DIFFERENCES_KEY].extend(differences)
        pytest.skip(f"not judged: the target differs from a simulator decision first ({differences[0].source})")


def _counted(config: pytest.Config, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(the findings that decide the case, the differences from decisions shown apart)."""
    if not judges_by_document(config):
        return findings, []
    return [f for f in findings if f.source.is_document], [f for f in findings if not f.source.is_document]


def _stops_at_first(item: pytest.Item) -> bool:
    """Hypothesis examples and state machines stop at the first broken rule (shrinking needs the failure)."""
    function = getattr(item, "function", None)
    module = getattr(item, "module", None)
    return bool(getattr(function, "is_hypothesis_test", False) or getattr(module, "STOP_AT_FIRST_BROKEN_RULE", False))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Collect every broken rule of a contract case; report them together when the case ends."""
    if not _is_contract_item(item):
        return (yield)
    findings: list[Finding] = []
    stopped_by = ""
    notes: list[str] = []
    with ExitStack() as stack:
        if not _stops_at_first(item):
            stack.enter_context(collecting(findings))
        try:
            result = yield
        except ContractViolation as exc:
            findings, stopped_by, result = findings + exc.findings, exc.stopped_by, None
            notes = getattr(exc, "__notes__", [])
        except pytest.skip.Exception:
            if _counted(item.config, findings)[0]:
                raise ContractViolation(findings) from None
            raise
        except Exception as exc:
            if findings:
                raise ContractViolation(findings, stopped_by=f"{type(exc).__name__}: {exc}") from exc
            raise
    counted, differences = _counted(item.config, findings)
    item.stash[_DIFFERENCES_KEY].extend(differences)
    if counted:
        violation = ContractViolation(counted, stopped_by)
        for note in notes:  # Hypothesis's falsifying example
            violation.add_note(note)
        raise violation
    return result


def _verdict(config: pytest.Config) -> Verdict:
    if _VERDICT_KEY not in config.stash:
        target = contract_target(config)
        config.stash[_VERDICT_KEY] = Verdict(
            target.base_url,
            target.level,
            real_time=not target.clock_moves,
            judge=config.getoption("perf_judge", "document"),
            generous_given=bool(config.getoption("perf_generous_key")),
        )
    return config.stash[_VERDICT_KEY]


def _record(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[Any]) -> None:
    function = getattr(item, "function", None)
    module = str(getattr(getattr(item, "module", None), "__name__", "")).rsplit(".", 1)[-1]
    rule = ((function.__doc__ if function else None) or item.name).strip().splitlines()[0]
    case = CaseResult(f"{module}::{item.name}", module.removeprefix("test_"), rule, PASSED, source=rule_sources(item))
    none: list[Finding] = []
    case.differences = [*item.stash.get(_DIFFERENCES_KEY, none)]
    checked: set[Source] = item.stash.get(_CHECKED_KEY, set())
    case.checked = set(checked)
    if report.skipped:
        case.outcome = SKIPPED
        longrepr = report.longrepr
        case.reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
    elif report.failed:
        case.outcome = FAILED
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, ContractViolation):
            case.findings = _counted(item.config, exc.findings)[0]
        case.reason = str(report.longrepr)[-2000:]
        case.summary = _first_error(exc)
    _verdict(item.config).cases.append(case)


def _first_error(exc: BaseException | None) -> str:
    """The first error inside `exc` (an exception group's first leaf, as Hypothesis raises a flaky or multiple
    failure) as one line: the target's broken exchange, with its curl line, rather than the group's border."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if exc is None:
        return ""
    text = " ".join(str(exc).split())
    if isinstance(exc, pytest.fail.Exception):  # the suite's own words, as pytest.fail gave them
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    """A broken rule is reported as the rule, the exchange and a curl line, not as a Python traceback."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, ContractViolation):
        exc = call.excinfo.value
        notes = "\n".join(getattr(exc, "__notes__", []))
        report.longrepr = exc.report() + (f"\n{notes}" if notes else "")
    if _is_contract_item(item) and (call.when == "call" or (call.when == "setup" and not report.passed)):
        _record(item, report, call)
        _show_differences_in_junit(item)
    return report


MAX_JUNIT_DIFFERENCES = 5


def _show_differences_in_junit(item: pytest.Item) -> None:
    """A case's differences from decisions as `perf_difference` properties of its JUnit test case: a passed case
    that differed was a bare `<testcase/>`, so a CI dashboard showed nothing of a difference the run did not count."""
    for finding in item.stash.get(_DIFFERENCES_KEY, [])[:MAX_JUNIT_DIFFERENCES]:
        item.user_properties.append(("perf_difference", f"from {finding.source}: {finding.rule}: {finding.detail}"[:2000]))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _VERDICT_KEY not in config.stash:
        return
    terminalreporter.section("Perf contract verdict")
    for line in config.stash[_VERDICT_KEY].summary_lines():
        terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)  # before the JUnit report is written: an aborted run adds the cases it never ran
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    client.on_wait = None
    config = session.config
    _reset_a_made_up_namespace(config)
    unread = keep_alive.take()
    if _VERDICT_KEY not in config.stash and not aborted.reason and not unread:
        return
    verdict = _verdict(config)
    if unread:
        _report_unread_bodies(session, verdict, unread)
    verdict.waited_seconds = client.waited_for_limits  # before the terminal summary, which pytest prints after this
    if aborted.reason:  # the reports say the run is incomplete, naming what never ran
        items = [item for item in session.items if _is_contract_item(item)]
        verdict.aborted, verdict.not_run = aborted.reason, aborted.not_run(items, {case.case for case in verdict.cases})
        never_ran = set(verdict.not_run)
        aborted.report_in_junit(config, [item for item in items if aborted.case_of(item) in never_ran], aborted.reason)
    verdict.waited_on = config.stash[_WAITS_KEY].waited_on()
    if config.getoption("perf_report_json"):
        verdict.write_json(config.getoption("perf_report_json"))
    if config.getoption("perf_report_html"):
        write_html(verdict, config.getoption("perf_report_html"))


def _report_unread_bodies(session: pytest.Session, verdict: Verdict, unread: list[keep_alive.Unread]) -> None:
    """Each request whose body the target left unread on a kept-alive connection (contract_tests/keep_alive.py), as
    a failed case of the keep-alive rule named by the case that sent it: in the verdict and its reports, in pytest's
    failures and JUnit report (beside that case, `[keep-alive]` after its name), and in the exit status. The cases
    whose requests met the leftover bytes were judged on a fresh connection's answers: they are not failed for it."""
    items = {aborted.case_of(item)[0]: item for item in session.items if _is_contract_item(item)}
    results = keep_alive.cases(unread)
    verdict.cases += results
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    junit = session.config.stash.get(xml_key, None)
    for result in results:
        item = items.get(result.case)
        nodeid = f"{item.nodeid}[keep-alive]" if item is not None else f"contract_tests/keep_alive.py::{result.case}"
        where = item.location if item is not None else ("contract_tests/keep_alive.py", None, result.case)
        text = ContractViolation(result.findings).report()
        failed = TestReport(nodeid, (where[0], where[1], f"{where[2]} [keep-alive]"), {}, "failed", text, "call", user_properties=[])
        if terminal is not None:
            terminal.stats.setdefault("failed", []).append(failed)
        if junit is not None:
            junit.pytest_runtest_logreport(failed)
            junit.pytest_runtest_logreport(TestReport(nodeid, failed.location, {}, "passed", None, "teardown", user_properties=[]))
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
