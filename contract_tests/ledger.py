"""What the suite knows about a key's minute window when the clock cannot be moved: its own admissions, each
between the moment it was sent and the moment its answer came back.

From that it bounds, for any answer, the images the server must be counting, so real-time rules are judged
soundly on a real clock: a check is made only where no admission can be on the edge of the window. A key is
used by one rule at a time (`KeyPool.checkout`); the keys must not be used by anyone else during the run.

The x-ratelimit-* headers are the simulator's decision (spec/tiers.py): against a target without them the ledger
is all the suite knows, so a key is lent only once every one of its admissions has left the window (idle), and 4 s
or more from the turn of a UTC minute (`wait_until_idle`), and its whole minute limit remains, whatever window
(sliding or fixed) the target keeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from contract_tests import decisions
from contract_tests.client import GENERATIONS_PATH, ContractClient
from contract_tests.exchange import Exchange
from contract_tests.tier_limit import EDGE, MINUTE_TURN_MARGIN, admitted_images
from contract_tests.violations import expect
from spec import tiers

WINDOW = tiers.MINUTE_SECONDS
MAX_SETTLE_ROUNDS = 4
PROBE_BODY = {"prompt": "A pebble on a beach", "model": "dall-e-2", "size": "256x256", "n": 0}


@dataclass(frozen=True)
class Admitted:
    sent: float
    received: float
    n: int
    exchange: Exchange | None = field(default=None, compare=False, repr=False)
    """The admission itself, for a finding to show (the tier's limit over all of a key's admissions)."""
    by: str = ""
    """Who held the key when it was admitted (`KeyPool.checkout`): a finding shown in another rule's case names it."""


class Probed(NamedTuple):
    """What an n=0 request's headers show of the minute window: remaining is None without the headers."""

    exchange: Exchange
    remaining: int | None
    reset: int
    stated_limit: int | None
    """The target's own x-ratelimit-limit-images: what its remaining header counts down from."""


class Settled(NamedTuple):
    """A settled key: the probe, the images it shows remaining, and the limit they count down from (the target's
    stated one, else the tier's): remaining == limit is an empty window, whatever limit the target keeps."""

    probe: Exchange
    remaining: int
    limit: int


