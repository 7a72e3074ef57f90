"""The request log's lines: what a person reading `perf-sim`'s stdout (or a log shipper reading JSON) relies on."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.control.actions import MAX_MESSAGE_CHARS
from simulator.control.journal import LONG_TEXT, JournalEntry, kept_path
from simulator.request_log import LINE_BYTES, LOG_JSON, LOG_TEXT, describe_fault, json_line, request_logger, text_line

ENTRY = {
    "id": "request_7",
    "time": 1767225600.25,
    "iso": "2026-01-01T00:00:00+00:00",
    "method": "POST",
    "path": "/v1/images/generations",
    "query": None,
    "face": "perf",
    "namespace": "default",
    "key": "pk_live_a…",
    "key_id": "5ed1354f",
    "model": "dall-e-3",
    "n": 1,
    "size": "1024x1024",
    "status": 200,
    "request_id": "req_img_3f9a61c2d4b8e07f15a9c3d2",
    "error_type": None,
    "latency_ms": 12.4,
    "fault": None,
    "image_ids": ["img_1"],
    "prompt": "a red fox",
    "body": {"prompt": "a red fox"},
}


def test_a_text_line_reads_time_request_outcome_model_n_server_ms_key_namespace_entry_id_and_request_id() -> None:
    assert text_line(ENTRY) == (
        "2026-01-01T00:00:00.250Z POST /v1/images/generations 200 - dall-e-3 n=1 12.4ms key=pk_live_a…#5ed1354f ns=default id=request_7 "
        "rid=req_img_3f9a61c2d4b8e07f15a9c3d2"
    )


def test_a_line_carries_the_answers_request_id_so_the_id_an_app_logged_finds_its_line() -> None:
    """The app logs the x-request-id its client got (the Perf API's perf.request_id, OpenAI's `req_...`); the line
    carries the same id, which `GET /_sim/requests?request_id=` finds the entry by."""
    entry = {**ENTRY, "status": 503, "error_type": "server_error", "request_id": "req_0123456789abcdef0123456789abcdef"}
    assert " id=request_7 rid=req_0123456789abcdef0123456789abcdef" in text_line(entry)
    assert json.loads(json_line(entry))["request_id"] == "req_0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "entry", [{**ENTRY, "request_id": None}, {name: value for name, value in ENTRY.items() if name != "request_id"}], ids=["null", "absent"]
)
def test_an_answer_without_a_request_id_shows_a_dash_in_its_place(entry: dict[str, object]) -> None:
    """BFL's and Google's answers carry no x-request-id, nor does a dropped connection; an entry a Redis journal kept
    before entries had one has none either."""
    assert text_line(entry).endswith(" id=request_7 rid=-")
    assert text_line({**entry, "fault": "drop"}).endswith(" id=request_7 rid=- fault=drop")
    assert json.loads(json_line(entry))["request_id"] is None


def test_a_line_shows_the_query_as_the_journal_keeps_it_so_polls_of_two_tasks_differ() -> None:
    """Every poll of every BFL task is `GET /v1/get_result`: the query tells them apart (a key in it masked, as the
    journal masks it)."""
    polls = [{**ENTRY, "method": "GET", "path": "/v1/get_result", "query": f"id={task}"} for task in ("b335d2b8", "0c41aa97")]
    assert [text_line(poll).split()[2] for poll in polls] == ["/v1/get_result?id=b335d2b8", "/v1/get_result?id=0c41aa97"]
    assert [json.loads(json_line(poll))["query"] for poll in polls] == ["id=b335d2b8", "id=0c41aa97"]


def test_a_query_with_a_space_is_quoted_with_its_path_so_it_cannot_shift_the_fields_after_it() -> None:
    line = text_line({**ENTRY, "query": "a=1 200 - dall-e-3"})
    assert ' "/v1/images/generations?a=1 200 - dall-e-3" 200 - dall-e-3 n=1 ' in line


@pytest.mark.parametrize("missing", ["", None], ids=["not given", "absent"])
def test_an_entry_a_shared_journal_could_not_write_shows_no_id(missing: str | None) -> None:
    """During a Redis outage the request is answered and logged, but its entry is lost: it has no id to look up."""
    assert text_line({**ENTRY, "id": missing}).endswith(" ns=default id=- rid=req_img_3f9a61c2d4b8e07f15a9c3d2")
    assert json.loads(json_line({**ENTRY, "id": missing}))["id"] is None


def test_a_client_cannot_shift_a_text_lines_fields_with_spaces_in_its_path_model_or_key() -> None:
    forged = {**ENTRY, "path": "/v1/x 200 - dall-e-3", "model": 'a b"c', "key": "pk live…", "status": 404, "error_type": "not_found"}
    line = text_line(forged)
    assert line == (
        '2026-01-01T00:00:00.250Z POST "/v1/x 200 - dall-e-3" 404 not_found "a b\\"c" n=1 12.4ms key="pk live…"#5ed1354f ns=default '
        "id=request_7 rid=req_img_3f9a61c2d4b8e07f15a9c3d2"
    )


def test_a_faulted_request_shows_its_error_type_and_the_fault_as_the_header_writes_it() -> None:
    entry = {**ENTRY, "status": 503, "error_type": "service_unavailable", "fault": {"status": 503, "retry_after": 2}}
    line = text_line(entry)
    assert " 503 service_unavailable dall-e-3 " in line
    assert line.endswith(" fault=status=503;retry_after=2")


def test_a_request_without_model_or_key_shows_dashes_instead_of_none() -> None:
    line = text_line({**ENTRY, "model": None, "n": None, "key": None, "key_id": None, "status": 401, "error_type": "authentication_error"})
    assert "None" not in line and " 401 authentication_error - n=- " in line and " key=- " in line


@pytest.mark.parametrize("model", ["-", ""])
def test_a_model_named_dash_or_nothing_is_quoted_not_shown_as_no_model(model: str) -> None:
    assert f' 200 - "{model}" n=1 ' in text_line({**ENTRY, "model": model})


def test_two_keys_masked_alike_are_told_apart_by_their_key_id() -> None:
    first, second = (text_line({**ENTRY, "key": "pk_test_pro_…", "key_id": key_id}) for key_id in ("5ed1354f", "0b9c22a1"))
    assert " key=pk_test_pro_…#5ed1354f " in first and " key=pk_test_pro_…#0b9c22a1 " in second


@pytest.mark.parametrize(
    ("fault", "shown"),
    [
        (None, None),
        ({"drop": True}, "drop"),
        ({"delay_ms": 1500}, "delay_ms=1500"),
        ({"action": {"status": 429, "retry_after": 3}, "rule": "f_1"}, "status=429;retry_after=3"),
        ({}, None),
        ("status=503", "status=503"),
    ],
)
def test_faults_are_described_in_the_x_sim_fault_syntax(fault: object, shown: str | None) -> None:
    assert describe_fault(fault) == shown


def test_a_json_line_carries_the_same_fields_as_a_text_line() -> None:
    fields = json.loads(json_line({**ENTRY, "fault": {"drop": True}}))
    assert fields == {
        "time": "2026-01-01T00:00:00.250Z",
        "method": "POST",
        "path": "/v1/images/generations",
        "query": None,
        "status": 200,
        "error_type": None,
        "model": "dall-e-3",
        "n": 1,
        "latency_ms": 12.4,
        "key": "pk_live_a…",
        "key_id": "5ed1354f",
        "namespace": "default",
        "id": "request_7",
        "request_id": "req_img_3f9a61c2d4b8e07f15a9c3d2",
        "fault": "drop",
    }


def test_the_log_never_shows_the_prompt_or_the_body() -> None:
    for line in (text_line(ENTRY), json_line(ENTRY)):
        assert "red fox" not in line


@pytest.mark.parametrize("log_format", [LOG_TEXT, LOG_JSON])
def test_the_logger_writes_one_line_per_entry(log_format: str) -> None:
    out = io.StringIO()
    log = request_logger(log_format, out)
    log(ENTRY)
    log({**ENTRY, "status": 429})
    assert len(out.getvalue().splitlines()) == 2


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        request_logger("xml")


def test_the_journals_own_entries_give_the_same_lines_as_their_json() -> None:
    entry = JournalEntry.from_stored(
        {
            "id": "request_1",
            "time": 1767225600.25,
            "method": "POST",
            "path": "/v1/images/generations",
            "face": "perf",
            "namespace": "default",
            "status": 200,
            "latency_ms": 12.4,
            "fault": "delay_ms=5",
            "image_ids": ["img_1"],
            "key": "pk_live_a…",
            "key_digest": None,
            "model": "dall-e-3",
            "n": 1,
            "size": "1024x1024",
            "prompt": "a red fox",
            "body": {},
            "error_type": None,
            "query": "id=b335d2b8",
            "request_id": "req_img_3f9a61c2d4b8e07f15a9c3d2",
        }
    )
    assert text_line(entry) == text_line(entry.as_json())
    assert json_line(entry) == json_line(entry.as_json())
    assert text_line(entry).endswith(" id=request_1 rid=req_img_3f9a61c2d4b8e07f15a9c3d2 fault=delay_ms=5")
    assert "/v1/images/generations?id=b335d2b8 " in text_line(entry)


FORGED = {
    **ENTRY,
    "path": "/v1/images/generations\nFAKE LOG LINE 200\x1b[31mRED\u2028\x9b31m",
    "model": "dall-e-3\r\x85x",
    "key": "pk_\x1b[0m",
}


@pytest.mark.parametrize("render", [text_line, json_line], ids=["text", "json"])
def test_a_path_model_or_key_cannot_forge_a_log_line_or_send_terminal_escapes(render: Callable[[object], str]) -> None:
    line = render(FORGED)
    assert len(line.splitlines()) == 1 and line.isprintable(), line
    assert "FAKE LOG LINE" in line


def test_a_text_line_shows_control_characters_as_escapes() -> None:
    assert '"/v1/images/generations\\nFAKE LOG LINE 200\\x1b[31mRED\\u2028\\x9b31m"' in text_line(FORGED)


def test_a_json_line_keeps_the_path_it_was_sent() -> None:
    assert json.loads(json_line(FORGED))["path"] == FORGED["path"]


def test_a_json_line_rounds_latency_as_the_journal_does() -> None:
    assert json.loads(json_line({**ENTRY, "latency_ms": 1.6588540020165965}))["latency_ms"] == 1.659


def test_a_json_line_writes_a_lone_surrogate_as_a_replacement_character_strict_readers_take() -> None:
    """Python's JSON reader lets a body's "\\ud800" through; written back as `\\ud800`, Rust's and Go's readers refuse
    the line."""
    line = json_line({**ENTRY, "model": "dall\ud800e-3"})
    assert "\\ud800" not in line and json.loads(line)["model"] == "dall\ufffde-3"
    line.encode("utf-8")  # no lone surrogate left in the line itself


def test_a_fault_message_in_a_text_line_cannot_forge_fields_after_it() -> None:
    """The journal's fault holds its message whole: written bare, `busy" ns=admin` read as a namespace field."""
    line = text_line({**ENTRY, "fault": 'status=503;message=busy" ns=admin key=pk_live_forged'})
    assert line.endswith(' fault="status=503;message=busy\\" ns=admin key=pk_live_forged"'), line


