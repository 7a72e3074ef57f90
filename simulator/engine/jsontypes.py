"""What a JSON value's type is called in an error message, the same on every face."""

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
