"""The request log of a real `perf-sim` process: what a person sees on its stdout, in text, in JSON, or nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from simulator.control.actions import MAX_MESSAGE_CHARS
from simulator.launcher import PROJECT_ROOT, free_port, wait_until_up
from simulator.request_log import LINE_BYTES
from tests.conftest import state_for

AUTH = {"Authorization": "Bearer pk_test_pro_logging"}
BODY = {"prompt": "a red fox", "model": "dall-e-3"}
BFL_KEY = {"x-key": "pk_test_pro_logging"}
REDIS_DB = 12
"""This module's database of the session's Redis."""


@contextmanager
def perf_sim_output(tmp_path: Path, *args: str, stderr_apart: bool = False) -> Iterator[tuple[str, Path]]:
    """Run perf-sim with its stdout and stderr in a file (`stderr_apart`: stderr in `perf-sim.err` beside it); yield
    its base URL and, once it stopped, read the file."""
    port = free_port()
    out = tmp_path / "perf-sim.out"
    with out.open("w") as sink, (tmp_path / "perf-sim.err").open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(port), "--clock", "manual", *args],
            cwd=PROJECT_ROOT,
            stdout=sink,
            stderr=errors if stderr_apart else sink,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_sim/health", process)
            yield f"http://127.0.0.1:{port}", out
        finally:
            process.terminate()
            process.wait(timeout=10)


def send_three_requests(base_url: str) -> None:
    """A success, an unknown key and a faulted request (plus control calls and an image download, which are not logged)."""
    ok = httpx.post(base_url + "/v1/images/generations", json=BODY, headers=AUTH)
    httpx.get(ok.json()["data"][0]["url"])
    httpx.post(base_url + "/v1/images/generations", json=BODY, headers={"Authorization": "Bearer pk_live_nobody_at_all"})
    headers = {**AUTH, "X-Sim-Fault": "status=503", "X-Sim-Namespace": "job-7"}
    httpx.post(base_url + "/openai/v1/images/generations", json=BODY, headers=headers)
    httpx.get(base_url + "/_sim/requests")


def request_lines(text: str, marker: str) -> list[str]:
    return [line for line in text.splitlines() if marker in line]


def test_perf_sim_prints_one_readable_line_per_api_request(tmp_path: Path) -> None:
    with perf_sim_output(tmp_path) as (base_url, out):
        send_three_requests(base_url)
    lines = request_lines(out.read_text(), " ns=")
    assert len(lines) == 3, out.read_text()
    assert lines[0].startswith("2026-01-01T00:00:00.000Z POST /v1/images/generations 200 - dall-e-3 n=1 ")
    assert "key=pk_test_pro_" in lines[0] and "logging" not in lines[0] and " ns=default id=request_1 rid=req_img_" in lines[0]
    assert " 401 authentication_error " in lines[1]
    assert "POST /openai/v1/images/generations 503 server_error dall-e-3" in lines[2]
    assert "ns=job-7" in lines[2] and "fault=status=503" in lines[2]


def test_log_format_json_prints_the_same_fields_as_json_lines_and_nothing_else_on_stdout(tmp_path: Path) -> None:
    """Every line on stdout is JSON (a log shipper or `jq` reads it whole): the banner goes to stderr."""
    with perf_sim_output(tmp_path, "--log-format", "json", stderr_apart=True) as (base_url, out):
        send_three_requests(base_url)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert "Try:" in (tmp_path / "perf-sim.err").read_text()
    assert [(r["path"], r["status"], r["namespace"]) for r in records] == [
        ("/v1/images/generations", 200, "default"),
        ("/v1/images/generations", 401, "default"),
        ("/openai/v1/images/generations", 503, "job-7"),
    ]
    assert records[0]["model"] == "dall-e-3" and records[0]["n"] == 1 and records[0]["latency_ms"] >= 0
    assert records[2]["fault"].startswith("status=503") and records[1]["error_type"] == "authentication_error"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_each_lines_request_id_is_the_x_request_id_its_client_got_which_finds_its_entry(tmp_path: Path, log_format: str) -> None:
    """An app logs the x-request-id its client got (the Perf API's perf.request_id, OpenAI's `req_...` of an error);
    the simulator's line carries the same id, and `GET /_sim/requests?request_id=` finds the entry from it."""
    with perf_sim_output(tmp_path, "--log-format", log_format, stderr_apart=True) as (base_url, out), httpx.Client() as client:
        answers = [
            client.post(base_url + "/v1/images/generations", json=BODY, headers=AUTH),
            client.post(base_url + "/v1/images/generations", json=BODY, headers={"Authorization": "Bearer pk_live_nobody_at_all"}),
            client.post(base_url + "/openai/v1/images/generations", json=BODY, headers={**AUTH, "X-Sim-Fault": "status=503"}),
        ]
        sent = [answer.headers["x-request-id"] for answer in answers]
        found = [client.get(base_url + "/_sim/requests", params={"request_id": request_id}).json()["requests"] for request_id in sent]
    assert sent[0] == answers[0].json()["perf"]["request_id"] and len(set(sent)) == 3
    if log_format == "json":
        logged = [(record["id"], record["request_id"]) for record in map(json.loads, out.read_text().splitlines())]
    else:
        logged = [(line.split(" id=")[1].split()[0], line.split(" rid=")[1].split()[0]) for line in request_lines(out.read_text(), " ns=")]
    assert [request_id for _, request_id in logged] == sent, logged
    assert [[entry["id"] for entry in entries] for entries in found] == [[entry_id] for entry_id, _ in logged]


