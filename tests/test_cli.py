"""`perf-sim` as a user meets it: the banner's curl line works, and bad options are refused clearly."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import redis

from load.redis_server import redis_available, running_redis
from simulator.cli import banner, build_parser, parse_args
from simulator.config import (
    BODY_TIMEOUT_RANGE,
    EARLIEST_CLOCK_TIME,
    JOURNAL_SIZE_RANGE,
    LATEST_CLOCK_TIME,
    MAX_LATENCY_SCALE,
    PORT_RANGE,
    WORKERS_RANGE,
)
from simulator.engine.latency import modelled_latency_ms
from simulator.engine.request import GenerationRequest
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator
from simulator.serve import CannotListen, bound_sockets, listening_sockets
from simulator.state.redis import version_problem
from spec.models import IMAGE_URL_TTL_SECONDS, MODELS, parse_size
from spec.providers.bfl import BFL_TASK_TTL_SECONDS

README = PROJECT_ROOT / "README.md"


def test_banner_curl_line_works() -> None:
    with running_simulator() as server:
        config = parse_args(["--port", str(server.port)])
        text = banner(config)
        assert "pk_live_abc123" in text and "pk_test_free_<anything>" in text
        curl = next(line.strip() for line in text.splitlines() if line.strip().startswith("curl "))
        out = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, check=True).stdout
        assert json.loads(out)["data"][0]["url"].startswith(server.base_url)


def test_the_banner_shows_a_configured_keys_own_limits(tmp_path: Path) -> None:
    """An enterprise key given limits far from its tier's is the misconfiguration a load test's verdict then misses."""
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.pk_live_big]\ntier = "enterprise"\nimages_per_minute = 100000\nimages_per_day = 1000000\n')
    line = next(line for line in banner(parse_args(["--keys", str(keys)])).splitlines() if "pk_live_big" in line)
    assert f"enterprise, 100,000/minute 1,000,000/day (from {keys})" in line


def test_a_key_the_file_redefines_is_listed_once_with_the_files_tier(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.pk_live_abc123]\ntier = "free"\n')
    lines = [line for line in banner(parse_args(["--keys", str(keys)])).splitlines() if line.strip().startswith("pk_live_abc123")]
    assert len(lines) == 1 and "free, 5/minute 50/day" in lines[0], lines


def test_a_public_url_ending_in_a_slash_gives_base_urls_an_official_client_can_use() -> None:
    with running_simulator() as server:
        text = banner(parse_args(["--port", str(server.port), "--public-url", server.base_url + "/"]))
        openai_base = next(line.split()[1] for line in text.splitlines() if line.strip().startswith("openai "))
        assert openai_base == server.base_url + "/openai/v1", text
        key = {"Authorization": "Bearer pk_live_abc123"}
        answer = httpx.post(f"{openai_base}/images/generations", headers=key, json={"prompt": "a fox"})
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency-scale", "-1"], "--latency-scale"),
        (["--keys", "/nonexistent/keys.toml"], "--keys"),
        (["--clock", "sundial"], "--clock"),
        (["--upstream-timeout", "nan"], "--upstream-timeout"),
        (["--upstream-timeout", "inf"], "--upstream-timeout"),
        (["--upstream-timeout", "60"], "--upstream-timeout bounds a gateway's upstream calls: give --upstream URL"),
        (["--upstream-timeout", "60.0"], "--upstream-timeout bounds a gateway's upstream calls: give --upstream URL"),
        (["--public-url", "127.0.0.1:8080"], "--public-url"),
        (["--public-url", "ftp://sim.test"], "--public-url"),
        (["--journal-size", "99999999999999999999"], "--journal-size must be from 1 to 1,000,000"),
        (["--body-timeout", "0"], "--body-timeout must be a number of seconds more than 0 and at most 3600"),
        (["--body-timeout", "inf"], "--body-timeout must be a number of seconds more than 0 and at most 3600"),
        (["--body-timeout", "nan"], "--body-timeout must be a number of seconds more than 0 and at most 3600"),
    ],
)
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and message in result.stderr


def test_a_gateway_without_an_upstream_timeout_waits_the_default() -> None:
    assert parse_args(["--upstream", "http://127.0.0.1:9"]).upstream_seconds == 60
    assert parse_args(["--upstream", "http://127.0.0.1:9", "--upstream-timeout", "5"]).upstream_seconds == 5


@pytest.mark.parametrize("port", ["70000", "65536", "-1", "0"])
def test_a_port_no_socket_can_have_is_refused_rather_than_wrapped_or_left_to_the_server(port: str) -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", f"--port={port}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == f"perf-sim: error: --port must be from 1 to 65535, got {port}"


@pytest.mark.parametrize(
    "args",
    [
        ["--start-time", "1e12"],
        ["--start-time", "253402300800"],
        ["--start-time", "nan"],
        ["--start-time", "inf"],
        ["--start-time=-1"],
        ["--latency-scale", "inf"],
        ["--latency-scale", "nan"],
        ["--latency-scale", str(MAX_LATENCY_SCALE + 1)],
    ],
)
def test_a_start_time_or_latency_scale_the_simulator_cannot_serve_is_refused_before_it_starts(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--clock", "manual", *args], capture_output=True, text=True, timeout=30)
    flag = args[0].partition("=")[0]
    assert result.returncode == 2 and result.stderr.splitlines()[-1].startswith(f"perf-sim: error: {flag} must be")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("start", ["2026-03-02T09:00:00Z", "2026-03-02T09:00:00", "1772442000"])
def test_a_start_time_is_unix_seconds_or_an_iso_date_time_as_in_a_scenario(start: str) -> None:
    assert parse_args(["--clock", "manual", "--start-time", start]).start_time == 1772442000.0


@pytest.mark.parametrize("workers", ["0", "65", "100000"])
def test_a_worker_count_out_of_range_is_refused_before_any_worker_starts(workers: str) -> None:
    """uvicorn starts however many workers it is told: 100,000 filled a 24 GB machine's memory."""
    args = [sys.executable, "-m", "simulator", "--workers", workers, "--state", "redis://127.0.0.1:1/0"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == f"perf-sim: error: --workers must be from 1 to 64, got {workers}"


def test_a_start_time_without_the_manual_clock_is_refused_rather_than_ignored() -> None:
    """The real clock follows wall time: a run meant to start on a given day would quietly start today."""
    result = subprocess.run([sys.executable, "-m", "simulator", "--start-time", "1772442000"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.splitlines()[-1].endswith("add --clock manual"), result.stderr
    assert parse_args(["--clock", "manual", "--start-time", "1772442000"]).start_time == 1772442000


@pytest.mark.parametrize("start", [EARLIEST_CLOCK_TIME, LATEST_CLOCK_TIME], ids=["earliest", "latest"])
def test_a_clock_started_at_either_end_of_the_accepted_range_answers_every_call(start: float) -> None:
    with (
        running_simulator("--clock", "manual", "--start-time", repr(start), "--quiet") as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        assert client.get("/_sim/clock").json()["now"] == start
        perf = client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={"Authorization": "Bearer pk_test_pro_edge"})
        ideogram = client.post("/ideogram/generate", json={"image_request": {"prompt": "a fox"}}, headers={"Api-Key": "pk_test_pro_edge"})
        assert (perf.status_code, ideogram.status_code) == (200, 200)
        assert client.get(perf.json()["data"][0]["url"]).status_code == 200
        assert [row["status"] for row in client.get("/_sim/requests").json()["requests"]] == [200, 200]


def _pixels(size: str) -> int:
    width, height = parse_size(size)
    return width * height


def test_at_the_largest_latency_scale_the_slowest_generation_is_ready_while_its_image_urls_and_task_live() -> None:
    """What --help promises for --latency-scale's bound, for every model at its largest size, image count and quality."""
    slowest_ms = max(
        modelled_latency_ms(seed, GenerationRequest("a fox", model.name, model.max_n, max(model.sizes, key=_pixels), quality, None, "url"))
        for model in MODELS.values()
        for quality in model.qualities
        for seed in range(50)
    )
    assert slowest_ms / 1000 * MAX_LATENCY_SCALE < min(IMAGE_URL_TTL_SECONDS, BFL_TASK_TTL_SECONDS)


def test_latency_scale_waits_without_blocking_other_requests() -> None:
    """At --latency-scale 0.5 a slow dall-e-3 hd request is still in flight when a fast dall-e-2 one finishes."""
    import asyncio

    import httpx

    async def scenario(base_url: str) -> list[str]:
        finished: list[str] = []
        headers = {"Authorization": "Bearer pk_test_pro_latency"}

        async def post(client: httpx.AsyncClient, label: str, body: dict[str, object]) -> None:
            response = await client.post("/v1/images/generations", json={"prompt": "a fox", **body}, headers=headers)
            assert response.status_code == 200
            finished.append(label)

        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            slow = asyncio.create_task(post(client, "slow", {"quality": "hd", "size": "1792x1024"}))
            await asyncio.sleep(0.2)
            await post(client, "fast", {"model": "dall-e-2", "size": "256x256"})
            await slow
        return finished

    with running_simulator("--latency-scale", "0.5") as server:
        assert asyncio.run(scenario(server.base_url)) == ["fast", "slow"]


@pytest.mark.parametrize(
    ("keys_file", "message"),
    [
        ('[keys]\npk_live_flat_key = "pro"\n', "must be a table"),
        ("[providers.openai]\nimages_per_minute = 5\n", "needs images_per_minute and images_per_day"),
        ("[providers.opneai]\nimages_per_minute = 5\nimages_per_day = 9\n", "unknown provider"),
        ('[keys.pk_live_big_corp]\ntier = "enterprise"\nimages_per_minute = 0\n', "at least 1"),
        ('[keys.pk_live_big_corp]\ntier = "enterprise"\nimages_per_minute = 20\nimages_per_day = 10\n', "below images_per_minute"),
        ("[keys.pk_live_big_corp\n", "not valid TOML"),
        ('[keys.pk_live_big_corp]\ntier = "pro"\ncolour = "red"\n', "[keys.pk_live_big_corp]: unknown field 'colour'"),
        ("[keys.pk_live_big_corp]\n", "key 'pk_live_big_corp' has no tier; give tier = one of 'free', 'pro', 'enterprise'"),
        ("[keys.pk_live_big_corp]\nimages_per_minute = 100\n", "key 'pk_live_big_corp' has no tier"),
        ("[providers.openai]\nimages_per_minute = 5\nimages_per_hour = 9\n", "[providers.openai]: unknown field 'images_per_hour'"),
        ('[key.pk_live_big_corp]\ntier = "pro"\n', "unknown table [key]"),
        ('[keys]\ntier = "pro"\n', "keys.toml: [keys] holds one table per key: write [keys.<the key>] above tier = 'pro'\n"),
        (
            "[providers]\nimages_per_minute = 10\nimages_per_day = 100\n",
            "keys.toml: [providers] holds one table per provider: write [providers.<provider>] above images_per_minute = 10; "
            "providers: openai, stability, bfl, ideogram, google\n",
        ),
        ("[providers]\nopenai = 5\n", "keys.toml: [providers.openai] must be a table with images_per_minute and images_per_day, got 5\n"),
        ("", "keys.toml: the file holds no table ([keys] or [providers]), only blanks or comments; is it the right file?\n"),
        ("# keys to come\n\n", "keys.toml: the file holds no table ([keys] or [providers])"),
        ('tier = "pro"\n', "keys.toml: tier is a field of [keys.<key>]; write it under a [keys.<the key>] line\n"),
        (
            "images_per_minute = 5\n[providers.openai]\nimages_per_day = 9\n",
            "keys.toml: images_per_minute is a field of [providers.<provider>] and of an enterprise key's [keys.<key>]; write it "
            "under a [providers.<provider>] or [keys.<the key>] line; providers: openai, stability, bfl, ideogram, google\n",
        ),
        ('colour = "red"\n', "keys.toml: unknown field colour outside every table; tables: [keys], [providers]\n"),
    ],
    ids=[
        "flat key",
        "half provider",
        "provider typo",
        "zero limit",
        "day below minute",
        "bad toml",
        "key field",
        "no tier",
        "limits without a tier",
        "provider field",
        "table",
        "key field without its table",
        "provider field without its table",
        "provider not a table",
        "empty",
        "only comments",
        "key field above every table",
        "provider field above every table",
        "field above every table",
    ],
)
def test_a_keys_file_it_cannot_honour_is_refused_with_the_reason(tmp_path: object, keys_file: str, message: str) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "keys.toml"
    path.write_text(keys_file)
    result = subprocess.run([sys.executable, "-m", "simulator", "--keys", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("keys_file", "message"),
    [
        ('[keys.pk_live_big_corp]\ntier = ["pro"]\n', "key 'pk_live_big_corp' has unknown tier [\"pro\"]; tiers: free, pro, enterprise"),
        ('[keys.pk_live_big_corp]\ntier = { name = "pro" }\n', 'key \'pk_live_big_corp\' has unknown tier {"name": "pro"}'),
        ("[simulator]\nsed = 7\n", "[simulator] belongs in a scenario file: give it with --scenario"),
        ("[simulator]\nseed = 7\n", "[simulator] belongs in a scenario file: give it with --scenario"),
        ("[[faults]]\naction = { status = 99 }\n", "[[faults]] belongs in a scenario file: give it with --scenario"),
    ],
    ids=["tier list", "tier table", "scenario typo", "scenario settings", "scenario rule"],
)
def test_a_keys_file_with_a_tier_not_a_string_or_a_scenarios_tables_is_refused_in_one_line(
    tmp_path: Path, keys_file: str, message: str
) -> None:
    """A scenario's tables in a keys file would otherwise be ignored: a run quietly different from the one asked for."""
    path = tmp_path / "keys.toml"
    path.write_text(keys_file)
    result = subprocess.run([sys.executable, "-m", "simulator", "--keys", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("perf-sim: error: --keys:") and message in line


@pytest.mark.parametrize("option", ["--scenario", "--keys"])
def test_an_empty_file_name_is_refused_naming_the_option(option: str) -> None:
    """`perf-sim --scenario "$SCENARIO"` with the variable unset started with the defaults, as if none was given."""
    result = subprocess.run([sys.executable, "-m", "simulator", option, ""], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"perf-sim: error: {option}: the file name is empty (an unset variable?)"]


def test_an_empty_host_is_refused_in_one_line_rather_than_listening_on_every_interface() -> None:
    """`--host "$SIM_HOST"` with the variable unset listened on every IPv4 and IPv6 interface, the control API open to
    the network, and the banner printed `http://:8080` URLs."""
    result = subprocess.run([sys.executable, "-m", "simulator", "--host", ""], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "perf-sim: error: --host: the host is empty (an unset variable?); give 0.0.0.0 to listen on every interface"
    ]


@pytest.mark.parametrize(
    ("host", "base"), [("::1", "http://[::1]:{port}"), ("::", "http://[::1]:{port}"), ("0.0.0.0", "http://127.0.0.1:{port}")]
)
def test_the_banners_urls_name_a_host_a_client_can_reach(host: str, base: str) -> None:
    """`--host ::1` printed `http://::1:8080/...` and `--host ::` `http://:::8080`, URLs no client can use."""
    text = banner(parse_args(["--host", host, "--port", "8080"]))
    urls = [word for word in text.split() if word.startswith("http")]
    assert len(urls) > 5 and all(url.startswith(base.format(port=8080) + "/") or url == base.format(port=8080) for url in urls), urls


def test_every_url_the_banner_prints_answers_on_ipv6_loopback() -> None:
    port = free_port()
    command = [sys.executable, "-m", "simulator", "--host", "::1", "--port", str(port), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline()]  # printed once the server answers at http://[::1]:PORT
        while not lines[-1].lstrip().startswith("curl "):
            lines.append(process.stdout.readline())
        assert lines[0].split()[6] == f"http://[::1]:{port}", lines
        pages = [word for line in lines if "OpenAPI:" in line for word in line.split() if word.startswith("http://")]
        assert {url: httpx.get(url).status_code for url in pages} == dict.fromkeys(pages, 200)
        out = subprocess.run(["bash", "-c", lines[-1].strip()], capture_output=True, text=True, check=True).stdout
        assert json.loads(out)["data"][0]["url"].startswith(f"http://[::1]:{port}/")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_is_refused_in_one_line_naming_it_before_a_shared_state_is_emptied(
    request: pytest.FixtureRequest, workers: int
) -> None:
    """It was uvicorn's log line and exit 3 (with several workers naming no address), after the run had emptied its
    Redis database."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        shared: list[str] = []
        if workers > 1:
            redis_url = request.getfixturevalue("redis_server").database(11)
            shared = ["--state", redis_url]
            redis.Redis.from_url(redis_url).set("left-by-an-earlier-run", 1)
        command = [sys.executable, "-m", "simulator", "--port", str(port), "--workers", str(workers), *shared, "--quiet"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"perf-sim: error: --port: {port} on 127.0.0.1 is in use (another perf-sim?)"]
    if shared:
        assert redis.Redis.from_url(shared[1]).get("left-by-an-earlier-run") == b"1", "the database was emptied"


TCP = (socket.SOCK_STREAM, socket.IPPROTO_TCP)
NOT_HERE_V4 = "192.0.2.1"
"""An address of TEST-NET-1 (RFC 5737), on no interface of this machine: binding it fails with EADDRNOTAVAIL, as
binding ::1 does where IPv6 is turned off."""
NOT_HERE_V6 = "2001:db8::1"


def test_a_host_name_with_an_address_this_machine_cannot_bind_serves_on_the_addresses_it_can(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--host localhost` resolves to 127.0.0.1 and ::1 in the usual hosts file, also where IPv6 is turned off
    (containers), and was refused there ("::1 (localhost) is no address of this machine"). The name resolves here
    to addresses of which only 127.0.0.1 is this machine's."""
    port = free_port()
    found = [(socket.AF_INET6, *TCP, "", (NOT_HERE_V6, port, 0, 0)), (socket.AF_INET, *TCP, "", (NOT_HERE_V4, port))]
    found.append((socket.AF_INET, *TCP, "", ("127.0.0.1", port)))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: found)
    sockets = listening_sockets("localhost", port)
    monkeypatch.undo()
    try:
        assert [sock.getsockname() for sock in sockets] == [("127.0.0.1", port)]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_in_use_on_any_address_of_a_host_is_refused_although_another_address_cannot_be_bound() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen) as refused:
            bound_sockets("localhost", port, [(socket.AF_INET, *TCP, (NOT_HERE_V4, port)), (socket.AF_INET, *TCP, ("127.0.0.1", port))])
    assert str(refused.value) == f"--port: {port} on 127.0.0.1 (localhost) is in use (another perf-sim?)"


def test_a_host_none_of_whose_addresses_can_be_bound_is_refused_naming_the_first() -> None:
    port = free_port()
    with pytest.raises(CannotListen) as refused:
        bound_sockets("far", port, [(socket.AF_INET, *TCP, (NOT_HERE_V4, port)), (socket.AF_INET6, *TCP, (NOT_HERE_V6, port, 0, 0))])
    assert str(refused.value).startswith(f"--host: {NOT_HERE_V4} (far) is no address of this machine (")


WORKERS_OF_A_BROKEN_APP = """
import sys
from simulator.config import SimulatorConfig
from simulator.serve import listening_sockets, serve
config = SimulatorConfig(workers=2, state=sys.argv[1], port=int(sys.argv[2]), keys_file="keys.toml", file_texts={"keys.toml": "[unclosed"})
serve(config, listening_sockets("127.0.0.1", config.port))
"""


def test_several_workers_whose_app_cannot_start_stop_the_run_with_exit_status_3(request: pytest.FixtureRequest) -> None:
    """A worker failing at start-up stopped uvicorn's supervisor, which returned normally: exit 0, a run that never
    served reported as a success (one worker exits 3). A worker whose app could not be made died with 1 instead, and
    was started again, failing the same way, for ever. The keys' text here is checked by `perf-sim` before it serves,
    so this start calls `serve` itself."""
    redis_url = request.getfixturevalue("redis_server").database(12)
    port = free_port()
    command = [sys.executable, "-c", WORKERS_OF_A_BROKEN_APP, redis_url, str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 3, stderr
    assert stderr.splitlines()[-1] == "perf-sim: error: a worker failed to start (its error is above), so the run stopped", stderr


def test_a_host_that_does_not_resolve_is_refused_in_one_line_naming_the_option() -> None:
    command = [sys.executable, "-m", "simulator", "--host", "no.such.host.invalid", "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("perf-sim: error: --host: 'no.such.host.invalid' does not resolve ("), line


@pytest.mark.parametrize("option", ["--scenario", "--keys"])
def test_a_missing_file_is_refused_in_the_same_words_for_a_scenario_and_keys(tmp_path: Path, option: str) -> None:
    missing = tmp_path / "missing.toml"
    result = subprocess.run([sys.executable, "-m", "simulator", option, str(missing)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"perf-sim: error: {option}: {missing}: cannot read: No such file or directory"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_keys_file_given_on_a_pipe_has_its_keys_in_force(request: pytest.FixtureRequest, workers: int) -> None:
    """`--keys <(render template)` or `/dev/stdin`: a pipe can be read once, and the app's later reading saw an empty
    file, so the run started without the file's keys."""
    shared = [] if workers == 1 else ["--state", f"redis://127.0.0.1:{request.getfixturevalue('redis_server').port}/10"]
    keys = b'[keys.pk_live_other1]\ntier = "free"\n'
    with running_simulator("--keys", "/dev/stdin", "--workers", str(workers), *shared, "--quiet", stdin=keys) as server:
        for _ in range(2 * workers):  # several, which the workers share
            assert httpx.get(server.base_url + "/_sim/usage/pk_live_other1").json()["tier"] == "free"


def test_help_shows_every_options_default() -> None:
    """`perf-sim --help` says, for every option, what it is when left out (--help and --version are actions, not
    settings)."""
    text = subprocess.run([sys.executable, "-m", "simulator", "--help"], capture_output=True, text=True, check=True, timeout=30).stdout
    blocks: list[str] = []
    for line in text.splitlines():
        if line.startswith("  -"):
            blocks.append(line)
        elif blocks and line.startswith("   "):
            blocks[-1] += " " + line.strip()
    options = [block for block in blocks if not block.lstrip().startswith(("-h", "--version"))]
    assert len(options) == len([action for action in build_parser()._actions if action.dest not in ("help", "version")])
    assert all("(default: " in " ".join(block.split()) for block in options), [b for b in options if "(default: " not in b]
    assert f"--port PORT port to listen on, {PORT_RANGE} (default: 8080)" in [" ".join(block.split()) for block in options]


@pytest.mark.parametrize(
    ("option", "promise"),
    [
        ("--port", PORT_RANGE),
        ("--workers", WORKERS_RANGE),
        ("--journal-size", JOURNAL_SIZE_RANGE),
        ("--body-timeout", BODY_TIMEOUT_RANGE),
        ("--start-time", "--clock manual` or a scenario's manual clock"),
        ("--state", "`rediss://`"),
        ("--state", "`unix:///PATH?db=N`"),
        ("--scenario", "seed, clock, prompt tokens, keys and tiers, and fault rules"),
        ("--scenario", "a flag given on the command line wins over the file's setting"),
        ("--scenario", "--keys` is refused beside a file with `[keys]` or `[providers]` tables"),
        ("--prompt-tokens", "the `X-Sim-Fault` header and fault rules still work"),
    ],
)
def test_help_and_the_readme_give_each_options_range_and_rules_alike(option: str, promise: str) -> None:
    """The values perf-sim refuses, said where a person looks before running it: --help and the README's table."""
    blocks: list[str] = []
    for line in build_parser().format_help().splitlines():
        if line.startswith("  -"):
            blocks.append(line)
        elif blocks and line.startswith("   "):
            blocks[-1] += " " + line.strip()
    (help_block,) = [" ".join(block.split()) for block in blocks if block.split()[0].rstrip(",") == option]  # `--x, --no-x`
    assert promise.replace("`", "") in help_block
    rows = [line for line in README.read_text().splitlines() if line.startswith("| ") and f"`{option}" in line]
    assert any(promise in row for row in rows), rows


def test_the_banner_is_printed_once_several_workers_answer_its_curl_line() -> None:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    port = free_port()
    with running_redis() as redis:
        args = ["--workers", "3", "--state", redis.url, "--port", str(port), "--quiet"]
        process = subprocess.Popen([sys.executable, "-m", "simulator", *args], stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("perf-sim: Perf Image Generation API")
            assert httpx.get(f"http://127.0.0.1:{port}/_sim/health").status_code == 200, "up when the banner says so"
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("redis://x:y", "'redis://x:y': Port could not be cast to integer value as 'y'"),
        ("redis://127.0.0.1:99999/0", "Port out of range 0-65535"),
        ("redis://", "give Redis's host and port"),
        ("redis://127.0.0.1:{port}/0?foo=bar", "a Redis URL takes no ?options"),
        ("redis://127.0.0.1:{port}/16", "Redis at 127.0.0.1:{port}/16 refused: DB index is out of range"),
        ("redis://:wrong@127.0.0.1:{port}/0", "Redis at 127.0.0.1:{port}/0 refused: AUTH"),
        ("unix:///nonexistent/redis.sock", "cannot reach Redis at unix:///nonexistent/redis.sock?db=0: Error 2 connecting to"),
        ("redis://nosuchhost.invalid:6379/0", "cannot reach Redis at nosuchhost.invalid:6379/0: Error -"),
        (
            "rediss://127.0.0.1:{port}/0",
            "cannot reach Redis at 127.0.0.1:{port}/0: Timeout connecting to server (rediss:// connects with TLS: does that "
            "port serve TLS? A Redis without TLS takes redis://)",
        ),
        ("unix:///nonexistent/redis.sock?timeout=1", "a socket URL takes only ?db=N"),
    ],
)
def test_a_state_url_it_cannot_use_is_refused_in_one_line_naming_the_problem(state: str, message: str) -> None:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    with running_redis() as redis:
        args = ["--port", str(free_port()), "--state", state.format(port=redis.port)]
        result = subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith("perf-sim: error: --state: ")
    assert message.format(port=redis.port) in result.stderr.splitlines()[-1]


class OldRedis(socketserver.ThreadingTCPServer):
    """A stand-in for a Redis older than the simulator needs (no such server is installed here): it answers the
    commands a start sends (CLIENT, PING, INFO) as Redis 4.0.9 does, and refuses the rest."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), OldRedisConnection)


class OldRedisConnection(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while line := self.rfile.readline():
            # "*<count>", then per word "$<length>" and the bytes
            words = [self.rfile.read(int(self.rfile.readline()[1:]) + 2)[:-2] for _ in range(int(line[1:]))]
            command = words[0].upper() if words else b""
            if command == b"PING":
                self.wfile.write(b"+PONG\r\n")
            elif command == b"INFO":
                info = b"# Server\r\nredis_version:4.0.9\r\nrun_id:0\r\n"
                self.wfile.write(b"$%d\r\n%s\r\n" % (len(info), info))
            elif command == b"CLIENT":
                self.wfile.write(b"+OK\r\n")
            else:
                self.wfile.write(b"-ERR unknown command\r\n")


def test_a_redis_older_than_the_simulator_needs_is_refused_at_start_in_one_line() -> None:
    """The admission script's ZPOPMIN needs Redis 5.0: an older one failed only at the first image past the count
    bound, with a 500, once 100,000 images had been stored."""
    with OldRedis() as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            state = f"redis://127.0.0.1:{server.server_address[1]}/0"
            result = subprocess.run(
                [sys.executable, "-m", "simulator", "--port", str(free_port()), "--state", state],
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            server.shutdown()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"perf-sim: error: --state: Redis at 127.0.0.1:{server.server_address[1]}/0 is Redis 4.0.9; perf-sim needs Redis 5.0 or "
        "later (ZPOPMIN, scripts that write after TIME)"
    )


@pytest.mark.parametrize(
    ("version", "refused"),
    [
        ("4.0.9", True),
        ("3.2.12", True),
        ("5.0.0", False),
        ("6.0.16", False),
        ("7.2.4", False),
        ("10.0.0", False),
        ("odd", False),
        (None, False),
    ],
)
def test_the_oldest_redis_the_simulator_runs_on_is_5_0(version: str | None, refused: bool) -> None:
    assert (version_problem(version) is not None) is refused


@pytest.mark.parametrize(
    "args",
    [
        ["--upstream", "http://"],
        ["--upstream", "ftp://x"],
        ["--upstream", "127.0.0.1:8081"],
        ["--upstream", "http://127.0.0.1:99999"],
        ["--upstream-openai", "http://"],
        ["--upstream-bfl", "api.bfl.ai"],
        ["--upstream", "http://127.0.0.1:8081", "--upstream-google", "file:///tmp"],
    ],
)
def test_an_upstream_no_http_client_can_call_is_refused_at_start(args: list[str]) -> None:
    command = [sys.executable, "-m", "simulator", "--port", str(free_port()), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"perf-sim: error: {args[-2]} must be an http:// or https:// base URL")


@pytest.mark.parametrize(
    "args",
    [
        ["--upstream", "http://127.0.0.1:8081/_sim/ns/gateway-job"],
        ["--upstream-openai", "http://h/_sim/ns/a/openai"],
        ["--upstream", "http://127.0.0.1:8081/x/../_sim/ns/job"],
        ["--upstream", "http://127.0.0.1:8081/%5Fsim/ns/job"],
    ],
)
def test_an_upstream_under_a_namespace_base_path_is_refused_at_start(args: list[str]) -> None:
    """The gateway sends each request's namespace upstream itself: beside a base path naming another, every
    namespaced request was charged and then refused upstream."""
    command = [sys.executable, "-m", "simulator", "--port", str(free_port()), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"perf-sim: error: {args[0]} is under a perf-sim's /_sim/"), result.stderr


def test_every_page_the_banner_names_answers() -> None:
    with running_simulator("--quiet") as server:
        text = banner(parse_args(["--port", str(server.port)]))
        line = next(line for line in text.splitlines() if "OpenAPI:" in line)
        urls = [word for word in line.split() if word.startswith("http")]
        assert len(urls) == 3 and any("/_sim/" in url for url in urls), line
        assert {url: httpx.get(url).status_code for url in urls} == dict.fromkeys(urls, 200)


def test_with_no_prompt_tokens_a_sim_bracket_in_a_prompt_is_ordinary_text_and_the_header_and_rules_still_fault() -> None:
    """An app under test that passes its users' text on (code such as `arr[sim:end]`, markdown) got a 400 for it, and
    nothing turned the tokens off."""
    key = {"Authorization": "Bearer pk_test_enterprise_tokens"}
    with (
        running_simulator("--no-prompt-tokens", "--clock", "manual", "--quiet") as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        url = "/v1/images/generations"
        for prompt in ["a python poster: x = arr[sim:end]", "a fox [sim:status=503]", "a fox [sim:drop]"]:
            response = client.post(url, json={"prompt": prompt, "user": "ticket [sim:bogus"}, headers=key)
            assert response.status_code == 200, response.text
            assert prompt.partition("[")[2] in response.json()["data"][0]["revised_prompt"]
        journalled = client.get("/_sim/requests").json()["requests"]
        assert [(entry["fault"], entry["status"]) for entry in journalled] == [(None, 200)] * 3
        assert "[sim:end]" in journalled[-1]["body"]["prompt"]
        assert client.post(url, json={"prompt": "a fox [sim:drop]"}, headers={**key, "X-Sim-Fault": "status=503"}).status_code == 503
        client.post("/_sim/faults", json={"match": {"prompt": "rule"}, "action": {"status": 429}}).raise_for_status()
        assert client.post(url, json={"prompt": "a rule [sim:drop]"}, headers=key).status_code == 429
        assert client.get("/_sim/config").json()["prompt_tokens"] is False
    assert "fault tokens: off (--no-prompt-tokens)" in banner(parse_args(["--no-prompt-tokens"]))
    assert "fault tokens" not in banner(parse_args([]))


def test_the_banner_names_a_scenarios_setting_that_turned_the_fault_tokens_off(tmp_path: Path) -> None:
    """It named --no-prompt-tokens, a flag not given: a person asking why `[sim:drop]` does nothing searched the
    command line, not the scenario file."""
    scenario = tmp_path / "ci.toml"
    scenario.write_text("[simulator]\nprompt_tokens = false\n")
    assert f"fault tokens: off (prompt_tokens = false in {scenario}):" in banner(parse_args(["--scenario", str(scenario)]))
    assert "fault tokens" not in banner(parse_args(["--scenario", str(scenario), "--prompt-tokens"]))
    scenario.write_text("[simulator]\nseed = 7\n")
    assert "fault tokens: off (--no-prompt-tokens):" in banner(parse_args(["--scenario", str(scenario), "--no-prompt-tokens"]))
