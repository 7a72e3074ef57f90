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


def moment(seconds: float) -> datetime:
    """The moment `seconds` after the epoch, as an entry's `iso` shows it (microseconds, rounded)."""
    return datetime.fromtimestamp(seconds, UTC)


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