@pytest.mark.parametrize("args", [["--quiet"], ["--quiet", "--log-format", "json"]], ids=["quiet", "quiet json"])
def test_quiet_prints_no_request_lines(tmp_path: Path, args: list[str]) -> None:
    with perf_sim_output(tmp_path, *args) as (base_url, out):
        send_three_requests(base_url)
    text = out.read_text()
    assert "perf-sim: Perf Image Generation API" in text
    assert "/v1/images/generations 200" not in text and not request_lines(text, '"path"')


def test_uvicorns_access_log_does_not_duplicate_the_request_log(tmp_path: Path) -> None:
    with perf_sim_output(tmp_path) as (base_url, out):
        send_three_requests(base_url)
    assert "HTTP/1.1" not in out.read_text()


def test_a_malformed_form_body_is_one_log_line_and_no_stray_parser_warning(tmp_path: Path) -> None:
    with perf_sim_output(tmp_path) as (base_url, out):
        form = {**AUTH, "Content-Type": "multipart/form-data; boundary=xyz"}
        response = httpx.post(base_url + "/stability/v2beta/stable-image/generate/sd3", content=b"--xyq\r\n", headers=form)
        assert response.status_code == 400
    text = out.read_text()
    assert len(request_lines(text, " ns=")) == 1 and "Expected boundary" not in text, text


