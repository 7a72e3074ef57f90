"""The rate-limit verdict: from the responses of a load run alone, did every key get exactly its tier's limits?

The judge knows only what a client can know: when it sent each request and when the answer came (its own
clock), the answer, and when the simulator clock was moved (if the run compressed time through the control
API). Every request is therefore placed in an interval of server time, and a violation is reported only when
it holds for every placement the intervals allow, so a correct server never fails the verdict:

- over-admission: requests answered 200 whose intervals all fit inside one 60-second span (or one UTC day)
  carry more images than the tier allows in a minute (a day);
- under-admission: a 429 although, wherever its requests fell, the images admitted in the 60 seconds before
  it (and that UTC day) plus its own n stayed within the limits. Requests with no usable answer (a transport
  error, a 5xx, a request the run cut short) may have been admitted, so they count against the quota here and
  never as certainly admitted above;
- a 429 without a valid retry_after: error type rate_limit_exceeded, an integer from 1 to 86,400, equal to the
  Retry-After header when there is one (a client obeying the header waits that long), and at most 60 when the day
  window cannot have been the reason. A 429 without the header, and answers without the x-ratelimit-* headers, are
  reported as not judged, not counted: the API document promises neither (perf-contract's decisions #4 and #1);
- a minute window's 429 whose retry_after is not the wait (spec/tiers.py): the images certainly admitted before it
  and certainly still in its window retry_after seconds later fill it (too short), or even every request that may
  have been admitted before it and may still be in its window a second earlier leaves room (too long); a 429 of a
  UTC day the run's 200s certainly filled whose retry_after is not the wait to the server's next midnight.

Decision: the clock-skew tolerance widens every interval by `tolerance` seconds each side (default 1 s). It
covers the skew between the client's and the server's clocks and the server's own time between reading its
clock and admitting. On one host 1 s is generous; against a remote server, pass its clock skew plus margin.
A key's tier is the one the run was told (`--tier-key TIER=KEY`), else comes from its name (`pk_test_<tier>_...`
or the document's example key), its limits the tier's unless the run recorded the key's own (`--keys`, the
simulator's keys file); other keys are listed as not judged. Every request the run sends is valid, so any
other answer than 200, 429 or an outage (a 401 for a key the target does not know, a 400) is a violation of its
own, and a run in which no key of a known tier was admitted or refused by a rate limit is NOT JUDGED, not passed.
An answer a fault rule of the target simulator injected (Observation.injected) is set aside and said, not judged: it
ran no face, so it used no quota, and the other answers are judged exactly without it.

`python -m load.verdict EVENTS.jsonl...` judges events a run recorded (locust `--verdict-events PATH`).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from load.mix import MAX_N
from spec import errors, tiers

DEFAULT_TOLERANCE_SECONDS = 1.0
MAX_RETRY_AFTER = tiers.DAY_SECONDS
# The detailed lines printed per kind of violation; the counts always cover all of them.
MAX_DETAILS = 10
MAX_MESSAGE_CHARS = 200
"""An error answer's message is kept this long (the request journal cuts `error_message` alike)."""
SHOWN_MESSAGE_CHARS = 150
"""A reported answer's `error.type: message` is shown this long."""
MAX_REACHABLE_DAY_IMAGES = 10_000
"""Decision: a day limit above this many images is out of a bounded run's reach, so `--require-limits all` does not
require it and the summary says it was not judged, and why, rather than "run longer". Filling it takes one key more
than 2,500 admitted requests even if every one asked for the mix's largest n (4), and the mix's mean n is under 2:
the enterprise tier's 100,000 a day took about 40,000 requests on one key, hours of a CI job. The free tier's 50 and
the pro tier's 1,000 are in reach, and so is an enterprise key's own lower limit from a `--keys` file."""

OVER_ADMISSION = "over-admission"
UNDER_ADMISSION = "under-admission"
BAD_RETRY_AFTER = "invalid retry_after"
WRONG_WAIT = "retry_after not the wait"
UNEXPECTED_ANSWER = "unexpected answer"


@dataclass(frozen=True)
class Observation:
    """One generation request as the client saw it."""

    key: str
    n: int
    sent: float
    received: float | None
    """None: no answer (a transport error, or the run stopped the request)."""
    status: int | None
    images: int = 0
    """Images in a 200 answer."""
    cut_by_stop: bool = False
    """No answer because the run's end stopped the request, not because the target failed it."""
    not_an_answer: bool = False
    """A 200 whose body is not a generation answer (not JSON, no `data` list): it may have admitted the request's n
    images, which its body does not show."""
    error_type: str | None = None
    retry_after: object = None
    """`error.retry_after` exactly as received (validated here)."""
    retry_after_header: str | None = None
    rate_limit_headers: tuple[str, ...] | None = None
    """Which of the x-ratelimit-* headers (spec/tiers.py) a 200 or 429 carried; None when not recorded (another
    answer, or a file written before they were)."""
    request_id: str | None = None
    body: str = ""
    """The request body, so a reported request can be replayed."""
    tier: str | None = None
    """The key's tier when the run was told it (`--tier-key`); else it is read from the key's name."""
    limits: tuple[int, int] | None = None
    """The key's own (images a minute, images a day) when the target's keys file sets them (`--keys`), else None:
    its tier's. Recorded with every request, so a replay of the events judges by them too."""
    stopped: float | None = None
    """When the run's end cut the request short (client clock), so how long it had waited shows; None otherwise."""
    truncated: bool = False
    """No usable answer because its body ended before its Content-Length: a broken connection, as a reset is."""
    error_message: str | None = None
    """An error answer's `error.message`, cut at MAX_MESSAGE_CHARS: shown beside the answer in a reported request (a 400
    said why it refused nothing), and what tells an answer a fault rule injected (`injected`)."""
    injected: bool = False
    """The answer was injected by a fault rule of the target simulator (its message says so, or it is the message of a
    rule listed in the run's namespace, or a `malformed` fault's answer), not given by its rate limiting: such an
    answer ran no face, so it used no quota (docs/control.md), and it is set aside, not judged (`judge`)."""

    def __post_init__(self) -> None:
        if isinstance(self.rate_limit_headers, list):  # as JSON and Locust's messages carry a tuple
            object.__setattr__(self, "rate_limit_headers", tuple(self.rate_limit_headers))


@dataclass(frozen=True)
class ClockAdvance:
    """A POST /_sim/clock/advance the run made: sent at `started`, answered at `finished` (client clock)."""

    started: float
    finished: float
    seconds: float


