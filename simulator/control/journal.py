"""The request journal: one entry per request to an API face, bounded, newest first, and observable.

Listeners (`Journal.listeners`) are how the request log sees requests: after each API-face request, every
registered callable gets its `JournalEntry`, in the worker that served it, with its id: the in-process journal
numbers an entry as it keeps it, and a shared one tells its listeners once Redis has numbered it (an entry it could
not write has none, `id` ""). The metrics are a batch listener
(`Journal.batch_listeners`): they get the same entries as rows, in lists, each entry once. A listener must be quick
and must not raise (one that raises is logged and skipped); register one with
`app.state.journal.listeners.append(callback)`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from simulator.context import DEFAULT_NAMESPACE, Made
from simulator.control.actions import has_fault_parts
from simulator.control.journal_row import Row
from simulator.control.since import shown_moment
from simulator.control.unwritten import UnwrittenEntries
from simulator.engine.errors import invalid, quoted
from simulator.state.base import StateUnavailable
from spec.model_names import perf_model_name
from spec.tiers import TEST_KEY_PREFIX, TIERS

log = logging.getLogger("perf-sim")

DEFAULT_JOURNAL_SIZE = 10_000
MAX_JOURNAL_SIZE = 1_000_000
"""Decision: the most a listing shows at once (`limit`), about 160 MB of url entries. A larger size was a memory leak by
option, and past Redis's integers one no journal in Redis could trim: each request was answered with an empty 200."""
PROMPT_CHARS = 200
ERROR_CHARS = 200
"""The most characters of an error answer's message and param an entry shows, cut as a prompt is (`cut_text`)."""
# Decision: in a journalled body, strings over LONG_TEXT characters are cut to that length, and strings over
# BULKY_TEXT characters (base64 images, masks) are replaced by their length, so no image bytes are kept.
LONG_TEXT = 200
BULKY_TEXT = 1000
# Decision: and lists and objects nested deeper than DEEPEST levels are replaced by a note (a parser takes a thousand
# levels, more than Python's recursion allows to walk).
DEEPEST = 32
MOST_ITEMS = 256
"""Fields and list items a journalled body keeps, in all (a Stability form or an Imagen body has a few dozen)."""
PATH_CHARS = 512
"""The most characters of a request's path an entry keeps (a Vertex path, the longest a face serves, has about 120)."""


_ENTRY_ID = re.compile(r"request_([1-9][0-9]{0,17})")
"""The ids journals give (`request_7`): numbered from 1, in ASCII digits."""


def entry_number(entry_id: str) -> int | None:
    """The number of an entry id, None when `entry_id` is none a journal gives (so no journal need be read)."""
    found = _ENTRY_ID.fullmatch(entry_id)
    return int(found.group(1)) if found else None


