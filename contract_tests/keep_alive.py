"""Answers that depend on what came before on a keep-alive connection, and the exchange that made them so.

A target that answers a request before reading its body (auth middleware's 401 first) and keeps the connection
open leaves the body's bytes on it; the next request on that connection is read with them in front, and answered
`400 Bad request syntax ('{"prompt": ...}POST /v1/images/generations HTTP/1.1')`. That answer was failed as the
next case's, whose curl line then answered right, while the case whose body was left unread passed.

The client (`ContractClient.request`) keeps the last exchange of each connection of its pool. An answer that may be
to leftover bytes (`may_be_misread`) after a request with a body on the same connection is sent again once, on a
fresh connection; when that answer differs (`differs`), the case is judged on it, and the exchange whose body was
left unread is recorded here (`Unread`), to be reported under RULE blaming the case that sent it
(contract_tests/run_hooks.py).

Decision: the rule is judged as the document's (counted under `--judge document`): the document describes an
HTTP API, and HTTP/1.1 requires it (RFC 9112 §9.3: a server MUST read the entire request body or close the connection
after sending its answer, "otherwise, the remaining data on a persistent connection would be misinterpreted as the
next request"). It is no test function: it is judged on every exchange of the run, and shows in the verdict only
when broken, so a target that holds it has the verdict it had before.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from contract_tests.exchange import Exchange
from contract_tests.sources import DOCUMENT, RuleSources
from contract_tests.verdict import FAILED, CaseResult
from contract_tests.violations import Finding

RULE = "Every request's body is read, or its connection closed after the answer (HTTP/1.1 keep-alive, RFC 9112 §9.3)"
AREA = "keep_alive"
RATE_LIMITED = 429
NOT_IMPLEMENTED = 501
REQUEST_LINE = re.compile(rb"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S* HTTP/1\.[01]")
QUOTED_CHARS = 100
"""How much of a misread answer's body is quoted, ending at the request line it quotes."""

_case: ContextVar[str] = ContextVar("perf_contract_case", default="")
_running = ""
"""The case the main thread runs: named for requests sent on other threads (a real-time run, a concurrent burst)."""


@contextmanager
def sending_as(case: str) -> Iterator[None]:
    """Within this block, requests sent on this thread are the case's (the plugin wraps each case in it)."""
    global _running
    token = _case.set(case)
    before, _running = _running, case
    try:
        yield
    finally:
        _case.reset(token)
        _running = before


def sender() -> str:
    """Who sends a request now: the case, or the thread and the case the main thread runs meanwhile."""
    case = _case.get()
    if case:
        return case
    thread = threading.current_thread().name
    return f"thread {thread} while {_running} ran" if _running else f"thread {thread}, before any case"


@dataclass(frozen=True)
class Sent:
    exchange: Exchange
    by: str
    """The case that sent it (its id, as the verdict names cases), or `sender`'s words for who did."""


class _ThreadKey:
    """Stands for a connection when httpx does not say which one answered (see `connection_of`)."""


_thread_keys = threading.local()


def connection_of(response: httpx.Response) -> tuple[object, bool]:
    """(the connection an answer came on, whether it is that connection): httpcore's network stream, one object per
    connection; else, where a transport does not give it, this thread's key (the previous request this thread sent
    stands for the previous one on the connection, and the report says so)."""
    stream = response.extensions.get("network_stream")
    if stream is not None:
        try:
            weakref.ref(stream)
            return stream, True
        except TypeError:
            pass
    key = getattr(_thread_keys, "key", None)
    if key is None:
        key = _thread_keys.key = _ThreadKey()
    return key, False


class Slot:
    """One request's place in its connection's history: filled with what it sent once its exchange is recorded."""

    sent: Sent | None = None


@dataclass(frozen=True)
class History:
    """What came before a request on its connection, as `Connections.seen` found it."""

    before: Slot | None
    mine: Slot
    same_connection: bool
    """False where httpx did not say which connection answered: `before` is then the previous request of this thread."""

    @property
    def previous(self) -> Sent | None:
        return self.before.sent if self.before is not None else None


HISTORY = "perf_contract_history"
"""The key of a response's extensions under which `Connections.seen` leaves its `History`."""


class Connections:
    """The last request sent on each connection of a client's pool, from any thread: entries go with their
    connections. Each request takes its place when its answer's head arrives (`seen`, httpx's response hook), while
    the connection is its alone: taken after the answer was read, a request on another thread could have used the
    connection in between, and the previous request would be the wrong one."""

    def __init__(self) -> None:
        self._last: weakref.WeakKeyDictionary[object, Slot] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def seen(self, response: httpx.Response) -> None:
        connection, same = connection_of(response)
        mine = Slot()
        with self._lock:
            before = self._last.get(connection)
            self._last[connection] = mine
        response.extensions[HISTORY] = History(before, mine, same)


def history(response: httpx.Response) -> History:
    """The response's `History`, or an empty one (a client without the hook)."""
    found = response.extensions.get(HISTORY)
    return found if isinstance(found, History) else History(None, Slot(), False)