@dataclass(frozen=True)
class Violation:
    kind: str
    key: str
    message: str
    evidence: tuple[Observation, ...] = ()
    unless_used_before_the_run: bool = False
    """It holds only if the run's requests were the key's only use in that minute and UTC day, which no record shows."""


@dataclass
class KeySummary:
    tier: str | None
    requests: int = 0
    admitted_images: int = 0
    rejected: int = 0
    unknown: int = 0
    cut_by_stop: int = 0
    """Of `unknown`, the requests the run's end cut short."""
    hung: int = 0
    """Of `cut_by_stop`, those that had waited past the hang bound (Verdict.hang_bound): the target hung them."""
    truncated: int = 0
    """Of `unknown`, answers whose body was cut short of its Content-Length."""
    other: int = 0
    """Answers other than 200, 429, a 5xx or none: a key the target does not know, a request it refused."""
    minute_limit_hit: int = 0
    day_limit_hit: int = 0
    injected: int = 0
    """Answers a fault rule of the target injected (Observation.injected): set aside, in no other count."""
    images_per_day: int = 0
    """The key's day limit (its tier's, or its own from `--keys`): whether a bounded run can reach it."""


@dataclass
class HeaderSummary:
    """What the run saw of the headers the API document does not promise: the simulator's x-ratelimit-* headers and a
    429's Retry-After (decisions #1 and #4 of perf-contract). Reported, never counted, as perf-contract's default
    `--judge document` does: a 429 without Retry-After and a target without the x-ratelimit-* headers passed in
    silence, as if they had been checked."""

    answers: int = 0
    """200s and 429s whose headers were recorded."""
    lacking: dict[str, int] = field(default_factory=dict)
    """Per x-ratelimit-* header, the answers without it."""
    incomplete: int = 0
    """Answers without one or more of them."""
    bare: int = 0
    """Answers with none of them."""
    refusals: int = 0
    without_retry_after: int = 0

    def count(self, o: Observation) -> None:
        if o.status == 429:
            self.refusals += 1
            self.without_retry_after += o.retry_after_header is None
        if o.rate_limit_headers is None:
            return
        self.answers += 1
        self.bare += not o.rate_limit_headers
        self.incomplete += len(o.rate_limit_headers) < len(tiers.RATE_LIMIT_HEADERS)
        for name in tiers.RATE_LIMIT_HEADERS:
            if name not in o.rate_limit_headers:
                self.lacking[name] = self.lacking.get(name, 0) + 1

    def notes(self) -> list[str]:
        lines = []
        if self.answers and self.bare == self.answers:
            lines.append(
                "  not judged: the target sends no x-ratelimit-* headers (the simulator's, not the API document's; "
                "perf-contract --judge all checks them)"
            )
        elif self.lacking:
            names = ", ".join(f"{name} ({count})" for name, count in self.lacking.items())
            lines.append(
                f"  not judged: {self.incomplete} of {self.answers} answers (200 or 429) lack x-ratelimit-* "
                f"headers the simulator sends: {names} (not the API document's; perf-contract --judge all checks them)"
            )
        if self.without_retry_after:
            lines.append(
                f"  not judged: {self.without_retry_after} of {self.refusals} 429s carry no Retry-After header (the API "
                "document promises only the body's retry_after, judged above; perf-contract --judge all checks the header)"
            )
        return lines


