"""The document's Rate Limits table held against the images a key is admitted, whatever the target's headers say.

The document fixes each tier's images a minute (spec/tiers.py holds the figures). The x-ratelimit-* headers are the
simulator's decision: a target whose free tier admits 6 a minute, and whose headers say 6, kept to its own headers
and passed, with exit 0. So admissions are counted against the tier, not against the headers.

Only an over-admission is judged here, because only it is provable: other clients on the key can only take images
from it, so more images admitted to the suite alone than the tier allows is the target's fault. Fewer may be another
client's doing, and the rules that expect the whole limit say so ("is another client using it?").

Admissions count together only while they surely share one window: from the first one sent to the last one
answered, less than a minute (with EDGE on each side). Inside one UTC minute of the client's clock, MINUTE_TURN_MARGIN
away from its turn, every reading of "a minute" agrees, and the rule is the document's; a burst across the turn of a
minute meets two minutes of a fixed window, and there only the sliding window (the simulator's decision) says the
limit holds for it, as for the paid tiers (contract_tests/test_paid_tiers.py). On the simulator's manual clock no
time passes between requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from contract_tests import decisions
from contract_tests.exchange import Exchange
from contract_tests.sources import DOCUMENT
from contract_tests.violations import expect
from spec import tiers

WINDOW = tiers.MINUTE_SECONDS
# Seconds of slack for the server's clock granularity and the network on each edge of the window.
EDGE = 0.5
# Seconds from the turn of a UTC minute within which a burst from an idle key is not started (contract_tests.ledger),
# and admissions are not judged by the document's minute: a target's clock may be that far off this machine's.
MINUTE_TURN_MARGIN = 4.0


def admitted_images(exchange: Exchange) -> int:
    """The images an admission took: its data's length, else the n it asked for (1 by default)."""
    body = exchange.json()
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        return len(data)
    try:
        asked = json.loads(exchange.request_body or b"{}")
    except ValueError:
        return 1
    n = asked.get("n") if isinstance(asked, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def _wall(monotonic: float) -> float:
    return monotonic + time.time() - time.monotonic()


def _fullest_minute(admitted: list[Exchange], clock_stopped: bool) -> list[Exchange]:
    """The admissions, in the order sent, that surely share one minute window and hold the most images."""
    if clock_stopped:
        return admitted
    best: list[Exchange] = []
    for start, first in enumerate(admitted):
        together = [e for e in admitted[start:] if e.received_at - first.sent_at < WINDOW - 2 * EDGE]
        if sum(map(admitted_images, together)) > sum(map(admitted_images, best)):
            best = together
    return best


def _one_window_by_its_headers(admitted: list[Exchange]) -> bool:
    """Whether the target's own headers show the admissions counted in one window of its: every one's remaining
    images different, as one window's count runs down (in any order, so concurrent answers count too). A value met
    twice means the window turned, or images left it, between them; without the header nothing is shown."""
    remaining = [e.header(tiers.HEADER_REMAINING_MINUTE) for e in admitted]
    return None not in remaining and len(set(remaining)) == len(remaining)


def _distinct(exchanges: list[Exchange]) -> list[Exchange]:
    """Each exchange once, in order (an exchange is not hashable: compared by identity)."""
    return [e for i, e in enumerate(exchanges) if all(e is not other for other in exchanges[:i])]


def _requests(admitted: list[Exchange]) -> str:
    """The admissions as a person counts them: "6 one-image requests", "3 requests for 7 images (n = 2, 2, 3)"."""
    sizes = [admitted_images(e) for e in admitted]
    if all(size == 1 for size in sizes):
        return f"{len(sizes)} one-image requests"
    return f"{len(sizes)} requests for {sum(sizes)} images (n = {', '.join(map(str, sizes))})"


def burst_end(admitted: int, refused: bool, most: str) -> str:
    """How a burst of one-image requests sent until the first refusal ended: `most` says the bound the suite stopped
    at when none came ("the free tier's 5 + 2"). "7 were admitted before the first refusal" was said of a burst the
    suite itself stopped, its last answer a 200."""
    if refused:
        return f"{admitted} one-image requests were admitted before the first refusal"
    return f"the suite stopped after {admitted} one-image admissions ({most}) without a refusal"


def _clock(monotonic: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(_wall(monotonic)))


def _case_count(own: Sequence[Exchange]) -> str:
    """What the case's own requests got: "this case had 2 one-image requests admitted and 1 refused"."""
    admitted = [e for e in own if e.status == 200]
    refused = len(own) - len(admitted)
    return f"this case had {_requests(admitted) + ' admitted' if admitted else 'no request admitted'}" + (
        f" and {refused} refused" if refused else ""
    )


def _by_origin(together: list[Exchange], own: Sequence[Exchange], origin: Callable[[Exchange], str]) -> str:
    """The admissions grouped by who made them, each group's first at its UTC clock time: "5 one-image requests by the
    real-time run 'limit and retry' from 10:42:20 UTC, 2 one-image requests by this case from 10:42:41 UTC"."""
    groups: dict[str, list[Exchange]] = {}
    for exchange in together:
        by = "this case" if any(exchange is e for e in own) else origin(exchange) or "an earlier rule"
        groups.setdefault(by, []).append(exchange)
    return ", ".join(f"{_requests(group)} by {by} from {_clock(group[0].sent_at)} UTC" for by, group in groups.items())


def check_minute_limit(
    tier: tiers.Tier,
    exchanges: Sequence[Exchange],
    key_option: str,
    clock_stopped: bool,
    own: Sequence[Exchange] | None = None,
    origin: Callable[[Exchange], str] | None = None,
) -> bool:
    """No more images admitted within one minute than `tier`'s limit, the document's; False when more were.

    `exchanges` are the suite's own requests on one key (`key_option` names the option that gave it); admissions
    only count (refusals are shown beside them). `own`, with `origin`: the case's own requests, when `exchanges` are
    the key's ledger, earlier rules' admissions too. The finding then leads with the case's own count and names who
    made the admissions it shows and when: a case showing, as its evidence, requests a real-time run made a minute
    before it (and another case the same ones) read as requests it never sent."""
    # Each once: a burst's last admission is also the answer it ended on ([*admitted, last]), and was counted twice.
    admitted = sorted(_distinct([e for e in exchanges if e.status == 200]), key=lambda e: e.sent_at)
    together = _fullest_minute(admitted, clock_stopped)
    images = sum(map(admitted_images, together))
    limit = tier.images_per_minute
    if not together or images <= limit:
        return True
    first, last = together[0], together[-1]
    # Widened by the margin: a target's clock a few seconds off this machine's turns its fixed minute a few seconds
    # off ours, so admissions near our turn may straddle its. Unless its headers show one window of its counted them.
    crossed = (
        not clock_stopped
        and not _one_window_by_its_headers(together)
        and int((_wall(first.sent_at) - MINUTE_TURN_MARGIN) // WINDOW) != int((_wall(last.received_at) + MINUTE_TURN_MARGIN) // WINDOW)
    )
    running, over = 0, last
    for exchange in together:
        running += admitted_images(exchange)
        if running > limit:
            over = exchange
            break
    stated = last.header(tiers.HEADER_LIMIT_MINUTE)
    span = "on the simulator's stopped clock" if clock_stopped else f"within {last.received_at - first.sent_at:.1f} s"
    refused = [e for e in exchanges if e.status != 200 and e.sent_at >= last.received_at][:1]
    said = f"{_requests(together)} were admitted on a {tier.name} key ({key_option}) {span}"
    if own is not None and origin is not None and not all(any(e is mine for mine in own) for e in together):
        said = f"{_case_count(own)}; counted with the suite's earlier admissions on this key, {said} ({_by_origin(together, own, origin)})"
    return expect(
        False,
        f"A {tier.name} key is admitted at most {limit} images a minute (the document's Rate Limits table)",
        f"{said}; "
        f"the {tier.name} tier's limit is {limit} images a minute, so a 429 was due after {limit}"
        + (f" (the target's {tiers.HEADER_LIMIT_MINUTE} says {stated})" if stated is not None and stated != str(limit) else "")
        + (
            f"; the burst crossed the turn of a UTC minute (or came within {MINUTE_TURN_MARGIN:g} s of it: a target's clock may "
            "be that far off), where only a sliding window holds it to one limit"
            if crossed
            else ""
        ),
        *_distinct([first, over, *refused]),
        cause=f"a {tier.name} key is admitted more than {limit} images a minute",
        source=decisions.SLIDING_WINDOW if crossed else DOCUMENT,
    )


def check_never_admitted(tier: tiers.Tier, exchange: Exchange, key_option: str) -> bool:
    """A request for more images than `tier`'s minute can ever hold is refused (the document's limit); False when
    it was admitted. How it is refused (400 on n, the simulator's, or 429) is a decision the caller holds."""
    n = admitted_images(exchange)
    return expect(
        exchange.status != 200,
        f"A request for more images than the {tier.name} tier's {tier.images_per_minute} a minute is never admitted "
        "(the document's Rate Limits table)",
        f"a request for n={n} on a {tier.name} key ({key_option}) got HTTP 200 with {n} images; the {tier.name} tier's "
        f"limit is {tier.images_per_minute} images a minute",
        exchange,
        cause=f"a {tier.name} key is admitted more than {tier.images_per_minute} images a minute",
        source=DOCUMENT,
    )
