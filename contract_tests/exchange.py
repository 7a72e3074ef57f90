"""One HTTP request and its response, recorded so a failed rule can show a person exactly what happened."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from spec.tiers import mask_key

# Bodies are trimmed in reports: enough to see the fault, not a megabyte of base64.
TRIM_CHARS = 1200
# Inside a JSON body, strings longer than this are elided (base64 entirely, text after its first characters).
LONG_STRING_CHARS = 160
SHOWN_OF_LONG_STRING = 60
KEY_ENV_VAR = "PERF_KEY"
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
# A string of base64's alphabet is taken for base64 only with this many distinct characters: a prompt of one
# repeated letter is text.
BASE64_MIN_DISTINCT = 16
# Bodies up to this long are printed in the curl line as they are; longer ones are carried gzipped and base64'd.
PRINTED_BODY_CHARS = 4000


def trim(text: str, limit: int = TRIM_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def elide_long_strings(value: Any) -> Any:
    """The JSON value with base64 and long strings replaced by a note of their length, for a person to read."""
    if isinstance(value, dict):
        return {k: elide_long_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [elide_long_strings(v) for v in value]
    if isinstance(value, str) and len(value) > LONG_STRING_CHARS:
        if _BASE64.fullmatch(value) and len(set(value)) >= BASE64_MIN_DISTINCT:
            return f"<base64, {len(value)} chars>"
        return f"{value[:SHOWN_OF_LONG_STRING]}… <{len(value)} chars>"
    return value


def readable_body(raw: bytes) -> str:
    """A body as a person should see it in a report: JSON with long strings elided, anything else trimmed."""
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except ValueError:
        return trim(text)
    return trim(json.dumps(elide_long_strings(value), ensure_ascii=False))


def _masked_authorization(value: str) -> str:
    """Keys are shown by their first characters only, as the simulator's journal shows them: contract runs happen in
    CI logs. A key of a dozen characters was shown whole."""
    scheme, _, token = value.partition(" ")
    return f"{scheme} {mask_key(token)}" if token else value


def _replayed_body(raw: bytes) -> str:
    """The curl argument that sends `raw`: quoted as it is when short text, else rebuilt from its gzip in base64
    (an oversized body of one repeated byte fits in a few hundred characters)."""
    text = raw.decode("utf-8", "replace")
    if len(text) <= PRINTED_BODY_CHARS and text.encode() == raw:
        return shlex.quote(text)
    packed = base64.b64encode(gzip.compress(raw, mtime=0)).decode()
    return f"@<(printf %s {packed} | base64 -d | gunzip)"


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    sent_at: float = 0.0
    """time.monotonic() when the request was sent, and when the response was read (for real-time rules)."""
    received_at: float = 0.0
    secret_keys: dict[str, str] = field(default_factory=dict)
    """The run's own keys (--key, --free-key, --generous-key), each with the environment variable a curl line reads
    it from: a key is never printed. Any other Authorization value is one the suite made up, printed as sent."""
    _json: Any = field(default=None, init=False, repr=False)
    _parsed: bool = field(default=False, init=False, repr=False)
    _not_json: bool = field(default=False, init=False, repr=False)

    def header(self, name: str) -> str | None:
        return self.response_headers.get(name.lower())

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.response_body)
            except ValueError:
                self._json, self._not_json = None, True
        return self._json

    def is_json(self) -> bool:
        """Whether the body is JSON at all: `json` gives None both for a body that is not and for `null`."""
        self.json()
        return not self._not_json

    def curl(self) -> str:
        """A command that replays the request as it was sent: the run's own keys read from their environment
        variables, every other header and the body as they were (a long body rebuilt from its gzip, in bash)."""
        parts = ["curl", "-sS", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            scheme, _, token = value.partition(" ")
            if name.lower() == "authorization" and token in self.secret_keys:
                parts += ["-H", f'"Authorization: {scheme} ${self.secret_keys[token]}"']
            elif name.lower() not in {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            parts += ["--data-binary", _replayed_body(self.request_body)]
        return " ".join(parts)

    def describe(self) -> str:
        lines = [f"request:  {self.method} {self.url}"]
        for name, value in self.request_headers.items():
            if name.lower() in {"authorization", "content-type"}:
                shown = _masked_authorization(value) if name.lower() == "authorization" else value
                lines.append(f"          {name}: {shown}")
        if self.request_body:
            lines.append("          " + readable_body(self.request_body))
        lines.append(f"response: {self.status}")
        for name, value in self.response_headers.items():
            if name.startswith("x-ratelimit") or name in {"content-type", "retry-after"}:
                lines.append(f"          {name}: {value}")
        if self.response_headers.get("content-type", "").startswith("image/"):
            lines.append(f"          <{len(self.response_body)} bytes of image>")
        else:
            lines.append("          " + readable_body(self.response_body))
        lines.append(f"reproduce: {self.curl()}")
        return "\n".join(lines)

    def as_record(self) -> dict[str, Any]:
        """The exchange for the JSON and HTML reports: masked key, readable bodies, the curl line."""
        headers = {
            name: _masked_authorization(value) if name.lower() == "authorization" else value for name, value in self.request_headers.items()
        }
        image = self.response_headers.get("content-type", "").startswith("image/")
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": headers,
            "request_body": readable_body(self.request_body) if self.request_body else None,
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": f"<{len(self.response_body)} bytes of image>" if image else readable_body(self.response_body),
            "curl": self.curl(),
        }
