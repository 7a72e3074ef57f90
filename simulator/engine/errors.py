"""The one exception every layer raises for a request that gets an error response."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.engine.jsontypes import as_sent
from spec import errors


class ApiError(Exception):
    """An error the API answers with; faces translate it into their own envelope."""

    def __init__(
        self, error_type: str, message: str, param: str | None = None, retry_after: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.type = error_type
        self.message = message
        self.param = param
        self.retry_after = retry_after
        self.should_retry = retry_after is None or retry_after <= errors.LONGEST_CLIENT_RETRY_WAIT_SECONDS
        """Whether a client should retry after `retry_after` (faces send it as `x-should-retry`): not when that is
        longer than clients sleep. An injected fault's wait is real whatever the clock (its `times` may be used up by
        then), so only its length counts; a rate window's 429 also needs a real clock (`RateLimited`)."""
        self._status = status

    @property
    def given_status(self) -> int | None:
        """The status given with the error (an injected fault's, or a native face's own), which a face answers as it
        is, even where the provider answers the type with another status and message of its own."""
        return self._status

    @property
    def status(self) -> int:
        """The type's status, unless one was given: an injected fault may answer any status with any type."""
        return self._status if self._status is not None else errors.STATUS.get(self.type, 500)

    def envelope(self) -> dict[str, object]:
        body: dict[str, object] = {"type": self.type, "message": self.message, "param": self.param}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return {"error": body}


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """What became of one generation call (a submit or generate, not a poll or download) of a gateway request:
    `reached` False when it never got past connecting (refused, not connected within the connect timeout, or cancelled
    before), else the `status` the provider answered it with, or None when it may have reached the provider without
    an answer (a reset, a timeout, cancelled once past connecting)."""

    reached: bool
    status: int | None = None


class ProviderCallsFailed(ApiError):
    """`error`, a gateway request's failure while its generation calls were made, answered as `error` is, with what
    each of those calls got (`calls`), for the engine to judge whether the provider made anything
    (`Engine.from_upstream`). A failure later (a poll, a download, an unreadable image) is the plain error: every call
    was answered with a 2xx then."""

    def __init__(self, error: ApiError, calls: tuple[ProviderCall, ...]) -> None:
        super().__init__(error.type, error.message, error.param, error.retry_after, error.given_status)
        self.should_retry = error.should_retry
        self.calls = calls


def invalid(param: str | None, message: str) -> ApiError:
    return ApiError(errors.INVALID_REQUEST, message, param)


def state_unavailable(exc: Exception) -> ApiError:
    """The 503 every face answers when the shared state (Redis) did not answer: `exc` says where and how."""
    return ApiError(errors.SERVICE_UNAVAILABLE, f"simulator state is unavailable: {exc}", retry_after=1)


QUOTE_LIMIT = 40
"""The most characters of a client's value an error message repeats."""


def quoted(value: object) -> str:
    """`value` as a message quotes it (a string as its repr, any other value as the JSON its client sent: `true`,
    `[1e400]`, not Python's `True`, `[inf]`), cut to its first QUOTE_LIMIT characters: a message that repeated a
    4,000-character model name or a 309-digit n in full would bury what it says."""
    if isinstance(value, str):
        return repr(value) if len(value) <= QUOTE_LIMIT else f"{value[:QUOTE_LIMIT]!r}… ({len(value)} characters)"
    return cut(as_sent(value))


def cut(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` cut to its first `limit` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


PARAM_LIMIT = 100
"""The most characters of a field's name an error's `param` gives whole."""


def param_name(name: str) -> str:
    """A field's name as the client sent it, for an error's `param` (an unknown field's, `action.<name>`).

    Decision: `param` is there for a client to find the field in what it sent, so it names the field whole, where a
    message quotes only QUOTE_LIMIT characters: a nested name the faces take (`parameters.outputOptions.mimeType`)
    already passes 40, and a cut one is no name a client can look up. But a name is any JSON string, up to the whole
    256 KiB body, and the answer echoed it in full; past PARAM_LIMIT characters (more than twice the longest name any
    face or the control API takes) it is no field a client means to send, and `param` cuts it as messages cut a value,
    with its length."""
    return cut(name, PARAM_LIMIT)
