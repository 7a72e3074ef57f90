"""HTTP to the providers with bounded time, and every transport failure as a documented Perf error.

Decisions (the issue asks that no upstream failure becomes a 500 or a hang):
- connection refused or unreachable host -> 503 service_unavailable (the provider is down; retrying later may work);
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
# Decision: connecting gets at most this long (a local or healthy upstream connects in milliseconds).
CONNECT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class UpstreamImage:
    """One image an upstream made: its bytes, and the prompt it says it used (None when it does not say)."""

    data: bytes
    revised_prompt: str | None = None


class UpstreamHttp:
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        timeout = httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds))
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def send(self, provider: str, method: str, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        if json is not None:
            kwargs["content"] = _json_bytes(json)
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "content-type": "application/json"}
        try:
            return await self.client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise ApiError(errors.SERVICE_UNAVAILABLE, f"upstream {provider} at {_origin(url)} is unreachable: {exc}") from None
        except httpx.TimeoutException:
            raise upstream_error(provider, f"did not answer within {self.timeout_seconds:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise upstream_error(provider, f"failed: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        await self.client.aclose()


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