@dataclass
class Verdict:
    tolerance: float
    missing: str = ""
    """Whose records never arrived (a Locust worker lost), or "": requests unseen may have been admitted, so only what
    a subset of the requests proves is judged (over-admission, an invalid answer), not a 429's reasons."""
    required: str = ""
    """Which limits the run must reach to pass (`--require-limits`): "" none, `minute` each judged tier's minute
    limit, `all` its day limit too. Without it a run too light to reach a limit passes, proving only that no limit
    was exceeded: a CI job asking whether a limit holds cannot tell that pass from a real one."""
    uncertain_advances: int = 0
    """Clock advances the run sent that got no answer: each may or may not have moved the server's clock."""
    uncertain_seconds: float = 0.0
    """Their seconds in all: how much wider they make the interval of every request after them."""
    keys: dict[str, KeySummary] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    headers: HeaderSummary = field(default_factory=HeaderSummary)
    answers: int = 0
    """Admitted answers (200s) with an answer time: those a minute window's over-admission is found by."""
    wide_answers: int = 0
    """Of `answers`, those whose server-time interval spans more than a minute: no minute window can hold them."""
    wide_keys: list[tuple[str, int, int]] = field(default_factory=list)
    """(key, its wide admitted answers, its admitted answers) for each key whose admitted answers are mostly wide."""
    median_round_trip: float = 0.0
    """The admitted answers' median round trip on this machine's clock (s); every answer's when none was admitted."""
    median_width: float = 0.0
    """The admitted answers' median interval of server time (s): the round trip times the compression, plus the
    tolerance."""
    hang_bound: float = 0.0
    """A request the run's end cut after waiting longer than this (s) was hung by the target, not cut short."""
    longest_wait: float = 0.0
    """The longest a request the run's end cut had waited (s), when recorded."""
    fresh_keys: frozenset[str] = frozenset()
    """Keys no use before the run can have touched (minted with a run id made for this run): an under-admission of
    theirs gets no "a key used before the run" note, which there would only send a person after the wrong cause."""
    injected: dict[str, int] = field(default_factory=dict)
    """Answers fault rules injected (Observation.injected), by what they were (`429`, `500`, `malformed 200`)."""
    fault_rules: tuple[str, ...] = ()
    """The fault rules of the target's namespace that could touch the run's requests, each described with how often it
    fired during the run (the Locust run lists them through the control API); empty when none, or not known."""

    @property
    def minute_unjudged(self) -> bool:
        """Decision: when most of a key's admitted answers span more than a minute of server time (a slow target
        under --compress), its minute limit cannot be judged, and the run does not pass: no set of its 200s fits in
        one minute, so a minute limit twice exceeded passed as PASS. Judged per key and over 200s only: 429s cannot
        show over-admission, and another key's quick refusals outnumbering them passed a key judged by nothing."""
        return bool(self.wide_keys)

    def wide_said(self) -> str:
        """Which keys' admitted answers are mostly wider than a minute, and how many."""
        if len(self.wide_keys) == 1:
            key, wide, admitted = self.wide_keys[0]
            return f"{wide} of {admitted} admitted answers of {key} span"
        named = ", ".join(f"{key} {wide} of {admitted}" for key, wide, admitted in self.wide_keys[:MAX_DETAILS])
        more = f" and {len(self.wide_keys) - MAX_DETAILS} more" if len(self.wide_keys) > MAX_DETAILS else ""
        return f"most admitted answers of {len(self.wide_keys)} keys ({named}{more}) span"

    @property
    def judged(self) -> bool:
        """Whether any key of a known tier had a request admitted or refused by a rate limit: else the run proved
        nothing of the limits (every answer a 401, say, or no key of a known tier), and does not pass."""
        return any(s.tier is not None and (s.admitted_images or s.rejected) for s in self.keys.values())

    def unexercised_windows(self) -> list[str]:
        """The windows (`pro minute`, `enterprise day`) of the judged tiers that refused no request: a pass says
        nothing of where those limits lie, only that no run of admissions went past them."""
        hits: dict[str, list[int]] = {}
        for summary in self.keys.values():
            if summary.tier is not None:
                tier_hits = hits.setdefault(summary.tier, [0, 0])
                tier_hits[0] += summary.minute_limit_hit
                tier_hits[1] += summary.day_limit_hit
        return [
            f"{tier} {window}"
            for tier, tier_hits in sorted(hits.items())
            for window, hit in zip(("minute", "day"), tier_hits, strict=True)
            if not hit
        ]

    def out_of_reach(self) -> dict[str, int]:
        """The day windows (`enterprise day`) of the judged tiers that no bounded run can fill, with the lowest day limit
        of the tier's keys: each key's is over MAX_REACHABLE_DAY_IMAGES."""
        days: dict[str, int] = {}
        for summary in self.keys.values():
            if summary.tier is not None:
                days[summary.tier] = min(days.get(summary.tier, summary.images_per_day), summary.images_per_day)
        return {f"{tier} day": day for tier, day in sorted(days.items()) if day > MAX_REACHABLE_DAY_IMAGES}

    def unreached_required(self) -> list[str]:
        """The windows `required` asks to be reached that refused no request; not a day window out of a bounded run's
        reach (`out_of_reach`), which the summary says was not judged, and why."""
        if not self.required:
            return []
        beyond = self.out_of_reach()
        return [
            window
            for window in self.unexercised_windows()
            if (self.required == REQUIRE_ALL and window not in beyond) or window.endswith(" minute")
        ]

    def unanswered(self) -> tuple[int, int]:
        """(requests the target left without a usable answer, all requests): none, or a 5xx, or one the run's end cut
        after the target had hung it past the hang bound; not those cut short while still due an answer (a short run
        stops many in flight)."""
        failed = sum(s.unknown - s.cut_by_stop + s.hung for s in self.keys.values())
        return failed, sum(s.requests for s in self.keys.values())

    @property
    def mostly_unanswered(self) -> bool:
        """Decision: a run in which the target left more than half the requests without a usable answer does not
        pass. Each such request counts as possibly admitted, so the verdict holds, but of a target that was down for
        most of the run: a run whose server died five seconds in passed, and a CI job reading PASS could not tell."""
        unanswered, total = self.unanswered()
        return unanswered * 2 > total

    @property
    def passed(self) -> bool:
        return (
            self.judged
            and not self.violations
            and not self.missing
            and not self.unreached_required()
            and not self.mostly_unanswered
            and not self.minute_unjudged
        )

    def out_of_reach_said(self, windows: Sequence[str]) -> str:
        """Why the day `windows` (of `out_of_reach`) were not judged, and what would bring them in reach."""
        beyond = self.out_of_reach()
        limits = ", ".join(f"{window} ({beyond[window]:,} images a key)" for window in windows)
        fewest = min(math.ceil(beyond[window] / MAX_N) for window in windows)
        return (
            f"{limits}: out of a bounded run's reach (at least {fewest:,} admitted requests on one key, n being at most "
            f"{MAX_N}), so only checked not to be exceeded; give such a key a lower images_per_day in the simulator's keys "
            "file and the run's --keys to reach it, or leave its user class out"
        )

    def injected_notes(self) -> list[str]:
        """What fault rules of the target did in the run: the answers they injected, set aside, and the rules."""
        lines = []
        if self.injected:
            count = sum(self.injected.values())
            kinds = ", ".join(f"{what}: {number}" for what, number in sorted(self.injected.items()))
            lines.append(
                f"  note: {_counted(count, 'answer')} {_was(count)} injected by fault rules in the target ({kinds}), not given by "
                "its rate limiting: set aside, in no other count and judged by nothing (an injected answer runs no face, so "
                "it uses no quota); the rest were judged"
            )
        if self.fault_rules:
            lines.append(f"  note: fault rules in the target: {'; '.join(self.fault_rules)}")
        return lines

    def minute_advice(self) -> str:
        """How the minute windows could be judged against this target: a lower --compress, when one would do."""
        trip = self.median_round_trip
        if trip <= 0:
            return "lower --compress"
        highest = math.floor(tiers.MINUTE_SECONDS / 2 / trip)
        if highest < 1:
            return "the target's answers take more than half a minute, so no run can judge its minute limits"
        return f"lower --compress to at most {highest}" if highest > 1 else "run without --compress"

    def summary(self) -> str:
        lines = [f"rate-limit verdict (clock-skew tolerance {self.tolerance:g} s)"]
        by_tier: dict[str, list[KeySummary]] = defaultdict(list)
        for summary in self.keys.values():
            by_tier[summary.tier or "not judged"].append(summary)
        lines.append(
            f"  {'tier':<12}{'keys':>6}{'requests':>10}{'admitted img':>14}{'429s':>8}{'no answer':>11}{'other':>7}"
            f"{'minute hit':>12}{'day hit':>9}"
        )
        for tier, group in sorted(by_tier.items()):
            lines.append(
                f"  {tier:<12}{len(group):>6}{sum(s.requests for s in group):>10}{sum(s.admitted_images for s in group):>14}"
                f"{sum(s.rejected for s in group):>8}{sum(s.unknown for s in group):>11}{sum(s.other for s in group):>7}"
                f"{sum(s.minute_limit_hit for s in group):>12}{sum(s.day_limit_hit for s in group):>9}"
            )
        unanswered, total = self.unanswered()
        cut = sum(s.cut_by_stop for s in self.keys.values())
        hung = sum(s.hung for s in self.keys.values())
        if not total:
            lines.append("  note: no request was sent (0 users, or the run ended before the first)")
        elif cut == total:
            lines.append(
                f"  note: no answer arrived before the run ended (the longest wait {self.longest_wait:.1f} s): the target is slow "
                "or hung; run longer (-t) or check its latency"
            )
        elif not any(s.rejected or s.admitted_images for s in self.keys.values()):
            other = sum(s.other for s in self.keys.values())
            lines.append(
                f"  note: no request was admitted or rate limited ({unanswered} of {total} without a usable answer, "
                f"{_counted(other, 'other answer')}): check the host (-H, without /v1), that it serves the Perf API, and the keys"
            )
        elif not any(s.rejected for s in self.keys.values()):
            lines.append("  note: no request was rate limited, so no limit was exercised; run longer, with more users or fewer keys")
        else:
            beyond = self.out_of_reach()
            unexercised = self.unexercised_windows()
            if reachable := [window for window in unexercised if window not in beyond]:
                those = "that limit was" if len(reachable) == 1 else "those limits were"
                lines.append(
                    f"  note: no 429 was justified by {', '.join(reachable)}: {those} only checked not to be exceeded, "
                    f"not reached; run longer, with more users or fewer keys of {'that tier' if len(reachable) == 1 else 'those tiers'}"
                )
            if unreachable := [window for window in unexercised if window in beyond]:
                lines.append(f"  note: not judged: {self.out_of_reach_said(unreachable)}")
        kinds = defaultdict(list)
        for violation in self.violations:
            kinds[violation.kind].append(violation)
        for kind in (OVER_ADMISSION, UNDER_ADMISSION, BAD_RETRY_AFTER, WRONG_WAIT, UNEXPECTED_ANSWER):
            found = kinds.get(kind, [])
            lines.append(f"  {kind}: {len(found)}")
            if len(found) > MAX_DETAILS:
                # The first ten can all be one key's: each key is named with its count, so none goes unseen.
                per_key: dict[str, int] = defaultdict(int)
                for violation in found:
                    per_key[violation.key] += 1
                named = ", ".join(f"{key} {count}" for key, count in sorted(per_key.items(), key=lambda item: (-item[1], item[0])))
                lines.append(f"    ({MAX_DETAILS} of {len(found)} shown; by key: {named})")
            for violation in found[:MAX_DETAILS]:
                lines.append(f"    - {violation.key}: {violation.message}")
                lines.extend(f"        {_describe(o)}" for o in violation.evidence[:6])
        if any(violation.unless_used_before_the_run for violation in self.violations):
            lines.append(
                "  note: a key used before the run in the same minute or UTC day (a --tier-key key, a rerun's --run-id) starts "
                "with that use counted, which no record shows: give unused keys, or reset the simulator (POST /_sim/reset), "
                "before reading under-admission, or a wait to midnight while the day had room, as the server's fault"
            )
        if self.missing:
            lines.append(
                f"  note: no records from {self.missing}: their requests may have used any key's quota, so under-admission "
                "and a retry_after's minute bound were not judged"
            )
        if unanswered or cut:
            truncated = sum(s.truncated for s in self.keys.values())
            cut_body = f", or a body cut short of its Content-Length ({truncated}, truncated)" if truncated else ""
            waited = f", or hung by the target: cut by the run's end after waiting over {self.hang_bound:.1f} s ({hung})"
            hung_note = cut_body + (waited if hung else "")
            stopped = f"; {cut - hung} more {_was(cut - hung)} cut short by the run's end" if cut - hung else ""
            lines.append(
                f"  note: {unanswered} of {_counted(total, 'request')} got no usable answer (none, or a 5xx{hung_note}){stopped}: "
                "each counted as possibly admitted at its full n"
            )
        if self.wide_answers:
            lines.append(
                f"  note: minute windows not judged for {self.wide_answers} of {self.answers} admitted answers: each spans more "
                f"than a minute of server time (they took a median {self.median_round_trip:.2f} s here, {self.median_width:.0f} s of "
                f"server time with the clock advances and tolerance)" + (f"; {self.minute_advice()}" if self.minute_unjudged else "")
            )
        if self.uncertain_advances:
            several = self.uncertain_advances > 1
            lines.append(
                f"  note: {self.uncertain_advances} clock advance{'s' if several else ''} ({self.uncertain_seconds:g} s in all) got "
                f"no answer and may or may not have happened: every request after {'them' if several else 'it'} is placed within "
                f"up to {self.uncertain_seconds:g} s more server time, so its windows are judged only within that uncertainty"
            )
        lines.extend(self.headers.notes())
        lines.extend(self.injected_notes())
        if self.violations:
            lines.append(f"VERDICT: FAIL ({_counted(len(self.violations), 'violation')})")
        elif self.missing:
            lines.append(f"VERDICT: INCOMPLETE (no records from {self.missing})")
        elif not self.judged and self.injected:
            lines.append(
                "VERDICT: NOT JUDGED (no request on a key of a known tier was admitted or refused by a rate limit: "
                f"{_counted(sum(self.injected.values()), 'answer')} {_was(sum(self.injected.values()))} injected by fault rules "
                "in the target; remove them, or run in a namespace of its own)"
            )
        elif not self.judged:
            lines.append("VERDICT: NOT JUDGED (no request on a key of a known tier was admitted or refused by a rate limit)")
        elif self.mostly_unanswered:
            lines.append(
                f"VERDICT: NOT JUDGED ({unanswered} of {total} requests got no usable answer: the target was down for most of the run)"
            )
        elif self.minute_unjudged:
            lines.append(
                f"VERDICT: NOT JUDGED (the minute limits: {self.wide_said()} more than a minute of server time, so no minute "
                f"window holds them; {self.minute_advice()})"
            )
        elif unreached := self.unreached_required():
            lines.append(
                f"VERDICT: NOT JUDGED (--require-limits {self.required}: no 429 came from {', '.join(unreached)}; "
                "run longer, with more users or fewer keys of those tiers)"
            )
        else:
            lines.append("VERDICT: PASS")
        return "\n".join(lines)


