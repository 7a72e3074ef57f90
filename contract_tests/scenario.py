"""A key driven through requests and clock moves, every answer checked against the reference model.

The model is the simulator's reading of the windows (spec/tiers.py): an answer it does not expect differs from
the sliding window, its retry_after from the least wait, its headers from the header decision."""

from __future__ import annotations

from contract_tests import decisions
from contract_tests.checks import check_document_message, check_error, check_rate_headers, check_success
from contract_tests.client import ContractClient
from contract_tests.exchange import Exchange
from contract_tests.reference_model import ADMITTED, NEVER, KeyWindows
from contract_tests.target import Control
from contract_tests.violations import expect, first_broken_rule_stops
from spec import errors, tiers

# The cheapest request that can carry up to 10 images: dall-e-2 at 256x256, returned as URLs.
CHEAP_MODEL = "dall-e-2"
CHEAP_SIZE = "256x256"


def cheap_body(n: int) -> dict[str, object]:
    return {"prompt": "A pebble on a beach", "model": CHEAP_MODEL, "size": CHEAP_SIZE, "n": n}


class Scenario:
    def __init__(self, api: ContractClient, control: Control, key: str, tier: tiers.Tier) -> None:
        self.api = api
        self.control = control
        self.key = key
        self.model = KeyWindows.for_tier(tier)
        self.now = control.now()
        self.history: list[str] = []

    def advance(self, seconds: int) -> None:
        self.now = self.control.advance(seconds)
        self.history.append(f"advance {seconds}s")

    def request(self, n: int) -> Exchange:
        """Send n images' worth and hold the answer to the model; a step that breaks a rule ends the scenario."""
        with first_broken_rule_stops():
            return self._request(n)

    def _request(self, n: int) -> Exchange:
        body = cheap_body(n)
        exchange = self.api.generate(body, key=self.key)
        outcome = self.model.request(n, self.now)
        self.history.append(f"request n={n} -> {exchange.status}")
        trail = "steps so far: " + ", ".join(self.history[-12:])
        if outcome.verdict == NEVER:
            check_error(
                exchange,
                errors.INVALID_REQUEST,
                param="n",
                rule="n above the per-minute limit can never be admitted: 400 on n",
                source=decisions.N_ABOVE_MINUTE_LIMIT,
            )
            return exchange
        if outcome.verdict == ADMITTED:
            expect(
                exchange.status == 200,
                "A request is admitted when its images fit both the sliding minute and the UTC-day window",
                f"the reference model admits n={n} here; got HTTP {exchange.status}. {trail}",
                exchange,
                source=decisions.SLIDING_WINDOW,
            )
            check_success(exchange, body)
        else:
            error = check_error(
                exchange,
                errors.RATE_LIMIT_EXCEEDED,
                rule="A request whose images do not fit a window is a 429 rate_limit_exceeded (counting images, not requests)",
                source=decisions.SLIDING_WINDOW,
            )
            check_document_message(error, errors.RATE_LIMIT_EXCEEDED, "The 429 carries the document's message", exchange)
            expect(
                error.get("retry_after") == outcome.retry_after,
                "retry_after is the least whole number of seconds (>= 1) after which the same request is admitted",
                f"expected retry_after {outcome.retry_after}, got {error.get('retry_after')!r}. {trail}",
                exchange,
                source=decisions.LEAST_RETRY_AFTER,
            )
            expect(
                exchange.header("retry-after") == str(outcome.retry_after),
                "A 429 carries a Retry-After header equal to error.retry_after",
                f"Retry-After is {exchange.header('retry-after')!r}, expected {outcome.retry_after}",
                exchange,
                source=decisions.RETRY_AFTER_HEADER,
            )
        got = check_rate_headers(exchange)
        want = self.model.headers(self.now)
        # An absent header has no value to compare: check_rate_headers said it is absent.
        wrong = {name: (got[name], want[name]) for name in want if got[name] is not None and got[name] != want[name]}
        expect(
            not wrong,
            "The rate-limit headers state the windows after this request: limits, images remaining, seconds to reset",
            "header (got, expected): " + ", ".join(f"{k}={v}" for k, v in wrong.items()) + f". {trail}",
            exchange,
            source=decisions.RATE_LIMIT_HEADERS,
        )
        return exchange
