"""The request log: one line per API request on stdout, for a person watching `perf-sim` (or a CI log).

It is fed by the request journal (each journal entry becomes one line, but a CORS preflight's), so the log, the
journal and the control API agree about what happened (but for an entry a shared journal could not write, Redis being
down: its line has no id, and the journal lost it). Text lines read left to right as a person asks about a
request (when, what, how did it end, for whom), then the entry's id, which `GET /_sim/requests/{id}` takes, and the
answer's x-request-id (`rid=`), which an app logs and `GET /_sim/requests?request_id=` finds; JSON lines carry the
same fields for a log shipper. A line is written on every API request, so formatting it is kept to one
pass over the entry's fields.

Decision: a line is at most LINE_BYTES bytes, written by one `write` call. With `--workers N` every worker writes to
the same stdout, and a pipe keeps a write whole only up to PIPE_BUF (4096 bytes): a longer line (a path of C1
controls, each a 6-byte JSON escape, or a fault's 500-character message) had another worker's line spliced into it,
and a log shipper lost both. A line that would be longer has its longest fields cut, as the journal cuts a path.
"""

from __future__ import annotations

import json
import os
import re
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
LINE_FIELDS = (
    "time", "method", "path", "query", "status", "error_type", "model", "n", "latency_ms", "key", "key_id", "namespace", "id",
    "request_id", "fault",
)  # fmt: skip
LINE_BYTES = 4096
"""The most bytes a line takes, its newline included: PIPE_BUF on Linux, the longest write a pipe keeps whole when
several processes write to it."""
_SURELY_FITS = LINE_BYTES // 4
"""Characters a line may have and surely fit: UTF-8 writes a character in at most 4 bytes. An ordinary line has a few
hundred, and is never encoded to be measured."""
_CUT = re.compile(r"… \(([0-9]+) characters\)\Z")
"""How a cut string ends (the journal's path, simulator.control.journal.kept_path, and a field the log cut)."""
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
    """The fields of one log line, from a journal entry (missing fields are None, and so is the id of an entry a
    shared journal could not write, which has none)."""
    values = tuple(entry.get(name) for name in LINE_FIELDS) if isinstance(entry, Mapping) else _read_attributes(entry)
    fields = dict(zip(LINE_FIELDS, values, strict=True))
    fields["time"] = timestamp(fields["time"]) if isinstance(fields["time"], int | float) else None
    fields["fault"] = describe_fault(fields["fault"])
    fields["id"] = fields["id"] or None
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


def _word_bytes(value: object) -> int:
    """What a field's word takes in a text line, in bytes."""
    return len(_printable(str(_word(value))).encode())


def text_line(entry: Entry) -> str:
    """`2026-01-01T00:00:00.000Z POST /v1/images/generations 200 - dall-e-3 n=1 12.4ms key=pk_live_ab…#5ed1354f
    ns=default id=request_7 rid=req_img_3f9a61c2d4b8e07f15a9c3d2`: every line has the same fields in the same places
    (the error type after the status, `-` on a success), the query after the path as it was sent (`?id=...`, a key in
    it masked), and `fault=...` at the end when there is one. The key id after the masked key tells apart keys masked
    alike (every `pk_test_pro_…`), as the journal's and the dashboard's does; the entry's id is the one
    `GET /_sim/requests/{id}` takes, and `rid=` the answer's x-request-id (`-` where the answer had none: BFL's,
    Google's, a dropped connection), so a line is found from the id an app logged."""
    fields = log_fields(entry)
    return _fitted(fields, _text(fields), _text, _word_bytes)


def _text(f: dict[str, Any]) -> str:
    ms = f"{f['latency_ms']:.1f}ms" if isinstance(f["latency_ms"], int | float) else "-ms"
    key = f"{_word(f['key'])}#{f['key_id']}" if f["key_id"] else _word(f["key"])
    target = f"{f['path']}?{f['query']}" if f["query"] and isinstance(f["path"], str) else f["path"]
    line = (
        f"{_word(f['time'])} {_word(f['method'])} {_word(target)} {_word(f['status'])} {_word(f['error_type'])} "
        f"{_word(f['model'])} n={_word(f['n'])} {ms} key={key} ns={_word(f['namespace'])} id={_word(f['id'])} "
        f"rid={_word(f['request_id'])}"
    )
    return _printable(f"{line} fault={_word(f['fault'])}" if f["fault"] else line)


def json_line(entry: Entry) -> str:
    """The fields as JSON, latency rounded as the journal rounds it; a line with a character a terminal would act on
    (JSON leaves C1 controls and U+2028 raw) is written in ASCII, every such character escaped."""
    fields = log_fields(entry)
    if isinstance(fields["latency_ms"], float):
        fields["latency_ms"] = round(fields["latency_ms"], 3)
    line = _json(fields)
    # A line in ASCII is one written so, or one whose fields are ASCII: measured as ASCII, they take what they do.
    return _fitted(fields, line, _json, _ascii_json_bytes if line.isascii() else _json_bytes)