def _describe(o: Observation) -> str:
    answer = f"{o.status}" if o.status is not None else "no answer"
    if o.status == 200:
        answer += f" ({_counted(o.images, 'image')}, {o.request_id})"
    elif o.status == 429:
        answer += " (retry_after missing)" if o.retry_after is None else f" (retry_after={o.retry_after!r})"
    if o.status != 200 and (o.error_type or o.error_message):
        # The answer's own words: a 400 said which rule the request broke, which the status alone hid.
        message = o.error_message or ""
        shown = message if len(message) <= SHOWN_MESSAGE_CHARS else message[:SHOWN_MESSAGE_CHARS] + "…"
        answer += f" {o.error_type or 'error'}: {shown}" if shown else f" {o.error_type}"
    took = f"+{o.received - o.sent:.3f}s" if o.received is not None else "+?"
    return f"sent {_utc(o.sent)} {took} n={o.n} -> {answer}  body {o.body}"


def _utc(t: float) -> str:
    """A time on this machine's clock as UTC to the millisecond, as logs write it (a raw epoch number matched nothing)."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date(day: int) -> str:
    """A UTC day number (`_day`) as its date: `2026-12-06`, where `UTC day 20793` had to be decoded."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


def _counted(count: int, singular: str, plural: str = "") -> str:
    """`1 answer`, `2 answers`."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def limits_for(o: Observation) -> tiers.Tier | None:
    """The limits of the observation's key: its own when recorded, else its tier's (as the run was told it, else as
    its name says)."""
    tier = o.tier or tiers.tier_named_by(o.key)
    limits = tiers.TIERS.get(tier) if tier else None
    if limits is None or o.limits is None:
        return limits
    per_minute, per_day = o.limits
    return replace(limits, images_per_minute=per_minute, images_per_day=per_day)


class _ServerTime:
    """Bounds of server time for a client-clock interval, given the clock advances the run made."""

    def __init__(self, advances: Sequence[ClockAdvance], tolerance: float) -> None:
        self._tolerance = tolerance
        done = sorted((a.finished, a.seconds) for a in advances)
        begun = sorted((a.started, a.seconds) for a in advances)
        self._done_at = [t for t, _ in done]
        self._done_sum = _running_sums(s for _, s in done)
        self._begun_at = [t for t, _ in begun]
        self._begun_sum = _running_sums(s for _, s in begun)

    def bounds(self, o: Observation) -> tuple[float, float]:
        low = o.sent + self._done_sum[bisect.bisect_right(self._done_at, o.sent)] - self._tolerance
        if o.received is None:
            return low, math.inf
        return low, o.received + self._begun_sum[bisect.bisect_right(self._begun_at, o.received)] + self._tolerance


def _running_sums(values: Iterable[float]) -> list[float]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _day(t: float) -> int:
    return int(t // tiers.DAY_SECONDS)


@dataclass(frozen=True)
class _Placed:
    low: float
    high: float
    images: int
    observation: Observation


@dataclass(frozen=True)
class _Admitted:
    """A key's certain admissions (its 200s), by earliest time, with what the wait checks look up in them."""

    placed: list[_Placed]
    lows: list[float]
    before: list[int]
    """`before[i]`: the images of the first i."""
    widest: float
    """The widest interval of any: only those sent that long before a moment can be answered after it."""

    @classmethod
    def of(cls, placed: Iterable[_Placed]) -> _Admitted:
        ordered = sorted(placed, key=lambda p: p.low)
        widest = max((p.high - p.low for p in ordered), default=0.0)
        return cls(ordered, [p.low for p in ordered], [0, *accumulate(p.images for p in ordered)], widest)