def is_envelope(exchange: Exchange) -> bool:
    body = exchange.json()
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def may_be_misread(exchange: Exchange) -> bool:
    """Whether an answer may be to leftover bytes read in front of the request, not to the request: a client error
    (not a 429, whose answer changes with time) or a 501, outside the error envelope: what an HTTP server's parser
    answers a request line it cannot read ("Bad request syntax", "Unsupported method"). A target answering in its
    envelope never gives one, so no request to a correct target is sent twice."""
    client_error = 400 <= exchange.status < 500 and exchange.status != RATE_LIMITED
    return (client_error or exchange.status == NOT_IMPLEMENTED) and not is_envelope(exchange)


def quoted_request_line(exchange: Exchange, leftover: bytes = b"") -> str:
    """An HTTP request line an answer's body quotes ("" if none), with what comes before it: from where it quotes
    the start of `leftover` (the body left unread) if it does, else its QUOTED_CHARS before the line's end. A parser
    quotes the line it could not read, the leftover bytes in front."""
    body = exchange.response_body
    found = REQUEST_LINE.search(body)
    if found is None:
        return ""
    start = body.rfind(leftover[:QUOTED_CHARS], 0, found.start()) if leftover else -1
    return body[start if start >= 0 else max(0, found.end() - QUOTED_CHARS) : found.end()].decode("utf-8", "replace")


def differs(first: Exchange, fresh: Exchange) -> bool:
    """Whether the fresh connection's answer is another answer: another status, the envelope where the first had
    none, or no request line quoted where the first quoted one."""
    return fresh.status != first.status or is_envelope(fresh) or (bool(quoted_request_line(first)) and not quoted_request_line(fresh))


def _answered(exchange: Exchange) -> str:
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if isinstance(kind, str):
        return f"{exchange.status} {kind}"
    return f"{exchange.status} without an error envelope" if exchange.status >= 400 else str(exchange.status)


def _request(exchange: Exchange) -> str:
    return f"{exchange.method} {urlsplit(exchange.url).path}"


@dataclass(frozen=True)
class Unread:
    """A request whose body the target left unread on a kept-alive connection, and the next request it spoiled."""

    culprit: Sent
    misread: Exchange
    """The next request on that connection, as the target answered it there."""
    misread_by: str
    fresh: Exchange
    """The same request, answered on a fresh connection: the case was judged on this one."""
    same_connection: bool
    """False where httpx did not say which connection answered: `culprit` is then the previous request this thread sent."""

    def finding(self) -> Finding:
        culprit = self.culprit.exchange
        size = len(culprit.request_body or b"")
        which = (
            "the next request on that connection"
            if self.same_connection
            else "the next request this thread sent (the client could not tell its connection: likely the same one)"
        )
        quoted = quoted_request_line(self.misread, culprit.request_body or b"")
        both = culprit.curl() + " --next " + self.misread.curl().removeprefix("curl ")
        detail = (
            f"the target answered {_request(culprit)} (sent by {self.culprit.by}) {_answered(culprit)} without reading "
            f"all of its {size}-byte body, and kept the connection open: {which} ({_request(self.misread)}, sent by "
            f"{self.misread_by}) was read with the leftover bytes in front and answered {_answered(self.misread)}"
            + (f" (its body quotes them: {quoted!r})" if quoted else "")
            + f"; sent again on a fresh connection it was answered {_answered(self.fresh)}, and {self.misread_by} was "
            f"judged on that answer. The first exchange below left its body unread, the second is the spoiled answer, the "
            f"third the fresh one. Both on one connection: {both}"
        )
        cause = f"a {culprit.status} to {_request(culprit)} left the request's body unread on a kept-alive connection"
        return Finding(RULE, detail, (culprit, self.misread, self.fresh), cause)


found: list[Unread] = []
"""The run's unread bodies so far, each when the request it spoiled was sent again (any thread)."""
_found_lock = threading.Lock()


def record(unread: Unread) -> None:
    with _found_lock:
        found.append(unread)


def take() -> list[Unread]:
    """The unread bodies found so far, forgotten here."""
    with _found_lock:
        taken = found[:]
        found.clear()
    return taken


def cases(unread: list[Unread]) -> list[CaseResult]:
    """The keep-alive rule's failed cases, one per case (or thread) that sent a request whose body was left unread,
    with one finding per such request (a connection it spoiled twice is one)."""
    by_sender: dict[str, list[Unread]] = {}
    seen: set[int] = set()
    for each in unread:
        if id(each.culprit.exchange) not in seen:
            seen.add(id(each.culprit.exchange))
            by_sender.setdefault(each.culprit.by, []).append(each)
    return [
        CaseResult(
            sender,
            AREA,
            RULE,
            FAILED,
            findings=[each.finding() for each in group],
            source=RuleSources(DOCUMENT),
            checked={DOCUMENT},
        )
        for sender, group in by_sender.items()
    ]
