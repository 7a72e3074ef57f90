"""What the control layer reads from a request before any face sees it: key, model, n, prompt, a trimmed body; and,
when the journal is read, what its error answer said.

Face-agnostic: each face declares where its wire format puts these (its `journal_view.py`, simulator.journal_view),
and this module asks the request's face. What the engine later notes in the entry (`simulator.context.Made`) wins
over what the request said.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any
from urllib.parse import quote, unquote_plus

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from simulator.control.journal import ERROR_CHARS, PROMPT_CHARS, Details, JournalEntry, cut_text, key_digest, trimmed
from simulator.control.journal_row import IMAGE_IDS, ROW_FIELDS, Row, join_ids, split_ids
from simulator.journal_view import NOTHING_SAID, Asked, ErrorSaid, dict_or_empty
from simulator.registry import JOURNAL_VIEWS
from spec.models import PERF_FACE
from spec.tiers import mask_key

# Decision: a journalled request keeps its body's bytes (parsed when first read) up to this size; a larger body is
# read at once and only its trimmed form is kept.
KEPT_BODY_BYTES = 4096


@dataclass
class Inspected:
    """What the request said (not frozen: a frozen dataclass's __init__ costs four times as much, and a journal in
    Redis makes one per request)."""

    key: str | None
    model: str | None
    n: int | None
    size: str | None
    prompt: str | None
    body: Any


def request_key(face: str, path: str, headers: dict[str, str], query: str) -> str | None:
    """The key the request's face authenticates it with, read where that face reads it (its journal view)."""
    return JOURNAL_VIEWS[face].key(path, headers, query)


_OTHER_READINGS: dict[str, tuple[Callable[[str, dict[str, Any]], Asked], ...]] = {
    face: tuple(asked for asked in dict.fromkeys(other.asked for other in JOURNAL_VIEWS.values()) if asked is not view.asked)
    for face, view in JOURNAL_VIEWS.items()
}
"""How each face's requests are read besides as the face reads them: as the other faces do, in the registry's order
(a reading two faces share is made once).

Decision: what a request's face does not read in its body or path is read as the other faces would read it, so a
request sent to a wrong base URL (a google-genai call without `/google`, which the Perf API answers as unmatched)
still shows the model, n and prompt its client sent, to the journal as to a rule."""


def _asked(face: str, method: str, path: str, body: dict[str, Any]) -> Asked:
    """(model, n, size, prompt) as the request wrote them: as its face reads them, with what a POST to the face's
    generation endpoint renders where the request leaves it out (`JournalView.defaults`: the face's own word, before
    any other face's reading, which is for what the face does not read at all), then each the first that another
    face's view finds."""
    view = JOURNAL_VIEWS[face]
    model, n, size, prompt = view.asked(path, body)
    if method == "POST" and (model is None or n is None or size is None):
        made = view.defaults(path, body)
        model = made.model if model is None else model
        n = made.n if n is None else n
        size = made.size if size is None else size
    for asked in _OTHER_READINGS[face]:
        if model is not None and n is not None and size is not None and prompt is not None:
            break
        found_model, found_n, found_size, found_prompt = asked(path, body)
        model = found_model if model is None else model
        n = found_n if n is None else n
        size = found_size if size is None else size
        prompt = found_prompt if prompt is None else prompt
    return model, n, size, prompt


FORM_TYPE = b"multipart/form-data"
"""A body of this type (Stability's wire format) is parsed as the request enters, since parsing needs awaiting; any
other body (JSON) stays unread until asked for."""


async def form_fields(content_type: bytes, raw: bytes) -> dict[str, Any]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield raw

    try:
        form = await MultiPartParser(Headers({"content-type": content_type.decode("latin-1")}), stream()).parse()
    except MultiPartException:
        return {}
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            fields[name] = f"<file {value.content_type or 'unknown type'}, {value.size} bytes>"
            await value.close()
        else:
            fields[name] = value
    return fields


