"""The suite's HTTP client: every call is recorded as an `Exchange` so a failed rule can show it."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from contract_tests import aborted, keep_alive
from contract_tests.exchange import KEY_ENV_VAR, Exchange
from contract_tests.target import Target, TargetUnreachable, probe
from spec import errors

GENERATIONS_PATH = "/v1/images/generations"
# Decision: a test that is not about rate limits waits out at most this many 429s (advancing the simulator's
# clock, or sleeping at most MAX_REAL_WAIT_SECONDS against other servers) before it reports the 429 itself.
MAX_RATE_LIMIT_WAITS = 2
MAX_REAL_WAIT_SECONDS = 65
MAX_TIMEOUTS_IN_A_ROW = 3
"""Decision: after this many requests in a row got no answer within the client's timeout, the run asks the target its
cheapest question, the request without a key it began with. Unanswered too, the target has stopped answering and the
run ends there (no verdict, the reports saying it was aborted); answered, the target is up (it hangs on some requests
only, e.g. one model's): the unanswered requests are failures of their cases and the run goes on."""
MAX_UNANSWERED_OF_A_KIND = 3
"""Decision: after this many requests of one kind (method, path and, for a generation, model) in a row got no answer,
the rest of that kind are still sent, but waited for at most HUNG_KIND_WAIT_SECONDS: a target that hangs on one
model then costs three timeouts and a short wait per later case of that model, not a timeout each (with the default
--timeout of 60 s, half an hour). They are sent, not failed unsent, because a target hanging on a model's valid
requests may still answer its invalid ones at once (a 400 from its validation), which those cases are about; an
answer clears the kind."""
HUNG_KIND_WAIT_SECONDS = 2.0
waited_for_limits = 0.0
"""Seconds this run slept waiting out 429s in rules not about rate limits: the verdict says how long, and how not to."""
_waited_lock = threading.Lock()
"""Real-time runs wait out 429s on their own threads too: each wait is added to `waited_for_limits` under this lock, so
none is lost to a concurrent `+=`."""
on_wait: Callable[[float, float, Exchange], None] | None = None
"""Told (seconds about to be slept, seconds slept before in all, the 429 waited out) before each such wait: the run
shows its waits as they happen and counts them by the key refused (contract_tests/run_hooks.py), so a run slowed by a
slow key is not a progress line standing still, and the advice follows the key that waited."""


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
        self.connections = keep_alive.Connections()
        """The last request on each connection of `http`'s pool: an answer spoiled by an earlier body is told apart."""
        self.http = httpx.Client(timeout=timeout, event_hooks={"response": [self.connections.seen]})
        self.observers: list[Callable[[Exchange], None]] = []
        """Called with every exchange (the real-time key ledgers watch admissions through this)."""
        self.secret_keys = secret_keys(target)
        self._lock = threading.Lock()
        self._timeouts_in_a_row = 0
        self._unanswered_of_kind: dict[tuple[str, str, str | None], list[str]] = {}
        """The curl lines of the requests of each kind (`_kind`) unanswered since that kind was last answered."""

    def __repr__(self) -> str:
        return f"ContractClient({self.target.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def _answer(self, method: str, url: str, content: bytes | None, headers: dict[str, str]) -> httpx.Response:
        kind = _kind(method, url, content)
        unanswered = Exchange(method, url, headers, content, 0, {}, b"", secret_keys=self.secret_keys)
        timeout = self.http.timeout.read or 0.0
        wait, why = timeout, "(--timeout)"
        with self._lock:
            last = self._unanswered_of_kind.get(kind, [])
            if len(last) >= MAX_UNANSWERED_OF_A_KIND and timeout > HUNG_KIND_WAIT_SECONDS:
                wait = HUNG_KIND_WAIT_SECONDS
                why = (
                    f"(shortened from --timeout's {timeout:g} s: the target left the last {len(last)} requests like it "
                    f"({_said(kind)}) unanswered, the last: {last[-1]})"
                )
        try:
            response = self.http.request(
                method, url, content=content, headers=headers, timeout=self.http.timeout if wait == timeout else wait
            )
        except httpx.TimeoutException:
            self._unanswered(kind, unanswered.curl())
            raise NoAnswer(f"no answer within {wait:g} s {why} to: {unanswered.curl()}") from None
        except httpx.TransportError as exc:
            raise NoAnswer(f"the target broke the exchange ({type(exc).__name__}: {exc or 'no detail'}) on: {unanswered.curl()}") from None
        with self._lock:
            self._timeouts_in_a_row = 0
            self._unanswered_of_kind.pop(kind, None)
        return response

    def hung_kinds(self) -> list[str]:
        """The request kinds (as `_said` words them) left unanswered MAX_UNANSWERED_OF_A_KIND times in a row so far."""
        with self._lock:
            return [_said(kind) for kind, last in self._unanswered_of_kind.items() if len(last) >= MAX_UNANSWERED_OF_A_KIND]

    def _unanswered(self, kind: tuple[str, str, str | None], curl: str) -> None:
        """Count a request left unanswered; after MAX_TIMEOUTS_IN_A_ROW in a row, end the run if the target answers
        nothing at all any more (only from the main thread: pytest.exit in a real-time run's thread would end only it)."""
        with self._lock:
            self._unanswered_of_kind.setdefault(kind, []).append(curl)
            self._timeouts_in_a_row += 1
            in_a_row = self._timeouts_in_a_row
        if in_a_row < MAX_TIMEOUTS_IN_A_ROW or threading.current_thread() is not threading.main_thread():
            return
        wait = self.http.timeout.read or 0.0
        try:
            probe(self.target.base_url, wait, self.target.namespace_headers())
        except TargetUnreachable as exc:
            aborted.stop(
                f"{self.target.base_url} stopped answering: {in_a_row} requests in a row got no answer in {wait:g} s, "
                f"nor did the run's first probe (a request without a key) after them: {exc}"
            )
        with self._lock:
            self._timeouts_in_a_row = 0

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
        exchange = self._exchange(method, self.url(path), sent_headers, content, response, sent_at)
        exchange = self._unspoiled(exchange, keep_alive.history(response))
        for observe in self.observers:
            observe(exchange)
        return exchange

    def _exchange(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, response: httpx.Response, sent_at: float
    ) -> Exchange:
        return Exchange(
            method=method,
            url=url,
            request_headers=headers,
            request_body=content,
            status=response.status_code,
            response_headers={k.lower(): v for k, v in response.headers.items()},
            response_body=response.content,
            sent_at=sent_at,
            received_at=time.monotonic(),
            secret_keys=self.secret_keys,
        )

    def _unspoiled(self, exchange: Exchange, history: keep_alive.History) -> Exchange:
        """The answer to judge: `exchange`, unless it may be to the leftover body of the previous request on its
        connection (contract_tests/keep_alive.py) and a fresh connection answers otherwise; then the fresh answer,
        the unread body recorded. The connection keeps the request that left its body as its last, so what else it
        spoils is laid at the same door."""
        sent_by = keep_alive.sender()
        previous = history.previous
        if previous is not None and previous.exchange.request_body and keep_alive.may_be_misread(exchange):
            fresh = self._on_a_fresh_connection(exchange)
            if fresh is not None and keep_alive.differs(exchange, fresh):
                keep_alive.record(keep_alive.Unread(previous, exchange, sent_by, fresh, history.same_connection))
                history.mine.sent = previous
                return fresh
        history.mine.sent = keep_alive.Sent(exchange, sent_by)
        return exchange

    def _on_a_fresh_connection(self, exchange: Exchange) -> Exchange | None:
        """The request of `exchange` sent again on a connection of its own, or None when that one is not answered
        (the first answer then stands: the run does not guess)."""
        sent_at = time.monotonic()
        body = exchange.request_body
        try:
            with httpx.Client(timeout=self.http.timeout) as fresh:
                response = fresh.request(exchange.method, exchange.url, content=body, headers=exchange.request_headers)
        except httpx.HTTPError:
            return None
        return self._exchange(exchange.method, exchange.url, exchange.request_headers, body, response, sent_at)

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
                before = _count_wait(wait)
                if on_wait is not None:
                    on_wait(wait, before, exchange)
                time.sleep(wait)
            else:
                break
            exchange = send()
        return exchange

    def fetch(self, url: str, **kwargs: Any) -> Exchange:
        return self.request("GET", url, key=NO_AUTH, **kwargs)


def _count_wait(seconds: float) -> float:
    """Add `seconds` to `waited_for_limits`, returning the total before them."""
    global waited_for_limits
    with _waited_lock:
        before = waited_for_limits
        waited_for_limits += seconds
    return before


def _kind(method: str, url: str, content: bytes | None) -> tuple[str, str, str | None]:
    """(method, path, model): requests a target that hangs on one model or path alike leaves unanswered. The model is
    a generation body's `model` when it is a string (else None: the default model, or an invalid body)."""
    path = urlsplit(url).path
    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
    model = body.get("model") if isinstance(body, dict) else None
    return method, path, model if isinstance(model, str) else None


def _said(kind: tuple[str, str, str | None]) -> str:
    method, path, model = kind
    return f"{method} {path}" + (f" for model {model}" if model is not None else "")


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