LONG_QUERY = "q=" + "\u2028" * 8_000 + "&key=pk_test_pro_…"
LONG_FAULT = "status=503;message=" + "\u2028" * MAX_MESSAGE_CHARS
LONGEST = {
    **ENTRY,
    "method": "\x85" * 200,
    "path": kept_path("/v1/" + "\x85" * 70_000),
    "query": LONG_QUERY,
    "model": "\U0001f600" * LONG_TEXT + "…",
    "n": 10**4000,
    "key": "\x85" * 300 + "…",
    "error_type": "\u2028" * 300,
    "namespace": "n" * 64,
    "fault": LONG_FAULT,
}
"""Every field as long as a client can make it, in characters a line writes longest: a C1 control or U+2028 is a
6-byte escape in JSON (4 bytes in text), an emoji 4 bytes raw or 12 escaped."""


@pytest.mark.parametrize("render", [text_line, json_line], ids=["text", "json"])
def test_a_line_of_the_longest_fields_fits_in_one_pipe_write_with_its_newline(render: Callable[[object], str]) -> None:
    """With --workers N, a pipe keeps a worker's line whole only up to PIPE_BUF (4096 bytes): a longer one had another
    worker's line spliced into it."""
    line = render(LONGEST)
    assert len((line + "\n").encode()) <= LINE_BYTES
    assert len(line.encode()) > LINE_BYTES - 200, "the room is used, not cut to a fraction"
    assert len(line.splitlines()) == 1 and line.isprintable()