def _judge_key(key: str, tier: tiers.Tier, placed: list[tuple[float, float, Observation]], verdict: Verdict) -> None:
    summary = verdict.keys[key]
    answered = [(lo, hi, o) for lo, hi, o in placed if o.status == 200 and _malformed_200(o) is None]
    certain = _Admitted.of(_Placed(lo, hi, o.images, o) for lo, hi, o in answered)
    admitted = certain.placed
    # Requests without a usable answer may have been admitted: they count against the quota, at full n (a 200 with
    # the wrong number of images at the larger of the two: which one the server charged, its answer does not show).
    maybe = admitted + [
        _Placed(lo, hi, max(o.n, o.images), o)
        for lo, hi, o in placed
        if o.status is None or o.status >= 500 or (o.status == 200 and _malformed_200(o) is not None)
    ]
    maybe.sort(key=lambda p: p.low)
    rejected = [(lo, hi, o) for lo, hi, o in placed if o.status == 429]

    _check_over_admission(key, tier, admitted, verdict)
    finite = [p for p in maybe if p.high != math.inf]
    unbounded = [p for p in maybe if p.high == math.inf]
    lows = [p.low for p in finite]
    images_before = [0, *accumulate(p.images for p in finite)]
    widest = max((p.high - p.low for p in finite), default=0.0)

    for low, high, o in rejected:
        start = bisect.bisect_right(lows, low - tiers.MINUTE_SECONDS - widest)
        stop = bisect.bisect_right(lows, high)
        in_minute = [p for p in finite[start:stop] if p.high > low - tiers.MINUTE_SECONDS] + [p for p in unbounded if p.low <= high]
        minute_used = sum(p.images for p in in_minute)
        # The images the 429's day may hold when it was decided: those of requests sent before its answer came and
        # answered after its day began. Not the whole day's: admissions after the 429 cannot have refused it, and a
        # day that ends full would otherwise excuse every 429 of it, leaving its waits and refusals unjudged.
        midnight = _day(low) * tiers.DAY_SECONDS
        day_start = bisect.bisect_left(lows, midnight)
        across = finite[bisect.bisect_left(lows, midnight - widest) : day_start]
        day_used = (
            images_before[stop]
            - images_before[day_start]
            + sum(p.images for p in across if p.high >= midnight)
            + sum(p.images for p in unbounded if p.low <= high)
        )
        day_full = day_used + o.n > tier.images_per_day
        day_may_bind = bool(verdict.missing) or _day(low) != _day(high) or day_full
        minute_full = minute_used + o.n > tier.images_per_minute
        at_midnight = _points_at_midnight(o.retry_after, low, high)
        # Which window refused it, for the table: the day when it may be full, or when the server says so and the
        # minute had room; else the minute when it is full.
        if day_full or (at_midnight and not minute_full):
            summary.day_limit_hit += 1
        elif minute_full:
            summary.minute_limit_hit += 1
        if not day_may_bind and not minute_full:
            evidence = (o, *(p.observation for p in in_minute))
            said = f" (its retry_after {o.retry_after} is the wait to the server's UTC midnight: the server says the day is full)"
            verdict.violations.append(
                Violation(
                    UNDER_ADMISSION,
                    key,
                    f"429 for n={o.n} although at most {minute_used} of {tier.images_per_minute} images/minute "
                    f"and {day_used} of {tier.images_per_day} images/day were used ({tier.name} tier)" + (said if at_midnight else ""),
                    evidence,
                    unless_used_before_the_run=key not in verdict.fresh_keys,
                )
            )
        # A wait to the day's end is the under-admission above (one cause, counted once), not also a bad retry_after.
        problem = _retry_after_problem(o, day_may_bind or at_midnight)
        if problem:
            verdict.violations.append(Violation(BAD_RETRY_AFTER, key, problem, (o,)))
        elif not day_may_bind and minute_full and at_midnight:
            verdict.violations.append(
                Violation(
                    WRONG_WAIT,
                    key,
                    f"429 for n={o.n} with retry_after {o.retry_after}, the wait to the server's UTC midnight, but at most "
                    f"{day_used} of {tier.images_per_day} images/day were used ({tier.name} tier): only the minute window "
                    f"can have been full, and it frees within {tiers.MINUTE_SECONDS} s",
                    (o, *(p.observation for p in in_minute)),
                    unless_used_before_the_run=key not in verdict.fresh_keys,
                )
            )
        elif not day_may_bind and minute_full:
            assert isinstance(o.retry_after, int)  # a valid one, as _retry_after_problem found
            wrong = _wrong_wait(o.retry_after, low, high, o, tier, certain, finite[start:stop], unbounded)
            if wrong is not None:
                verdict.violations.append(Violation(WRONG_WAIT, key, *wrong))
        elif day_full:
            assert isinstance(o.retry_after, int)  # a valid one, as _retry_after_problem found
            wrong = _wrong_day_wait(o.retry_after, low, high, o, tier, certain)
            if wrong is not None:
                verdict.violations.append(Violation(WRONG_WAIT, key, *wrong))


