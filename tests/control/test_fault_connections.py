"""Faults that act on the connection, seen in a real `perf-sim`'s own log: a client that pipelines, one that leaves
before its body, and a stop that cuts a long dribble or delay all leave no error or traceback behind."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from simulator.connection import LEAVE_CHECK_SECONDS
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator, wait_until_up
from simulator.serve import GRACEFUL_STOP_SECONDS
from tests.test_request_log_server import perf_sim_output

KEY = "pk_test_pro_connections"
BODY = json.dumps({"prompt": "a lighthouse at dusk"}).encode()


def request(fault: str | None = None, expect: bool = False) -> bytes:
    """A Perf generation's head and body as a raw HTTP/1.1 client writes them."""
    head = f"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
    head += f"X-Sim-Fault: {fault}\r\n" if fault else ""
    head += "Expect: 100-continue\r\n" if expect else ""
    return f"{head}Content-Length: {len(BODY)}\r\n\r\n".encode() + (b"" if expect else BODY)


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_a_fault_that_closes_the_connection_logs_no_error_with_a_request_pipelined_behind_it(tmp_path: Path) -> None:
    """uvicorn marks only the request it read last as disconnected: the faulted one, ahead of a pipelined request,
    used to be answered 500 on its closed connection (a traceback) or logged as left incomplete."""
    with perf_sim_output(tmp_path, "--quiet") as (base_url, out):
        port = int(base_url.rpartition(":")[2])
        for fault in ("reset", "drop", "truncate"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(request(fault) + request())
                received = read_until_closed(connection)
            assert received.count(b"HTTP/1.1 ") == (fault == "truncate"), (fault, received)
        assert httpx.post(base_url + "/v1/images/generations", content=BODY, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        time.sleep(0.5)
    log = out.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log


def test_a_dribble_ends_soon_after_its_client_leaves_even_with_a_request_pipelined_behind_it(tmp_path: Path) -> None:
    """uvicorn tells only the request it read last that its client left: a ten-minute dribble ahead of a pipelined
    request used to go on, holding the server's stop until GRACEFUL_STOP_SECONDS cut it."""
    with perf_sim_output(tmp_path, "--quiet") as (base_url, out):
        port = int(base_url.rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(request("dribble_ms=600000") + request())
            assert connection.recv(1024).startswith(b"HTTP/1.1 200 OK")
        time.sleep(LEAVE_CHECK_SECONDS + 1)
        stopping = time.monotonic()
    stopped_in = time.monotonic() - stopping
    log = out.read_text()
    assert stopped_in < GRACEFUL_STOP_SECONDS and "Cancel" not in log, (stopped_in, log)


def test_a_reset_for_a_client_that_left_before_sending_its_body_logs_no_error(tmp_path: Path) -> None:
    """A client that asked `Expect: 100-continue` and left without its body: the reset finds the connection closed
    (its socket already gone), and leaves it so, where it used to raise in the server."""
    with perf_sim_output(tmp_path, "--quiet") as (base_url, out):
        port = int(base_url.rpartition(":")[2])
        for fault in ("reset", "drop"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(request(fault, expect=True))
                assert connection.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        entries: list[dict[str, object]] = []
        for _ in range(50):
            entries = httpx.get(base_url + "/_sim/requests").json()["requests"]
            if len(entries) == 2:
                break
            time.sleep(0.1)
        assert [(entry["status"], entry["fault"]) for entry in entries] == [(None, "drop"), (None, "reset")]
    log = out.read_text()
    assert "Traceback" not in log and "ERROR:    Exception" not in log, log


@contextmanager
def perf_sim_to_stop(tmp_path: Path, *args: str) -> Iterator[tuple[int, Callable[[], None], Path]]:
    """perf-sim ARGS with its output in a file: its port, a `stop` that sends Ctrl-C and waits for the graceful stop
    to end, and the file (killed at the end if still running)."""
    port = free_port()
    out = tmp_path / "perf-sim.out"
    with out.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(port), "--quiet", *args], cwd=PROJECT_ROOT, stdout=sink, stderr=sink
        )

        def stop() -> None:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=GRACEFUL_STOP_SECONDS + 30) is not None

        try:
            wait_until_up(f"http://127.0.0.1:{port}/_sim/health", process)
            yield port, stop, out
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_stop_cuts_a_long_dribble_and_a_long_delay_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C gives requests GRACEFUL_STOP_SECONDS, then cuts them: a ten-minute dribble or delay ends with its
    connection closed, as documented, not with the cancelled request's traceback in the log (nor, for the delay, a
    500 that no face answered)."""
    ends: list[str] = []
    with perf_sim_to_stop(tmp_path) as (port, stop, out):

        def wait_for(fault: str) -> None:
            try:
                with httpx.stream(
                    "POST",
                    f"http://127.0.0.1:{port}/v1/images/generations",
                    content=BODY,
                    headers={"Authorization": f"Bearer {KEY}", "X-Sim-Fault": fault},
                    timeout=120,
                ) as answer:
                    answer.read()
                ends.append("answered")
            except httpx.HTTPError as exc:
                ends.append(type(exc).__name__)

        waiting = [threading.Thread(target=wait_for, args=(fault,), daemon=True) for fault in ("dribble_ms=600000", "delay_ms=600000")]
        for thread in waiting:
            thread.start()
        time.sleep(2)  # both requests inside the server, on a loaded machine too
        stop()
        for thread in waiting:
            thread.join(timeout=10)
    assert sorted(ends) == ["RemoteProtocolError", "RemoteProtocolError"], ends
    log = out.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert "WARNING:  stopped 2 request(s) still running when the stop's grace time ran out" in log, log


def test_a_stop_cuts_a_gateway_request_waiting_on_its_upstream_without_a_traceback(tmp_path: Path) -> None:
    """As a delay is cut: the gateway's wait on its upstream ends with the connection closed, not with the cancelled
    request's traceback and a 500."""
    ends: list[str] = []
    with running_simulator("--quiet") as upstream, perf_sim_to_stop(tmp_path, "--upstream", upstream.base_url) as (port, stop, out):
        rule = {"match": {"face": "openai"}, "action": {"delay_ms": 600000}}
        httpx.post(upstream.base_url + "/_sim/faults", json=rule).raise_for_status()

        def wait() -> None:
            try:
                body = {"prompt": "a slow upstream", "model": "dall-e-2"}
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/v1/images/generations", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
                )
                ends.append(str(answer.status_code))
            except httpx.HTTPError as exc:
                ends.append(type(exc).__name__)

        waiting = threading.Thread(target=wait, daemon=True)
        waiting.start()
        time.sleep(2)  # the request inside the gateway, waiting on the upstream
        stop()
        waiting.join(timeout=10)
    assert ends == ["RemoteProtocolError"], ends
    log = out.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log


def test_a_stop_cuts_a_request_whose_body_is_still_coming_by_closing_it_not_with_a_500(tmp_path: Path) -> None:
    """A client sending its body slowly when the server stops met a plain-text 500 and left a traceback in the log."""
    answer = b""
    with (
        perf_sim_to_stop(tmp_path) as (port, stop, out),
        socket.create_connection(("127.0.0.1", port), timeout=GRACEFUL_STOP_SECONDS + 30) as client,
    ):
        head = f"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n"
        client.sendall(head.encode() + b'{"prompt":')
        time.sleep(1)
        stop()
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(65536):
                answer += chunk
    assert answer == b"", answer
    log = out.read_text()
    assert "Traceback" not in log, log