def _json_body(raw: bytes) -> Any:
    """orjson (a tenth of the json module's time; a Redis journal parses every body), and the json module for what
    orjson refuses (NaN, UTF-16). Decision: orjson reads an integer beyond 64 bits as a float, so such a number shows
    as one in the journal; the API refuses every such value anyway."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return f"<{len(raw)} bytes, not JSON>"


KeyHeaders = bytes
"""The headers a key may come in (authorization and every face's own key headers) as the server gave them, each name
then its value, one per line (no header value holds a line break), in one bytes object (a journal row holds no tuple:
simulator.control.journal_row): all a journal entry keeps of the request's headers."""
_ALL_KEY_HEADERS = (
    b"authorization",
    *dict.fromkeys(name.encode() for view in JOURNAL_VIEWS.values() for name in view.key_headers),
)
BEARER_FACES = frozenset(face for face, view in JOURNAL_VIEWS.items() if not view.key_headers)
"""The faces that take a key only as a bearer token: of their requests' headers the layer keeps `authorization`
alone (one concatenation and no call: most requests carry it)."""


def key_headers(headers: dict[bytes, bytes]) -> KeyHeaders:
    """What a journal entry keeps of the headers (`headers`: name to value) of a request to a face that takes its
    key in a header of its own (or of a bearer face's request without `authorization`): every header a key may
    come in, so that `request_key` reads the one its face reads."""
    return b"\n".join(part for name in _ALL_KEY_HEADERS if name in headers for part in (name, headers[name]))


class RequestEntry(JournalEntry):
    """The journal entry of a request as it entered: its content (key, model, prompt, trimmed body) is read from its
    bytes only when something asks (a rule to match, a listener, the journal's reader). Until then the request costs
    the layer no parsing."""

    _inspected: Inspected | None = None

    def __init__(
        self, method: str, path: str, face: str, namespace: str, key_headers: KeyHeaders, query: bytes, body: bytes | dict[str, Any]
    ) -> None:
        self.method = method
        self.path = path
        self.face = face
        self.namespace = namespace
        self._key_headers: KeyHeaders | None = key_headers
        self._query = query
        self._body: bytes | dict[str, Any] | None = body
        if len(body) > KEPT_BODY_BYTES and isinstance(body, bytes):
            self.inspected  # noqa: B018 (read now: a large body is not kept until the journal is read)

    @property
    def inspected(self) -> Inspected:
        if self._inspected is None:
            body = self._body
            parsed = _json_body(body) if isinstance(body, bytes) else body
            query = self._query.decode("latin-1")
            self._inspected = _inspected(self.face, self.method, self.path, self._key_headers_text(), query, parsed)
            self._body = self._key_headers = None
        return self._inspected

    def work_out_details(self) -> Details:
        """The journal's view: the engine's word (model, n, size) over what the request said."""
        asked = self.inspected
        return _details(self, asked, *_shown_key(asked.key), self._answer_error(), shown_query(self._query))

    def _key_headers_text(self) -> dict[str, str]:
        parts = self._key_headers.split(b"\n") if self._key_headers else []
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in zip(parts[::2], parts[1::2], strict=True)}

    def _answer_error(self) -> ErrorSaid:
        return error_said(self.face, self.answer_error) if self.answer_error is not None else NOTHING_SAID

    def row(self) -> Row:
        """The entry as the in-process journal keeps it (simulator.control.journal_row): every field, with the
        request's bytes still unread. Written out, not an attrgetter: that took a request three thousand instructions
        more."""
        inspected = self._inspected
        return (
            self.time, self.method, self.namespace, self.latency_ms, join_ids(self.image_ids),
            self.face, self.path, self.status, self.made_model, self.fault, len(self.image_ids),
            self.made_n, self.made_size, self.answer_error, self.request_id, self._key_headers, self._query, self._body,
            None if inspected is None else _inspected_fields(_as_kept(inspected)),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Row, number: int) -> RequestEntry:
        """The entry `row` holds, as the journal's entry number `number`."""
        *values, inspected = row
        entry = cls.__new__(cls)
        fields = dict(zip(ROW_FIELDS, values, strict=True))
        del fields["image_count"]  # the entry counts its image ids
        vars(entry).update(fields)
        entry.image_ids = split_ids(row[IMAGE_IDS])
        entry.id = f"request_{number}"
        if inspected is not None:
            entry._inspected = Inspected(*inspected)
        return entry

    def stored(self) -> dict[str, Any]:
        """As a shared journal keeps it. A JSON body nothing has read yet (most requests') is kept as its text, with
        the key's masked form and digest and the engine's word, and read only when the journal is (`StoredEntry`):
        working out the details cost a worker on Redis a tenth of its time."""
        body = self._body
        if self._inspected is not None or not isinstance(body, bytes):
            return super().stored()
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return super().stored()
        shown, digest = _shown_key(request_key(self.face, self.path, self._key_headers_text(), self._query.decode("latin-1")))
        error = self._answer_error()
        return {
            **self.stored_scalars(),
            "key": shown,
            "key_digest": digest,
            "error_type": error.type,
            "error_message": error.message,
            "error_param": error.param,
            "query": shown_query(self._query),
            "made": [self.made_model, self.made_n, self.made_size],
            "raw_body": text,
        }


_inspected_fields = attrgetter(*(field.name for field in fields(Inspected)))


def _as_kept(asked: Inspected) -> Inspected:
    """What the journal keeps of what a request said, once its rules have matched the whole of it: no more than the
    journal shows (the prompt one character past its cut, so it is still shown as cut)."""
    prompt = asked.prompt if asked.prompt is None else asked.prompt[: PROMPT_CHARS + 1]
    return Inspected(asked.key, trimmed(asked.model), asked.n, trimmed(asked.size), prompt, asked.body)