def check_masked_key(value: str, field: str) -> None:
    """Refuse a key (or masked key) no request can be journalled with, as a 400 naming `field`: a rule or filter that
    silently matches nothing is what the control API refuses (`?fault=` argues it: a count of 0 would pass a test that
    tested nothing).

    - White space at either end: every face strips the key it reads (a header's, Google's `?key=`), so no entry's key
      starts or ends with it, and a mask ends with `…`. A key pasted with a space or a line break selected nothing.
    - A lone surrogate (only a JSON `match.key` can carry one): a key is read from a header (Latin-1) or a decoded
      query (UTF-8, a bad byte replaced), neither of which holds one.
    - A ready-made key's mask as it was shown before a mask showed the whole `pk_test_<tier>_` (`pk_test_free…`,
      `pk_test_ente…`).

    Decision: nothing else. A key that breaks the key rule (8-200 of `A-Za-z0-9_-`) is journalled as it was sent,
    with the face's 401 (or Google's 400), and `?key=` finds it: which request sent `x` as its key is what someone
    reading such an answer asks. A mask has no other shape to check: a key read from Google's `?key=` may hold `…`."""
    if value != value.strip():
        raise invalid(
            field,
            f"{field} {quoted(value)} starts or ends with white space, which no key is read with (each face strips it), "
            "so it can select no request: give the key, or its masked form as the journal shows it, without it",
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(
                field, f"{field} holds a lone surrogate, which no key read from a request holds, so it can select no request"
            ) from None
    start = value.removesuffix("…")
    if start == value or not start.startswith(TEST_KEY_PREFIX):
        return
    prefixes = [f"{TEST_KEY_PREFIX}{tier}_" for tier in TIERS]
    stale = [prefix for prefix in prefixes if prefix.startswith(start) and prefix != start]
    if stale:
        raise invalid(field, f"{field}: a ready-made key is shown with its whole tier, as in {stale[0]}…; give that or the full key")


REQUEST_ID_CHARS = 128
"""The longest request id a filter takes: every face's is under 50 characters (OpenAI's `req_` and 32 hex)."""
_REQUEST_ID = re.compile(rf"[!-~]{{1,{REQUEST_ID_CHARS}}}")
"""Printable ASCII without spaces, as an x-request-id is sent."""


def check_request_id(value: object, field: str) -> None:
    """Refuse what no answer's x-request-id can be (empty, over REQUEST_ID_CHARS, a space or a control character): a
    filter or a count by it would select nothing, silently. Loose beyond that: each face writes its own form."""
    if not isinstance(value, str) or _REQUEST_ID.fullmatch(value) is None:
        message = (
            f"{field} is an answer's x-request-id as its client got it, 1 to {REQUEST_ID_CHARS} printable ASCII characters "
            f"without spaces; got {quoted(value)}"
        )
        raise invalid(field, message)


def key_digest(key: str) -> str:
    """What the journal keeps of a full key, so `?key=` can find a key's requests without storing the key."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


KEY_ID_CHARS = 8


def key_id(digest: str | None) -> str | None:
    """What tells apart keys whose masked forms are alike (`pk_test_free…` for every free test key): the start of the
    key's digest, shown beside the masked key in the journal, the usage listing and the dashboard."""
    return None if digest is None else digest[:KEY_ID_CHARS]


def check_key_id(value: object, field: str) -> None:
    """Refuse what no key_id can be: a filter or a count by it would select nothing, silently."""
    if not isinstance(value, str) or len(value) != KEY_ID_CHARS or value.strip("0123456789abcdef"):
        message = f"{field} is a key's id as the journal shows it, {KEY_ID_CHARS} characters of 0-9 and a-f; got {quoted(value)}"
        raise invalid(field, message)


def kept_path(path: str) -> str:
    """A path as an entry keeps it: whole up to PATH_CHARS, else its start and its length, as a long string in a body
    is cut. Decision: without it an unrouted request's 65,000-character path was kept whole, in the journal, each log
    line and every dashboard poll; the start kept still matches a rule's or a filter's path prefix."""
    return path if len(path) <= PATH_CHARS else f"{path[:PATH_CHARS]}… ({len(path)} characters)"


def cut_text(text: str | None, chars: int) -> str | None:
    """`text` as an entry shows a prompt or an error's message: whole up to `chars` characters, else their first and
    `…`."""
    return text if text is None or len(text) <= chars else text[:chars] + "…"


def trimmed(value: Any) -> Any:
    """A request body fit for the journal: long strings (field names too) cut, bulky ones replaced by their length,
    deep ones by a note, and no more than MOST_ITEMS fields and list items in all, the rest said by a note. Without
    the last two, a body of one 250,000-character field name, or of 20,000 small fields, was kept whole: ten thousand
    entries of them would hold gigabytes."""
    return _trimmed(value, 0, [MOST_ITEMS])


def _trimmed(value: Any, depth: int, left: list[int]) -> Any:
    if isinstance(value, str):
        if len(value) > BULKY_TEXT:
            return f"<{len(value)} characters>"
        return value if len(value) <= LONG_TEXT else value[:LONG_TEXT] + "…"
    if isinstance(value, (dict, list)) and depth >= DEEPEST:
        return f"<nested deeper than {DEEPEST} levels>"
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for number, (key, item) in enumerate(value.items()):
            if left[0] <= 0:
                kept["…"] = f"<{len(value) - number} more fields>"
                break
            left[0] -= 1
            kept[_trimmed(str(key), depth, left)] = _trimmed(item, depth + 1, left)
        return kept
    if isinstance(value, list):
        items: list[Any] = []
        for number, item in enumerate(value):
            if left[0] <= 0:
                items.append(f"<{len(value) - number} more items>")
                break
            left[0] -= 1
            items.append(_trimmed(item, depth + 1, left))
        return items
    return value


@dataclass
class Details:
    """What a journal entry says about the request's content: derived from its bytes only when first read. (Not
    frozen, as `Inspected`.)"""

    key: str | None
    """Masked."""
    key_digest: str | None
    """Stays inside the simulator (never in the API): lets `?key=` find a key's requests without storing the key."""
    model: str | None
    n: int | None
    size: str | None
    prompt: str | None
    body: Any
    error_type: str | None
    query: str | None = None
    """As sent, the face's key in it masked (simulator.control.inspect.shown_query); None when there was none, and in
    an entry a shared journal kept before entries had a query (a Redis a newer perf-sim now reads)."""
    error_message: str | None = None
    """The error answer's message as its face wrote it, cut at ERROR_CHARS; None for a success, a dropped
    connection, an answer that is no error envelope, and in an entry a shared journal kept before entries had one."""
    error_param: str | None = None
    """The request field the error answer names, where its face's envelope names one (cut as the message is)."""


class JournalEntry(Made):
    """One request to an API face, made as the request enters and filled in as it is served: the engine notes what
    it made in it and the face's endpoint its answer (it is the request's `Made`), the control layer its latency and
    fault.

    Listeners read it like a record (`entry.face`, `entry.status`, `entry.model`, ...). Its content fields come from
    `details`, worked out from the request's bytes the first time one is read (by `work_out_details`, which the
    entry the control layer makes provides), so a request nobody looks at costs no parsing.
    """

    id: str = ""
    method: str
    path: str
    face: str
    namespace: str
    latency_ms: float = 0.0
    """Server time, from the request's arrival to its answer's last bytes (shown to the microsecond)."""
    fault: str | None = None
    """The action applied, in header form (`status=503`), or None."""
    _details: Details | None = None

    @property
    def details(self) -> Details:
        if self._details is None:
            self._details = self.work_out_details()
        return self._details

    def work_out_details(self) -> Details:
        raise NotImplementedError("an entry read back from a shared journal comes with its details")

    def row(self) -> Row:
        """The entry as the in-process journal and the batch listeners read it (`RequestEntry.row`)."""
        raise NotImplementedError("only the entry of a request served here is kept in process")

    @property
    def model(self) -> str | None:
        """The engine's word, else what the request said: the engine's needs no parse of the request body, which is
        most of what a listener (metrics) would otherwise cost."""
        return self.made_model if self.made_model is not None else self.details.model

    @property
    def n(self) -> int | None:
        return self.made_n if self.made_n is not None else self.details.n

    @property
    def size(self) -> str | None:
        return self.made_size if self.made_size is not None else self.details.size

    key = property(lambda self: self.details.key)
    key_digest = property(lambda self: self.details.key_digest)
    key_id = property(lambda self: key_id(self.details.key_digest))
    prompt = property(lambda self: self.details.prompt)
    query = property(lambda self: self.details.query)
    body = property(lambda self: self.details.body)
    error_type = property(lambda self: self.details.error_type)
    error_message = property(lambda self: self.details.error_message)
    error_param = property(lambda self: self.details.error_param)

    @property
    def iso(self) -> str:
        return shown_moment(self.time or 0.0).isoformat()

    def stored(self) -> dict[str, Any]:
        """Every field, as a shared journal keeps it. (The details' fields as they are, not `asdict`, whose deep copy of
        the body cost as much as encoding the entry.)"""
        return {**self.stored_scalars(), **vars(self.details)}

    def stored_scalars(self) -> dict[str, Any]:
        """The fields every stored form keeps as they are."""
        return {**{name: getattr(self, name) for name in _SCALARS}, "latency_ms": round(self.latency_ms, 3)}

    def restore_scalars(self, fields: dict[str, Any]) -> None:
        """The fields `stored_scalars` kept, read back (one a shared journal kept before it had it, as None)."""
        for name in _SCALARS:
            setattr(self, name, fields[name] if name not in _ADDED_SCALARS else fields.get(name))
        self.image_ids = tuple(self.image_ids)

    @classmethod
    def from_stored(cls, fields: dict[str, Any]) -> JournalEntry:
        entry = cls.__new__(cls)
        entry.restore_scalars(fields)
        entry._details = Details(**{name: fields[name] for name in _DETAILS if name in fields})
        return entry

    def as_json(self) -> dict[str, Any]:
        """The entry as GET /_sim/requests shows it."""
        d = self.details
        return {
            "id": self.id,
            "time": self.time,
            "iso": self.iso,
            "method": self.method,
            "path": self.path,
            "query": d.query,
            "face": self.face,
            "namespace": self.namespace,
            "key": d.key,
            "key_id": key_id(d.key_digest),
            "model": self.model,
            "n": self.n,
            "size": self.size,
            "status": self.status,
            "request_id": self.request_id,
            "error_type": d.error_type,
            "error_message": d.error_message,
            "error_param": d.error_param,
            "latency_ms": round(self.latency_ms, 3),
            "fault": self.fault,
            "image_ids": list(self.image_ids),
            "prompt": d.prompt,
            "body": d.body,
        }


_SCALARS = ("id", "time", "method", "path", "face", "namespace", "status", "latency_ms", "fault", "image_ids", "request_id")
_ADDED_SCALARS = frozenset({"request_id"})
"""Scalars an entry a shared journal kept before they were added has not: read back as None (a Redis an older
perf-sim wrote, which a newer one now reads)."""
_DETAILS = tuple(f.name for f in fields(Details))


@dataclass(frozen=True)
class EntryFilter:
    """What GET /_sim/requests and POST /_sim/requests/count select on; every field given must hold.

    Decision: without `method`, every method but OPTIONS, as a rule's match (simulator.control.rules): a count "as
    rules" then counts what a rule would have taken, and a browser app's CORS preflights do not double its requests in
    a listing or a count. They stay in the journal, listed and counted with `method=OPTIONS`.
    """

    face: str | None = None
    path: str | None = None
    """A prefix."""
    method: str | None = None
    model: str | None = None
    status: int | None = None
    key: str | None = None
    """A full key, or a masked one as the journal shows it."""
    key_id: str | None = None
    """The one key whose `key_id` it is (a masked key selects every key masked alike)."""
    prompt: Callable[[str], bool] | None = None
    """Whether a prompt is one asked for (simulator.control.prompt_pattern)."""
    namespace: str | None = None
    fault: frozenset[str] | None = None
    """The parts of an action in header form (simulator.control.actions.fault_parts), each of which the entry's fault
    must hold."""
    since: datetime | None = None
    """The entry's time (as its `iso` shows it) is this or later (simulator.control.since)."""
    request_id: str | None = None
    """The answer's x-request-id, exactly."""

    def holds(self, entry: JournalEntry) -> bool:
        return (
            (self.namespace is None or entry.namespace == self.namespace)
            and (self.request_id is None or entry.request_id == self.request_id)
            and (self.fault is None or has_fault_parts(entry.fault, self.fault))
            and (self.face is None or entry.face == self.face)
            and (self.path is None or entry.path.startswith(self.path))
            and (entry.method == self.method or (self.method is None and entry.method != "OPTIONS"))
            and (self.model is None or ((model := entry.model) is not None and perf_model_name(model) == perf_model_name(self.model)))
            and (self.status is None or entry.status == self.status)
            and (self.key is None or self.key == entry.key or key_digest(self.key) == entry.key_digest)
            and (self.key_id is None or entry.key_id == self.key_id)
            and (self.since is None or shown_moment(entry.time or 0.0) >= self.since)
            and (self.prompt is None or (entry.prompt is not None and self.prompt(entry.prompt)))
        )


Listener = Callable[[JournalEntry], None]
BatchListener = Callable[[list[Row]], None]
T = TypeVar("T")


def _count(entries: Iterable[JournalEntry], selection: EntryFilter) -> int:
    return sum(1 for entry in entries if selection.holds(entry))


def _found(entries: Iterable[JournalEntry], selection: EntryFilter, limit: int | None) -> list[JournalEntry]:
    found: list[JournalEntry] = []
    for entry in entries:
        if selection.holds(entry):
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
    return found


async def _searched(search: Callable[..., T], page: Iterable[JournalEntry], selection: EntryFilter, *args: Any) -> T:
    """`search` over the page, in a thread when it searches prompts (see `Journal.count`)."""
    if selection.prompt is None:
        return search(page, selection, *args)
    return await asyncio.to_thread(search, page, selection, *args)


def tell_each(listeners: list[Callable[[T], None]], news: T) -> None:
    """Call each listener with `news` (an entry, or a batch of them); one that raises is logged and skipped."""
    for listener in listeners:
        try:
            listener(news)
        except Exception:
            log.exception("journal listener %r failed", listener)


class Journal(ABC):
    def __init__(self, size: int) -> None:
        self.size = size
        self.listeners: list[Listener] = []
        """Each told of every entry as it is kept (the request log)."""
        self.batch_listeners: list[BatchListener] = []
        """Told of the entries kept in batches, as rows (simulator.control.journal_row), oldest first, each entry once
        (the metrics, which count nothing a request needs at once): a call per request cost as much as the counting.
        `flush` tells them of every entry kept so far (before a scrape)."""
        self._unwritten = UnwrittenEntries()

    @abstractmethod
    def record(self, entry: JournalEntry) -> Awaitable[None] | None:
        """Keep the entry (giving it its id, dropping the oldest beyond `size`), then tell every listener; returns
        what to await until both are done, or None when they are done already (in process: the control layer then
        makes no coroutine for it, on every request).

        A journal that cannot be written (Redis down) loses the entry rather than the answer: the face has already
        answered, with a 503 of its own if the state is down."""

    @abstractmethod
    def flush(self) -> None:
        """Tell the batch listeners of the entries kept and not yet told of."""

    async def _record_when_written(self, writing: Awaitable[None], entry: JournalEntry) -> None:
        try:
            await writing
        except StateUnavailable as exc:
            self._unwritten.lost(exc)
        else:
            self._unwritten.written()
        tell_each(self.listeners, entry)
        tell_each(self.batch_listeners, [entry.row()])

    @abstractmethod
    async def entries(self, namespace: str | None = None) -> Iterable[JournalEntry]:
        """Every kept entry of `namespace` (None: of all), newest first."""

    @abstractmethod
    async def entry(self, entry_id: str, namespace: str | None) -> JournalEntry | None:
        """The kept entry with this id when it is of `namespace` (None: of any), else None: never given, dropped past
        `size`, deleted, or another namespace's (a test's lookup must not read another test's request)."""

    @abstractmethod
    async def delete(self, namespace: str | None) -> int:
        """Forget the entries of `namespace` (None: all), and that it was seen; returns how many entries."""

    @abstractmethod
    async def start_numbering(self) -> None:
        """Give the next entry the id request_1: once, as a run starts, so that its ids are the same from run to run
        (resets never do: an id names one request for the whole run)."""

    @abstractmethod
    async def seen(self) -> set[str]:
        """The namespaces of every request journalled since the last reset (even those whose entries were dropped)."""

    async def namespaces(self) -> list[str]:
        """The namespaces seen, "default" first (the dashboard's selector)."""
        return [DEFAULT_NAMESPACE, *sorted(await self.seen() - {DEFAULT_NAMESPACE})]

    async def pages(self, namespace: str | None, wanted: int | None = None) -> AsyncGenerator[Iterable[JournalEntry], None]:
        """The kept entries of `namespace` (None: of all), newest first, as `entries` gives them, in pages a reader
        stops taking once it has what it wants (`wanted` entries, where it knows; a store may size its first page by
        it). Here one page, `entries` itself (the in-process journal's reads its batches as its reader goes); a shared
        journal reads one bounded page of Redis at a time (simulator.control.redis_journal)."""
        yield await self.entries(namespace)

    async def find(self, selection: EntryFilter, limit: int | None = None) -> list[JournalEntry]:
        """As `count`, in a thread when it searches prompts; the newest `limit` entries selected, read no further."""
        found: list[JournalEntry] = []
        async with aclosing(self.pages(selection.namespace, limit)) as pages:
            async for page in pages:
                left = None if limit is None else limit - len(found)
                found += await _searched(_found, page, selection, left)
                if limit is not None and len(found) >= limit:
                    break
        return found

    async def count(self, selection: EntryFilter) -> int:
        """Decision: a count that searches prompts runs in a thread beside the event loop (the search lets go of the
        GIL, simulator.control.prompt_pattern): a pattern that backtracks for its whole time limit held every other
        request, `/_sim/health` included, for those seconds."""
        counted = 0
        async with aclosing(self.pages(selection.namespace)) as pages:
            async for page in pages:
                counted += await _searched(_count, page, selection)
        return counted

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
