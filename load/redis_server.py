"""A throwaway redis-server on a free 127.0.0.1 port, for tests and benchmarks (nothing persisted)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from simulator.launcher import free_port

REDIS_SERVER = "redis-server"


def redis_available() -> bool:
    return shutil.which(REDIS_SERVER) is not None


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes] | None = None
    options: tuple[str, ...] = ()
    """More redis-server options, e.g. ("--lua-time-limit", "100")."""

    @property
    def url(self) -> str:
        return self.database(0)

    def database(self, number: int) -> str:
        """The URL of one of its databases: a simulator empties its database as it starts and refuses one another
        simulator is using, so simulators alive at once each need their own."""
        return f"redis://127.0.0.1:{self.port}/{number}"

    def start(self) -> None:
        """Start (or restart, on the same port) and wait until it answers PING."""
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *self.options]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


BUSY = """
local clock = redis.call('TIME')
local until_ms = clock[1] * 1000 + clock[2] / 1000 + tonumber(ARGV[1])
repeat clock = redis.call('TIME') until clock[1] * 1000 + clock[2] / 1000 >= until_ms
"""
"""Keeps Redis busy for ARGV[1] ms: a slow command, the way a real Redis gets stuck (Redis 7 refuses DEBUG SLEEP)."""


class Stall:
    """Redis kept busy for a while by one script (`BUSY`), from the moment this is made: the commands other clients send
    meanwhile wait, and Redis runs them once it is done, as a stuck Redis does. Keep it under Redis's busy threshold
    (`busy-reply-threshold`, 5 s), after which Redis answers them BUSY instead."""

    def __init__(self, server: RedisServer, seconds: float) -> None:
        self._connection = redis.Connection(port=server.port)
        self._connection.send_command("EVAL", BUSY, 0, int(seconds * 1000))
        time.sleep(0.02)  # Redis, idle, has started the script before any command sent after this returns

    def wait(self) -> None:
        """Until Redis is done with the script (in a thread, from async code: `await asyncio.to_thread(stall.wait)`)."""
        try:
            self._connection.read_response()
        finally:
            self._connection.disconnect()


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
