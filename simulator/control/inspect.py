"""What the control layer reads from a request before any face sees it: key, model, n, prompt, a trimmed body.

Face-agnostic on purpose: it looks where the six wire formats put these (a JSON body's `prompt`, Ideogram's
`image_request`, Imagen's `instances`/`parameters` and model path, BFL's model path, Stability's form), so the
faces stay untouched. What the engine later notes in the entry (`simulator.context.Made`) wins over these guesses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from simulator.control.journal import PROMPT_CHARS, Details, JournalEntry, key_digest, trimmed
from simulator.control.journal_row import IMAGE_IDS, ROW_FIELDS, Row, join_ids, split_ids
from simulator.keys import bearer_token
from simulator.registry import DEFAULT_MODELS
from spec.tiers import mask_key

_KEY_HEADERS = ("x-key", "api-key", "x-goog-api-key")
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
    """The key the request's face authenticates it with, read where that face reads it (its `face.py`): BFL's
    `x-key`, Ideogram's `Api-Key`, Google's `x-goog-api-key` or `?key=` (Gemini, Vertex express mode) but a bearer
    token on a Vertex project path, and a bearer token on the others. A key in another header than its face's is not
    the caller's key there, so it is not the journal's."""
    if face == "bfl":
        return headers.get("x-key", "").strip() or None
    if face == "ideogram":
        return headers.get("api-key", "").strip() or None
    if face == "google" and "/projects/" not in path:
        return headers.get("x-goog-api-key", "").strip() or _query_key(query)
    return bearer_token(headers.get("authorization"))


def _query_key(query: str) -> str | None:
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "key" and value:
            return unquote_plus(value).strip() or None
    return None


def _model_from_path(face: str, method: str, path: str) -> str | None:
    """Imagen names its model in the path (models/{model}:predict), BFL in its endpoint (/v1/flux-pro); a POST to
    another face's generation endpoint that names none renders the face's default model.

    Decision: a request that leaves the model to its default is that model's request, to a rule as to the journal.
    A rule on `dall-e-2` missed an openai-SDK call that named no model, which the journal (by the engine's word)
    counted as dall-e-2: one `match` selected different requests as a rule and as a count. Only that endpoint's
    POSTs: a path the face answers 404 (`/ideogram/v1/ideogram-v3/generate`) or 405 renders nothing."""
    if path.endswith(":predict") and "/models/" in path:
        return path.rsplit("/models/", 1)[1].removesuffix(":predict")
    tail = path.rsplit("/", 1)[-1]
    if tail.startswith("flux-"):
        return tail
    return DEFAULT_MODELS.get((face, path)) if method == "POST" else None


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


def _first(first: object, second: object, third: object) -> Any:
    """The first that is not None (written out, not a generator: it runs three times for every journalled body)."""
    if first is not None:
        return first
    return second if second is not None else third


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


KeyHeaders = bytes
"""The headers a key may come in (authorization and _KEY_HEADERS) as the server gave them, each name then its value,
one per line (no header value holds a line break), in one bytes object (a journal row holds no tuple:
simulator.control.journal_row): all a journal entry keeps of the request's headers."""
_ALL_KEY_HEADERS = (b"authorization", *(name.encode() for name in _KEY_HEADERS))
BEARER_FACES = frozenset({"perf", "openai", "stability"})
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
        return _details(self, asked, *_shown_key(asked.key), self._answer_error_type())

    def _key_headers_text(self) -> dict[str, str]:
        parts = self._key_headers.split(b"\n") if self._key_headers else []
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in zip(parts[::2], parts[1::2], strict=True)}

    def _answer_error_type(self) -> str | None:
        return error_type(self.answer_error) if self.answer_error is not None else None

    def row(self) -> Row:
        """The entry as the in-process journal keeps it (simulator.control.journal_row): every field, with the
        request's bytes still unread. Written out, not an attrgetter: that took a request three thousand instructions
        more."""
        inspected = self._inspected
        return (
            self.time, self.method, self.namespace, self.latency_ms, join_ids(self.image_ids),
            self.face, self.path, self.status, self.made_model, self.fault, len(self.image_ids),
            self.made_n, self.made_size, self.answer_error, self._key_headers, self._query, self._body,
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
        return {
            **self.stored_scalars(),
            "key": shown,
            "key_digest": digest,
            "error_type": self._answer_error_type(),
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
        return _details(self, asked, fields["key"], fields["key_digest"], fields["error_type"])


def entry_from_stored(fields: dict[str, Any]) -> JournalEntry:
    """An entry as a shared journal gave it back, in either of the forms it keeps."""
    return StoredEntry(fields) if "raw_body" in fields else JournalEntry.from_stored(fields)


def _shown_key(key: str | None) -> tuple[str | None, str | None]:
    """What the journal keeps of a key: its masked form and its digest (never the key)."""
    return (mask_key(key), key_digest(key)) if key else (None, None)


def _details(entry: JournalEntry, asked: Inspected, key: str | None, digest: str | None, error: str | None) -> Details:
    """The engine's word (model, n, size) over what the request said; the key already masked, the error's type read."""
    prompt = asked.prompt
    return Details(
        key=key,
        key_digest=digest,
        model=trimmed(entry.made_model or asked.model),
        n=entry.made_n or asked.n,
        size=trimmed(entry.made_size or asked.size),
        prompt=prompt if prompt is None or len(prompt) <= PROMPT_CHARS else prompt[:PROMPT_CHARS] + "…",
        body=asked.body,
        error_type=error,
    )


def error_type(body: bytes) -> str | None:
    """An error's type as its face wrote it: Perf/OpenAI `error.type`, Google `error.status`, Stability `name`, BFL
    `error` beside its `detail` (a rate limit; Ideogram's `error` is its message, with no `detail`)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    if isinstance(error, dict):
        found = error.get("type") or error.get("status")
        return found if isinstance(found, str) else None
    name = parsed.get("name")
    if isinstance(name, str):
        return name
    return error if isinstance(error, str) and "detail" in parsed else None


def _inspected(face: str, method: str, path: str, headers: dict[str, str], query: str, body: Any) -> Inspected:
    top = _as_dict(body)
    ideogram = _as_dict(top.get("image_request"))
    instances = top.get("instances")
    instance = _as_dict(instances[0]) if isinstance(instances, list) and instances else {}
    parameters = _as_dict(top.get("parameters"))
    prompt = _first(top.get("prompt"), ideogram.get("prompt"), instance.get("prompt"))
    model = _first(top.get("model"), ideogram.get("model"), _model_from_path(face, method, path))
    n = _first(top.get("n"), ideogram.get("num_images"), parameters.get("sampleCount"))
    size = top.get("size")
    return Inspected(
        key=request_key(face, path, headers, query),
        model=model if isinstance(model, str) else None,
        n=n if isinstance(n, int) and not isinstance(n, bool) else None,
        size=size if isinstance(size, str) else None,
        prompt=prompt if isinstance(prompt, str) else None,
        body=trimmed(body),
    )
