"""A shared journal keeps an unread JSON body as text and reads it when the journal is read: what a reader sees must
not depend on whether anything read the entry before it was stored."""

from __future__ import annotations

import asyncio
import json

import pytest

from simulator.control.inspect import RequestEntry, StoredEntry, entry_from_stored
from simulator.control.journal import DEEPEST, EntryFilter, JournalEntry
from simulator.control.memory_journal import MemoryJournal
from simulator.http import dump_json

PATH = "/google/v1beta/models/imagen-4.0-generate-001:predict"
BODIES = [
    b'{"prompt": "A serene garden", "model": "dall-e-3", "n": 2, "extra": "' + b"x" * 300 + b'"}',
    b'{"image_request": {"prompt": "p", "model": "V_2", "num_images": 2}}',
    b'{"instances": [{"prompt": "q"}], "parameters": {"sampleCount": 3}}',
    b"not json",
    b"",
]


def entry(body: bytes, made: tuple[str | None, int | None, str | None]) -> RequestEntry:
    made_entry = RequestEntry("POST", PATH, "google", "ns1", b"x-goog-api-key\npk_test_free_abcdefgh", b"alt=json", body)
    made_entry.time, made_entry.status, made_entry.answer_error = 1.0, 400, b'{"error": {"status": "INVALID_ARGUMENT"}}'
    made_entry.made_model, made_entry.made_n, made_entry.made_size = made
    return made_entry


def read_back(stored: JournalEntry) -> JournalEntry:
    return entry_from_stored(json.loads(dump_json(stored.stored())))


def kept_in_process(served: RequestEntry) -> JournalEntry:
    """What an in-process journal gives back of `served` (kept as a packed row)."""
    journal = MemoryJournal()
    journal.record(served)
    [kept] = asyncio.run(journal.entries())
    return kept


@pytest.mark.parametrize("made", [(None, None, None), ("dall-e-2", 1, "256x256")])
@pytest.mark.parametrize("body", BODIES)
def test_an_unread_body_reads_back_as_a_read_one(body: bytes, made: tuple[str | None, int | None, str | None]) -> None:
    unread = read_back(entry(body, made))
    read = entry(body, made)
    read.details  # noqa: B018 (read before it is stored, as a fault rule or a listener would)
    eager = read_back(read)
    assert isinstance(unread, StoredEntry) and not isinstance(eager, StoredEntry)
    assert unread.as_json() == eager.as_json()
    assert (unread.key_digest, unread.error_type) == (eager.key_digest, "INVALID_ARGUMENT")


def test_the_full_key_is_never_stored() -> None:
    assert "pk_test_free_abcdefgh" not in dump_json(entry(BODIES[0], (None, None, None)).stored()).decode()


@pytest.mark.parametrize("made", [(None, None, None), ("dall-e-2", 1, "256x256")])
@pytest.mark.parametrize("body", BODIES)
def test_an_entry_kept_in_process_reads_back_as_it_was_served(body: bytes, made: tuple[str | None, int | None, str | None]) -> None:
    """The in-process journal keeps each entry as a packed row; read back, it must show what the entry itself shows,
    whether or not something (a fault rule, a listener) read its body before it was kept."""
    for read_first in (False, True):
        served = entry(body, made)
        served.image_ids = ("img_1", "img_2")
        if read_first:
            served.inspected  # noqa: B018
        kept = kept_in_process(served)
        assert kept.as_json() == served.as_json()
        assert (kept.key_digest, kept.error_type) == (served.key_digest, "INVALID_ARGUMENT")


def test_a_body_as_deep_as_json_parses_is_kept_down_to_a_depth() -> None:
    deep = b'{"prompt": "p", "a": ' + b"[" * 1020 + b"]" * 1020 + b"}"
    served = entry(deep, (None, None, None))
    served.inspected  # noqa: B018
    kept = kept_in_process(served)
    assert (kept.prompt, kept.status, kept.namespace) == ("p", 400, "ns1")
    assert kept.body == served.body
    innermost = kept.body["a"]
    for _ in range(DEEPEST - 1):
        innermost = innermost[0]
    assert innermost == f"<nested deeper than {DEEPEST} levels>"


