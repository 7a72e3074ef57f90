"""Scenario files: what a team writes once and every run starts from; a wrong file is refused before serving."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from load.redis_server import RedisServer
from simulator.cli import parse_args
from simulator.in_process import simulator_running
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator
from simulator.scenario import ScenarioError, ScenarioWarning, load_scenario

EXAMPLE = PROJECT_ROOT / "docs" / "scenario.example.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_the_documented_example_loads_with_its_settings_keys_and_rules() -> None:
    scenario = load_scenario(EXAMPLE)
    assert scenario.settings == {"seed": 7, "clock": "manual", "start_time": 1772442000.0}
    assert scenario.has_keys
    assert [rule["action"] for rule in scenario.faults] == [{"status": 503, "retry_after": 1}, {"delay_ms": 1500}, {"drop": True}]


def test_the_scenario_sets_seed_clock_start_and_keys_and_a_flag_on_the_command_line_wins(tmp_path: Path) -> None:
    config = parse_args(["--scenario", str(EXAMPLE)])
    assert (config.seed, config.clock, config.start_time, config.keys_file) == (7, "manual", 1772442000.0, str(EXAMPLE))
    assert parse_args(["--scenario", str(EXAMPLE), "--seed", "3", "--clock", "real"]).seed == 3


def test_a_scenario_turns_prompt_tokens_off_and_a_flag_on_the_command_line_wins(tmp_path: Path) -> None:
    path = str(_write(tmp_path, "[simulator]\nprompt_tokens = false\n"))
    assert load_scenario(path).settings == {"prompt_tokens": False}
    assert parse_args(["--scenario", path]).prompt_tokens is False
    assert parse_args(["--scenario", path, "--prompt-tokens"]).prompt_tokens is True
    assert parse_args([]).prompt_tokens is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[simulatr]\nseed = 1\n", "unknown table [simulatr]"),
        ("seed = 7\n", "seed is a setting of [simulator]; write it under a [simulator] line"),
        ("colour = 7\n", "unknown field colour outside every table; tables: [simulator], [keys], [providers], [[faults]]"),
        ("[colour]\nx = 7\n", "unknown table [colour]; tables: [simulator], [keys], [providers], [[faults]]"),
        ('tier = "pro"\n[keys.pk_live_x]\ntier = "pro"\n', "tier is a field of [keys.<key>]; write it under a [keys.<the key>] line"),
        (
            'images_per_minute = 5\n[keys.pk_live_x]\ntier = "pro"\n',
            "images_per_minute is a field of [providers.<provider>] and of an enterprise key's [keys.<key>]; write it under a "
            "[providers.<provider>] or [keys.<the key>] line; providers: openai, stability, bfl, ideogram, google",
        ),
        ("images_per_day = 9\n", "images_per_day is a field of [providers.<provider>] and of an enterprise key's [keys.<key>]"),
        ("[simulator]\nsed = 1\n", "[simulator]: unknown field 'sed'"),
        ('[simulator]\nseed = "seven"\n', "[simulator] seed: must be a whole number"),
        ('[simulator]\nclock = "sundial"\n', "[simulator] clock: must be 'real' or 'manual'"),
        ("[simulator]\nseed = true\n", "[simulator] seed: must be a whole number, got true"),
        ('[simulator]\nprompt_tokens = "off"\n', "[simulator] prompt_tokens: must be true or false, got 'off'"),
        ("[simulator]\nprompt_tokens = 0\n", "[simulator] prompt_tokens: must be true or false, got 0"),
        ("[simulator]\nclock = 1979-05-27\n", "[simulator] clock: must be 'real' or 'manual', got 1979-05-27"),
        ("[simulator]\nstart_time = 07:32:00\n", "[simulator] start_time: must be Unix seconds or an ISO 8601 date-time, got 07:32:00"),
        ('[simulator]\nstart_time = "yesterday"\n', "[simulator] start_time: not an ISO 8601 date-time"),
        ("[simulator]\nstart_time = 1e12\n", "[simulator] start_time: must be Unix seconds from 0"),
        ("[simulator]\nstart_time = nan\n", "[simulator] start_time: must be Unix seconds from 0"),
        ("[simulator]\nstart_time = 9999-12-31\n", "[simulator] start_time: must be Unix seconds from 0"),
        ('[simulator]\nstart_time = "1969-12-31T23:59:59Z"\n', "[simulator] start_time: must be Unix seconds from 0"),
        ("[simulator]\nstart_time = 2026-03-02T09:00:00Z\n", "[simulator] start_time: sets where the manual clock starts"),
        ('[simulator]\nclock = "real"\nstart_time = 0\n', "[simulator] start_time: sets where the manual clock starts"),
        ("[faults]\naction = { status = 503 }\n", "[faults] must be an array of tables, written [[faults]]"),
        ('[[faults]]\nmatch = { face = "openai" }\n', "[[faults]] #1: action is required"),
        ("[[faults]]\naction = { status = 503 }\n[[faults]]\naction = { drop = true }\ntimes = 0\n", "#2: times must be a whole number"),
        ("[[faults]]\naction = { drop = true }\nprobability = 1.5\n", "[[faults]] #1: probability must be a number above 0 and at most 1"),
        ('[[faults]]\naction = { drop = true }\nwhen = "always"\n', "[[faults]] #1: when is not a rule field"),
        ("[[faults]]\naction = { status = 700 }\n", "[[faults]] #1: action.status must be a whole number from 400 to 599"),
        ('[[faults]]\nmatch = { face = "myspace" }\naction = { drop = true }\n', "[[faults]] #1: match.face must be one of"),
        (
            '[[faults]]\nmatch = { method = "POTS" }\naction = { status = 503 }\n',
            "[[faults]] #1: match.method must be an HTTP method, in any case (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, "
            "PATCH, PURGE, ...), got 'POTS'",
        ),
        ('[keys.pk_live_acme]\ntier = "platinum"\n', "key 'pk_live_acme' has unknown tier 'platinum'"),
        ('[keys.pk_live_acme]\ntier = ["pro"]\n', "key 'pk_live_acme' has unknown tier [\"pro\"]"),
        ("[keys.pk_live_acme]\ntier = { pro = true }\n", "key 'pk_live_acme' has unknown tier {\"pro\": true}"),
        (
            '[keys.pk_live_acme]\ntier = "enterprise"\nimages_per_minute = true\n',
            "key 'pk_live_acme': images_per_minute must be a whole number of at least 1, got true",
        ),
        ("[providers.openai]\nimages_per_minute = 5\n", "[providers.openai] needs images_per_minute and images_per_day"),
        ('[keys.pk_live_acme]\ntier = "pro"\ncolour = "red"\n', "[keys.pk_live_acme]: unknown field 'colour'"),
        (
            "[providers.openai]\nimages_per_minute = 5\nimages_per_day = 9\nimages_per_hour = 3\n",
            "[providers.openai]: unknown field 'images_per_hour'",
        ),
        ("[providers.openai]\nimages_per_minute = 5\nimages_per_hour = 3\n", "[providers.openai]: unknown field 'images_per_hour'"),
        ("[simulator\n", "not valid TOML"),
    ],
)
def test_a_wrong_scenario_is_refused_naming_the_table_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        load_scenario(_write(tmp_path, text))
    assert message in str(refused.value) and "scenario.toml" in str(refused.value)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("action = { drop = true }\ntimes = 2.0", "times"),
        ("action = { status = 503.0 }", "action.status"),
        ("action = { status = 503, retry_after = 2.0 }", "action.retry_after"),
        ("action = { delay_ms = 1500.0 }", "action.delay_ms"),
        ("action = { status = 503, dribble_ms = 500.0 }", "action.dribble_ms"),
    ],
)
def test_a_whole_number_written_with_a_point_is_refused_in_a_rule_as_in_simulator(tmp_path: Path, rule: str, field: str) -> None:
    """`seed = 7.0` was refused while `times = 2.0` was taken as 2: one file, two rules for a whole number. (The
    control API's JSON takes 2.0, as JSON Schema's integer does.)"""
    with pytest.raises(ScenarioError) as refused:
        load_scenario(_write(tmp_path, f"[[faults]]\n{rule}\n"))
    value = rule.rpartition("= ")[2].strip(" }")
    assert str(refused.value).endswith(f"[[faults]] #1: {field} must be a whole number, got {value}"), refused.value
    with pytest.raises(ScenarioError, match=r"\[simulator\] seed: must be a whole number, got 7.0$"):
        load_scenario(_write(tmp_path, "[simulator]\nseed = 7.0\n"))
    assert load_scenario(_write(tmp_path, f"[[faults]]\n{rule.replace('.0', '')}\n")).faults


@pytest.mark.parametrize("value", ["1979-05-27", "1979-05-27T07:32:00", "07:32:00", "inf", "-inf", "nan"])
def test_a_rules_refused_toml_value_is_quoted_as_toml_writes_it(tmp_path: Path, value: str) -> None:
    """A rule is checked by the control API's code, which quotes values as JSON: a date was no JSON it could write
    (perf-sim stopped with a TypeError's traceback), and `inf` read `Infinity`, a word the file does not hold."""
    with pytest.raises(ScenarioError) as refused:
        load_scenario(_write(tmp_path, f"[[faults]]\naction = {{ status = {value} }}\n"))
    assert str(refused.value).endswith(f"action.status must be a whole number from 400 to 599, got {value}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[faults]]\naction = { drop = true }\nprobability = 2\n", "[[faults]] #1: probability"),
        ("[simulator]\nstart_time = 1e12\n", "[simulator] start_time: must be"),
        ('[keys.pk_live_acme]\ntier = "pro"\ncolour = "red"\n', "[keys.pk_live_acme]: unknown field 'colour'"),
        ('[keys.pk_live_acme]\ntier = ["pro"]\n', "key 'pk_live_acme' has unknown tier [\"pro\"]"),
        ('images_per_minute = 5\n[keys.pk_live_acme]\ntier = "pro"\n', "images_per_minute is a field of [providers.<provider>] and of"),
    ],
)
def test_perf_sim_refuses_a_wrong_scenario_at_start_with_exit_code_2_and_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    result = subprocess.run([sys.executable, "-m", "simulator", "--scenario", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("perf-sim: error: --scenario:") and message in line


@pytest.mark.parametrize("option", ["--scenario", "--keys"])
@pytest.mark.parametrize(
    "value", ["[" * 500 + "1" + "]" * 500, "{b = " * 3000 + "1" + "}" * 3000], ids=["arrays 500 deep", "inline tables 3000 deep"]
)
def test_a_value_nested_too_deeply_is_refused_in_one_line_naming_the_file(tmp_path: Path, option: str, value: str) -> None:
    """tomllib reads nesting by recursion: past Python's recursion limit the start-up ended with a traceback."""
    path = _write(tmp_path, f"[keys.pk_live_acme]\ntier = {value}\n")
    result = subprocess.run([sys.executable, "-m", "simulator", option, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line == f"perf-sim: error: {option}: {path}: cannot read: arrays or inline tables nested too deeply"


def test_a_scenario_saved_with_a_byte_order_mark_is_read_and_one_not_in_utf8_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_bytes(b"\xef\xbb\xbf[simulator]\nseed = 7\n")
    assert load_scenario(path).settings["seed"] == 7
    path.write_bytes(b'[simulator]\nclock = "manu\xe9l"\n')
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert str(refused.value) == f"{path}: not valid TOML: not UTF-8 text (line 2, column 14: byte 0xe9)"


def test_keys_in_both_a_scenario_and_a_keys_file_are_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.pk_live_other]\ntier = "pro"\n')
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--scenario", str(EXAMPLE), "--keys", str(keys)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "give keys in one place" in result.stderr


def test_a_missing_scenario_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")


def test_perf_sim_starts_with_the_scenarios_settings_keys_and_fault_rules() -> None:
    with running_simulator("--scenario", str(EXAMPLE), "--quiet") as server:
        settings = httpx.get(server.base_url + "/_sim/config").json()
        assert (settings["seed"], settings["clock"], settings["start_time"]) == (7, "manual", 1772442000.0)
        assert [rule["action"].get("status") for rule in httpx.get(server.base_url + "/_sim/faults").json()["faults"]] == [503, None, None]
        headers = {"Authorization": "Bearer pk_live_acme_checkout"}
        body = {"model": "dall-e-3", "prompt": "a red fox"}
        statuses = [httpx.post(server.base_url + "/openai/v1/images/generations", json=body, headers=headers).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert httpx.get(server.base_url + "/_sim/usage/pk_live_acme_checkout").json()["tier"] == "enterprise"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scenario_given_on_a_pipe_starts_with_its_rules_and_keys(request: pytest.FixtureRequest, workers: int) -> None:
    """`--scenario <(render template)` or `/dev/stdin`: a pipe can be read once, and every later reading (the banner,
    the app, each worker) saw an empty file, so the run started with the seed but without the rules and keys. The
    comments make the file larger than an environment variable may be (128 KiB), which the workers' settings once were."""
    shared = [] if workers == 1 else ["--state", f"redis://127.0.0.1:{request.getfixturevalue('redis_server').port}/9"]
    args = ("--scenario", "/dev/stdin", "--workers", str(workers), *shared, "--quiet")
    with running_simulator(*args, stdin=EXAMPLE.read_bytes() + b"# a comment\n" * 15_000) as server:
        assert httpx.get(server.base_url + "/_sim/config").json()["seed"] == 7
        assert [rule["action"].get("status") for rule in httpx.get(server.base_url + "/_sim/faults").json()["faults"]] == [503, None, None]
        for _ in range(2 * workers):  # several, which the workers share
            assert httpx.get(server.base_url + "/_sim/usage/pk_live_acme_checkout").json()["tier"] == "enterprise"


def test_a_reset_takes_the_run_back_to_its_start_with_the_scenarios_rules_as_they_were() -> None:
    """As WireMock's reset restores the stubs it loaded from disk: a test run that resets between cases meets the
    scenario's faults in every case."""
    headers = {"Authorization": "Bearer pk_live_acme_checkout"}
    body = {"model": "dall-e-3", "prompt": "a red fox"}
    with (
        running_simulator("--scenario", str(EXAMPLE), "--quiet") as server,
        httpx.Client(base_url=server.base_url, headers=headers) as client,
    ):
        started = client.get("/_sim/faults").json()["faults"]
        for reset in ("/_sim/reset", "/_sim/reset?namespace=default"):
            assert [client.post("/openai/v1/images/generations", json=body).status_code for _ in range(3)] == [503, 503, 200]
            client.post("/_sim/faults", json={"action": {"status": 500}, "match": {"path": "/nowhere"}}).raise_for_status()
            client.post(reset).raise_for_status()
            again = client.get("/_sim/faults").json()["faults"]
            assert [(rule["match"], rule["action"], rule["remaining"]) for rule in again] == [
                (rule["match"], rule["action"], rule["remaining"]) for rule in started
            ]
        client.post("/_sim/reset?namespace=other").raise_for_status()
        assert len(client.get("/_sim/faults").json()["faults"]) == len(started)


def test_with_a_shared_state_the_rules_are_installed_once_for_every_worker_and_every_restart(redis_server: RedisServer) -> None:
    state = f"redis://127.0.0.1:{redis_server.port}/7"
    for _start in range(2):
        with running_simulator("--scenario", str(EXAMPLE), "--state", state, "--workers", "2", "--quiet") as server:
            assert len(httpx.get(server.base_url + "/_sim/faults").json()["faults"]) == 3
            headers = {"Authorization": "Bearer pk_live_acme_checkout"}
            body = {"model": "dall-e-3", "prompt": "a red fox"}
            with httpx.Client(base_url=server.base_url, headers=headers) as client:
                statuses = [client.post("/openai/v1/images/generations", json=body).status_code for _ in range(3)]
                client.post("/_sim/reset").raise_for_status()
                assert [client.post("/openai/v1/images/generations", json=body).status_code for _ in range(3)] == [503, 503, 200]
            assert statuses == [503, 503, 200]


NO_TABLE = "the file holds no table ([simulator], [keys], [providers] or [[faults]]), only blanks or comments; is it the right file?"


@pytest.mark.parametrize("text", ["", "\n  \t\n", "# the scenario\n# (its tables went missing)\n", "\ufeff", "\ufeff# a comment\n"])
def test_a_scenario_that_holds_no_table_is_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    """An empty file is a failed template render, a `>` that truncated it: taken, it was a plain run (seed 0, real
    clock, no keys, no rules) in place of the committed scenario, with the banner naming the file as applied."""
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert str(refused.value) == f"{path}: {NO_TABLE}"
    with pytest.raises(ScenarioError, match="holds no table"), simulator_running(scenario=str(path)):
        pass
    assert load_scenario(_write(tmp_path, "[simulator]\n")).settings == {}  # a table, even empty, is a scenario


def test_an_empty_scenario_on_stdin_is_refused_at_start_in_one_line() -> None:
    """`docker run` without -i, or a pipe whose command failed: /dev/stdin is empty."""
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--scenario", "/dev/stdin", "--port", str(free_port())],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"perf-sim: error: --scenario: /dev/stdin: {NO_TABLE}"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[keys]\ntier = "pro"\n', "[keys] holds one table per key: write [keys.<the key>] above tier = 'pro'"),
        (
            "[providers]\nimages_per_minute = 10\nimages_per_day = 100\n",
            "[providers] holds one table per provider: write [providers.<provider>] above images_per_minute = 10; providers: openai, "
            "stability, bfl, ideogram, google",
        ),
        ("[providers]\nopenai = 5\n", "[providers.openai] must be a table with images_per_minute and images_per_day, got 5"),
        (
            "[[providers.openai]]\nimages_per_minute = 5\nimages_per_day = 9\n",
            "[providers.openai] must be a table, written [providers.openai] (one pair of brackets, not two)",
        ),
        (
            '[[faults]]\nmatch = { face = "perf", path = "/openai/" }\naction = { drop = true }\n',
            "[[faults]] #1: match.path '/openai/' is a path of the openai face (whose paths start with /openai/), not of match.face 'perf' "
            "(which takes the paths no other face serves), so it could never match",
        ),
        (
            "[[faults]]\naction = { drop = true }\nprobability = 0\n",
            "[[faults]] #1: probability must be a number above 0 and at most 1 (leave it out for every matching request; 0 could "
            "never fire), got 0",
        ),
        (
            "[[faults]]\naction = { drop = true }\ntimes = 0\n",
            "[[faults]] #1: times must be a whole number from 1 to 1000000 (leave it out for until removed), got 0",
        ),
        ("[[faults]]\naction = { drop = true }\nprobability = 1.5\n", "0 could never fire), got 1.5"),
    ],
    ids=["key field", "provider field", "provider not a table", "provider array", "face and path", "probability 0", "times", "probability"],
)
def test_a_forgotten_table_line_or_a_rule_that_can_never_fire_is_refused_saying_what_to_write(
    tmp_path: Path, text: str, message: str
) -> None:
    """`[keys]` then `tier = "pro"` said "key 'tier' is malformed"; `[providers]` then its limits, that the provider
    `images_per_minute` is unknown: each named a key or a provider no one meant."""
    with pytest.raises(ScenarioError) as refused:
        load_scenario(_write(tmp_path, text))
    assert str(refused.value).endswith(message), refused.value


@pytest.mark.parametrize("clock", [[], ["--clock", "manual"]])
def test_a_start_time_without_the_files_manual_clock_says_a_clock_flag_does_not_carry_it(tmp_path: Path, clock: list[str]) -> None:
    path = _write(tmp_path, "[simulator]\nstart_time = 2026-03-02T09:00:00Z\n")
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--scenario", str(path), *clock], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'perf-sim: error: --scenario: {path}: [simulator] start_time: sets where the manual clock starts; add clock = "manual" to '
        "[simulator] (the real clock follows wall time, and a clock set outside the file, such as --clock manual, does not carry "
        "its start_time)"
    ]


@pytest.mark.parametrize("value", ['"1772442000"', '"1772442000.5"', '" 1772442000"'])
def test_a_start_time_of_unix_seconds_in_quotes_is_refused_saying_to_drop_them(tmp_path: Path, value: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        load_scenario(_write(tmp_path, f'[simulator]\nclock = "manual"\nstart_time = {value}\n'))
    assert str(refused.value).endswith(f"not an ISO 8601 date-time: '{value.strip(chr(34))}'; write Unix seconds without quotes")
    with pytest.raises(ScenarioError) as other:
        load_scenario(_write(tmp_path, '[simulator]\nclock = "manual"\nstart_time = "yesterday"\n'))
    assert str(other.value).endswith("not an ISO 8601 date-time: 'yesterday'")


@pytest.mark.parametrize("value", ['"2026-03-02t09:00:00z"', '"2026-03-02T09:00:00z"', '"2026-03-02t09:00:00Z"', "2026-03-02t09:00:00z"])
def test_a_start_time_in_rfc_3339_lower_case_is_taken(tmp_path: Path, value: str) -> None:
    """RFC 3339 allows a lower-case t and z, and a TOML date-time written so was taken while the same string was not."""
    scenario = load_scenario(_write(tmp_path, f'[simulator]\nclock = "manual"\nstart_time = {value}\n'))
    assert scenario.settings["start_time"] == 1772442000.0


MODEL_RULES = """
[[faults]]
match = { face = "openai", model = "dall-e3" }
action = { status = 503 }

[[faults]]
match = { model = "imagen-3.0-generate-002" }
action = { status = 503 }

[[faults]]
match = { model = "no-such-model" }
action = { status = 503 }
"""
MODELS_LIST = (
    "models: dall-e-3, dall-e-2, stable-diffusion-3, flux-pro, flux-dev, ideogram-2, imagen-3 (and their providers' names for them)"
)


def test_a_rule_for_a_model_no_face_knows_is_taken_with_a_warning_naming_the_rule_and_the_models(tmp_path: Path) -> None:
    """A rule may target a bad model on purpose, so it is taken; but `dall-e3` (a typo of dall-e-3) never matches a
    dall-e-3 request, and was taken without a word. A provider's name for a model (imagen-3.0-...) is a known one."""
    path = _write(tmp_path, MODEL_RULES)
    scenario = load_scenario(path)
    assert len(scenario.faults) == 3
    assert scenario.warnings == (
        f"{path}: [[faults]] #1: match.model 'dall-e3' is no model the simulator knows, so the rule matches only requests "
        f"naming it; did you mean 'dall-e-3'? {MODELS_LIST}",
        f"{path}: [[faults]] #3: match.model 'no-such-model' is no model the simulator knows, so the rule matches only "
        f"requests naming it; {MODELS_LIST}",
    )
    assert load_scenario(EXAMPLE).warnings == ()
    with pytest.warns(ScenarioWarning) as warned, simulator_running(scenario=str(path)) as sim:
        assert [rule["match"].get("model") for rule in sim.faults()] == ["dall-e3", "imagen-3.0-generate-002", "no-such-model"]
    assert [str(warning.message) for warning in warned] == list(scenario.warnings)
    assert {warning.filename for warning in warned} == {__file__}, "said at the caller's line"


def test_perf_sim_prints_one_warning_line_per_such_rule_on_stderr_as_it_starts(tmp_path: Path) -> None:
    """Printed before the server listens: here the port is taken, so perf-sim stops right after (exit 2)."""
    path = _write(tmp_path, MODEL_RULES)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "--scenario", str(path), "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 3, result.stderr
    assert lines[0].startswith(f"perf-sim: warning: --scenario: {path}: [[faults]] #1: match.model 'dall-e3' is no model")
    assert lines[1].startswith(f"perf-sim: warning: --scenario: {path}: [[faults]] #3: match.model 'no-such-model'")
    assert lines[2].startswith("perf-sim: error:")
