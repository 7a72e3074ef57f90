"""Running the contract suite as a user would (`python -m contract_tests`: perf-contract as this tree's code), and reading its verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.launcher import PROJECT_ROOT, RunningServer, free_port, running, wait_until_up

PERF_CONTRACT = [sys.executable, "-m", "contract_tests"]
"""perf-contract as this tree's code: the console script would run the code the virtualenv was installed from."""
CONTRACT_TIMEOUT_SECONDS = 300


@dataclass
class Verdict:
    returncode: int
    output: str
    tests: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(test name, failure message) from the JUnit XML."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""


def read_junit(path: Path, verdict: Verdict) -> None:
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        verdict.tests += 1
        name = f"{case.get('classname')}::{case.get('name')}"
        for kind in ("failure", "error"):
            for node in case.findall(kind):
                verdict.failures.append((name, (node.get("message") or "") + "\n" + (node.text or "")))
        for node in case.findall("skipped"):
            verdict.skipped.append((name, node.get("message") or ""))


def run_contract(base_url: str, junit: Path, *extra: str, command: list[str] | None = None) -> Verdict:
    """Run the suite against `base_url` with the simulator's conventional keys; `extra` goes to perf-contract."""
    command = command or [*PERF_CONTRACT, "--base-url", base_url, "--key", "pk_live_abc123", "--junit-xml", str(junit)]
    started = time.monotonic()
    result = subprocess.run(
        [*command, *extra], capture_output=True, text=True, timeout=CONTRACT_TIMEOUT_SECONDS, cwd=junit.parent, env=tree_env()
    )
    output = result.stdout + result.stderr
    verdict = Verdict(result.returncode, output, seconds=time.monotonic() - started, stdout=result.stdout, stderr=result.stderr)
    if junit.exists():
        read_junit(junit, verdict)
    return verdict


def tree_env() -> dict[str, str]:
    """The environment with this tree first on PYTHONPATH, as simulator.launcher starts simulators: a run from a
    temporary directory imports this tree's contract_tests, spec and simulator."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}


# What a foreign target is run with: three free keys, so the real-time runs and the other rules run concurrently.
FOREIGN_KEYS = (
    "--free-key", "pk_test_free_contract", "--free-key", "pk_test_free_contract_b", "--free-key", "pk_test_free_contract_c",
    "--generous-key", "pk_test_enterprise_contract",
)  # fmt: skip


def factory_server(
    factory: str, health_path: str = "/_sim/health", env: dict[str, str] | None = None
) -> AbstractContextManager[RunningServer]:
    """`uvicorn --factory module:function` on a free port of 127.0.0.1."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory,
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    return running(command, port, health_path=health_path, env=env)


def mutant_server(name: str, foreign: bool = False) -> AbstractContextManager[RunningServer]:
    """The simulator with one defect (a factory of tests/contract/mutants.py); `foreign`: real clock, no /_sim/."""
    if foreign:
        return factory_server("tests.contract.foreign:app", health_path="/openapi.json", env={"PERF_MUTANT": name})
    return factory_server(f"tests.contract.mutants:{name}")


@dataclass
class ProxyVerdict:
    returncode: int
    output: str
    report: dict[str, Any]


def proxy_verdict(target_url: str, report: Path, drive: Callable[[str], object], *extra: str) -> ProxyVerdict:
    """Run `perf-contract proxy` in front of `target_url`, `drive` traffic through it, stop it with SIGTERM."""
    port = free_port()
    command = [*PERF_CONTRACT, "proxy", "--target", target_url, "--port", str(port), "--report-json", str(report), *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=tree_env())
    try:
        wait_until_up(f"http://127.0.0.1:{port}/openapi.json", process)  # type: ignore[arg-type]
        drive(f"http://127.0.0.1:{port}")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=CONTRACT_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return ProxyVerdict(process.returncode, output, json.loads(report.read_text()) if report.exists() else {})