def test_a_json_line_of_the_longest_fields_is_valid_json_with_each_long_field_cut_to_its_start_and_length() -> None:
    fields = json.loads(json_line(LONGEST))
    assert fields["path"].startswith("/v1/\x85") and fields["path"].endswith("… (70004 characters)")
    assert fields["query"].startswith("q=\u2028") and fields["query"].endswith(f"… ({len(LONG_QUERY)} characters)")
    assert fields["fault"].startswith("status=503;message=")
    assert fields["n"].startswith("1000") and fields["n"].endswith("0… (4001 characters)"), "a number too long is cut as a string"
    short = ("time", "status", "latency_ms", "key_id", "namespace", "id", "request_id")
    assert {name: fields[name] for name in short} == {name: json.loads(json_line(ENTRY | {"namespace": "n" * 64}))[name] for name in short}


def test_a_text_line_of_the_longest_fields_keeps_every_field_in_its_place() -> None:
    line = text_line(LONGEST)
    assert line.startswith('2026-01-01T00:00:00.250Z "\\x85') and ' 200 "\\u2028' in line
    assert " ns=" + "n" * 64 + ' id=request_7 rid=req_img_3f9a61c2d4b8e07f15a9c3d2 fault="status=503;message=\\u2028' in line
    assert line.endswith(f'… ({len(LONG_FAULT)} characters)"')


@pytest.mark.parametrize("render", [text_line, json_line], ids=["text", "json"])
def test_a_line_just_within_the_bound_is_not_cut(render: Callable[[object], str]) -> None:
    room = LINE_BYTES - 1 - len(render({**ENTRY, "path": "/"}).encode()) + 1
    line = render({**ENTRY, "path": "/" * room})
    assert len(line.encode()) == LINE_BYTES - 1 and "characters)" not in line
    assert "characters)" in render({**ENTRY, "path": "/" * (room + 1)})


def test_the_logger_writes_each_line_to_its_file_in_one_write_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text stream's buffer writes what it holds when full, so a line could leave in two writes, the second after
    another worker's line."""
    writes: list[bytes] = []
    real_write = os.write

    def counted(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counted)
    with (tmp_path / "log").open("w", buffering=1) as out:
        out.write("banner, printed before\n")
        log = request_logger(LOG_JSON, out)
        for _ in range(3):
            log(LONGEST)
    lines = (tmp_path / "log").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "banner, printed before" and [json.loads(line) for line in lines[1:]] == [json.loads(json_line(LONGEST))] * 3
    assert writes == [(json_line(LONGEST) + "\n").encode()] * 3
