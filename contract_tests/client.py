"""The suite's HTTP client: every call is recorded as an `Exchange` so a failed rule can show it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contract_tests.exchange import KEY_ENV_VAR, Exchange
from contract_tests.target import NO_VERDICT_EXIT, Target
from spec import errors

GENERATIONS_PATH = "/v1/images/generations"
# Decision: a test that is not about rate limits waits out at most this many 429s (advancing the simulator's
# clock, or sleeping at most MAX_REAL_WAIT_SECONDS against other servers) before it reports the 429 itself.
MAX_RATE_LIMIT_WAITS = 2
MAX_REAL_WAIT_SECONDS = 65
# Decision: after this many requests in a row that got no answer within the client's timeout, the target has stopped
# answering: the run ends there (with its verdict so far) rather than waiting out every remaining case.
MAX_TIMEOUTS_IN_A_ROW = 3
_timeouts_in_a_row = 0
waited_for_limits = 0.0
"""Seconds this run slept waiting out 429s in rules not about rate limits: the verdict says how long, and how not to."""
on_wait: Callable[[float, float], None] | None = None
"""Told (seconds about to be slept, seconds slept before in all) before each such wait: the run shows its waits as
they happen (contract_tests/run_hooks.py), so a run slowed by a slow key is not a progress line standing still."""


class NoAnswer(Exception):
    """A request the target did not answer within the run's timeout, or whose connection it broke (reset, closed,
    an answer that is not HTTP): the case cannot run to a verdict. Raised in place of httpx's error, whose 70 lines of
    traceback said neither what was sent nor how long was waited."""


class _NoAuth:
    """Send no Authorization header at all."""


NO_AUTH = _NoAuth()


class ContractClient:
    def __init__(self, target: Target, timeout: float = 60.0) -> None:
        self.target = target
        self.http = httpx.Client(timeout=timeout)
        self.observers: list[Callable[[Exchange], None]] = []
        """Called with every exchange (the real-time key ledgers watch admissions through this)."""
        self.secret_keys = secret_keys(target)

    def __repr__(self) -> str:
        return f"ContractClient({self.target.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def _answer(self, method: str, url: str, content: bytes | None, headers: dict[str, str]) -> httpx.Response:
        global _timeouts_in_a_row
        try:
            response = self.http.request(method, url, content=content, headers=headers)
        except httpx.TimeoutException:
            _timeouts_in_a_row += 1
            if _timeouts_in_a_row >= MAX_TIMEOUTS_IN_A_ROW:
                timeout = self.http.timeout.read
                reason = f"{self.target.base_url} stopped answering: {_timeouts_in_a_row} requests in a row got no answer in {timeout:g} s"
                pytest.exit(f"perf-contract: no verdict: {reason}", returncode=NO_VERDICT_EXIT)
            unanswered = Exchange(method, url, headers, content, 0, {}, b"", secret_keys=self.secret_keys)
            raise NoAnswer(f"no answer within {self.http.timeout.read:g} s (--timeout) to: {unanswered.curl()}") from None
        except httpx.TransportError as exc:
            broken = Exchange(method, url, headers, content, 0, {}, b"", secret_keys=self.secret_keys)
            raise NoAnswer(f"the target broke the exchange ({type(exc).__name__}: {exc or 'no detail'}) on: {broken.curl()}") from None
        _timeouts_in_a_row = 0
        return response

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.target.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | _NoAuth | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """One request; `body` is sent as JSON, `content` as raw bytes (with the JSON content type)."""
        sent_headers: dict[str, str] = {}
        if not isinstance(key, _NoAuth) and (key is not None or method == "POST"):
            sent_headers["Authorization"] = f"Bearer {key or self.target.key}"
        if body is not None:
            content = json.dumps(body).encode()
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(self.target.namespace_headers())
        sent_headers.update(headers or {})
        sent_at = time.monotonic()
        response = self._answer(method, self.url(path), content, sent_headers)
        exchange = Exchange(
            method=method,
            url=self.url(path),
            request_headers=sent_headers,
            request_body=content,
            status=response.status_code,
            response_headers={k.lower(): v for k, v in response.headers.items()},
            response_body=response.content,
            sent_at=sent_at,
            received_at=time.monotonic(),
            secret_keys=self.secret_keys,
        )
        for observe in self.observers:
            observe(exchange)
        return exchange

    def generate(self, body: Any, key: str | _NoAuth | None = None, **kwargs: Any) -> Exchange:
        return self.request("POST", GENERATIONS_PATH, key=key, body=body, **kwargs)

    def generate_admitted(self, body: Any, key: str | None = None) -> Exchange:
        """Like `generate`, but a 429 is waited out first: for tests whose rule is not the rate limit."""
        return self.admitted(lambda: self.generate(body, key))

    def admitted(self, send: Callable[[], Exchange]) -> Exchange:
        """The answer of `send()`, a 429 waited out first (at most twice): a target may check its rate limits before
        it validates, and a rule about validation must not fail for the limit."""
        exchange = send()
        for _ in range(MAX_RATE_LIMIT_WAITS):
            if exchange.status != errors.STATUS[errors.RATE_LIMIT_EXCEEDED]:
                break
            wait = _retry_after(exchange)
            if self.target.clock_moves and self.target.control is not None:
                self.target.control.advance(wait)
            elif wait <= MAX_REAL_WAIT_SECONDS:
                global waited_for_limits
                if on_wait is not None:
                    on_wait(wait, waited_for_limits)
                waited_for_limits += wait
                time.sleep(wait)
            else:
                break
            exchange = send()
        return exchange

    def fetch(self, url: str, **kwargs: Any) -> Exchange:
        return self.request("GET", url, key=NO_AUTH, **kwargs)


def secret_keys(target: Target) -> dict[str, str]:
    """The run's keys and the environment variable a curl line reads each from: PERF_KEY, PERF_GENEROUS_KEY,
    PERF_FREE_KEY_1..., PERF_PRO_KEY, PERF_ENTERPRISE_KEY."""
    keys = {target.key: KEY_ENV_VAR}
    keys.setdefault(target.generous_key, "PERF_GENEROUS_KEY")
    for number, key in enumerate(target.free_keys, 1):
        keys.setdefault(key, f"PERF_FREE_KEY_{number}")
    for tier, key in target.tier_keys:
        keys.setdefault(key, f"PERF_{tier.upper()}_KEY")
    return keys


def _retry_after(exchange: Exchange) -> int:
    """Whole seconds to wait out a 429: its retry_after rounded up (a fractional one is a target's own reading), else
    its Retry-After header, else 1."""
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    value = error.get("retry_after") if isinstance(error, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return max(1, math.ceil(value))
    header = exchange.header("retry-after") or ""
    return max(1, int(header)) if header.isdigit() else 1
