"""`since`, the time from which a journal listing or count selects entries (WireMock's `?since=`).

It is given as Unix seconds or as an ISO 8601 time with its offset, as an entry shows its `time` and its `iso`, and
read as the moment an entry's `iso` names, to the microsecond: `since` set to an entry's own `time` or `iso`
selects that entry, though the two differ below a microsecond.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from simulator.engine.errors import ApiError, invalid, quoted

_SECONDS = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
"""A number as JSON writes one: `float` alone also reads `nan`, `inf`, ` 1 ` and `1_000`."""


_PLUS_AS_SPACE = re.compile(r" ([0-9]{2}:[0-9]{2})$")


LAST_MOMENT = datetime.max.replace(tzinfo=UTC)
FIRST_MOMENT = datetime.min.replace(tzinfo=UTC)


def moment(seconds: float) -> datetime:
    """The moment `seconds` after the epoch, to the microsecond (rounded); ValueError (or OverflowError) outside the
    years 1 to 9999 a date can name."""
    return datetime.fromtimestamp(seconds, UTC)


def shown_moment(seconds: float) -> datetime:
    """A clock's time as an entry's `iso` (and `GET /_sim/clock`'s) shows it: `moment`, held within the years 1 to 9999.

    Decision: a time past them shows as the last moment a date can name (9999-12-31T23:59:59.999999+00:00), and is
    selected by any `since`, rather than raising. No advance carries the clock past 9999-01-01 (`State.advance_clock`;
    a real clock then runs on with wall time), but when
    concurrent advances on Redis could still carry it past (before the bound was checked in the advance's own script),
    one namespace's entry made every listing of the whole journal a 500: a defence should a clock ever be past it again
    (a Redis key set by hand, a real clock advanced close to the bound running on with wall time). The entry's `time`
    (Unix seconds) still says when it is; a reset of the namespace brings its clock back."""
    try:
        return moment(seconds)
    except (ValueError, OverflowError, OSError):
        return LAST_MOMENT if seconds > 0 else FIRST_MOMENT


def since_from_query(text: str, field: str) -> datetime:
    """`?since=`: Unix seconds, or an ISO 8601 time with its offset.

    Decision: a space before a closing `HH:MM` is read as the `+` it was: an entry's `iso` pasted into a URL
    unencoded (`...21.104949+00:00`) arrives so, as a query reads `+` as a space, and nothing else can be meant."""
    if _SECONDS.fullmatch(text):
        return _from_seconds(float(text), text, field)
    text = _PLUS_AS_SPACE.sub(r"+\1", text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _refused(text, field) from None
    if at.tzinfo is None:
        message = f"{field} has no offset, so it names no one moment: add Z or +HH:MM, as an entry's iso does; got {quoted(text)}"
        raise invalid(field, message)
    return at


def since_from_json(value: object, field: str) -> datetime:
    """A count's `match.since`: Unix seconds as a JSON number, or an ISO 8601 time with its offset as a string (a
    number in a string is refused, as a string `status` is)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_seconds(value, value, field)
    if isinstance(value, str) and not _SECONDS.fullmatch(value):
        return since_from_query(value, field)
    raise _refused(value, field)


def _from_seconds(seconds: float, given: object, field: str) -> datetime:
    try:
        return moment(seconds)
    except (ValueError, OverflowError, OSError):
        raise invalid(field, f"{field} is past the years 1 to 9999 a time can name; got {quoted(given)}") from None


def _refused(value: object, field: str) -> ApiError:
    example = "2026-01-01T00:00:00Z"
    message = (
        f"{field} must be Unix seconds or an ISO 8601 time with its offset, as an entry's time or iso ({example}); got {quoted(value)}"
    )
    return invalid(field, message)