def _json(fields: dict[str, Any]) -> str:
    line = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, default=str)
    if line.isprintable():
        return line
    # A lone surrogate (a body's "\ud800", which Python's JSON reader lets through) would be written `\ud800`, an
    # escape strict readers (Rust's serde_json, Go's) refuse: it is written U+FFFD, as a UTF-8 decoder shows it.
    whole = {name: _whole_characters(value) if isinstance(value, str) else value for name, value in fields.items()}
    return json.dumps(whole, separators=(",", ":"), default=str)


def _json_bytes(value: object) -> int:
    """What a field's value takes in a JSON line, in bytes."""
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _ascii_json_bytes(value: object) -> int:
    """What a field's value takes in a JSON line written in ASCII, in bytes."""
    return len(json.dumps(_whole_characters(value) if isinstance(value, str) else value, default=str))


def _whole_characters(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _fitted(fields: dict[str, Any], line: str, render: Callable[[dict[str, Any]], str], size: Callable[[object], int]) -> str:
    """`line`, which `render` made of `fields`, in at most LINE_BYTES bytes with its newline: whole when it fits (as
    good as every line), else made again with its longest fields cut to their start and their length (`/v1/ab… (4000
    characters)`), each to the same most bytes, so that no short field is cut for a long one. `size` is what a
    field's value takes in a line."""
    if len(line) < _SURELY_FITS:
        return line
    room = LINE_BYTES - 1
    while (over := len(line.encode()) - room) > 0:
        sizes = {name: size(value) for name, value in fields.items() if _cuttable(name, value)}
        most = _most_each(sorted(sizes.values()), sum(sizes.values()) - over)
        cut = {name: _cut(fields[name], most, size) for name, taken in sizes.items() if taken > most}
        cut = {name: value for name, value in cut.items() if value != fields[name]}
        if not cut:  # not reached: every field cut to its length alone takes a few hundred bytes
            return render({name: None if _cuttable(name, value) else value for name, value in fields.items()})
        fields = {**fields, **cut}
        line = render(fields)
    return line


def _cuttable(name: str, value: object) -> bool:
    """Every field but the time may be long: all but the number ones are the client's, or echo it (an `n` of 4,000
    digits is a JSON number too)."""
    return name != "time" and isinstance(value, str | int) and not isinstance(value, bool)


def _most_each(sizes: list[int], room: int) -> int:
    """The most bytes each field may take so that all of them take at most `room` (`sizes` ascending): those under
    it are kept whole, and the room they leave is shared by the others."""
    for index, taken in enumerate(sizes):
        share = room // (len(sizes) - index)
        if taken > share:
            return share
        room -= taken
    return room


def _cut(value: str | int, most: int, size: Callable[[object], int]) -> str:
    """The longest start of `value` that, with its length after it, takes at most `most` bytes (just its length when
    none does). The length is the whole value's, that of a path the journal had cut already included."""
    text = str(value)
    already = _CUT.search(text)
    length = int(already.group(1)) if already else len(text)
    text = text[: already.start()] if already else text
    low, high = 0, min(len(text), most)  # a character takes a byte at least
    while low < high:
        middle = (low + high + 1) // 2
        if size(f"{text[:middle]}… ({length} characters)") <= most:
            low = middle
        else:
            high = middle - 1
    return f"{text[:low]}… ({length} characters)"


def _is_preflight(entry: Entry) -> bool:
    """Whether the entry is a CORS preflight, which `request_logger` gives no line (either shape of `Entry`)."""
    return (entry.get("method") if isinstance(entry, Mapping) else entry.method) == "OPTIONS"


def request_logger(log_format: str, stream: TextIO | None = None) -> Callable[[Entry], None]:
    """A journal listener writing one line per entry to `stream` (stdout by default, looked up at each line so
    that a test runner's capture of stdout sees it), each line at once so `tail -f` and CI logs keep up.

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
        try:
            _write_line(stream or sys.stdout, render(entry) + "\n")
        except BrokenPipeError:
            reader_gone = True
            print("request log stopped: nothing reads stdout any more (GET /_sim/requests still lists every request)", file=sys.stderr)

    return write


def _write_line(out: TextIO, line: str) -> None:
    """Write `line` to `out` in one `write` call to its file (UTF-8), after what was printed to it before (the
    banner): a pipe keeps a write of up to PIPE_BUF bytes whole, however many workers write to it, and a text
    stream's own buffer may split a line in two writes. A stream with no file (a test's) is written as text."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        out.write(line)
        out.flush()
        return
    out.flush()
    data = line.encode()
    written = os.write(fd, data)
    while written < len(data):  # a terminal may take part of it (a pipe or a file takes it whole)
        written += os.write(fd, data[written:])
