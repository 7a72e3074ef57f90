"""What a JSON value's type is called in an error message, how its value is quoted there, which numbers are
integers, and how a value orjson refuses is written as JSON: the same on every face."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
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


def number_as_sent(text: str) -> float:
    """A JSON number with a fraction or an exponent (a decoder's `parse_float`): a float, or a HugeNumber when it is
    beyond a double's range, so that it can be written again as its client wrote it."""
    number = float(text)
    return number if math.isfinite(number) else HugeNumber(text)


def as_sent(value: object) -> str:
    """A parsed JSON value written as JSON, each HugeNumber in it, at any depth, as its client wrote it (`[1e400]`,
    where json.dumps writes `[Infinity]` and str() `[inf]`): a message quoting a value nobody sent misleads.

    Written without recursion, as the value may be nested as deep as the decoder allows, and json.dumps's own
    separators (`, `, `: `), so a value without a HugeNumber reads as json.dumps writes it.

    A scenario file's fault rules are checked by the same code, so a value may also be TOML's: a date or a time,
    which json.dumps cannot write (the check failed with a TypeError), and `inf` or `nan`, which it writes as
    `Infinity` and `NaN`; each is written as TOML writes it."""
    return _written(value, ", ", ": ", _sent_scalar)


def _sent_scalar(item: object) -> str:
    if isinstance(item, HugeNumber):
        return item.sent
    if isinstance(item, date | time):
        return item.isoformat()
    if isinstance(item, float) and not math.isfinite(item):
        return repr(item)
    return json.dumps(item, ensure_ascii=False)


def strict_json(value: object) -> str:
    """`value` as compact RFC 8259 JSON text, as json.dumps writes it with `ensure_ascii=False` and `(",", ":")`,
    but for the numbers that are not finite: each HugeNumber as its client wrote it, any other as null, as orjson
    writes it. What is not JSON (a date, an object) is a TypeError, as json.dumps raises.

    Decision: what simulator.http.dump_json writes when neither orjson (a lone surrogate, an integer beyond 64 bits,
    a HugeNumber) nor json.dumps (an infinity) takes the value. json.dumps wrote `Infinity` and `NaN`, which no strict
    parser reads: a journal listing holding one lone surrogate wrote every other entry's 1e400 so, and the dashboard,
    whose browser parses strictly, showed nothing. Without recursion, as `as_sent`."""
    return _written(value, ",", ":", _strict_scalar)


_STRICT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
"""For a scalar `_strict_scalar` does not write itself; `allow_nan=False`, so a regression raises, not `NaN`."""
_encode_string = json.encoder.encode_basestring
"""json.dumps's writer of a string with `ensure_ascii=False` (a lone surrogate kept: its caller encodes it)."""


def _strict_scalar(item: object) -> str:
    if isinstance(item, str):
        return _encode_string(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return int.__repr__(item)
    if isinstance(item, float):
        if math.isfinite(item):
            return float.__repr__(item)
        return item.sent if isinstance(item, HugeNumber) else "null"
    return _STRICT.encode(item)


def _key_text(name: object) -> str:
    """An object's member name as json.dumps writes it: a string as it is, a number, boolean or null key as its JSON
    text, quoted (what else json.dumps refuses, a TypeError)."""
    if isinstance(name, str):
        return _encode_string(name)
    if name is None or isinstance(name, int | float):
        return _encode_string(_STRICT.encode(name))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(name).__name__}")


def _written(value: object, comma: str, colon: str, scalar: Callable[[object], str]) -> str:
    """`value` as JSON text, its items joined by `comma`, each member's name and value by `colon`, each value that
    is neither an array nor an object written by `scalar`. Without recursion: a value may be nested as deep as a
    decoder allows."""
    parts: list[str] = []
    pending: list[tuple[object, bool]] = [(value, False)]  # (item, whether it is text to write as it is)
    while pending:
        item, literal = pending.pop()
        if literal:
            parts.append(str(item))
        elif isinstance(item, list | tuple):
            pending.append(("]", True))
            for index in range(len(item) - 1, -1, -1):
                pending.append((item[index], False))
                if index:
                    pending.append((comma, True))
            pending.append(("[", True))
        elif isinstance(item, dict):
            pending.append(("}", True))
            for index, (name, member) in reversed(list(enumerate(item.items()))):
                pending.append((member, False))
                pending.append((_key_text(name) + colon, True))
                if index:
                    pending.append((comma, True))
            pending.append(("{", True))
        else:
            parts.append(scalar(item))
    return "".join(parts)
