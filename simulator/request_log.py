"""The request log: one line per API request on stdout, for a person watching `perf-sim` (or a CI log).

It is fed by the request journal (each journal entry becomes one line), so the log, the journal and the
control API never disagree about what happened. Text lines read left to right as a person asks about a
request (when, what, how did it end, for whom); JSON lines carry the same fields for a log shipper.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

LOG_TEXT = "text"
LOG_JSON = "json"
LOG_FORMATS = (LOG_TEXT, LOG_JSON)

# The journal fields a log line shows, in the order a text line shows them.
LINE_FIELDS = ("iso", "method", "path", "status", "error_type", "model", "n", "latency_ms", "key", "namespace", "fault")

Entry = Mapping[str, Any]


def describe_fault(fault: object) -> str | None:
    """A fault as the X-Sim-Fault header writes it (`status=503;retry_after=2`, `drop`), whatever shape the journal keeps."""
    if fault is None or fault == {} or fault == "":
        return None
    if isinstance(fault, Mapping):
        action = fault.get("action", fault)
        if not isinstance(action, Mapping):
            return str(action)
        parts = [name if value is True else f"{name}={value}" for name, value in action.items() if value not in (None, False)]
        return ";".join(parts) or None
    return str(fault)


def log_fields(entry: Entry) -> dict[str, Any]:
    """The fields of one log line, from a journal entry (missing fields are None)."""
    fields = {name: entry.get(name) for name in LINE_FIELDS}
    fields["fault"] = describe_fault(entry.get("fault"))
    return fields


def _dash(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def text_line(entry: Entry) -> str:
    """`2025-01-01T00:00:00+00:00 POST /v1/images/generations 200 dall-e-3 n=1 12ms key=pk_live_ab… ns=default`,
    with the error type after the status and `fault=...` at the end when there is one."""
    f = log_fields(entry)
    status = _dash(f["status"]) + (f" {f['error_type']}" if f["error_type"] else "")
    ms = f"{f['latency_ms']:.1f}ms" if isinstance(f["latency_ms"], int | float) else "-ms"
    line = (
        f"{_dash(f['iso'])} {_dash(f['method'])} {_dash(f['path'])} {status} {_dash(f['model'])} n={_dash(f['n'])} {ms} "
        f"key={_dash(f['key'])} ns={_dash(f['namespace'])}"
    )
    return line + (f" fault={f['fault']}" if f["fault"] else "")


def json_line(entry: Entry) -> str:
    return json.dumps(log_fields(entry), separators=(",", ":"), default=str)


def request_logger(log_format: str, stream: TextIO | None = None) -> Callable[[Entry], None]:
    """A journal listener writing one line per entry to `stream` (stdout by default, looked up at each line so
    that a test runner's capture of stdout sees it), flushed at once so `tail -f` and CI logs keep up."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    render = text_line if log_format == LOG_TEXT else json_line

    def write(entry: Entry) -> None:
        out = stream or sys.stdout
        out.write(render(entry) + "\n")
        out.flush()

    return write
