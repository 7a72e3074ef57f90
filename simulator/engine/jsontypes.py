"""What a JSON value's type is called in an error message, how its value is quoted there, and which numbers are
integers: the same on every face."""

from __future__ import annotations

import json
import math
from datetime import date, time

_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def type_name(kind: type, article: bool = False) -> str:
    """The JSON Schema name of the Python type a JSON value parses to ("integer", "object"; "null" for None's),
    "an integer" with `article`."""
    name = next((_NAMES[base] for base in kind.__mro__ if base in _NAMES), "null")  # a HugeNumber is a number
    if not article or name == "null":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def json_type(value: object, article: bool = False) -> str:
    """The JSON Schema name of a parsed JSON value's type."""
    return type_name(type(value), article)


def json_integer(value: object) -> int | None:
    """`value` as an integer when JSON Schema calls it one, else None: an integer, or a number with no fraction
    (`503.0`, which some clients' encoders write for a whole float); never a boolean, which Python counts as an int.

    Decision: the Perf API reads `n` so (decision 22), and the control API its whole numbers, as its own OpenAPI
    document's `"type": "integer"` says under JSON Schema 2020-12."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None


class HugeNumber(float):
    """A JSON number beyond a double's range (`1e400`): infinite, as Python's json reads it, holding the text its
    client wrote, so a message can quote what was sent rather than `inf`, a value nobody wrote."""

    sent: str

    def __new__(cls, sent: str) -> HugeNumber:
        number = super().__new__(cls, sent)
        number.sent = sent
        return number


def as_sent(value: object) -> str:
    """A parsed JSON value written as JSON, each HugeNumber in it, at any depth, as its client wrote it (`[1e400]`,
    where json.dumps writes `[Infinity]` and str() `[inf]`): a message quoting a value nobody sent misleads.

    Written without recursion, as the value may be nested as deep as the decoder allows, and json.dumps's own
    separators (`, `, `: `), so a value without a HugeNumber reads as json.dumps writes it.

    A scenario file's fault rules are checked by the same code, so a value may also be TOML's: a date or a time,
    which json.dumps cannot write (the check failed with a TypeError), and `inf` or `nan`, which it writes as
    `Infinity` and `NaN`; each is written as TOML writes it."""
    parts: list[str] = []
    pending: list[tuple[object, bool]] = [(value, False)]  # (item, whether it is text to write as it is)
    while pending:
        item, literal = pending.pop()
        if literal:
            parts.append(str(item))
        elif isinstance(item, HugeNumber):
            parts.append(item.sent)
        elif isinstance(item, list):
            pending.append(("]", True))
            for index in range(len(item) - 1, -1, -1):
                pending.append((item[index], False))
                if index:
                    pending.append((", ", True))
            pending.append(("[", True))
        elif isinstance(item, dict):
            pending.append(("}", True))
            for index, (name, member) in reversed(list(enumerate(item.items()))):
                pending.append((member, False))
                pending.append((json.dumps(name, ensure_ascii=False) + ": ", True))
                if index:
                    pending.append((", ", True))
            pending.append(("{", True))
        elif isinstance(item, date | time):
            parts.append(item.isoformat())
        elif isinstance(item, float) and not math.isfinite(item):
            parts.append(repr(item))
        else:
            parts.append(json.dumps(item, ensure_ascii=False))
    return "".join(parts)
