"""Driving `wrk` (a C load generator, Debian package `wrk`) from the benchmarks, and reading a server's CPU time.

One wrk thread and a fixed number of keep-alive connections POST one JSON body; optionally every request gets a
new prompt or a new API key, or each connection is paced to a total rate. The server's own CPU time over a run
(from /proc) gives CPU per request, which a busy shared machine disturbs far less than requests per second.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
local body = os.getenv("BENCH_BODY")
local key = os.getenv("BENCH_KEY")
local unique_prompt = os.getenv("BENCH_UNIQUE_PROMPT") == "1"
local unique_key = os.getenv("BENCH_UNIQUE_KEY") == "1"
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local counter = 0
wrk.body = body
if unique_prompt or unique_key then
  request = function()
    counter = counter + 1
    local headers = nil
    if unique_key then
      headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key .. counter}
    end
    local text = body
    if unique_prompt then text = string.gsub(body, "BENCH_N", tostring(counter)) end
    return wrk.format(nil, nil, headers, text)
  end
end
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int
    cpu_us: float | None = None
    """The server's CPU time per request (its process and its children), when the server's pid was given."""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and of its children (uvicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@dataclass
class Wrk:
    script: Path
    key: str
    duration: int
    connections: int
    cpu: int | None = None
    """The core wrk runs on (taskset), or None for any."""

    def run(
        self,
        url: str,
        body: dict[str, object],
        *,
        unique_prompt: bool = False,
        unique_key: bool = False,
        rate: float | None = None,
        seconds: int = 0,
        server_pid: int | None = None,
        warm: bool = False,
    ) -> Load:
        """`rate`: pace each connection with wrk's delay hook to about that many requests per second in all."""
        delay_ms = int(1000 * self.connections / rate) if rate else 0
        env = self._env(body, unique_prompt, unique_key, delay_ms)
        if warm:
            subprocess.run([*self._base(), "-d1s", url], env=env, capture_output=True, check=True)
        cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
        command = [*self._base(), f"-d{seconds or self.duration}s", url]
        r = _result(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout)
        cpu_used = cpu_seconds(server_pid) - cpu_before if server_pid else None
        requests = max(1, r["requests"])
        return Load(
            r["requests"] / (r["duration_us"] / 1e6),
            r["p50_us"] / 1000,
            r["p99_us"] / 1000,
            r["requests"],
            r["non2xx"] + r["errors"],
            cpu_used * 1e6 / requests if cpu_used is not None else None,
        )

    def requests_together(self, urls: list[str], body: dict[str, object], seconds: int) -> list[int]:
        """The requests completed at each of `urls` by one wrk each, all running at once for `seconds`."""
        env = self._env(body, unique_prompt=False, unique_key=False, delay_ms=0)
        command = [*self._base(), f"-d{seconds}s"]
        runs = [subprocess.Popen([*command, url], env=env, stdout=subprocess.PIPE, text=True) for url in urls]
        outputs = [run.communicate()[0] for run in runs]
        for run in runs:
            if run.returncode != 0:
                raise subprocess.CalledProcessError(run.returncode, run.args)
        return [int(_result(out)["requests"]) for out in outputs]

    def _env(self, body: dict[str, object], unique_prompt: bool, unique_key: bool, delay_ms: int) -> dict[str, str]:
        return {
            **os.environ,
            "BENCH_KEY": f"{self.key}{uuid.uuid4().hex[:8]}" if unique_key else self.key,
            "BENCH_BODY": json.dumps({**body, "prompt": f"{body['prompt']} #BENCH_N"} if unique_prompt else body),
            "BENCH_UNIQUE_PROMPT": "1" if unique_prompt else "0",
            "BENCH_UNIQUE_KEY": "1" if unique_key else "0",
            "BENCH_DELAY_MS": str(delay_ms),
        }

    def _base(self) -> list[str]:
        pin = ["taskset", "-c", str(self.cpu)] if self.cpu is not None else []
        return [*pin, "wrk", "-t1", f"-c{self.connections}", "-s", str(self.script)]


def _result(out: str) -> dict[str, Any]:
    """The figures the script's `done` hook printed."""
    line = next(line for line in out.splitlines() if line.startswith("WRK_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
    return result
