"""Which field of a request body holds its [sim:...] token, named in the 400 of a bad token.

The token is found in the body's bytes, unparsed (simulator.control.actions.token_action), so a request pays no parse
for it. Only a bad token's 400, which is rare, parses the body to name the field the token sits in, as the faces name
a nested field (`user`, `image_request.negative_prompt`, `instances[0].prompt`): a token is applied wherever it sits,
and a 400 that always named `prompt` sent its reader to a prompt that may be clean.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from simulator.control.actions import TOKEN_END, TOKEN_START
from simulator.engine.errors import cut

PROMPT = "prompt"
REQUEST_BODY = "request body"
"""What a bad token's 400 names when no field can be told: a body that is no JSON object (nor a form), a token in a
form's file or in a part's headers, in a field a later one of the same name replaced."""


def token_field(raw: bytes, form: Mapping[str, Any] | None, prompt: str | None) -> str:
    """The field that holds the first token of `raw` (the body; `form`, its fields, when it is a form): `prompt` when
    it is the request's prompt (`prompt`, read wherever its face puts it, as a rule's `match.prompt` is), else the
    field's path, `a key in <object>` for a JSON object's key, or REQUEST_BODY."""
    start = raw.find(TOKEN_START)
    found = _json_field(raw, start) if form is None else _form_field(raw, start, form)
    if found is None:
        return REQUEST_BODY
    name, text = found
    return PROMPT if text == prompt else name


def _form_field(raw: bytes, start: int, form: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first field whose value holds the token as the body's bytes hold it (a form's text is as written): a token
    in a file's bytes or in a part's headers is in no value the parsed form holds, so a field is named only if its
    own value holds that same token."""
    end = raw.find(TOKEN_END, start)
    token = (raw[start : end + 1] if end >= 0 else TOKEN_START).decode("utf-8", "replace")
    return next(((name, value) for name, value in form.items() if isinstance(value, str) and token in value), None)


def _json_field(raw: bytes, start: int) -> tuple[str, str] | None:
    """(path, text) of the JSON string (a key or a value) that holds the token, or None.

    Decision: the body is parsed twice, as sent and with a character put in just before the token (where valid JSON
    can only be within a string), and the one string that differs is the token's: exact, where the first string that
    holds `[sim:` once decoded may be an earlier one that escapes it (`\\u005bsim:`), which no token scan reads. The
    two trees are walked side by side with a stack, comparing strings only: a walk linear in the body, at any depth
    (comparing whole subtrees level by level took depth times the body's size, and recursed past Python's limit)."""
    try:
        node, twin = orjson.loads(raw), orjson.loads(raw[:start] + b"x" + raw[start:])
    except orjson.JSONDecodeError:
        return None
    pending: list[tuple[_Place | None, Any, Any]] = [(None, node, twin)]
    while pending:
        place, node, twin = pending.pop()
        if isinstance(node, str):
            if node != twin:
                return (_path(place), node) if place is not None else None
        elif isinstance(node, dict):
            # A key that, the character put in, names another key of its object leaves the twin a key short.
            for (key, value), (twin_key, twin_value) in zip(node.items(), twin.items(), strict=False):
                if key != twin_key or len(node) != len(twin):
                    return f"a key in {_path(place) if place is not None else 'the request body'}", key
                if isinstance(value, (str, dict, list)):
                    pending.append(((place, key), value, twin_value))
        elif isinstance(node, list):
            pending.extend(((place, index), value, twin[index]) for index, value in enumerate(node) if isinstance(value, (str, dict, list)))
    return None  # the token's string was a value that a later one of the same key replaced


_Place = tuple[Any, str | int]
"""Where a value sits: its parent's place (None at the top) and its key or index, made into a path only when named."""


def _path(place: _Place) -> str:
    """A place as the faces name a nested field (`image_request.prompt`, `instances[0].prompt`), cut as any quoted
    value is: a token nested a thousand lists deep would otherwise be named by three thousand characters."""
    steps: list[str | int] = []
    at: _Place | None = place
    while at is not None:
        at, step = at
        steps.append(step)
    path = ""
    for step in reversed(steps):
        path = f"{path}[{step}]" if isinstance(step, int) else f"{path}.{step}" if path else step
    return cut(path)
