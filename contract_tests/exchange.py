"""One HTTP request and its response, recorded so a failed rule can show a person exactly what happened."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

# Bodies are trimmed in reports: enough to see the fault, not a megabyte of base64.
TRIM_CHARS = 1200
KEY_ENV_VAR = "PERF_KEY"


def trim(text: str, limit: int = TRIM_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def _masked_authorization(value: str) -> str:
    """Keys are shown by their first characters only: contract runs happen in CI logs."""
    scheme, _, token = value.partition(" ")
    return f"{scheme} {token[:12]}…" if len(token) > 12 else value


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    _json: Any = field(default=None, init=False, repr=False)
    _parsed: bool = field(default=False, init=False, repr=False)

    def header(self, name: str) -> str | None:
        return self.response_headers.get(name.lower())

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.response_body)
            except ValueError:
                self._json = None
        return self._json

    def curl(self) -> str:
        """A command that replays the request; the key is read from $PERF_KEY rather than printed."""
        parts = ["curl", "-sS", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() == "authorization":
                scheme = value.partition(" ")[0]
                parts += ["-H", f'"Authorization: {scheme} ${KEY_ENV_VAR}"']
            elif name.lower() not in {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            body = self.request_body.decode("utf-8", "replace")
            parts += ["--data-binary", shlex.quote(body) if len(body) <= 4000 else "@body.json  # body too long to print"]
        return " ".join(parts)

    def describe(self) -> str:
        lines = [f"request:  {self.method} {self.url}"]
        for name, value in self.request_headers.items():
            if name.lower() in {"authorization", "content-type"}:
                shown = _masked_authorization(value) if name.lower() == "authorization" else value
                lines.append(f"          {name}: {shown}")
        if self.request_body:
            lines.append("          " + trim(self.request_body.decode("utf-8", "replace")))
        lines.append(f"response: {self.status}")
        for name, value in self.response_headers.items():
            if name.startswith("x-ratelimit") or name in {"content-type", "retry-after"}:
                lines.append(f"          {name}: {value}")
        if self.response_headers.get("content-type", "").startswith("image/"):
            lines.append(f"          <{len(self.response_body)} bytes of image>")
        else:
            lines.append("          " + trim(self.response_body.decode("utf-8", "replace")))
        lines.append(f"reproduce: {self.curl()}")
        return "\n".join(lines)