def _check_over_admission(key: str, tier: tiers.Tier, admitted: list[_Placed], verdict: Verdict) -> None:
    """Sets of 200s that must lie within one 60-second span (one UTC day) but exceed the limit."""
    for i, anchor in enumerate(admitted):
        window = [anchor]
        for other in admitted[i + 1 :]:
            if other.low >= anchor.low + tiers.MINUTE_SECONDS:
                break
            if other.high < anchor.low + tiers.MINUTE_SECONDS:
                window.append(other)
        total = sum(p.images for p in window)
        if total > tier.images_per_minute:
            span = max(p.high for p in window) - anchor.low
            verdict.violations.append(
                Violation(
                    OVER_ADMISSION,
                    key,
                    f"{total} images admitted within {span:.1f} s; the {tier.name} tier allows {tier.images_per_minute} per minute",
                    tuple(p.observation for p in window),
                )
            )
            break  # one report per key: the rest are the same excess seen from later anchors
    per_day: dict[int, list[_Placed]] = defaultdict(list)
    for p in admitted:
        if _day(p.low) == _day(p.high):
            per_day[_day(p.low)].append(p)
    for day, group in sorted(per_day.items()):
        total = sum(p.images for p in group)
        if total > tier.images_per_day:
            verdict.violations.append(
                Violation(
                    OVER_ADMISSION,
                    key,
                    f"{total} images admitted on {_date(day)} (UTC); the {tier.name} tier allows {tier.images_per_day} per day",
                    tuple(p.observation for p in group[-3:]),
                )
            )


def _wrong_wait(
    retry_after: int,
    low: float,
    high: float,
    o: Observation,
    tier: tiers.Tier,
    admitted: _Admitted,
    nearby: list[_Placed],
    unbounded: list[_Placed],
) -> tuple[str, tuple[Observation, ...]] | None:
    """Why the minute window's 429 `o` (server time in [low, high]) had `retry_after` other than its real wait, with
    the evidence; None when some placement of the requests makes it right.

    The wait is the whole seconds until the images admitted before the 429 leave room in its minute window for the
    same request (spec/tiers.py); what other clients of the key are admitted after it is not the 429's to foresee.
    Too short: the 200s certainly sent before it and certainly still in its window `retry_after` seconds later
    already fill it. Too long: even counting every request that may have been admitted before it and may still be
    in its window a second earlier (those without an answer too), it had room. `nearby` holds the finite placements
    of requests that may have been admitted whose earliest time is within a minute and the widest interval of the
    429."""
    room = tier.images_per_minute - o.n
    start = bisect.bisect_right(admitted.lows, high + retry_after - tiers.MINUTE_SECONDS)
    staying = [p for p in admitted.placed[start : bisect.bisect_left(admitted.lows, low)] if p.high < low]
    kept = sum(p.images for p in staying)
    if kept > room:
        return (
            f"429 for n={o.n} with retry_after {retry_after}, but {kept} images admitted before "
            f"it are still in its minute window {retry_after} s later ({tier.name} tier: {tier.images_per_minute}/minute): "
            "a client retrying then is refused again",
            (o, *(p.observation for p in staying)),
        )
    if retry_after < 2:
        return None
    earlier = low + retry_after - 1 - tiers.MINUTE_SECONDS
    possible = [p for p in [*nearby, *unbounded] if p.low < high and p.high > earlier]
    at_most = sum(p.images for p in possible)
    if at_most <= room:
        return (
            f"429 for n={o.n} with retry_after {retry_after}, but at most {at_most} images admitted "
            f"before it can still be in its minute window {retry_after - 1} s later ({tier.name} tier: "
            f"{tier.images_per_minute}/minute): the request would have been admitted sooner",
            (o, *(p.observation for p in possible)),
        )
    return None


def _wrong_day_wait(
    retry_after: int,
    low: float,
    high: float,
    o: Observation,
    tier: tiers.Tier,
    admitted: _Admitted,
) -> tuple[str, tuple[Observation, ...]] | None:
    """Why the 429 `o` (server time in [low, high]) of a day the run's own 200s certainly filled had `retry_after`
    other than the wait to the server's UTC midnight, with the evidence; None when the day is not certainly full, or
    the wait is right. Certainly filled: 200s certainly admitted that day before it (sent after its midnight,
    answered before the 429 was sent) hold more than the day limit less n. Use the records do not show (before the
    run, a lost worker) only fills the day further, so nothing excuses a shorter wait. Longer is right only as far as
    the minute window, which carries over midnight, can require: at most a minute. Without this check any wait from
    1 to 86,400 s passed once the day was full (a server saying 60, as the API document's example does, passed)."""
    if _day(low) != _day(high):
        return None
    day = _day(low)
    lows, placed = admitted.lows, admitted.placed
    start = bisect.bisect_left(lows, day * tiers.DAY_SECONDS)
    stop = bisect.bisect_left(lows, low)
    straddling = [p for p in placed[max(start, bisect.bisect_left(lows, low - admitted.widest)) : stop] if p.high >= low]
    certain = admitted.before[stop] - admitted.before[start] - sum(p.images for p in straddling)
    if certain + o.n <= tier.images_per_day:
        return None
    shortest = tiers.seconds_to_utc_midnight(high)
    longest = max(tiers.seconds_to_utc_midnight(low), tiers.MINUTE_SECONDS)
    if shortest <= retry_after <= longest:
        return None
    expected = f"{shortest} s" if shortest == longest else f"{shortest} to {longest} s"
    return (
        f"429 for n={o.n} with retry_after {retry_after}, but {certain} images were certainly admitted before it on "
        f"{_date(day)} (UTC; {tier.name} tier: {tier.images_per_day}/day): the day is full, so the wait is to the server's UTC "
        f"midnight, {expected}",
        (o, *(p.observation for p in placed[max(start, stop - 3) : stop] if p not in straddling)),
    )