@pytest.mark.parametrize("read_first", [False, True], ids=["body kept as text", "details kept"])
def test_an_entry_a_shared_journal_kept_before_entries_had_a_query_reads_back_without_one(read_first: bool) -> None:
    """A Redis outlives the perf-sim that wrote to it: a newer one reading its older entries must not fail the read."""
    served = entry(BODIES[0], (None, None, None))
    if read_first:
        served.details  # noqa: B018 (read before it is stored: the entry keeps its details, not its body)
    stored = json.loads(dump_json(served.stored()))
    del stored["query"]
    assert entry_from_stored(stored).as_json()["query"] is None


REFUSED = b'{"error": {"type": "invalid_request", "message": "size \'1x1\' is not supported", "param": "size"}}'


@pytest.mark.parametrize("read_first", [False, True], ids=["body kept as text", "details kept"])
def test_an_error_answers_message_and_field_read_back_from_a_shared_journal_as_served(read_first: bool) -> None:
    """A shared journal keeps what the answer said (not its body): read back, in either stored form, and kept in process
    (as the answer's bytes), an entry shows the same message and field."""
    served = entry(BODIES[0], (None, None, None))
    served.answer_error = REFUSED
    if read_first:
        served.details  # noqa: B018
    for kept in (read_back(served), kept_in_process(served)):
        assert (kept.error_type, kept.error_message, kept.error_param) == ("invalid_request", "size '1x1' is not supported", "size")


@pytest.mark.parametrize("read_first", [False, True], ids=["body kept as text", "details kept"])
def test_an_entry_a_shared_journal_kept_before_entries_had_an_error_message_reads_back_without_one(read_first: bool) -> None:
    served = entry(BODIES[0], (None, None, None))
    served.answer_error = REFUSED
    if read_first:
        served.details  # noqa: B018
    stored = json.loads(dump_json(served.stored()))
    del stored["error_message"], stored["error_param"]
    shown = entry_from_stored(stored).as_json()
    assert (shown["error_type"], shown["error_message"], shown["error_param"]) == ("invalid_request", None, None)


@pytest.mark.parametrize(
    "answer",
    [REFUSED[: len(REFUSED) // 2], b"<html>bad gateway</html>", b'["not", "an", "envelope"]', b"[" * 5000 + b"]" * 5000],
    ids=["cut short", "not json", "not an object", "nested past the parser"],
)
def test_an_error_answer_that_is_no_envelope_says_nothing(answer: bytes) -> None:
    """Not JSON, or cut at the body cap (simulator.context.ERROR_BODY_CAP), or JSON the parser gives up on: no type,
    message or field, rather than a guess or a failed read of the journal."""

    def served() -> RequestEntry:
        made = entry(BODIES[0], (None, None, None))
        made.answer_error = answer
        return made

    for kept in (served(), read_back(served()), kept_in_process(served())):
        assert (kept.error_type, kept.error_message, kept.error_param) == (None, None, None)


def _served_with_a_request_id(read_first: bool) -> RequestEntry:
    """An entry as served, its answer's request id noted; `read_first`: its details already worked out (kept as
    such rather than as the body's text)."""
    served = entry(BODIES[0], (None, None, None))
    served.request_id = "req_err_0123456789abcdef01234567"
    if read_first:
        served.details  # noqa: B018
    return served


@pytest.mark.parametrize("read_first", [False, True], ids=["body kept as text", "details kept"])
def test_an_answers_request_id_reads_back_from_a_shared_journal_and_in_process_as_served(read_first: bool) -> None:
    served = _served_with_a_request_id(read_first)
    for kept in (read_back(served), kept_in_process(served)):
        assert kept.request_id == "req_err_0123456789abcdef01234567"
        assert kept.as_json()["request_id"] == "req_err_0123456789abcdef01234567"


@pytest.mark.parametrize("read_first", [False, True], ids=["body kept as text", "details kept"])
def test_an_entry_a_shared_journal_kept_before_entries_had_a_request_id_reads_back_without_one(read_first: bool) -> None:
    """A Redis an older perf-sim wrote: its entries read back, with no request id, and a filter by one skips them."""
    served = _served_with_a_request_id(read_first)
    stored = json.loads(dump_json(served.stored()))
    del stored["request_id"]
    older = entry_from_stored(stored)
    assert older.as_json()["request_id"] is None
    assert not EntryFilter(request_id="req_err_0123456789abcdef01234567").holds(older)
    assert EntryFilter(request_id="req_err_0123456789abcdef01234567").holds(read_back(served))
