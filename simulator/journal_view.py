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
from spec.models import DEFAULT_N, DEFAULT_SIZE

Asked = tuple[object, object, object, object]
"""(model, n, size, prompt) as the request wrote them, any JSON value (the journal keeps only strings and whole
numbers); None where the face's format has no such field or the request left it out."""


class Defaults(NamedTuple):
    """What a face makes of a generation request that leaves model, n or size out (`JournalView.defaults`); each None
    where the face has no such default there."""

    model: str | None
    n: int | None
    size: str | None


NO_DEFAULTS = Defaults(None, None, None)
"""A path that is not the face's generation endpoint: it renders nothing, so it defaults nothing."""


def no_defaults(path: str, body: dict[str, Any]) -> Defaults:
    return NO_DEFAULTS


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
    defaults: Callable[[str, dict[str, Any]], Defaults] = no_defaults
    """(path, body as a dict) -> what a POST there renders where the request leaves it out: the model of an endpoint
    whose path names none, the face's count (OpenAI's `n` 1, Google's `sampleCount` 4, Stability's one image), and the
    size its default (or the request's own aspect ratio) renders at; NO_DEFAULTS for a path that is not the face's
    generation endpoint. Each is taken from where the face itself takes it (spec.models, spec.providers), never
    written again here.

    Decision: a request that leaves the model to its default is that model's request, to a rule as to the journal.
    A rule on `dall-e-2` missed an openai-SDK call that named no model, which the journal (by the engine's word)
    counted as dall-e-2: one `match` selected different requests as a rule and as a count. Only that endpoint's
    POSTs: a path the face answers 404 (`/ideogram/v1/ideogram-v3/generate`) or 405 renders nothing.

    Decision: so are its n and size. A request the engine refused (a 429) or a fault answered showed `n: null` where
    the same request answered showed the engine's 1 (or Google's 4): a test adding up the images its app asked for
    across attempts (`sum(e["n"] ...)`) failed on the first faulted one."""


def _top_level_asked(path: str, body: dict[str, Any]) -> Asked:
    return body.get("model"), body.get("n"), body.get("size"), body.get("prompt")


def _error_object(answer: dict[str, Any]) -> ErrorSaid:
    return ErrorSaid(error_field(answer, "type"), error_field(answer, "message"), error_field(answer, "param"))


def images_api_view(generation_path: str, default_model: str) -> JournalView:
    """The view of a face that speaks OpenAI's images format, as the Perf API and the OpenAI face do: a bearer key, a
    body that names everything at its top level (`model`, `n`, `size`, `prompt`), the error's `error.type`,
    `error.message` and `error.param`; they differ only in where they generate and the model they default to. Both
    take n and size as simulator.engine.options does, whatever the model: spec.models' DEFAULT_N and DEFAULT_SIZE."""
    made = Defaults(default_model, DEFAULT_N, DEFAULT_SIZE)

    def defaults(path: str, body: dict[str, Any]) -> Defaults:
        return made if path == generation_path else NO_DEFAULTS

    return JournalView(key_headers=(), key=bearer_key, asked=_top_level_asked, error=_error_object, defaults=defaults)


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