def _points_at_midnight(retry_after: object, low: float, high: float) -> bool:
    """Whether `retry_after` is what the spec's day window refuses with at a server time in [low, high] (the whole
    seconds to the next UTC midnight), also when the day was filled before the run (a key reused the same day). Not
    a wait of a minute or less: within a minute of midnight that is also what the minute window can say."""
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or _day(low) != _day(high):
        return False
    if retry_after <= tiers.MINUTE_SECONDS:
        return False
    return tiers.seconds_to_utc_midnight(high) <= retry_after <= tiers.seconds_to_utc_midnight(low)


_EXPECTED_ANSWERS = "expected a 200 with n images, or a 429"


def _malformed_200(o: Observation) -> str | None:
    """What makes a 200 not the generation answer its request asked for, or None. A 200 with fewer images than n
    read as fewer images admitted, so the 429s after it were blamed as under-admissions instead of the answer."""
    if o.not_an_answer:
        return "not a generation answer"
    if o.images != o.n:
        return f"with {o.images} images for n={o.n}"
    return None


def _retry_after_problem(o: Observation, day_may_bind: bool) -> str | None:
    value = o.retry_after
    if o.error_type != errors.RATE_LIMIT_EXCEEDED:
        return f"429 with error type {o.error_type!r}, expected {errors.RATE_LIMIT_EXCEEDED!r}"
    if value is None:
        return "429 without error.retry_after (missing or null): a client cannot tell how long to wait"
    if isinstance(value, bool) or not isinstance(value, int):
        return f"429 with retry_after {value!r}: not an integer number of seconds"
    if not 1 <= value <= MAX_RETRY_AFTER:
        return f"429 with retry_after {value}: outside 1..{MAX_RETRY_AFTER}"
    if o.retry_after_header is not None and o.retry_after_header.strip() != str(value):
        return f"429 with retry_after {value} but Retry-After header {o.retry_after_header!r}"
    if not day_may_bind and value > tiers.MINUTE_SECONDS:
        return f"429 with retry_after {value} although only the minute window can be full (at most {tiers.MINUTE_SECONDS})"
    return None