def test_a_browsers_cors_preflight_gets_no_log_line_as_journal_listings_leave_it_out(tmp_path: Path) -> None:
    preflight = {"Origin": "http://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    with perf_sim_output(tmp_path) as (base_url, out):
        assert httpx.options(base_url + "/v1/images/generations", headers=preflight).status_code == 200
        httpx.post(base_url + "/v1/images/generations", json=BODY, headers={**AUTH, "Origin": "http://app.example"})
        listed = httpx.get(base_url + "/_sim/requests").json()
        journalled = httpx.get(base_url + "/_sim/requests", params={"method": "OPTIONS"}).json()
    lines = request_lines(out.read_text(), " ns=")
    assert [line.split()[1:4] for line in lines] == [["POST", "/v1/images/generations", "200"]], out.read_text()
    assert len(listed) == 1 and len(journalled) == 1, "the preflight stays in the journal, listed when asked for"


GOOGLE_PATH = "/google/v1beta/models/imagen-3.0-generate-002:predict"


@pytest.mark.parametrize(
    ("sent_to", "headers", "path", "route", "param"),
    [
        (
            GOOGLE_PATH,
            {"x-goog-api-key": "pk_test_pro_logging", "X-Sim-Namespace": "no such"},
            GOOGLE_PATH,
            "/google/v1beta/models/{model}:predict",
            "X-Sim-Namespace",
        ),
        ("/_sim/ns/no!such/v1/images/generations", AUTH, "/v1/images/generations", "/v1/images/generations", "namespace"),
    ],
    ids=["header", "base URL"],
)
def test_a_request_refused_for_its_namespace_is_logged_journalled_and_counted(
    tmp_path: Path, sent_to: str, headers: dict[str, str], path: str, route: str, param: str
) -> None:
    """The app sees a 400 naming the header or the base path's namespace; its developer finds that request in the log,
    the journal and the metrics (in the default namespace, as it named none that could hold it), like every other
    API request."""
    with perf_sim_output(tmp_path) as (base_url, out):
        answer = httpx.post(base_url + sent_to, json={"prompt": "a red fox", "instances": [{"prompt": "a red fox"}]}, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param
        (entry,) = httpx.get(base_url + "/_sim/requests").json()["requests"]
        metrics = httpx.get(base_url + "/metrics").text
    assert (entry["path"], entry["status"], entry["namespace"], entry["error_type"]) == (path, 400, "default", "invalid_request")
    assert f'route="{route}",status="400"}} 1.0' in metrics
    (line,) = request_lines(out.read_text(), " ns=")
    assert f"POST {path} 400 invalid_request" in line
    assert line.endswith(f"ns=default id=request_1 rid={answer.headers.get('x-request-id', '-')}")


def test_when_nothing_reads_stdout_any_more_the_log_stops_with_one_note_and_the_simulator_serves_on(tmp_path: Path) -> None:
    """`perf-sim | head`: once the reader has gone, a failing line per request would be a traceback per request."""
    port = free_port()
    errors = tmp_path / "perf-sim.err"
    with errors.open("w") as sink:
        command = [sys.executable, "-m", "simulator", "--port", str(port), "--clock", "manual"]
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=sink)
        try:
            assert process.stdout is not None
            wait_until_up(f"http://127.0.0.1:{port}/_sim/health", process)
            while not process.stdout.readline().startswith(b"Request log"):
                pass
            process.stdout.close()
            statuses = [httpx.post(f"http://127.0.0.1:{port}/v1/images/generations", json=BODY, headers=AUTH).status_code for _ in range(3)]
            assert statuses == [200] * 3
            assert len(httpx.get(f"http://127.0.0.1:{port}/_sim/requests").json()["requests"]) == 3
        finally:
            process.terminate()
            process.wait(timeout=10)
    text = errors.read_text()
    assert text.count("request log stopped: nothing reads stdout any more") == 1, text
    assert "Traceback" not in text, text


@pytest.fixture(params=["one process", "two workers sharing Redis"])
def state_args(request: pytest.FixtureRequest) -> list[str]:
    shared = request.param != "one process"
    return ["--state", state_for(request, shared, REDIS_DB), *(["--workers", "2"] if shared else [])]


def test_each_lines_id_is_the_entry_the_journal_serves_for_it_with_its_query(tmp_path: Path, state_args: list[str]) -> None:
    """Polls of two BFL tasks: `GET /v1/get_result` each time, told apart by their query, and each line's id finds
    its own entry with `GET /_sim/requests/{id}`, whichever worker served it (ids are given in process, or by Redis
    before the line is written)."""
    with perf_sim_output(tmp_path, "--log-format", "json", *state_args, stderr_apart=True) as (base_url, out), httpx.Client() as client:
        tasks = [client.post(base_url + "/v1/flux-dev", json={"prompt": f"fox {n}"}, headers=BFL_KEY) for n in (1, 2)]
        polls = [
            client.get(base_url + "/v1/get_result", params={"id": task.json()["id"]}, headers=BFL_KEY) for task in tasks for _ in range(3)
        ]
        assert all(poll.status_code == 200 for poll in polls)
        time.sleep(0.2)  # a worker's line is on its way as its answer leaves
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        entries = [client.get(f"{base_url}/_sim/requests/{line['id']}").json() for line in lines]
    assert len(lines) == 8 and len({line["id"] for line in lines}) == 8
    for line, entry in zip(lines, entries, strict=True):
        assert (line["id"], line["path"], line["query"], line["status"]) == (entry["id"], entry["path"], entry["query"], entry["status"])
    assert [line["query"] for line in lines[2:]] == [f"id={task.json()['id']}" for task in tasks for _ in range(3)]


LONG_PATH = "/v1/" + "%C2%85" * 600
"""600 C1 controls: kept to 512 characters by the journal, but each a 6-byte escape in JSON."""
LONG_FAULT = "status=503;message=" + "%E2%80%A8" * (MAX_MESSAGE_CHARS - 1) + "m"
"""The longest fault message, of U+2028s (also 6-byte escapes)."""


def _read_slowly(pipe: IO[bytes], into: bytearray) -> None:
    """A log shipper under load: 512 bytes every 2 ms, so the pipe stays full and the workers wait to write."""
    while chunk := os.read(pipe.fileno(), 512):
        into += chunk
        time.sleep(0.002)


async def _send_long_requests(base_url: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=count)) as client:
        body = {"model": "\u0085" * 300, "prompt": "a red fox"}
        sent = [client.post(LONG_PATH, json=body, headers={**AUTH, "X-Sim-Fault": LONG_FAULT}) for _ in range(count)]
        assert {answer.status_code for answer in await asyncio.gather(*sent)} == {503}


def test_two_workers_writing_long_lines_into_a_slowly_read_pipe_write_whole_json_lines(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`perf-sim --workers 2 --log-format json | log-shipper`: a pipe keeps a write whole only up to PIPE_BUF bytes,
    and a longer line had the other worker's line spliced into it, two records lost to the shipper."""
    count, port = 60, free_port()
    state = state_for(request, True, REDIS_DB)
    command = [sys.executable, "-m", "simulator", "--port", str(port), "--clock", "manual", "--workers", "2", "--state", state]
    read = bytearray()
    with (tmp_path / "perf-sim.err").open("w") as errors:
        process = subprocess.Popen([*command, "--log-format", "json"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        reader = threading.Thread(target=_read_slowly, args=(process.stdout, read), daemon=True)
        reader.start()
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_sim/health", process)
            asyncio.run(_send_long_requests(f"http://127.0.0.1:{port}", count))
            deadline = time.monotonic() + 10
            while read.count(b"\n") < count and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            process.terminate()
            process.wait(timeout=10)
            reader.join(timeout=10)
    lines = bytes(read).splitlines()
    assert len(lines) == count
    assert all(len(line) + 1 <= LINE_BYTES for line in lines)
    records = [json.loads(line) for line in lines]
    assert all(record["path"].startswith("/v1/\x85") and record["fault"].startswith("status=503;message=") for record in records)
