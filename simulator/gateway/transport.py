"""HTTP to the providers with bounded time, and every transport failure as a documented Perf error.

Decisions (the issue asks that no upstream failure becomes a 500 or a hang):
- connection refused or unreachable host -> 503 service_unavailable (the provider is down; retrying later may work),
  a connection not made within CONNECT_TIMEOUT_SECONDS included (a firewalled or powered-off host drops the SYN
  rather than refusing it, which is the same outage);
- no answer within the timeout, a broken connection, or an answer that is not the JSON promised -> 502 upstream_error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from json import dumps
from typing import Any, TypeVar

import httpx

from simulator.engine.errors import ApiError
from simulator.providers.protocol import upstream_error
from spec import errors

T = TypeVar("T")
# Decision: connecting gets at most this long (a local or healthy upstream connects in milliseconds), and at most half
# of --upstream-timeout when that is shorter: a connection not made within the whole budget would meet the request's
# overall timeout at the same moment, and be told as the 502 of an upstream that did not answer, not as the 503 of
# one that cannot be reached.
CONNECT_TIMEOUT_SECONDS = 5.0
# Decision: an upstream answer (decoded) is read up to this size, then the call fails as a 502: the largest real
# answer, ten 1024x1024 PNGs in base64 (dall-e-2, n=10), is about 40 MB, and a broken or hostile upstream must not
# grow the gateway without bound (each answer is held whole while it is read).
MAX_ANSWER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class UpstreamImage:
    """One image an upstream made: its bytes, and the prompt it says it used (None when it does not say)."""

    data: bytes
    revised_prompt: str | None = None


@dataclass(frozen=True)
class UpstreamAnswer:
    """An upstream's answer, read whole (and decoded) within `MAX_ANSWER_BYTES`."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class Unreachable(ApiError):
    """The 503 of one call whose connection was refused or not made within the connect timeout: nothing was sent."""


_CONNECTING = frozenset({"connection.connect_tcp.started", "connection.connect_tcp.failed"})
"""The trace events (httpcore's, through httpx's `trace` extension) of a call that has not got past connecting."""


class Reach:
    """Whether one call may have reached the provider (`maybe`), and the status it answered with (`status`, None
    until an answer), for the engine's judgement of whether the provider made anything (`simulator.gateway.adapter`,
    `Engine.from_upstream`).

    Decision: a call may have reached it once it got past connecting: the transport's trace says so (a TCP
    connection made, TLS begun, a pooled connection reused, a request's headers begun: each is traced before it is
    done), or the call ended any other way than `Unreachable` (an answer, a reset, a timeout). A call cancelled while it
    waited for a connection or was still connecting (the first failure of a request cancels its other calls) sent
    nothing. So `maybe` read once the calls are cancelled is sound: a cancelled call never runs past the await it is
    at, and its trace marked anything it had begun. (This rests on httpx's own transport, which `UpstreamHttp` uses
    and which traces; a transport that traces nothing is caught only by how its calls end.)"""

    def __init__(self) -> None:
        self.maybe = False
        self.status: int | None = None

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in _CONNECTING:
            self.maybe = True


class UpstreamHttp:
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self.connect_seconds = min(CONNECT_TIMEOUT_SECONDS, timeout_seconds / 2)
        timeout = httpx.Timeout(timeout_seconds, connect=self.connect_seconds)
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def send(
        self, provider: str, method: str, url: str, json: Any = None, reach: Reach | None = None, **kwargs: Any
    ) -> UpstreamAnswer:
        """The answer, or ApiError in Perf terms (`Unreachable` when nothing was sent); `reach`, when given, notes
        whether the call may have reached the provider and what it answered (see `Reach`)."""
        if json is not None:
            kwargs["content"] = _json_bytes(json)
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "content-type": "application/json"}
        if reach is None:
            return await self._send(provider, method, url, kwargs)
        kwargs["extensions"] = {"trace": reach.trace}
        try:
            answer = await self._send(provider, method, url, kwargs)
        except Unreachable:
            raise  # nothing was sent (a cancel, a BaseException, passes too: its trace said how far it got)
        except Exception:
            reach.maybe = True
            raise
        reach.maybe, reach.status = True, answer.status_code
        return answer

    async def _send(self, provider: str, method: str, url: str, kwargs: dict[str, Any]) -> UpstreamAnswer:
        try:
            request = self.client.build_request(method, url, **kwargs)
            answer = await self.client.send(request, stream=True)
            try:
                content = await _bounded_body(provider, answer)
            finally:
                await answer.aclose()
            return UpstreamAnswer(answer.status_code, answer.headers, content)
        except httpx.ConnectError as exc:
            raise Unreachable(errors.SERVICE_UNAVAILABLE, f"upstream {provider} at {_origin(url)} is unreachable: {exc}") from None
        except httpx.ConnectTimeout:
            # Before TimeoutException, its base class: the connect budget ran out, not the answer's (nothing was sent).
            unreachable = f"upstream {provider} at {_origin(url)} is unreachable: no connection within {self.connect_seconds:g} s"
            raise Unreachable(errors.SERVICE_UNAVAILABLE, unreachable) from None
        except httpx.TimeoutException:
            raise upstream_error(provider, f"did not answer within {self.timeout_seconds:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise upstream_error(provider, f"failed: {type(exc).__name__}: {_reason(exc)}") from None

    async def close(self) -> None:
        await self.client.aclose()


def _reason(exc: BaseException) -> str:
    """The first message in the exception's chain: httpx says nothing of a connection reset (`ReadError('')`) but the
    ConnectionResetError beneath it does."""
    cause: BaseException | None = exc
    while cause is not None:
        if str(cause):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return "no reason given"


async def _bounded_body(provider: str, answer: httpx.Response) -> bytes:
    """The answer's body, decoded, or a 502 as soon as it says or proves it is over `MAX_ANSWER_BYTES`."""
    too_large = upstream_error(provider, f"sent a body over {MAX_ANSWER_BYTES} bytes, the most the gateway reads", answer.status_code)
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _json_bytes(body: Any) -> bytes:
    """JSON in ASCII: a prompt may hold lone surrogates (legal in JSON, accepted by the Perf API), which travel as
    \\ud800-style escapes but cannot be encoded as the UTF-8 httpx would send."""
    return dumps(body, separators=(",", ":")).encode("ascii")


async def all_or_none(coroutines: Iterable[Awaitable[T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest (no orphaned polling loops) and raise it."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}" if parsed.port else f"{parsed.scheme}://{parsed.host}"
