"""Start a real simulator process on 127.0.0.1 and wait until it answers: for tests, benchmarks and load runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]
    port: int


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running(
    command: Sequence[str],
    port: int,
    health_path: str = "/_sim/health",
    env: dict[str, str] | None = None,
    silent: bool = False,
    startup_seconds: float = 30.0,
    stdin: bytes | None = None,
) -> Iterator[RunningServer]:
    """Run `command` (which must listen on `port`), yield once it answers (within `startup_seconds`), and stop it
    afterwards; `silent`: drop its standard output (a benchmark's children, whose banners would bury its figures);
    `stdin`: bytes it reads on a pipe as its standard input (`--scenario /dev/stdin`), closed after them."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]), **(env or {})}
    process = subprocess.Popen(
        list(command),
        cwd=PROJECT_ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL if silent else None,
        stdin=None if stdin is None else subprocess.PIPE,
    )
    if process.stdin is not None:
        with process.stdin:
            process.stdin.write(stdin or b"")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url + health_path, process, startup_seconds)
        yield RunningServer(base_url, process, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_simulator(*args: str, port: int | None = None, silent: bool = False, stdin: bytes | None = None) -> Iterator[RunningServer]:
    """`perf-sim ARGS` as a child process on a free port of 127.0.0.1 (`stdin`: bytes it reads on a pipe)."""
    port = port or free_port()
    command = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), *args]
    with running(command, port, silent=silent, stdin=stdin) as server:
        yield server
