"""A shared journal keeps an unread JSON body as text and reads it when the journal is read: what a reader sees must
not depend on whether anything read the entry before it was stored."""

from __future__ import annotations

import json

import pytest

from simulator.control.inspect import RequestEntry, StoredEntry, entry_from_stored
from simulator.control.journal import JournalEntry
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
    made_entry = RequestEntry("POST", PATH, "google", "ns1", ((b"x-goog-api-key", b"pk_test_free_abcdefgh"),), b"alt=json", body)
    made_entry.time, made_entry.status, made_entry.answer_error = 1.0, 400, b'{"error": {"status": "INVALID_ARGUMENT"}}'
    made_entry.made_model, made_entry.made_n, made_entry.made_size = made
    return made_entry


def read_back(stored: JournalEntry) -> JournalEntry:
    return entry_from_stored(json.loads(dump_json(stored.stored())))


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