def judge(
    observations: Iterable[Observation],
    advances: Sequence[ClockAdvance] = (),
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    missing: str = "",
    required: str = "",
    fresh_keys: Iterable[str] = (),
    fault_rules: Iterable[str] = (),
) -> Verdict:
    """`missing` names whose records never arrived (see Verdict.missing); `required` the limits the run must reach;
    `fresh_keys` the keys nothing can have used before the run, `fault_rules` the target's rules (Verdict's fields)."""
    every = list(observations)
    verdict = Verdict(tolerance, missing, required, fresh_keys=frozenset(fresh_keys), fault_rules=tuple(fault_rules))
    # Decision: an answer a fault rule injected is set aside, and the rest are judged: it ran no face, so it used no
    # quota (docs/control.md), and leaving it out keeps every other request's accounting exact. Judged with the rest, a
    # 429 rule read as under-admission blamed on reused keys, and a 500 rule as a target down for most of the run.
    observations = []
    for o in every:
        if o.injected:
            tier = limits_for(o)
            summary = verdict.keys.setdefault(o.key, KeySummary(tier.name if tier else None))
            summary.injected += 1
            summary.images_per_day = tier.images_per_day if tier else 0
            what = f"{o.status} not a generation answer" if o.status == 200 else str(o.status or "no answer")
            verdict.injected[what] = verdict.injected.get(what, 0) + 1
        else:
            observations.append(o)
    trips = [(o.status, o.received - o.sent) for o in observations if o.received is not None]
    # Decision: the round trips of 200s, the answers that did the work: quick 429s, the most of a run past its limits,
    # pulled the median (and the hang bound) under an ordinary generation's time, and called generations still in
    # flight at the run's end hung. Every answer's when none was admitted.
    round_trips = sorted(trip for status, trip in trips if status == 200) or sorted(trip for _, trip in trips)
    verdict.median_round_trip = round_trips[len(round_trips) // 2] if round_trips else 0.0
    # Decision: a request the run's end cut after waiting ten times the median admitted answer, and at least
    # HUNG_SECONDS, was hung by the target: an outage. A target hanging many requests (every user stuck a second in)
    # passed.
    verdict.hang_bound = max(HUNG_SECONDS, 10 * verdict.median_round_trip)
    widths: dict[str, list[float]] = defaultdict(list)
    uncertain = [advance.seconds for advance in advances if math.isinf(advance.finished)]
    verdict.uncertain_advances, verdict.uncertain_seconds = len(uncertain), sum(uncertain)
    server_time = _ServerTime(advances, tolerance)
    by_key: dict[str, list[tuple[float, float, Observation]]] = defaultdict(list)
    limits: dict[str, tiers.Tier] = {}
    unexpected: dict[tuple[str, int, str | None], list[Observation]] = defaultdict(list)
    for o in observations:
        tier = limits_for(o)
        summary = verdict.keys.setdefault(o.key, KeySummary(tier.name if tier else None))
        summary.requests += 1
        summary.images_per_day = tier.images_per_day if tier else 0
        if o.status == 200 and (malformed := _malformed_200(o)) is not None:
            summary.other += 1
            unexpected[(o.key, 200, malformed)].append(o)
        elif o.status == 200:
            summary.admitted_images += o.images
            verdict.headers.count(o)
        elif o.status == 429:
            summary.rejected += 1
            verdict.headers.count(o)
        elif o.status is None or o.status >= 500:
            summary.unknown += 1
            summary.cut_by_stop += o.cut_by_stop
            summary.truncated += o.truncated
            if o.cut_by_stop and o.stopped is not None:
                waited = o.stopped - o.sent
                verdict.longest_wait = max(verdict.longest_wait, waited)
                summary.hung += waited > verdict.hang_bound
        else:
            summary.other += 1
            unexpected[(o.key, o.status, o.error_type)].append(o)
        bounds = server_time.bounds(o)
        if o.status == 200 and o.received is not None:
            widths[o.key].append(bounds[1] - bounds[0])
        if tier:
            limits[o.key] = tier
            by_key[o.key].append((*bounds, o))
    for key, key_widths in sorted(widths.items()):
        wide = sum(width > tiers.MINUTE_SECONDS for width in key_widths)
        verdict.answers += len(key_widths)
        verdict.wide_answers += wide
        if wide * 2 > len(key_widths):
            verdict.wide_keys.append((key, wide, len(key_widths)))
    every_width = sorted(width for key_widths in widths.values() for width in key_widths)
    verdict.median_width = every_width[len(every_width) // 2] if every_width else 0.0
    for key, placed in sorted(by_key.items()):
        _judge_key(key, limits[key], placed, verdict)
    # Decision: every request the run sends is valid, so an answer other than 200, 429 or an outage is the target's
    # fault, or a key it does not know: either way the limits were not what was tested.
    for (key, status, error_type), answered in sorted(unexpected.items(), key=lambda item: (item[0][0], item[0][1])):
        said = f"{status} {error_type}" if error_type else str(status)
        verdict.violations.append(
            Violation(
                UNEXPECTED_ANSWER,
                key,
                f"{_counted(len(answered), 'answer')} {said} to valid requests ({_EXPECTED_ANSWERS})",
                tuple(answered[:3]),
            )
        )
    return verdict


def _strict(value: Any) -> Any:
    """`value` with every non-finite float (a target's `retry_after: NaN`) as its text, which JSON can hold and the
    verdict judges the same (not an integer)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    return value


def write_events(path: Path, observations: Iterable[Observation], advances: Iterable[ClockAdvance]) -> None:
    """One JSON line per clock advance and request, then an `end` line counting them, so a replay can tell a whole
    file from one cut short. An advance without an answer (lost, or the run stopped first) has `finished` null (JSON has no
    infinity; the json module's `Infinity` broke other readers)."""
    written = {"advances": 0, "requests": 0}
    with path.open("w") as out:
        for advance in advances:
            fields = asdict(advance)
            fields["finished"] = None if math.isinf(advance.finished) else advance.finished
            out.write(json.dumps({"advance": fields}) + "\n")
            written["advances"] += 1
        for o in observations:
            out.write(json.dumps({"request": _strict(asdict(o))}) + "\n")
            written["requests"] += 1
        out.write(json.dumps({"end": written}) + "\n")


HUNG_SECONDS = 2.0
"""The shortest wait after which a request the run's end cut counts as hung by the target (see `judge`)."""

MAX_TOLERANCE_SECONDS = 30.0
"""Decision: widened by more than this each side, no request can be placed within a minute window, so every check
stops judging without a word (a server always answering retry_after 60 passed at 30 s); and `inf` crashed the
verdict after the whole run, a huge finite one exhausted memory walking its days."""


def tolerance_problem(tolerance: float) -> str | None:
    """What is wrong with a clock-skew tolerance, or None: a negative one makes a correct server fail."""
    if not 0 <= tolerance <= MAX_TOLERANCE_SECONDS:
        return f"--tolerance must be from 0 to {MAX_TOLERANCE_SECONDS:g} seconds (wider, no minute window can be judged), got {tolerance:g}"
    return None


def read_events(paths: Iterable[Path]) -> tuple[list[Observation], list[ClockAdvance]]:
    """The events of the files; ValueError naming the file (and line) of one a run did not write whole, OSError for a
    file that cannot be read."""
    observations: list[Observation] = []
    advances: list[ClockAdvance] = []
    seen: set[Path] = set()
    for path in paths:
        if (resolved := path.resolve()) in seen:
            raise ValueError(f"{path}: given twice: its requests would be judged twice (a false over-admission)")
        seen.add(resolved)
        counted: dict[str, int] | None = None
        read = {"advances": 0, "requests": 0}
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            if counted is not None:
                raise ValueError(f"{path}:{number}: an event after the file's end line: files joined together? give each one")
            try:
                event = json.loads(line)
                if "advance" in event:
                    fields = dict(event["advance"])
                    fields["finished"] = math.inf if fields.get("finished") is None else fields["finished"]
                    advances.append(ClockAdvance(**fields))
                    read["advances"] += 1
                elif "request" in event:
                    observations.append(_observation(event["request"]))
                    read["requests"] += 1
                else:
                    counted = {"advances": int(event["end"]["advances"]), "requests": int(event["end"]["requests"])}
            except KeyError as exc:
                raise ValueError(f"{path}:{number}: not an event a run recorded (--verdict-events): no field {exc}") from None
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not an event a run recorded (--verdict-events): {exc}") from None
        if counted is None:
            raise ValueError(f"{path}: no end line: the file was cut short (or written by a run before the end line was)")
        if counted != read:
            raise ValueError(f"{path}: its end line counts {counted} but the file holds {read}: lines were lost")
    return observations, advances


def _observation(fields: dict[str, Any]) -> Observation:
    """A recorded request; ValueError naming the fields a run of this version does not write."""
    known = {f.name for f in dataclass_fields(Observation)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"fields {', '.join(unknown)} are not a request's here (a file from another version of perf-image-sim?)")
    return Observation(**fields)


REQUIRE_MINUTE, REQUIRE_ALL = "minute", "all"


def add_require_limits(parser: Any) -> None:
    """The option both the Locust run (`parser` a configargparse group of Locust's) and `python -m load.verdict` take."""
    parser.add_argument(
        "--require-limits",
        choices=(REQUIRE_MINUTE, REQUIRE_ALL),
        default="",
        help="pass only if every judged tier's minute limit (minute), or its day limit too (all), refused a request",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.verdict", description="Judge recorded load-run events against the tiers' limits.")
    parser.add_argument("events", nargs="+", type=Path, help="JSON-lines files written by a run (--verdict-events)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_SECONDS, help="clock-skew tolerance in seconds")
    add_require_limits(parser)
    args = parser.parse_args(argv)
    problem = tolerance_problem(args.tolerance)
    if problem is not None:
        parser.error(problem)
    try:
        observations, advances = read_events(args.events)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))  # exit status 2: nothing was judged, which a violation's 1 must not be mistaken for
    verdict = judge(observations, advances, args.tolerance, required=args.require_limits)
    print(verdict.summary())
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