class StoredEntry(JournalEntry):
    """An entry read back from a shared journal that kept its body as text (`RequestEntry.stored`): the body is read
    when its details are first asked for, as in the worker that served it."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.restore_scalars(fields)
        self.made_model, self.made_n, self.made_size = fields["made"]
        self._fields = fields

    def work_out_details(self) -> Details:
        fields = self._fields
        asked = _inspected(self.face, self.method, self.path, {}, "", _json_body(fields["raw_body"].encode()))
        error = ErrorSaid(fields["error_type"], fields.get("error_message"), fields.get("error_param"))
        return _details(self, asked, fields["key"], fields["key_digest"], error, fields.get("query"))


def entry_from_stored(fields: dict[str, Any]) -> JournalEntry:
    """An entry as a shared journal gave it back, in either of the forms it keeps."""
    return StoredEntry(fields) if "raw_body" in fields else JournalEntry.from_stored(fields)


def _shown_key(key: str | None) -> tuple[str | None, str | None]:
    """What the journal keeps of a key: its masked form and its digest (never the key)."""
    return (mask_key(key), key_digest(key)) if key else (None, None)


_QUERY_KEYS = frozenset(view.query_key for view in JOURNAL_VIEWS.values() if view.query_key is not None)
"""The query parameters any face takes a key in."""


def shown_query(query: bytes) -> str | None:
    """A request's query string as sent, with every value of a parameter any face takes a key in (Google's `?key=`)
    masked as the entry's `key` is (its mask's characters percent-encoded, as a query's, but for the final `…`).

    Decisions: worked out when an entry is read (or written to a shared journal, which never holds a key), not as the
    request is served: the control layer's fast path keeps the query's bytes as they came. Masked on every face's
    entries, not only on the face that reads it: a client whose base URL lacks `/google` sends its key to a path no
    face serves, and that is when someone reads the journal to see why (which any web page may, CORS being open)."""
    if not query:
        return None
    text = query.decode("latin-1")
    if not _QUERY_KEYS:
        return text
    parts = text.split("&")
    for index, part in enumerate(parts):
        field, sep, value = part.partition("=")
        key = unquote_plus(value).strip()
        if sep and key and unquote_plus(field) in _QUERY_KEYS:
            parts[index] = f"{field}={quote(mask_key(key).removesuffix('…'), safe='')}…"
    return "&".join(parts)


def _details(entry: JournalEntry, asked: Inspected, key: str | None, digest: str | None, error: ErrorSaid, query: str | None) -> Details:
    """The engine's word (model, n, size) over what the request said; the key already masked, the error answer read."""
    return Details(
        key=key,
        key_digest=digest,
        model=trimmed(entry.made_model or asked.model),
        n=entry.made_n or asked.n,
        size=trimmed(entry.made_size or asked.size),
        prompt=cut_text(asked.prompt, PROMPT_CHARS),
        body=asked.body,
        error_type=error.type,
        query=query,
        error_message=error.message,
        error_param=error.param,
    )


def error_said(face: str, body: bytes) -> ErrorSaid:
    """What an error answer's body said as an entry shows it (message and param cut at ERROR_CHARS): as its face wrote
    it (its journal view), or as the Perf envelope of a refused control input says it on any face
    (simulator.registry.control_refusal), which is read first, as a whole: a type and the message and param beside it.

    Read when the journal is read (or an entry written to a shared journal), from the answer's body as the control
    layer kept it, never as the request is served. Decision: a body that does not parse says nothing (all None): an
    answer that is no JSON (a `malformed` fault's), or one cut at ERROR_BODY_CAP (simulator.context), whose message
    may lie past the cut (a BFL 422's `message` follows its `detail`, which echoes the input); a guess at a message
    from half an envelope would show what no client read."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return NOTHING_SAID
    if not isinstance(parsed, dict):
        return NOTHING_SAID
    said = JOURNAL_VIEWS[PERF_FACE].error(parsed)
    if not said.type:
        said = JOURNAL_VIEWS[face].error(parsed)
    return ErrorSaid(said.type, cut_text(said.message, ERROR_CHARS), cut_text(said.param, ERROR_CHARS))


def _inspected(face: str, method: str, path: str, headers: dict[str, str], query: str, body: Any) -> Inspected:
    model, n, size, prompt = _asked(face, method, path, dict_or_empty(body))
    return Inspected(
        key=request_key(face, path, headers, query),
        model=model if isinstance(model, str) else None,
        n=n if isinstance(n, int) and not isinstance(n, bool) else None,
        size=size if isinstance(size, str) else None,
        prompt=prompt if isinstance(prompt, str) else None,
        body=trimmed(body),
    )
