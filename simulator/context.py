"""What the layer where a request enters knows about it, for the layers below: its namespace, and the images it made.

The control layer (simulator.control) sets both for each request, in one object (`Made`, in the context variable
`recording`); the state reads the namespace to partition its keys and clock, the engine notes what it made (model,
n, size, image ids) and a face's endpoint the answer it gives, for the request journal. A context variable keeps
concurrent requests apart without threading a parameter through every face.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.responses import Response
from starlette.types import Send

DEFAULT_NAMESPACE = "default"
# Decision: a namespace name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, so it
# fits in a state key and a URL query without escaping.
NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAMESPACE_RULE = "1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit"
"""NAMESPACE_PATTERN in words, for every message refusing a name (the simulator's, its control client's, perf-contract's)."""

ERROR_BODY_CAP = 16 * 1024
"""An error answer's body is kept up to this size, for its type."""
REQUEST_ID_HEADER = b"x-request-id"
"""The header an answer's id is sent in, on every face that sends one: what a client logs, and the journal keeps."""


class Made:
    """What the layers below the control layer note about the current request, in their own terms (whatever face
    it came by): what the engine made, and the answer the face gave.

    The request journal's entry extends it, so that what is noted lands in the entry itself: one object per request
    for the layer to make, not three. A plain class with class-level defaults, not slots: the entry is made on every
    request, and only what differs from the defaults is set then.
    """

    namespace: str = DEFAULT_NAMESPACE
    """The request's namespace, which the state reads (`namespace()`) to partition its keys and clock."""
    time: float | None = None
    """The simulator clock when the engine admitted (or refused) the request, so the journal need not read it again."""
    made_model: str | None = None
    made_n: int | None = None
    made_size: str | None = None
    image_ids: tuple[str, ...] = ()
    """A tuple: a journal keeps thousands of entries, and the collector need not scan tuples of strings."""
    status: int | None = None
    """The answer's status; None when the connection was dropped without an answer."""
    answer_error: bytes | None = None
    """The answer's body when it was an error (its type is read from it when the journal is read)."""
    state_down: bool = False
    """Whether the shared state did not answer for the request: its answer a 503 (see `note_state_down`), or a
    preflight's whose fault rules could not be read (simulator.control.layer)."""
    request_id: str | None = None
    """The answer's `x-request-id`, as its client got it; None where the face's answer carries none (BFL, Google, an
    Ideogram error) and when the connection was dropped without an answer."""
    server_send: Send | None = None
    """The server's own `send` for the request, noted by the control layer when work below the face may wait on the
    client (a gateway's calls upstream, the engine's modelled latency: `ControlLayer.waits_below_faces`): through its
    connection, that work sees whether the client is still there (simulator.connection). None otherwise."""


_UNRECORDED = Made()
_UNRECORDED.namespace = DEFAULT_NAMESPACE  # on the object: see the control layer's fast path
"""What the engine works for outside any request the control layer entered (a test calling it directly): in the
default namespace, and what is noted in it is dropped."""

recording: ContextVar[Made] = ContextVar("perf_sim_request", default=_UNRECORDED)
"""The current request's `Made`: its namespace, and where the engine notes what it makes. The control layer sets it
for each request (directly, once: it runs on every request, and a wrapper call or a second variable would cost),
to the request's journal entry or a plain `Made`."""


def valid_namespace(name: str) -> bool:
    return NAMESPACE_PATTERN.fullmatch(name) is not None


def namespace() -> str:
    """The namespace of the request being served ("default" outside any request)."""
    return recording.get().namespace


def made_in_namespace(name: str) -> Made:
    """A `Made` for a request of namespace `name` (nothing noted about it is kept)."""
    made = Made()
    made.namespace = name
    return made


@contextmanager
def in_namespace(name: str) -> Iterator[None]:
    """Serve what runs inside as a request of namespace `name` (a control call acting on one namespace)."""
    token = recording.set(made_in_namespace(name))
    try:
        yield
    finally:
        recording.reset(token)


def note_time(now: float) -> None:
    made = recording.get()
    if made is not _UNRECORDED:
        made.time = now


def note_generation(model: str, n: int, size: str, image_ids: Sequence[str]) -> None:
    """Called by the engine when it stores a generation's images; a no-op outside a recorded request."""
    made = recording.get()
    if made is not _UNRECORDED:
        made.made_model, made.made_n, made.made_size = model, n, size
        made.image_ids += tuple(image_ids)


def note_answer(response: Response) -> None:
    """Called by a face's endpoint with the answer it is about to send: the control layer then need not watch the
    answer's messages on their way out (it does only while a fault may apply).

    Its `x-request-id` is the one a JSON answer was given (simulator.http.SafeJSONResponse keeps it as it encodes the
    headers), else read from the headers as they will be sent; an error answer whose id is drawn only as it is sent
    notes it then (`note_request_id`)."""
    made = recording.get()
    if made is not _UNRECORDED:
        status = made.status = response.status_code
        if status >= 400:
            made.answer_error = getattr(response, "body", b"")[:ERROR_BODY_CAP]
        try:
            made.request_id = response.request_id  # type: ignore[attr-defined]  # a SafeJSONResponse's (no import cycle)
        except AttributeError:  # an answer of another kind (an image's bytes, a text page): rare, and scanned
            made.request_id = sent_request_id(response.raw_headers)


def sent_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The x-request-id in headers as they are sent (lower-case names, as Starlette and ASGI servers send them)."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return bytes(value).decode("latin-1")
    return None


def note_request_id(request_id: str) -> None:
    """Called by an error answer that draws its `x-request-id` only as it is sent (simulator.perf.wire.ErrorAnswer,
    simulator.providers.serving.NativeErrorAnswer), with that id."""
    made = recording.get()
    if made is not _UNRECORDED:
        made.request_id = request_id


def note_state_down() -> None:
    """Called where a face answers 503 because the shared state did not answer. The control layer then neither reads
    the state's clock for the request's journal entry nor holds the answer for the entry's write: a stuck Redis
    would make the client wait its timeout twice more before hearing the 503."""
    made = recording.get()
    if made is not _UNRECORDED:
        made.state_down = True


def note_image_ids(image_ids: Sequence[str]) -> None:
    """Called when images are kept by id outside a generation (the gateway's copies of upstream images)."""
    made = recording.get()
    if made is not _UNRECORDED:
        made.image_ids += tuple(image_ids)
