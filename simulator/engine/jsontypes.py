"""What a JSON value's type is called in an error message, and which numbers are integers: the same on every face."""

from __future__ import annotations

_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def type_name(kind: type, article: bool = False) -> str:
    """The JSON Schema name of the Python type a JSON value parses to ("integer", "object"; "null" for None's),
    "an integer" with `article`."""
    name = _NAMES.get(kind, "null")
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