@dataclass
class KeyLedger:
    key: str
    limit: int
    """The tier's images a minute, the document's (spec/tiers.py): never the target's headers."""
    admissions: list[Admitted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stated_limit_said: bool = False
    """Whether a stated limit other than the tier's was reported: once per key, not at every probe."""
    holder: str = ""
    """Who the key is lent to now, as a person reads it ("test_rate_limits::test_429_envelope", "the real-time run
    'limit and retry'"); "" when nobody borrowed it (the manual clock's cases share the first key)."""

    def observe(self, exchange: Exchange) -> None:
        """Record an admission made on this key (the client calls this for every exchange)."""
        if exchange.status != 200 or not exchange.url.endswith(GENERATIONS_PATH):
            return
        authorization = next((v for k, v in exchange.request_headers.items() if k.lower() == "authorization"), None)
        if authorization != f"Bearer {self.key}":
            return
        self.admissions.append(Admitted(exchange.sent_at, exchange.received_at, admitted_images(exchange), exchange, self.holder))

    def admitted(self) -> list[Exchange]:
        """Every admission of the suite's on this key, as the exchanges that got them."""
        return [a.exchange for a in self.admissions if a.exchange is not None]

    def origin(self, exchange: Exchange) -> str:
        """Who made the admission `exchange` (the key's holder then), or "" when it is not one of this ledger's."""
        return next((a.by for a in self.admissions if a.exchange is exchange), "")

    def counted(self, exchange: Exchange) -> tuple[int, int]:
        """(fewest, most) of our images the server counts in the minute window when answering `exchange`.

        An admission is certainly counted when it reached the server less than 60 s before; possibly when it
        could have. Admissions are compared with the answer's own span [sent, received]."""
        certain = sum(a.n for a in self.admissions if a.sent > exchange.received_at - WINDOW + EDGE and a.received <= exchange.sent_at)
        possible = sum(a.n for a in self.admissions if a.received > exchange.sent_at - WINDOW - EDGE and a.sent <= exchange.received_at)
        return certain, possible

    def frees_at(self, exchange: Exchange, images_needed: int) -> tuple[float, float]:
        """The earliest and latest moment (monotonic) the window can hold `images_needed` more images, given
        only our admissions are in it; the server's retry_after must fall between them."""
        live = sorted((a for a in self.admissions if a.received > exchange.sent_at - WINDOW - EDGE), key=lambda a: a.sent)
        used = sum(a.n for a in live)
        earliest = latest = exchange.received_at
        for admission in live:
            if used + images_needed <= self.limit:
                break
            used -= admission.n
            earliest, latest = admission.sent + WINDOW, admission.received + WINDOW
        return earliest, latest

    def next_edge(self, now: float) -> float | None:
        """The latest moment any admission still in the window may leave it, or None when all have left."""
        edges = [a.received + WINDOW + EDGE for a in self.admissions if a.received + WINDOW + EDGE > now]
        return max(edges) if edges else None

    def quiet_for(self, now: float, span: float) -> float | None:
        """When an admission may leave the window within the next `span` seconds: the moment after which none
        of the ones leaving then is on the edge any more (None when the window is quiet for `span`)."""
        leaving = [a for a in self.admissions if a.sent + WINDOW - EDGE < now + span and a.received + WINDOW + EDGE > now]
        return max(a.received + WINDOW + EDGE for a in leaving) if leaving else None

    def probe(self, api: ContractClient) -> Probed:
        """An n=0 request (refused, so it consumes nothing) for the headers; remaining is None when the target does not
        send the minute window's headers."""
        exchange = api.generate(PROBE_BODY, key=self.key)
        values = {
            name: exchange.header(name) or ""
            for name in (tiers.HEADER_LIMIT_MINUTE, tiers.HEADER_REMAINING_MINUTE, tiers.HEADER_RESET_MINUTE)
        }
        if not all(value.isdigit() for value in values.values()):
            return Probed(exchange, None, 0, None)
        stated = int(values[tiers.HEADER_LIMIT_MINUTE])
        if stated != self.limit and not self.stated_limit_said:
            # The header is the decision; whether the key is admitted more than its tier allows is the document's,
            # judged where images are admitted (contract_tests/tier_limit.py), whatever this header says.
            self.stated_limit_said = True
            expect(
                False,
                f"x-ratelimit-limit-images states the key's tier's images a minute ({self.limit}, the document's Rate Limits table)",
                f"the target states {stated} a minute for this key; the document's tier allows {self.limit}",
                exchange,
                source=decisions.RATE_LIMIT_HEADERS,
            )
        return Probed(exchange, int(values[tiers.HEADER_REMAINING_MINUTE]), int(values[tiers.HEADER_RESET_MINUTE]), stated)

    def wait_until_idle(self) -> None:
        """Sleep until every admission of ours has left any window (60 s after its answer, and the edge), and out of
        MINUTE_TURN_MARGIN either side of the turn of a UTC minute: a fixed window turning over mid-burst would admit
        a second minute's images and look like a broken limit, and a burst that near the turn is judged only as the
        sliding-window decision (contract_tests.tier_limit), since the target's clock may be that far off."""
        edge = self.next_edge(time.monotonic())
        if edge is not None:
            time.sleep(max(0.0, edge - time.monotonic()))
        into_minute = time.time() % WINDOW
        if into_minute > WINDOW - MINUTE_TURN_MARGIN:
            time.sleep(WINDOW - into_minute + MINUTE_TURN_MARGIN)
        elif into_minute < MINUTE_TURN_MARGIN:
            time.sleep(MINUTE_TURN_MARGIN - into_minute)

    def settle(self, api: ContractClient, span: float, empty: bool = False) -> Settled:
        """Wait until every image the window counts is one of ours and none is on the edge for `span` seconds
        (with `empty`, until it counts nothing); returns the probe, the remaining images it shows and the limit they
        count down from.

        The images counted are the target's stated limit minus its remaining header: counted from the tier's limit,
        a target stating 6 for a 5-image tier read as "-1 images used", blamed on another client.
        Images we did not admit (an earlier run) are waited out by the reset header, once: if they are still
        there after it, the header lied (or another client uses the key)."""
        waited_for_reset = False
        for _ in range(MAX_SETTLE_ROUNDS):
            probed = self.probe(api)
            exchange, remaining, reset = probed.exchange, probed.remaining, probed.reset
            if remaining is None:
                self.wait_until_idle()
                return Settled(exchange, self.limit, self.limit)
            limit = probed.stated_limit if probed.stated_limit is not None else self.limit
            certain, possible = self.counted(exchange)
            used = limit - remaining
            if used > possible or (empty and used):
                if waited_for_reset:
                    expect(
                        False,
                        "x-ratelimit-reset-images is the seconds until the minute window is fully replenished",
                        f"the previous answer's reset header promised an empty window by now, yet {used} of the {limit} "
                        "images it states are counted (or another client is using this key)",
                        exchange,
                        source=decisions.RATE_LIMIT_HEADERS,
                    )
                    return Settled(exchange, remaining, limit)
                waited_for_reset = True
                time.sleep(min(reset, WINDOW) + 2 * EDGE)
                continue
            wait_until = self.quiet_for(time.monotonic(), span)
            if wait_until is None:
                expect(
                    used >= certain,
                    "x-ratelimit-remaining-images counts every image admitted in the last 60 seconds",
                    f"the suite's own admissions in the window are {certain} images, but the headers say {used} of the "
                    f"{limit} they state are used",
                    exchange,
                    source=decisions.RATE_LIMIT_HEADERS,
                )
                return Settled(exchange, remaining, limit)
            time.sleep(max(0.0, wait_until - time.monotonic()))
        probed = self.probe(api)
        if probed.remaining is None:
            return Settled(probed.exchange, self.limit, self.limit)
        return Settled(probed.exchange, probed.remaining, probed.stated_limit if probed.stated_limit is not None else self.limit)


class KeyPool:
    """The free-tier keys, each lent to one rule at a time (the least recently lent first), each with its ledger."""

    def __init__(self, api: ContractClient, keys: tuple[str, ...], limit: int) -> None:
        self.ledgers = [KeyLedger(key, limit) for key in keys]
        self.lent_at = {ledger.key: 0.0 for ledger in self.ledgers}
        for ledger in self.ledgers:
            api.observers.append(ledger.observe)

    def ledger_of(self, key: str) -> KeyLedger | None:
        return next((ledger for ledger in self.ledgers if ledger.key == key), None)

    @contextmanager
    def checkout(self, by: str = "") -> Iterator[KeyLedger]:
        """A key lent to `by` alone (a case's name, a real-time run's) until the block ends; its admissions meanwhile
        are recorded as `by`'s."""
        while True:
            for ledger in sorted(self.ledgers, key=lambda ledger: self.lent_at[ledger.key]):
                if ledger.lock.acquire(blocking=False):
                    self.lent_at[ledger.key] = time.monotonic()
                    ledger.holder = by
                    try:
                        yield ledger
                    finally:
                        ledger.holder = ""
                        ledger.lock.release()
                    return
            time.sleep(0.05)
