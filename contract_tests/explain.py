"""JSON Schema failures in plain words, naming the field: "data[0] has both url and b64_json; b64_json is null"
rather than "{'url': ..., 'b64_json': None} is valid under each of {'required': ['url']}, ...".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import ValidationError

MAX_EXPLANATIONS = 6
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "object": "an object", "array": "a list"}


def field_name(path: Iterable[Any]) -> str:
    """A JSON path as a person writes it: data[0].b64_json; the whole body when the path is empty."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the body"


def shown(value: Any) -> str:
    """A JSON value as the target wrote it (null, true, a string quoted), for a finding's message: Python's own
    spelling (None, True) reads as the suite's, not the target's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, (dict, list)):
        kind = "an object" if isinstance(value, dict) else "a list"
        shown = repr(value)
        return f"{kind} {shown[:60] + '…' if len(shown) > 60 else shown}"
    return repr(value)


def shown_header(raw: str | None) -> str:
    """A header's value as sent, or that it was not sent."""
    return "absent" if raw is None else repr(raw)


def _types(expected: str | Sequence[str]) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_WORDS.get(name, name) for name in names)


def _one_of_required(error: ValidationError) -> str | None:
    """The url-or-b64_json kind of rule: oneOf branches that each require one field."""
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    keys = [b["required"][0] for b in branches if isinstance(b, dict) and list(b) == ["required"] and len(b["required"]) == 1]
    if len(keys) != len(branches) or not isinstance(error.instance, dict):
        return None
    where = field_name(error.absolute_path)
    present = [key for key in keys if key in error.instance]
    if not present:
        return f"{where} has none of {', '.join(keys)} (exactly one is required)"
    nulls = [f"{key} is null" for key in present if error.instance[key] is None]
    return f"{where} has both {' and '.join(present)}" + "".join(f"; {note}" for note in nulls) + " (exactly one is allowed)"


def explain(error: ValidationError) -> str:
    where = field_name(error.absolute_path)
    value, rule = error.instance, error.validator_value
    match error.validator:
        case "oneOf" | "anyOf":
            return _one_of_required(error) or f"{where} ({shown(value)}) matches none of the shapes the schema allows"
        case "required":
            missing = [key for key in rule if isinstance(value, dict) and key not in value]
            return f"{where} lacks the required field {', '.join(missing)}"
        case "type":
            return f"{where} is {shown(value)}, but must be {_types(rule)}"
        case "enum":
            allowed = ", ".join(shown(v) for v in rule[:8]) + (", …" if len(rule) > 8 else "")
            return f"{where} is {shown(value)}, not one of the allowed values ({allowed})"
        case "const":
            return f"{where} is {shown(value)}, but must be {shown(rule)}"
        case "pattern":
            if rule == "^https?://":
                return f"{where} is {shown(value)}, not an absolute http(s) URL"
            return f"{where} is {shown(value)}, which does not have the required form ({rule})"
        case "format":
            return f"{where} is {shown(value)}, not a valid {rule}"
        case "minimum" | "exclusiveMinimum" | "maximum" | "exclusiveMaximum":
            words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most", "exclusiveMaximum": "less than"}
            return f"{where} is {shown(value)}, but must be {words[error.validator]} {rule}"
        case "minItems" | "maxItems":
            bound = "at least" if error.validator == "minItems" else "at most"
            return f"{where} holds {len(value)} items, but must hold {bound} {rule}"
        case "minLength" | "maxLength":
            bound = "at least" if error.validator == "minLength" else "at most"
            return f"{where} is {len(value)} characters long, but must be {bound} {rule}"
        case "additionalProperties":
            return f"{where} has unexpected fields: {error.message.split('(')[-1].rstrip(')')}"
    return f"{where}: {error.message[:200]}"


def explain_all(errors: Iterable[ValidationError]) -> list[str]:
    """Plain-word explanations, the field's own error left out when an enclosing one-of already says it."""
    found = sorted(errors, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    lines: list[str] = []
    explained_nulls: set[tuple[Any, ...]] = set()
    for error in found:
        path = tuple(error.absolute_path)
        if error.validator == "type" and error.instance is None and path in explained_nulls:
            continue
        text = explain(error)
        if error.validator == "oneOf" and isinstance(error.instance, dict):
            explained_nulls |= {(*path, key) for key, value in error.instance.items() if value is None}
        if text not in lines:
            lines.append(text)
    return lines[:MAX_EXPLANATIONS]
