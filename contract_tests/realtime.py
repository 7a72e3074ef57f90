"""The time rules in real time, for targets whose clock cannot be moved.

Two runs, each on a free-tier key of its own (`KeyPool`), started together when the session starts so their
waits (about a minute each) overlap with each other and with the rest of the suite:
- `limit_and_retry`, from whatever state the headers show: one-image requests until the first refusal must
  admit exactly the images the headers said remained; the 429's retry_after, Retry-After and reset headers
  must agree with the suite's own admissions; retrying a second or more early is refused; retrying after
  retry_after is admitted; the 429 consumed nothing.
- `window_slides`, from an empty window (waited for when the headers show a full one): 2 images at T0, more
  10 s later up to one left; 2 images are refused and 1 admitted (images, not requests); the T0 images still
  count at T0+30 s and T0+58 s; after T0+60 s exactly they have left, and only they.
Every answer's remaining header is held to the bounds the suite's own admissions give (contract_tests/ledger.py).
The findings are reported by the rule (test) they belong to, when that test runs, each with its source: the
sliding window, the headers and the least retry_after are the simulator's decisions (spec/tiers.py); the limit
itself, images counted, and retry_after honoured are the document's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from contract_tests import decisions
from contract_tests.checks import check_error, not_sent, retry_after_seconds, shown_number
from contract_tests.client import MAX_REAL_WAIT_SECONDS, ContractClient
from contract_tests.exchange import Exchange
from contract_tests.explain import shown_header
from contract_tests.key_names import key_option
from contract_tests.ledger import KeyLedger, KeyPool
from contract_tests.scenario import cheap_body
from contract_tests.sources import DOCUMENT, Source, judged_as
from contract_tests.tier_limit import burst_end, check_minute_limit
from contract_tests.violations import ContractViolation, Finding, collecting, expect, note_checked, noting_checked, require
from spec import errors, tiers

EXACT = "minute_limit_is_exact"
IMAGES = "images_not_requests"
RETRY = "retry_after"
SLIDING = "window_slides"
REFUSALS = "refusals_consume_nothing"
RULES = (EXACT, IMAGES, RETRY, SLIDING, REFUSALS)
RULE_SOURCES: dict[str, Source] = {
    EXACT: DOCUMENT,
    IMAGES: DOCUMENT,
    RETRY: DOCUMENT,
    SLIDING: decisions.SLIDING_WINDOW,
    REFUSALS: decisions.REFUSALS_CONSUME_NOTHING,
}
# Seconds before retry_after at which a retry must still be refused ("a second or more early"), leaving a
# second for the request to reach a busy server.
EARLY_BY = 2.0
LATE_BY = 0.25
SECOND_BATCH_AFTER = 10.0
STILL_COUNTS_AT = (30.0, 58.0)
NOT_REACHED = "not reached: an earlier step of its real-time run broke a rule (reported under that rule)"
FREE = tiers.TIERS["free"]
"""The tier of the keys the runs use (--free-key): its limit is the document's, whatever the target's headers state."""


class _StopRun(Exception):
    """A step broke a rule the rest of the run depends on."""


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _day_may_have_turned(before: Exchange, after: Exchange) -> bool:
    """Whether the server's UTC day may have ended between two answers, as `before`'s day reset header tells (a run
    begun a minute before midnight waits out a 429 into the next day, whose count starts afresh); without that
    header, whether the client's clock crossed a UTC midnight. A second's margin covers the two clocks' skew."""
    reset = _header(before, tiers.HEADER_RESET_DAY)
    if reset is not None:
        return after.received_at - before.sent_at >= reset - 1
    # The answers' times are monotonic: the client's clock is read now, and the span runs from `before` to now.
    now, since = time.time(), time.monotonic() - before.sent_at
    return int((now - since - 1) // tiers.DAY_SECONDS) != int((now + 1) // tiers.DAY_SECONDS)


def _header(exchange: Exchange, name: str) -> int | None:
    raw = exchange.header(name) or ""
    return int(raw) if raw.isdigit() else None


@dataclass
class RunLog:
    """What the runs found, by rule; a rule with no finding and a skip reason was not judged."""

    findings: dict[str, list[Finding]] = field(default_factory=lambda: {rule: [] for rule in RULES})
    skipped: dict[str, str] = field(default_factory=dict)
    judged: set[str] = field(default_factory=set)
    checked: dict[str, set[Source]] = field(default_factory=lambda: {rule: set() for rule in RULES})
    """The sources of the checks made for each rule, for its case to note as its own (`noting_checked`)."""

    @contextmanager
    def rule(self, name: str, source: Source | None = None) -> Iterator[None]:
        """Checks of rule `name`, from its own source unless the sequence they sit in relies on a decision."""
        self.judged.add(name)
        with collecting(self.findings[name]), judged_as(source or RULE_SOURCES[name]), noting_checked(self.checked[name]):
            try:
                yield
            except ContractViolation as exc:
                self.findings[name].extend(exc.findings)
                raise _StopRun from None


def check_remaining(ledger: KeyLedger, exchange: Exchange) -> None:
    """The remaining header lies within what the suite's own admissions allow (all images in the window are ours)."""
    remaining = _header(exchange, tiers.HEADER_REMAINING_MINUTE)
    if exchange.header(tiers.HEADER_REMAINING_MINUTE) is None:
        return  # the headers are a decision, and their absence is reported where every header is checked
    # Counted down from the limit the answer itself states: a wrong limit is one finding, where images are admitted
    # (contract_tests/tier_limit.py), not also one here on every answer.
    limit = _header(exchange, tiers.HEADER_LIMIT_MINUTE) or ledger.limit
    certain, possible = ledger.counted(exchange)
    low, high = max(0, limit - possible), max(0, limit - certain)
    expect(
        remaining is not None and low <= remaining <= high,
        "x-ratelimit-remaining-images is the limit minus the images admitted in the last 60 seconds (a sliding window)",
        f"the suite admitted {certain}..{possible} images on this key in the 60 s before this answer, so {low}..{high} remain; "
        f"the header says {shown_header(exchange.header(tiers.HEADER_REMAINING_MINUTE))}",
        exchange,
        source=decisions.SLIDING_WINDOW,
    )


def check_retry_after(ledger: KeyLedger, refused: Exchange, n: int) -> float | None:
    """A 429's retry_after, Retry-After and reset headers agree with when the suite's admissions leave the window.
    (check_error judges retry_after itself: a number of seconds, the document's; whole, the decision.)"""
    error = check_error(refused, errors.RATE_LIMIT_EXCEEDED)
    retry_after = retry_after_seconds(error.get("retry_after"))
    if retry_after is None:
        return None
    expect(
        refused.header("retry-after") == shown_number(retry_after),
        "A 429 carries a Retry-After header equal to error.retry_after",
        f"Retry-After {shown_header(refused.header('retry-after'))}, retry_after {shown_number(retry_after)}",
        refused,
        source=decisions.RETRY_AFTER_HEADER,
    )
    earliest, latest = ledger.frees_at(refused, n)
    low, high = earliest - refused.received_at, latest - refused.sent_at
    expect(
        max(1, math.ceil(low) - 1) <= retry_after <= max(1, math.ceil(high)) + 1,
        "retry_after is the least whole number of seconds after which the same request is admitted",
        f"by the suite's own admissions (in a sliding window) the window has room for n={n} between {low:.1f} and "
        f"{high:.1f} s after this answer; retry_after is {shown_number(retry_after)}",
        refused,
        cause="retry_after disagrees with when the window frees",
        source=decisions.LEAST_RETRY_AFTER,
    )
    # An absent reset header is no value to compare: the headers are a decision, and their absence is said where
    # every header is checked.
    reset = _header(refused, tiers.HEADER_RESET_MINUTE)
    expect(
        refused.header(tiers.HEADER_RESET_MINUTE) is None or (reset is not None and reset >= retry_after - 1),
        "x-ratelimit-reset-images agrees with retry_after: the window is fully replenished no sooner than the refused request fits",
        f"x-ratelimit-reset-images is {shown_header(refused.header(tiers.HEADER_RESET_MINUTE))}, retry_after {shown_number(retry_after)}",
        refused,
        source=decisions.RATE_LIMIT_HEADERS,
    )
    return retry_after


def limit_and_retry(api: ContractClient, ledger: KeyLedger, log: RunLog) -> None:
    with log.rule(EXACT):
        probe, remaining, stated = ledger.settle(api, span=10)
        admitted: list[Exchange] = []
        refused: Exchange | None = None
        for _ in range(remaining + 2):
            exchange = api.generate(cheap_body(1), key=ledger.key)
            if exchange.status != 200:
                refused = exchange
                break
            admitted.append(exchange)
            check_remaining(ledger, exchange)
        # More than the tier allows is the document's, whatever the headers say (and whoever else uses the key).
        check_minute_limit(FREE, [*admitted, *([refused] if refused else [])], key_option(api.target, ledger.key), False)
        # From an idle key the whole limit remains (the document's rule, when the target states the tier's limit);
        # otherwise the headers said how many.
        idle = remaining == stated == ledger.limit
        expect(
            len(admitted) == remaining,
            "Exactly the images that remained (the whole limit from an idle key, else what the headers said) are admitted",
            f"{'the key was idle, so' if idle else 'the headers said'} {remaining} images remained this minute; "
            + burst_end(len(admitted), refused is not None, f"the {remaining} that remained + 2"),
            probe,
            *([refused] if refused else admitted[-1:]),
            source=None if idle else decisions.RATE_LIMIT_HEADERS,
        )
        require(
            refused is not None,
            "Past the minute limit a request is refused",
            f"{len(admitted)} one-image requests in a row were admitted on a {FREE.name} key ({key_option(api.target, ledger.key)}); "
            f"the {FREE.name} tier's limit is {FREE.images_per_minute} images a minute, so a 429 was due after {FREE.images_per_minute}",
            *admitted[-1:],
        )
    assert refused is not None
    with log.rule(RETRY):
        retry_after = check_retry_after(ledger, refused, 1)
        require(retry_after is not None, "A 429 carries retry_after", "it has none usable", refused)
    assert retry_after is not None
    with log.rule(REFUSALS):
        if admitted and (reason := not_sent(admitted[-1], tiers.HEADER_REMAINING_DAY) or not_sent(refused, tiers.HEADER_REMAINING_DAY)):
            log.skipped[REFUSALS] = reason
        elif admitted:
            before, after = _header(admitted[-1], tiers.HEADER_REMAINING_DAY), _header(refused, tiers.HEADER_REMAINING_DAY)
            expect(
                before == after,
                "A refused request (429) consumes no images from either window",
                f"x-ratelimit-remaining-images-day was {before} after the last admission and {after} after the 429",
                admitted[-1],
                refused,
            )
    if retry_after > MAX_REAL_WAIT_SECONDS:
        log.skipped[RETRY] = f"retry_after is {shown_number(retry_after)} s, more than the {MAX_REAL_WAIT_SECONDS} s a real-time run waits"
        return
    with log.rule(RETRY):
        later: list[Exchange] = []
        if retry_after > EARLY_BY:
            _sleep_until(refused.sent_at + retry_after - EARLY_BY)
            later.append(api.generate(cheap_body(1), key=ledger.key))
            expect(
                later[-1].status != 200,
                "retry_after is the least wait: the same request sent a second or more before it is refused",
                f"retry_after was {shown_number(retry_after)}; the request sent {EARLY_BY} s early was admitted",
                refused,
                later[-1],
                source=decisions.LEAST_RETRY_AFTER,
            )
        if not later or later[-1].status != 200:
            _sleep_until(refused.received_at + retry_after + LATE_BY)
            later.append(api.generate(cheap_body(1), key=ledger.key))
            expect(
                later[-1].status == 200,
                "After retry_after seconds the same request is admitted",
                f"retry_after was {shown_number(retry_after)}; the request sent {shown_number(retry_after + LATE_BY)} s after the 429 "
                f"got HTTP {later[-1].status}",
                refused,
                later[-1],
            )
    with log.rule(REFUSALS):
        # A refusal's cost, if any, shows on the next answer: follow the day's remaining across the 429s.
        counted = admitted[-1] if admitted else None
        day = _header(counted, tiers.HEADER_REMAINING_DAY) if counted else None
        for previous, exchange in zip([refused, *later], later, strict=False):
            now_day = _header(exchange, tiers.HEADER_REMAINING_DAY)
            admitted_images = 1 if exchange.status == 200 else 0
            expect(
                day is None
                or now_day is None
                or counted is None
                or _day_may_have_turned(counted, exchange)
                or now_day == day - admitted_images,
                "A refused request (429) consumes no images from either window",
                f"x-ratelimit-remaining-images-day was {day} after the last admission; after a 429 and then this "
                f"{'admission' if admitted_images else 'refusal'} it is {now_day}",
                previous,
                exchange,
            )
            counted, day = exchange, now_day


def window_slides(api: ContractClient, ledger: KeyLedger, log: RunLog) -> None:
    limit = ledger.limit
    if limit < 4:
        log.skipped[SLIDING] = log.skipped[IMAGES] = f"the free tier's {limit} images a minute are too few for this sequence"
        return
    with log.rule(SLIDING):
        probe, remaining, stated = ledger.settle(api, span=0, empty=True)
        # Empty by the target's own count; the sequence below is the tier's (a target keeping another limit breaks it).
        if remaining != stated:
            log.skipped[SLIDING] = log.skipped[IMAGES] = "the free key's window never emptied (is another client using it?)"
            return
        first = api.generate(cheap_body(2), key=ledger.key)
        require(first.status == 200, "A request within an empty window is admitted", f"got HTTP {first.status}", probe, first)
        check_remaining(ledger, first)
        _sleep_until(first.received_at + SECOND_BATCH_AFTER)
        second = api.generate(cheap_body(limit - 3), key=ledger.key)
        require(second.status == 200, "A request that fits the window is admitted", f"got HTTP {second.status}", first, second)
        check_remaining(ledger, second)
    # Refusing 2 of the images admitted 10 s apart relies on them sharing one window: sliding, not fixed.
    with log.rule(IMAGES, source=decisions.SLIDING_WINDOW):
        two = api.generate(cheap_body(2), key=ledger.key)
        if not check_minute_limit(FREE, [first, second, two], key_option(api.target, ledger.key), False):
            # Past the tier's limit the rest of the sequence means nothing: its breaks would be this one again.
            log.skipped.setdefault(SLIDING, NOT_REACHED)
            raise _StopRun
        require(
            two.status == 429,
            "Limits count images, not requests: with one image left, a request for 2 is refused",
            f"{limit - 1} images in 2 requests were admitted this minute; a request for 2 more got HTTP {two.status}",
            second,
            two,
        )
        one = api.generate(cheap_body(1), key=ledger.key)
        require(
            one.status == 200, "Limits count images: with one image left, a request for 1 is admitted", f"got HTTP {one.status}", two, one
        )
    with log.rule(SLIDING):
        for after in STILL_COUNTS_AT:
            _sleep_until(first.sent_at + after)
            poll = api.generate(cheap_body(1), key=ledger.key)
            require(
                poll.status == 429,
                "The minute window slides: images admitted less than 60 s ago still count (no reset at a fixed boundary)",
                f"the window was full; {after:.0f} s after the first admission a one-image request got HTTP {poll.status}",
                first,
                poll,
            )
            check_remaining(ledger, poll)
            with log.rule(RETRY, source=decisions.SLIDING_WINDOW):
                check_retry_after(ledger, poll, 1)
        _sleep_until(first.received_at + tiers.MINUTE_SECONDS + LATE_BY)
        # The first request's 2 images have left; the window holds limit - 2, so 3 do not fit and 2 do.
        more = api.generate(cheap_body(3), key=ledger.key)
        require(
            more.status == 429,
            "The minute window slides: 60 s after the first admission only its images have left the window",
            f"the first request's 2 images have left; the {limit - 2} admitted 10 s later still count, "
            f"yet a request for 3 got HTTP {more.status}",
            first,
            more,
        )
        freed = api.generate(cheap_body(2), key=ledger.key)
        expect(
            freed.status == 200,
            "The minute window slides: images leave it exactly 60 s after their admission",
            f"61 s after the first request of 2 images, a request for 2 got HTTP {freed.status}",
            first,
            freed,
        )
        check_remaining(ledger, freed)


RUNS: dict[str, tuple[Callable[[ContractClient, KeyLedger, RunLog], None], tuple[str, ...]]] = {
    "limit_and_retry": (limit_and_retry, (EXACT, RETRY, REFUSALS)),
    "window_slides": (window_slides, (SLIDING, IMAGES, RETRY)),
}


class RealTimeRules:
    """The runs, started in background threads; each test asks for its rule's verdict, waiting for the runs."""

    def __init__(self, api: ContractClient, pool: KeyPool, wanted: set[str]) -> None:
        self.api = api
        self.pool = pool
        self.log = RunLog()
        self.threads = [
            threading.Thread(target=self._run, args=(name, run), name=f"perf-contract-{name}", daemon=True)
            for name, (run, rules) in RUNS.items()
            if wanted & set(rules)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, name: str, run: Callable[[ContractClient, KeyLedger, RunLog], None]) -> None:
        try:
            with self.pool.checkout(by=f"the real-time run '{name.replace('_', ' ')}'") as ledger:
                run(self.api, ledger, self.log)
        except _StopRun:
            pass
        except Exception as exc:  # the target broke the exchange itself (a reset connection, a timeout)
            rule = next((r for r in RULES if r in self.log.judged), EXACT)
            self.log.findings[rule].append(Finding("The target answers every request", f"{type(exc).__name__}: {exc}", ()))

    def verdict(self, rule: str) -> None:
        """Raise this rule's findings, or skip with the reason it was not judged."""
        for thread in self.threads:
            thread.join()
        note_checked(self.log.checked[rule])
        findings = self.log.findings[rule]
        if findings:
            raise ContractViolation(findings)
        if rule in self.log.skipped:
            pytest.skip(self.log.skipped[rule])
        if rule not in self.log.judged:
            pytest.skip(NOT_REACHED)
