"""The one exception every layer raises for a request that gets an error response."""

from __future__ import annotations

from spec import errors


class ApiError(Exception):
    """An error the API answers with; faces translate it into their own envelope."""

    def __init__(self, error_type: str, message: str, param: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.type = error_type
        self.message = message
        self.param = param
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return errors.STATUS[self.type]

    def envelope(self) -> dict[str, object]:
        body: dict[str, object] = {"type": self.type, "message": self.message, "param": self.param}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return {"error": body}


def invalid(param: str | None, message: str) -> ApiError:
    return ApiError(errors.INVALID_REQUEST, message, param)
