"""Reading the TOML files a run is given (`--keys`, `--scenario`): one reading, so both say the same about a file
that cannot be read or is not TOML, and one test of a whole-number setting.

Reading and parsing are apart because a run reads each file once, at start, and parses that text wherever it needs
the file's settings (the banner, each worker's app, the shared run's rules): a pipe (`<(...)`, /dev/stdin) is
empty the second time it is read, and a file edited since would be used unchecked."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeGuard

BYTE_ORDER_MARK = "\ufeff"


class NotToml(ValueError):
    """Why a file gives no TOML document: it cannot be read, is not UTF-8 text or not TOML (the caller adds the
    file's name)."""


def read_text(path: str | Path) -> str:
    """The file's text, or NotToml saying why it cannot be read or is not UTF-8 text."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise NotToml(f"cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = raw.count(b"\n", 0, exc.start) + 1, exc.start - raw.rfind(b"\n", 0, exc.start)
        raise NotToml(f"not valid TOML: not UTF-8 text (line {line}, column {column}: byte {raw[exc.start]:#04x})") from None


def parse_toml(text: str) -> dict[str, Any]:
    """A file's tables, or NotToml saying why its text is not TOML the simulator can read.

    Decision: a UTF-8 byte-order mark at the start is skipped, not refused. TOML forbids it, but Windows editors
    write one, and a refusal of line 1, column 1 ("Invalid statement") names nothing a person could see in the file.
    Arrays or inline tables nested some hundreds deep are refused: tomllib reads them by recursion, and Python's
    recursion limit would end the start-up with a traceback instead of one line naming the file."""
    try:
        return tomllib.loads(text.removeprefix(BYTE_ORDER_MARK))
    except tomllib.TOMLDecodeError as exc:
        raise NotToml(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise NotToml("cannot read: arrays or inline tables nested too deeply") from None


def is_whole(value: object) -> TypeGuard[int]:
    """Whether a setting is a whole number: an int, and not a bool, which Python counts as one (`seed = true` is no
    seed). A float is not one, even 5.0: TOML and the command line write whole numbers without a point."""
    return isinstance(value, int) and not isinstance(value, bool)
