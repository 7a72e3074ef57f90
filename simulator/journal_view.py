"""What a face tells the control layer's journal about its requests: where its key is, how its body names the model,
n, size and prompt, and how its error answers name their type, message and field.

Each face declares one `JournalView` in its own package (`simulator/perf/journal_view.py`,
`simulator/providers/<name>/journal_view.py`), beside the face that reads the same wire format; the registry
collects them, and the control layer (simulator.control.inspect) asks the request's face, so it knows no wire format
itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from simulator.keys import bearer_token

Asked = tuple[object, object, object, object]
"""(model, n, size, prompt) as the request wrote them, any JSON value (the journal keeps only strings and whole
numbers); None where the face's format has no such field or the request left it out."""


class ErrorSaid(NamedTuple):
    """What an error answer says, read where its face's envelope puts it; each None where the envelope names none."""

    type: str | None
    """The error's kind (`error.type`, Stability's `name`, Google's `error.status`)."""
    message: str | None
    """The human message, whole (the journal cuts it)."""
    param: str | None
    """The request field the error names (`error.param`, the first of BFL's `detail[].loc`)."""


NOTHING_SAID = ErrorSaid(None, None, None)
"""An answer that is no error envelope (not JSON, not an object, or cut short)."""


@dataclass(frozen=True)
class JournalView:
    key_headers: tuple[str, ...]
    """The headers (lower case) besides `authorization` in which the face takes a key; none for a face that takes
    only a bearer token, whose requests' `authorization` is all the control layer keeps of their headers."""
    key: Callable[[str, Mapping[str, str], str], str | None]
    """The key of a request (path, its key headers by lower-case name, query string), read where the face reads it:
    a key in another header than its face's is not the caller's key there, so it is not the journal's."""
    asked: Callable[[str, dict[str, Any]], Asked]
    """(path, body as a dict, empty when it is none): what the request asked for, read where the face reads it."""
    error: Callable[[dict[str, Any]], ErrorSaid]
    """What an error answer of the face (parsed, a dict) says: its type, message and field, each None when its envelope
    names none."""
    query_key: str | None = None
    """The query parameter in which the face also takes a key (Google's `key`), masked in an entry's `query` as the
    entry's `key` is; None for a face that reads no key there."""
    generation: tuple[str, str] | None = None
    """(path, model): the face's generation endpoint, whose path names no model, and the model a POST there renders
    when it names none.

    Decision: a request that leaves the model to its default is that model's request, to a rule as to the journal.
    A rule on `dall-e-2` missed an openai-SDK call that named no model, which the journal (by the engine's word)
    counted as dall-e-2: one `match` selected different requests as a rule and as a count. Only that endpoint's
    POSTs: a path the face answers 404 (`/ideogram/v1/ideogram-v3/generate`) or 405 renders nothing."""


def _top_level_asked(path: str, body: dict[str, Any]) -> Asked:
    return body.get("model"), body.get("n"), body.get("size"), body.get("prompt")


def _error_object(answer: dict[str, Any]) -> ErrorSaid:
    return ErrorSaid(error_field(answer, "type"), error_field(answer, "message"), error_field(answer, "param"))


def images_api_view(generation: tuple[str, str]) -> JournalView:
    """The view of a face that speaks OpenAI's images format, as the Perf API and the OpenAI face do: a bearer key, a
    body that names everything at its top level (`model`, `n`, `size`, `prompt`), the error's `error.type`,
    `error.message` and `error.param`; they differ only in where they generate and the model they default to
    (`generation`)."""
    return JournalView(key_headers=(), key=bearer_key, asked=_top_level_asked, error=_error_object, generation=generation)


def text_or_none(value: object) -> str | None:
    """`value` if it is a string: an envelope's field read from an answer may be anything, or missing."""
    return value if isinstance(value, str) else None


def dict_or_empty(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: a request may put anything where an object belongs."""
    return value if isinstance(value, dict) else {}


def bearer_key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    """The key of a face that takes it only as a bearer token (`Authorization: Bearer <key>`)."""
    return bearer_token(headers.get("authorization"))


def error_field(answer: dict[str, Any], name: str) -> str | None:
    """Field `name` of an envelope that puts its error in an `error` object (`error.type`, Google's `error.status`),
    None when it is not a string."""
    error = answer.get("error")
    return text_or_none(error.get(name)) if isinstance(error, dict) else None
