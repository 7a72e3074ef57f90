"""The request log: one line per API request on stdout, for a person watching `perf-sim` (or a CI log).

It is fed by the request journal (each journal entry becomes one line, but a CORS preflight's), so the log, the
journal and the control API never disagree about what happened. Text lines read left to right as a person asks about a
request (when, what, how did it end, for whom); JSON lines carry the same fields for a log shipper.
A line is written on every API request, so formatting it is kept to one pass over the entry's fields.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from operator import attrgetter
from typing import Any, TextIO

LOG_TEXT = "text"
LOG_JSON = "json"
LOG_FORMATS = (LOG_TEXT, LOG_JSON)

# The journal fields a log line shows, in the order a text line shows them ("time" as an ISO 8601 UTC string).
LINE_FIELDS = ("time", "method", "path", "status", "error_type", "model", "n", "latency_ms", "key", "key_id", "namespace", "fault")
_read_attributes = attrgetter(*LINE_FIELDS)

Entry = Any
"""A journal entry: the journal's own object (simulator.control.journal.JournalEntry), or its JSON as the control API
shows it (a mapping with the same names)."""


@lru_cache(maxsize=8)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def timestamp(seconds: float) -> str:
    """Simulator-clock seconds as ISO 8601 UTC to the millisecond, e.g. 2026-01-01T00:00:00.250Z."""
    whole = int(seconds)
    return f"{_second(whole)}.{int((seconds - whole) * 1000):03d}Z"


def describe_fault(fault: object) -> str | None:
    """A fault as the X-Sim-Fault header writes it (`status=503;retry_after=2`, `drop`), whatever shape it is kept in."""
    if fault is None or fault == "":
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
    values = tuple(entry.get(name) for name in LINE_FIELDS) if isinstance(entry, Mapping) else _read_attributes(entry)
    fields = dict(zip(LINE_FIELDS, values, strict=True))
    fields["time"] = timestamp(fields["time"]) if isinstance(fields["time"], int | float) else None
    fields["fault"] = describe_fault(fields["fault"])
    return fields


def _printable(line: str) -> str:
    """`line` with every character a terminal or a line splitter would act on (newlines, ESC, C1 controls, U+2028) as
    its Python escape: the path, model and key come from the client, and a log line must neither forge a second line
    nor colour the terminal. `isprintable` is one C pass, so an ordinary line is not copied."""
    if line.isprintable():
        return line
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in line)


def _word(value: object) -> object:
    """A field as one word of a text line: `-` for none, and a string holding a space or a quote (a path, model or key
    is the client's) in double quotes, its backslashes and quotes escaped, so a client cannot shift the fields after
    it (a path ending ` 200 dall-e-3`). Other characters are escaped for the whole line (`_printable`)."""
    if value is None:
        return "-"
    if isinstance(value, str) and (" " in value or '"' in value or value in ("", "-")):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return value


def text_line(entry: Entry) -> str:
    """`2026-01-01T00:00:00.000Z POST /v1/images/generations 200 - dall-e-3 n=1 12.4ms key=pk_live_ab…#5ed1354f
    ns=default`: every line has the same fields in the same places (the error type after the status, `-` on a
    success), and `fault=...` at the end when there is one. The key id after the masked key tells apart keys masked
    alike (every `pk_test_pro_…`), as the journal's and the dashboard's does."""
    f = log_fields(entry)
    ms = f"{f['latency_ms']:.1f}ms" if isinstance(f["latency_ms"], int | float) else "-ms"
    key = f"{_word(f['key'])}#{f['key_id']}" if f["key_id"] else _word(f["key"])
    line = (
        f"{_word(f['time'])} {_word(f['method'])} {_word(f['path'])} {_word(f['status'])} {_word(f['error_type'])} "
        f"{_word(f['model'])} n={_word(f['n'])} {ms} key={key} ns={_word(f['namespace'])}"
    )
    return _printable(f"{line} fault={_word(f['fault'])}" if f["fault"] else line)


def json_line(entry: Entry) -> str:
    """The fields as JSON, latency rounded as the journal rounds it; a line with a character a terminal would act on
    (JSON leaves C1 controls and U+2028 raw) is written in ASCII, every such character escaped."""
    fields = log_fields(entry)
    if isinstance(fields["latency_ms"], float):
        fields["latency_ms"] = round(fields["latency_ms"], 3)
    line = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, default=str)
    if line.isprintable():
        return line
    # A lone surrogate (a body's "\ud800", which Python's JSON reader lets through) would be written `\ud800`, an
    # escape strict readers (Rust's serde_json, Go's) refuse: it is written U+FFFD, as a UTF-8 decoder shows it.
    whole = {name: _whole_characters(value) if isinstance(value, str) else value for name, value in fields.items()}
    return json.dumps(whole, separators=(",", ":"), default=str)


def _whole_characters(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _is_preflight(entry: Entry) -> bool:
    """Whether the entry is a CORS preflight, which `request_logger` gives no line (either shape of `Entry`)."""
    return (entry.get("method") if isinstance(entry, Mapping) else entry.method) == "OPTIONS"


def request_logger(log_format: str, stream: TextIO | None = None) -> Callable[[Entry], None]:
    """A journal listener writing one line per entry to `stream` (stdout by default, looked up at each line so
    that a test runner's capture of stdout sees it), flushed at once so `tail -f` and CI logs keep up.

    Decision: a CORS preflight (OPTIONS) gets no line, as journal listings and counts leave it out unless asked for
    (simulator.control.journal.EntryFilter) and the metrics never count it: it is the browser's question before an
    API request, and a line for it would double a browser app's requests in the log. It stays in the journal,
    listed with `GET /_sim/requests?method=OPTIONS`.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    render = text_line if log_format == LOG_TEXT else json_line
    reader_gone = False

    def write(entry: Entry) -> None:
        """Decision: once whatever read stdout has gone (`perf-sim | head`, a log shipper that died) the log stops,
        saying so once on stderr; the simulator serves on, and the journal still records every request. Each line
        would otherwise fail again, each failure a traceback on stderr."""
        nonlocal reader_gone
        if reader_gone or _is_preflight(entry):
            return
        out = stream or sys.stdout
        try:
            out.write(render(entry) + "\n")
            out.flush()
        except BrokenPipeError:
            reader_gone = True
            print("request log stopped: nothing reads stdout any more (GET /_sim/requests still lists every request)", file=sys.stderr)

    return write
