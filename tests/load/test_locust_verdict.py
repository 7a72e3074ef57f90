"""Real Locust runs against real simulators: the verdict passes where limits hold and fails where they do not.

Each run is bounded (users, run time, and a hard process timeout) and compresses the simulator clock 120-fold,
so a few seconds cover minutes and reach the free tier's daily limit.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from load.redis_server import RedisServer
from simulator.launcher import PROJECT_ROOT, free_port, running, running_simulator
from spec import tiers
from tests.contract.harness import factory_server
from tests.contract.test_tls import https_target
from tests.load.conftest import environment

LOCUSTFILE = str(PROJECT_ROOT / "load" / "locustfile.py")
BOUNDED = [
    "--headless",
    "-u",
    "18",
    "-r",
    "18",
    "-t",
    "8s",
    "--compress",
    "120",
    "--advance-every",
    "0.25",
    "--only-summary",
    "--stop-timeout",
    "0",
]
HARD_TIMEOUT = 90


def locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", LOCUSTFILE, *args]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=HARD_TIMEOUT)


def short_run(host: str) -> list[str]:
    """A two-user, four-second run against `host`: for the tests that need only its start (a refusal) or a few answers."""
    return ["--headless", "-u", "2", "-r", "2", "-t", "4s", "--only-summary", "-H", host]


def move_clock_to(base_url: str, second_of_day: int) -> None:
    """Advance the simulator clock to the next time it reads `second_of_day` seconds past a UTC midnight, so a test's
    compressed run (16 simulated minutes) does or does not cross a day whatever the hour it runs at."""
    now = requests.get(f"{base_url}/_sim/clock", timeout=5).json()["now"]
    ahead = (second_of_day - now) % tiers.DAY_SECONDS
    requests.post(f"{base_url}/_sim/clock/advance", json={"seconds": ahead}, timeout=5).raise_for_status()


@pytest.mark.slow
def test_verdict_passes_against_the_in_memory_simulator(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with running_simulator() as sim:
        move_clock_to(sim.base_url, tiers.DAY_SECONDS // 2)  # a UTC midnight in the run splits the free day's images
        result = run(locust(*BOUNDED, "-H", sim.base_url, "--verdict-events", str(events)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERDICT: PASS" in result.stdout
    free_row = re.search(r"^\s+free" + r"\s+(\d+)" * 8 + "$", result.stdout, re.MULTILINE)
    assert free_row, result.stdout
    assert int(free_row[8]) > 0, "the compressed run reached the free tier's daily limit"
    headers_unjudged = re.search(r"^\s+not judged:", result.stdout, re.MULTILINE)  # the header notes' lines
    assert not headers_unjudged, "the simulator sends Retry-After and the x-ratelimit-* headers"
    replay = subprocess.run([sys.executable, "-m", "load.verdict", str(events)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert replay.returncode == 0 and "VERDICT: PASS" in replay.stdout


def workers(master_port: int, count: int) -> Iterator[subprocess.Popen[str]]:
    for _ in range(count):
        yield subprocess.Popen(
            locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)),
            cwd=PROJECT_ROOT,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )


@pytest.mark.slow
def test_distributed_locust_verdict_passes_against_two_simulator_workers_on_redis(redis_server: RedisServer) -> None:
    """One Locust master and two Locust workers on 127.0.0.1, against perf-sim --workers 2 --state redis://..."""
    master_port = free_port()
    with ExitStack() as stack, running_simulator("--workers", "2", "--state", redis_server.url) as sim:
        started = list(workers(master_port, 2))
        for process in started:
            stack.callback(process.kill)
        master = [
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(master_port),
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "30",
        ]
        result = run(locust(*master, *BOUNDED, "-H", sim.base_url))
        for process in started:
            process.wait(timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERDICT: PASS" in result.stdout and "INCOMPLETE" not in result.stdout
    assert "2 workers connected" in result.stderr


@pytest.mark.slow
def test_verdict_fails_against_a_simulator_with_a_limit_above_the_spec(tmp_path: Path) -> None:
    """The key is named free but the keys file gives it enterprise limits: the verdict must catch the excess."""
    keys = tmp_path / "rogue.toml"
    keys.write_text('[keys.pk_test_free_rogue0]\ntier = "enterprise"\nimages_per_minute = 300\nimages_per_day = 100000\n')
    with running_simulator("--keys", str(keys)) as sim:
        result = run(locust(*BOUNDED, "-H", sim.base_url, "--run-id", "rogue", "--keys-per-tier", "1", "FreeUser"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VERDICT: FAIL" in result.stdout
    assert "over-admission: 0" not in result.stdout and "the free tier allows 5 per minute" in result.stdout


def interruptible() -> None:
    """Run in a child before it starts: SIGINT back to its default. A test run started in the background of a
    non-interactive shell (`scripts/test.sh &`, nohup, some CI agents) ignores SIGINT, and a child inherits that, so
    Locust took no Ctrl-C and the SIGINT case waited out its hard timeout."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


ROGUE_KEYS = '[keys.pk_test_free_rogue0]\ntier = "enterprise"\nimages_per_minute = 300\nimages_per_day = 100000\n'


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_failing_run_stopped_by_a_signal_exits_1(tmp_path: Path, stop: signal.Signals) -> None:
    """A run stopped by SIGTERM (a CI deadline, `timeout`) or Ctrl-C before its -t printed VERDICT: FAIL and exited 0:
    Locust chose its exit status before it stopped the runner, whose test_stop gave the verdict."""
    keys = tmp_path / "rogue.toml"
    keys.write_text(ROGUE_KEYS)
    open_ended = [*(arg for arg in BOUNDED if arg not in ("-t", "8s")), "-t", f"{HARD_TIMEOUT}s"]  # stopped long before
    with running_simulator("--keys", str(keys)) as sim:
        command = locust(*open_ended, "-u", "6", "-r", "6", "-H", sim.base_url, "--run-id", "rogue", "--keys-per-tier", "1", "FreeUser")
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=interruptible,
        )
        try:
            time.sleep(6)
            process.send_signal(stop)
            stdout, stderr = process.communicate(timeout=HARD_TIMEOUT)
        finally:
            process.kill()
    assert "VERDICT: FAIL" in stdout, stdout + stderr
    assert process.returncode == 1, stdout + stderr
    assert "Shutting down (exit code 1)" in stderr, stderr


@pytest.mark.slow
@pytest.mark.parametrize("who", ["master and workers", "workers"])
def test_a_failing_distributed_run_stopped_by_a_signal_to_its_workers_fails_with_their_records(tmp_path: Path, who: str) -> None:
    """SIGTERM to the whole tree (`docker compose stop`, a CI cancel) or to the workers alone: each worker told its
    master it quit before it sent its records, so the master judged none of them ("no request was sent", NOT JUDGED)
    or, quitting twice, exited 0 with no verdict at all, for a run that over-admitted."""
    keys = tmp_path / "rogue.toml"
    keys.write_text(ROGUE_KEYS)
    open_ended = [*(arg for arg in BOUNDED if arg not in ("-t", "8s")), "-t", f"{HARD_TIMEOUT}s"]  # stopped long before
    master_port = free_port()
    with ExitStack() as stack, running_simulator("--keys", str(keys)) as sim:
        started = list(workers(master_port, 2))
        for worker in started:
            stack.callback(worker.kill)
        master = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port), "--expect-workers", "2"]
        rogue = ["-u", "6", "-r", "6", "-H", sim.base_url, "--run-id", "rogue", "--keys-per-tier", "1", "FreeUser"]
        command = locust(*master, *open_ended, *rogue)
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stack.callback(process.kill)
        time.sleep(8)
        for stopped in [*started, process] if who == "master and workers" else started:
            stopped.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=HARD_TIMEOUT)
    assert "VERDICT: FAIL" in stdout and "the free tier allows 5 per minute" in stdout, stdout + stderr
    assert "no request was sent" not in stdout and "INCOMPLETE" not in stdout, stdout
    assert process.returncode == 1, stdout + stderr


@pytest.mark.slow
def test_the_web_ui_quit_without_a_test_run_exits_0_with_no_verdict() -> None:
    """Stopping the runner on quit fired test_stop on a runner that never ran a test: a web UI closed unused printed a
    NOT JUDGED verdict and exited 1."""
    web_port = free_port()
    with running_simulator() as sim:
        command = locust("--web-host", "127.0.0.1", "--web-port", str(web_port), "-H", sim.base_url)
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{web_port}/", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=HARD_TIMEOUT)
        finally:
            process.kill()
    assert process.returncode == 0, stdout + stderr
    assert "VERDICT" not in stdout and "rate-limit verdict" not in stdout, stdout


@pytest.mark.slow
def test_a_slow_or_hanging_target_is_not_passed() -> None:
    """Answers delayed 1.5 s at --compress 60 span 90 s of server time, so no minute window could be judged and the run
    passed; a target hanging 30% of its answers (300 s) left every user stuck a second in, and the run passed too."""
    with running_simulator() as sim:
        delay: dict[str, Any] = {"match": {"path": "/v1/images/generations"}, "action": {"delay_ms": 1500}}
        requests.post(f"{sim.base_url}/_sim/faults", json=delay, timeout=5).raise_for_status()
        slow = run(locust(*BOUNDED, "-u", "6", "-r", "6", "--compress", "60", "-H", sim.base_url, "FreeUser"))
    with running_simulator() as sim:
        hang: dict[str, Any] = {"match": {"path": "/v1/images/generations"}, "action": {"delay_ms": 300_000}, "probability": 0.3}
        requests.post(f"{sim.base_url}/_sim/faults", json=hang, timeout=5).raise_for_status()
        hung = run(locust(*BOUNDED, "-u", "6", "-r", "6", "-H", sim.base_url))
    assert slow.returncode == 1 and "VERDICT: NOT JUDGED (the minute limits:" in slow.stdout, slow.stdout + slow.stderr
    assert "lower --compress to at most" in slow.stdout, slow.stdout
    assert hung.returncode == 1 and "the target was down for most of the run" in hung.stdout, hung.stdout + hung.stderr
    assert "or hung by the target: cut by the run's end after waiting over" in hung.stdout, hung.stdout


@pytest.mark.slow
def test_a_base_url_with_a_trailing_slash_is_load_tested_and_one_without_a_scheme_or_with_v1_is_refused_in_one_line() -> None:
    """`-H http://host/` printed a traceback per request (`//v1/...`) while --compress moved the clock; `-H host:port`
    counted every request it never sent as possibly admitted; `-H .../v1 --compress` was told it was not on a simulator."""
    with running_simulator() as sim:
        slash = run(locust(*BOUNDED, "-u", "4", "-r", "4", "-H", sim.base_url + "/"))
        bare = run(locust(*short_run(sim.base_url.removeprefix("http://"))))
        v1 = run(locust(*short_run(sim.base_url + "/v1"), "--compress", "10"))
    assert slash.returncode == 0 and "VERDICT: PASS" in slash.stdout, slash.stdout + slash.stderr
    assert "Traceback" not in slash.stderr and "invalid request URI" not in slash.stderr, slash.stderr
    assert bare.returncode == 2 and "VERDICT: NOT RUN: -H must be the target's http:// or https:// base URL" in bare.stdout, bare.stdout
    assert v1.returncode == 2 and f"VERDICT: NOT RUN: --compress: drop /v1 from -H ({sim.base_url})" in v1.stdout, v1.stdout


@pytest.mark.slow
def test_an_answer_cut_short_of_its_content_length_is_an_outage_like_a_reset_not_a_violation() -> None:
    """The simulator's own truncate fault made the verdict FAIL ("200 not a generation answer"), while reset passed."""
    with running_simulator() as sim:
        rule: dict[str, Any] = {"match": {"path": "/v1/images/generations"}, "action": {"truncate": True}, "probability": 0.2}
        requests.post(f"{sim.base_url}/_sim/faults", json=rule, timeout=5).raise_for_status()
        result = run(locust(*BOUNDED, "-u", "6", "-r", "6", "-H", sim.base_url))
    assert result.returncode == 0 and "VERDICT: PASS" in result.stdout, result.stdout + result.stderr
    assert "unexpected answer: 0" in result.stdout and "truncated)" in result.stdout, result.stdout


def test_a_keys_file_that_judges_a_runs_key_by_another_tier_is_noted(tmp_path: Path) -> None:
    """With --keys, a minted pk_test_free_ key the file makes enterprise (and a --tier-key free=K the file makes pro)
    was judged by the file's tier without a word: the table named tiers the run did not ask for."""
    keys = tmp_path / "rogue.toml"
    keys.write_text(ROGUE_KEYS + '[keys.acme_pro_1]\ntier = "pro"\n')
    driver = textwrap.dedent(
        """
        import locust  # first, as the locust command imports it: it patches the standard library for gevent
        import sys
        from types import SimpleNamespace
        from load import locustfile

        for tier_key in ([], ["free=acme_pro_1"]):
            options = SimpleNamespace(keys=sys.argv[1], tier_key=tier_key, run_id="rogue", keys_per_tier=1)
            print("\\n".join(locustfile._configured_tier_notes(options)) or "none")
        options = SimpleNamespace(keys=sys.argv[2], tier_key=[], run_id="note", keys_per_tier=1)
        print("\\n".join(locustfile._configured_tier_notes(options, {"free"})) or "none")
        """
    )
    other_tier = tmp_path / "note.toml"  # a pro key made enterprise, for a run of FreeUser only: it has no pro user
    other_tier.write_text('[keys.pk_test_pro_note0]\ntier = "enterprise"\n')
    result = run([sys.executable, "-c", driver, str(keys), str(other_tier)])
    minted, given, free_only = [*result.stdout.splitlines(), "", "", ""][:3]
    assert free_only == "none", result.stdout + result.stderr
    said = "a key of the enterprise tier: its free users are judged by the enterprise tier's limits, as the file says"
    assert minted == f"note: --keys {keys} makes pk_test_free_rogue0 {said}", result.stdout + result.stderr
    assert "makes acme_pro_1 a key of the pro tier: its free users are judged by the pro tier's limits" in given, result.stdout


@pytest.mark.slow
def test_keys_of_the_targets_own_are_judged_by_the_tier_given_and_keys_it_refuses_fail_the_verdict(tmp_path: Path) -> None:
    """Another implementation knows its own keys, not minted `pk_test_` ones: `--tier-key` gives them; a run whose
    every answer is a 401 proves nothing of the limits, and says so rather than PASS."""
    keys = tmp_path / "own.toml"
    keys.write_text('[keys.acme_free_1]\ntier = "free"\n')
    with running_simulator("--keys", str(keys)) as sim:
        move_clock_to(sim.base_url, tiers.DAY_SECONDS // 2)
        # One free key shared by every user reaches both its limits, so the run passes even when asked to reach them.
        own = run(locust(*BOUNDED, "-H", sim.base_url, "--tier-key", "free=acme_free_1", "--require-limits", "all", "FreeUser"))
        unknown = run(locust(*BOUNDED, "-H", sim.base_url, "--tier-key", "free=acme_unknown", "FreeUser"))
    assert own.returncode == 0 and "VERDICT: PASS" in own.stdout, own.stdout + own.stderr
    assert re.search(r"^\s+free\s+1\s", own.stdout, re.MULTILINE), own.stdout
    assert unknown.returncode == 1, unknown.stdout + unknown.stderr
    assert "answers 401 authentication_error to valid requests" in unknown.stdout and "VERDICT: FAIL" in unknown.stdout


def test_verdict_refuses_a_simulator_on_a_manual_clock() -> None:
    with running_simulator("--clock", "manual") as sim:
        result = run(locust("--headless", "-u", "2", "-r", "2", "-t", "5s", "-H", sim.base_url))
    assert result.returncode == 2
    assert "manual clock" in result.stdout


def test_compressing_time_needs_the_control_api() -> None:
    """Against another server (here the benchmark's bare Starlette app) --compress is refused, not guessed."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "load.ceiling:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with running(command, port, health_path="/health") as other:
        result = run(locust("--headless", "-u", "2", "-r", "2", "-t", "5s", "--compress", "10", "-H", other.base_url))
    assert result.returncode == 2
    assert "--compress needs our simulator's control API" in result.stdout


@pytest.mark.slow
def test_a_run_through_injected_outages_that_passes_the_verdict_exits_zero() -> None:
    """5% of generations answered 503 by a fault rule: the verdict sets them aside as injected (they ran no face, so
    used no quota) and passes, and the exit status follows the verdict, not Locust's count of failed requests."""
    with running_simulator() as sim:
        rule: dict[str, Any] = {
            "match": {"path": "/v1/images/generations"},
            "action": {"status": 503, "retry_after": 1},
            "probability": 0.05,
        }
        requests.post(f"{sim.base_url}/_sim/faults", json=rule, timeout=5).raise_for_status()
        result = run(locust(*BOUNDED, "-H", sim.base_url))
    assert "VERDICT: PASS" in result.stdout, result.stdout + result.stderr
    assert re.search(r"note: \d+ answers? (was|were) injected by fault rules in the target \(503: \d+\)", result.stdout), result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_keys_a_keys_file_gives_their_own_limits_are_judged_by_those_limits(tmp_path: Path) -> None:
    """An enterprise key with limits of its own, given the simulator's keys file: a correct simulator passes, having
    admitted exactly the key's own day and refused past it (judged by the enterprise defaults, every 429 was
    under-admission), and a replay of the recorded events judges by the same limits. Whether its minute limit is also
    reached depends on how fast the machine sends, so it is not asked for. The run starts at the simulator's noon: one
    begun late in a UTC day crossed into the next and admitted a second day's images."""
    keys = tmp_path / "custom.toml"
    keys.write_text('[keys.pk_live_acme_custom]\ntier = "enterprise"\nimages_per_minute = 20\nimages_per_day = 150\n')
    events = tmp_path / "events.jsonl"
    with running_simulator("--keys", str(keys)) as sim:
        move_clock_to(sim.base_url, tiers.DAY_SECONDS // 2)
        given = ["--tier-key", "enterprise=pk_live_acme_custom", "--keys", str(keys), "--verdict-events", str(events)]
        result = run(locust(*BOUNDED, "-u", "6", "-r", "6", "-H", sim.base_url, *given, "EnterpriseUser"))
    assert result.returncode == 0 and "VERDICT: PASS" in result.stdout, result.stdout + result.stderr
    row = re.search(r"^\s+enterprise" + r"\s+(\d+)" * 8 + "$", result.stdout, re.MULTILINE)
    assert row and int(row[3]) == 150 and int(row[8]) > 0, result.stdout
    replay = subprocess.run([sys.executable, "-m", "load.verdict", str(events)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert replay.returncode == 0 and "VERDICT: PASS" in replay.stdout, replay.stdout


@pytest.mark.slow
def test_a_simulator_whose_clock_was_moved_before_the_run_is_judged_by_its_own_clock(tmp_path: Path) -> None:
    """The simulator's clock sits 8 minutes before its UTC midnight as the run begins (an earlier run or a test moved
    it), so the compressed run crosses a day the machine's clock does not: the key fills its day, waits, and is
    admitted again after the simulator's midnight. That is correct, and the verdict must say so; judged by this
    machine's clock it called the second day's images over-admission."""
    keys = tmp_path / "small_day.toml"
    keys.write_text('[keys.pk_live_small_day]\ntier = "enterprise"\nimages_per_minute = 20\nimages_per_day = 60\n')
    with running_simulator("--keys", str(keys)) as sim:
        move_clock_to(sim.base_url, tiers.DAY_SECONDS - 8 * tiers.MINUTE_SECONDS)
        given = ["--tier-key", "enterprise=pk_live_small_day", "--keys", str(keys)]
        result = run(locust(*BOUNDED, "-u", "6", "-r", "6", "-H", sim.base_url, *given, "EnterpriseUser"))
    assert result.returncode == 0 and "VERDICT: PASS" in result.stdout, result.stdout + result.stderr
    assert "the simulator clock is +" in result.stdout, result.stdout
    row = re.search(r"^\s+enterprise" + r"\s+(\d+)" * 8 + "$", result.stdout, re.MULTILINE)
    assert row and int(row[3]) > 60, f"the run did not reach the simulator's second day: {result.stdout}"


def test_numeric_options_that_would_run_no_real_test_are_refused() -> None:
    """`--advance-every 0` advanced the clock by 0 s in a busy loop and passed; a negative tolerance fails a correct
    server: each is refused before any request, with status 2."""
    with running_simulator() as sim:
        short = short_run(sim.base_url)
        busy = run(locust(*short, "--compress", "10", "--advance-every", "0"))
        negative = run(locust(*short, "--tolerance", "-1"))
        endless = [run(locust(*short, "--compress", value)) for value in ("inf", "nan", "1e9")]
    assert busy.returncode == 2 and "NOT RUN: --advance-every must be from above 0" in busy.stdout, busy.stdout + busy.stderr
    assert negative.returncode == 2 and "NOT RUN: --tolerance must be" in negative.stdout, negative.stdout + negative.stderr
    for result in endless:  # inf crashed the verdict, nan ran in real time, 1e9 raced the clock centuries ahead
        assert result.returncode == 2 and "NOT RUN: --compress must be from 1" in result.stdout, result.stdout + result.stderr


def test_options_that_would_lose_or_misjudge_the_run_are_refused_before_any_request_without_tracebacks(tmp_path: Path) -> None:
    """Each was found only after the load had run (an unwritable events file lost the verdict), misjudged a correct
    server (minted keys it refused, a clock never moved), or blamed the wrong thing (`--compress needs our control
    API` for a host where nothing listens); a keys file's error also printed two tracebacks per user."""
    with running_simulator() as sim:
        short = short_run(sim.base_url)
        refused = {
            "--advance-every must be from above 0 to 60": run(locust(*short, "--compress", "10", "--advance-every", "1e9")),
            "--advance-every sets how often --compress moves the clock": run(locust(*short, "--advance-every", "2")),
            "--tolerance must be from 0 to 30 seconds": run(locust(*short, "--tolerance", "inf", "--tier-key", "free=pk_test_pro_named")),
            "--run-id must be letters, digits, _ and -": run(locust(*short, "--run-id", "my.run")),
            "--verdict-events: cannot write": run(locust(*short, "--verdict-events", str(tmp_path / "no-such-dir" / "e.jsonl"))),
            f"--keys: {tmp_path / 'missing.toml'}: cannot read: No such file or directory": run(
                locust(*short, "--keys", str(tmp_path / "missing.toml"))
            ),
        }
    nowhere = short_run(f"http://127.0.0.1:{free_port()}")
    refused["nothing answers at http://127.0.0.1:"] = run(locust(*nowhere, "--compress", "10"))
    misnamed = refused["--tolerance must be from 0 to 30 seconds"].stdout
    assert "note: --tier-key free=... gives a key whose name says pro: it is judged by the free tier, as asked" in misnamed
    for said, result in refused.items():
        output = result.stdout + result.stderr
        assert result.returncode == 2 and f"VERDICT: NOT RUN: {said}" in result.stdout, output
        assert "Traceback" not in output, output


@pytest.mark.slow
def test_a_target_whose_certificate_this_machine_does_not_trust_is_load_tested_not_refused_as_absent(tmp_path: Path) -> None:
    """The load's own client checks no certificate, so an HTTPS gateway with an internal CA's certificate is judged
    as another implementation; only a refused connection or an unknown name means nothing answers."""
    with https_target(tmp_path) as (url, _):
        result = run(locust(*short_run(url), "FreeUser"))
    assert "VERDICT: PASS" in result.stdout or "VERDICT: NOT JUDGED" in result.stdout, result.stdout + result.stderr
    assert "nothing answers" not in result.stdout


def test_a_distributed_run_the_master_refuses_sends_no_request_from_its_workers(tmp_path: Path) -> None:
    """The master tells its workers before it asks them to spawn: a worker had sent requests (a real key's quota) before
    the master quit, and the NOT RUN line was printed twice."""
    master_port = free_port()
    with ExitStack() as stack, running_simulator() as sim:
        for process in workers(master_port, 1):
            stack.callback(process.kill)
        master = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port), "--expect-workers", "1"]
        result = run(locust(*master, "--headless", "-u", "4", "-r", "4", "-t", "6s", "-H", sim.base_url, "--tolerance", "31"))
        journal = requests.get(f"{sim.base_url}/_sim/requests", timeout=5).json()["requests"]
    assert result.returncode == 2 and result.stdout.count("VERDICT: NOT RUN: --tolerance must be") == 1, result.stdout + result.stderr
    assert journal == [], journal


@pytest.mark.slow
def test_a_target_without_the_headers_the_document_does_not_promise_passes_saying_what_was_not_judged() -> None:
    """No Retry-After on its 429s and no x-ratelimit-* header on any answer: the run passed without a word, although
    the README promises both. The document promises only the body's retry_after (judged), so the verdict passes a
    target whose limits hold and says what it did not judge (perf-contract's decisions #1 and #4, not counted)."""
    with factory_server("tests.load.headerless:app") as target:
        result = run(locust(*BOUNDED, "-u", "6", "-r", "6", "-H", target.base_url, "FreeUser"))
    assert result.returncode == 0 and "VERDICT: PASS" in result.stdout, result.stdout + result.stderr
    assert "not judged: the target sends no x-ratelimit-* headers" in result.stdout, result.stdout
    assert re.search(r"not judged: (\d+) of \1 429s carry no Retry-After header", result.stdout), result.stdout


def test_a_keys_file_or_tier_key_error_is_said_once_before_any_user_is_spawned(tmp_path: Path) -> None:
    """Each user was spawned anyway and found the same error again in on_start (two tracebacks each, later none but
    the users still spawned): the run is refused before Locust spawns a user, with the reason said once."""
    unknown_tier = tmp_path / "gold.toml"
    unknown_tier.write_text('[keys.pk_live_gold]\ntier = "gold"\n')
    malformed = tmp_path / "typo.toml"
    malformed.write_text('[keys."pk live typo"]\ntier = "free"\n')
    with running_simulator() as sim:
        short = short_run(sim.base_url)
        refused = {
            "has unknown tier 'gold'": run(locust(*short, "--keys", str(unknown_tier))),
            str(malformed): run(locust(*short, "--keys", str(malformed))),
            "missing.toml: cannot read: No such file or directory": run(locust(*short, "--keys", str(tmp_path / "missing.toml"))),
            "--tier-key must be TIER=KEY": run(locust(*short, "--tier-key", "gold=abc")),
        }
        journal = requests.get(f"{sim.base_url}/_sim/requests", timeout=5).json()["requests"]
    for said, result in refused.items():
        output = result.stdout + result.stderr
        assert result.returncode == 2 and "VERDICT: NOT RUN: " in result.stdout and said in result.stdout, output
        assert "Ramping to" not in output and "users spawned" not in output, output
        assert "Traceback" not in output and output.count(said) == 2, output  # the log's error line and the verdict's
    assert journal == [], journal


def test_a_clock_advance_that_never_reached_the_simulator_is_not_counted_as_possibly_made() -> None:
    """A refused POST /_sim/clock/advance stayed recorded as possibly made: every later request's interval grew by its
    step (29.5 s at --compress 60), so the minute checks judged nothing for the rest of the run, without a word. An
    advance whose connection broke after the request went out may have been made, and stays so."""
    driver = textwrap.dedent(
        """
        import locust  # first, as the locust command imports it: it patches the standard library for gevent
        import math, socket, sys
        import gevent
        from load import locustfile

        hangs_up = socket.socket()
        hangs_up.bind(("127.0.0.1", 0))
        hangs_up.listen()

        def hang_up():
            while True:
                connection, _ = hangs_up.accept()
                connection.recv(65536)
                connection.close()

        gevent.spawn(hang_up)
        for host in (f"http://127.0.0.1:{sys.argv[1]}", f"http://127.0.0.1:{hangs_up.getsockname()[1]}"):
            clock = gevent.spawn(locustfile._drive_clock, host, 3.0, 0.05)
            gevent.sleep(0.5)
            clock.kill(block=True)
            advances = locustfile.RUN.advances
            print(len(advances), sum(math.isinf(advance.finished) for advance in advances))
            advances.clear()
        """
    )
    result = run([sys.executable, "-c", driver, str(free_port())])
    refused, broken = (tuple(int(count) for count in line.split()) for line in result.stdout.splitlines())
    assert refused == (0, 0), result.stdout + result.stderr
    assert broken[0] >= 3 and broken[1] == broken[0], result.stdout + result.stderr


def test_answers_a_fault_rule_injects_are_set_aside_and_the_rule_named_not_blamed_on_the_rate_limiting() -> None:
    """A 429 rule firing on 30% of the generations in the run's namespace made the verdict FAIL with under-admission,
    a note blaming reused keys and one saying the simulator lacked its own headers, without naming the rule."""
    with running_simulator() as sim:
        rule: dict[str, Any] = {"match": {"path": "/v1/images/generations"}, "action": {"status": 429}, "probability": 0.3}
        requests.post(f"{sim.base_url}/_sim/ns/fb/_sim/faults", json=rule, timeout=5).raise_for_status()
        result = run(locust(*short_run(f"{sim.base_url}/_sim/ns/fb"), "-u", "6", "-r", "6", "--compress", "60"))
    output = result.stdout + result.stderr
    assert "note: 1 fault rule in namespace fb can touch the run's requests: fault_1 (status=429;retry_after=1, probability 0.3" in output
    assert re.search(r"note: \d+ answers? (was|were) injected by fault rules in the target \(429: \d+\)", result.stdout), output
    fired = r"namespace fb: fault_1 \(status=429;retry_after=1, probability 0.3.*\), fired [1-9]\d* times? during the run"
    assert re.search(fired, result.stdout), output
    assert "under-admission: 0" in result.stdout and "a key used before the run" not in result.stdout, output
    assert "lack x-ratelimit-*" not in result.stdout, output
    assert result.returncode == 0 and "VERDICT: PASS" in result.stdout, output


def test_a_bad_namespace_in_the_base_path_is_refused_in_the_simulators_own_words_before_any_request() -> None:
    """With --compress the run said the target was not our simulator; without it, it sent its load to be refused and
    ended FAIL with 400s, the simulator's message (the naming rule) nowhere."""
    said = "VERDICT: NOT RUN: the target refused the base path: the base path /_sim/ns/<name>/'s name must be 1-64 of"
    with running_simulator() as sim:
        results = [run(locust(*short_run(f"{sim.base_url}/_sim/ns/a.b!"), *compress)) for compress in ([], ["--compress", "60"])]
        journal = requests.get(f"{sim.base_url}/_sim/requests", timeout=5).json()["requests"]
    for result in results:
        assert result.returncode == 2 and said in result.stdout and "got 'a.b!'" in result.stdout, result.stdout + result.stderr
        assert "--compress needs our simulator's control API" not in result.stdout, result.stdout
    assert journal == [], journal


def test_negative_users_and_a_headless_run_without_a_time_bound_are_refused_in_one_line() -> None:
    """`-u -1` printed Locust's ValueError traceback twice and ended NOT JUDGED with status 1; a headless run without
    -t, or with -t 0s, never stopped by itself (286 requests in 40 s until killed)."""
    with running_simulator() as sim:
        negative = run(locust("--headless", "-u", "-1", "-r", "2", "-t", "4s", "-H", sim.base_url))
        unbounded = [run(locust("--headless", "-u", "2", "-r", "2", *bound, "-H", sim.base_url)) for bound in ([], ["-t", "0s"])]
        journal = requests.get(f"{sim.base_url}/_sim/requests", timeout=5).json()["requests"]
    output = negative.stdout + negative.stderr
    assert negative.returncode == 2 and "VERDICT: NOT RUN: -u (--users) must be 0 or more, got -1" in negative.stdout, output
    assert "Traceback" not in output and "ValueError" not in output, output
    for result in unbounded:
        assert result.returncode == 2 and "VERDICT: NOT RUN: -t (--run-time) must bound a headless run" in result.stdout, (
            result.stdout + result.stderr
        )
    assert journal == [], journal


def test_a_scenario_file_gives_the_run_its_keys_and_a_wrong_one_is_refused_naming_no_option_the_run_lacks(tmp_path: Path) -> None:
    """`--keys` refused the target's scenario file (`[[faults]] belongs in a scenario file: give it with --scenario`, an
    option the locustfile does not have), and without it the scenario's keys were judged by their names' tiers. A
    `--tier-key` note said such a key was judged by the tier's defaults, not by the file's limits it is judged by."""
    scenario = tmp_path / "ci.toml"
    scenario.write_text(
        '[simulator]\nseed = 3\n\n[keys.pk_test_free_scen0]\ntier = "enterprise"\nimages_per_minute = 8\nimages_per_day = 60\n\n'
        '[[faults]]\nmatch = { model = "no-such-model" }\naction = { status = 503 }\n'
    )
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[simulator]\nseed = "three"\n')
    driver = textwrap.dedent(
        """
        import locust  # first, as the locust command imports it: it patches the standard library for gevent
        import sys
        from types import SimpleNamespace
        from load import locustfile

        keys = locustfile.configured_keys(sys.argv[1])
        print({key: (t.tier, t.limits.images_per_minute, t.limits.images_per_day) for key, t in keys.items()})
        options = SimpleNamespace(keys=sys.argv[1], tier_key=["enterprise=pk_test_free_scen0"], run_id="x", keys_per_tier=1)
        print(locustfile._given_key_note(options, "enterprise", "pk_test_free_scen0", keys))
        try:
            locustfile.configured_keys(sys.argv[2])
        except ValueError as exc:
            print(exc)
        """
    )
    result = run([sys.executable, "-c", driver, str(scenario), str(wrong)])
    configured, note, refused = [*result.stdout.splitlines(), "", "", ""][:3]
    assert configured == "{'pk_test_free_scen0': ('enterprise', 8, 60)}", result.stdout + result.stderr
    assert note == (
        "note: --tier-key enterprise=... gives a key whose name says free: it is judged by what "
        f"--keys {scenario} gives it (the enterprise tier: 8/minute, 60/day)"
    ), result.stdout
    assert refused.startswith(f"{wrong}: [simulator] seed: must be a whole number"), result.stdout + result.stderr
    assert "--scenario" not in result.stdout, result.stdout
