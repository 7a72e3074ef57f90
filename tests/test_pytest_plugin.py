"""The `perf_sim` fixture as a user meets it: a test file of their own, run by pytest with the package installed.

Each case writes a user's test file into a fresh directory and runs pytest on it in a child process, so the
fixture comes only from the pytest11 entry point, as it does in a user's project.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from perf_image_sim_plugins.perf_sim import namespace_for
from tests.user_project import installed_env, run_pytest, run_user_tests


def test_a_users_test_file_gets_a_running_simulator_with_a_key_a_journal_and_a_clock(tmp_path: Path) -> None:
    result = run_user_tests(
        tmp_path,
        """
        import httpx

        def test_generate(perf_sim):
            client = perf_sim.openai_client()
            image = client.images.generate(model="dall-e-3", prompt="a red fox")
            assert httpx.get(image.data[0].url).headers["content-type"] == "image/png"
            assert perf_sim.base_url.startswith("http://127.0.0.1:")
            assert perf_sim.count(model="dall-e-3", status=200) == 1
            [entry] = perf_sim.requests()
            assert entry["namespace"] == perf_sim.namespace and entry["image_ids"]
            before = perf_sim.clock()["now"]
            assert perf_sim.advance(61)["now"] == before + 61
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_test_has_its_own_namespace_so_windows_rules_and_journal_never_collide(tmp_path: Path) -> None:
    result = run_user_tests(
        tmp_path,
        """
        import openai
        import pytest

        def test_first_uses_the_free_window_and_leaves_a_rule(perf_sim):
            perf_sim.fault({"model": "dall-e-2"}, status=503)
            client = perf_sim.openai_client(api_key=perf_sim.key_for("free"), max_retries=0)
            client.images.generate(model="dall-e-3", prompt="a fox", n=1)
            with pytest.raises(openai.InternalServerError):
                client.images.generate(model="dall-e-2", prompt="a fox", size="256x256")
            assert perf_sim.usage(perf_sim.key_for("free"))["minute"]["used"] == 1

        def test_second_sees_none_of_it(perf_sim):
            client = perf_sim.openai_client(api_key=perf_sim.key_for("free"), max_retries=0)
            client.images.generate(model="dall-e-2", prompt="a fox", size="256x256")
            assert perf_sim.usage(perf_sim.key_for("free"))["minute"]["used"] == 1
            assert perf_sim.faults() == []
            assert perf_sim.count() == 1
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_simulators_request_log_shows_in_a_failing_tests_report(tmp_path: Path) -> None:
    result = run_user_tests(
        tmp_path,
        """
        def test_fails_after_a_request(perf_sim):
            perf_sim.openai_client().images.generate(model="dall-e-3", prompt="a fox")
            assert False, "the app did something wrong"
        """,
    )
    assert result.returncode == 1
    assert "Captured stdout call" in result.stdout
    assert "POST /v1/images/generations 200 - dall-e-3 n=1" in result.stdout


def test_a_scenario_named_in_the_ini_file_sets_keys_and_gives_every_test_its_fault_rules(tmp_path: Path) -> None:
    (tmp_path / "scenario.toml").write_text(
        textwrap.dedent(
            """
            [keys.pk_live_acme_trial]
            tier = "free"

            [[faults]]
            match = { prompt = "outage" }
            action = { status = 503 }
            """
        )
    )
    result = run_user_tests(
        tmp_path,
        """
        import openai
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        def test_scenario(perf_sim, run):
            client = perf_sim.openai_client(api_key="pk_live_acme_trial", max_retries=0)
            with pytest.raises(openai.InternalServerError):
                client.images.generate(model="dall-e-3", prompt="an outage")
            client.images.generate(model="dall-e-3", prompt="a fox")
            assert perf_sim.usage("pk_live_acme_trial")["tier"] == "free"
            perf_sim.reset()
            assert [rule["action"] for rule in perf_sim.faults()] == [{"status": 503}]
        """,
        ini="perf_sim_scenario = scenario.toml\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plugins_leave_sessions_that_do_not_use_them_alone(tmp_path: Path) -> None:
    """Both entry points load in every pytest session of the environment: neither the simulator nor the contract
    suite's hooks (with httpx) are imported until a session uses them, nor any module under the generic top-level
    names a user's project may have (`spec`, `simulator`, `contract_tests`, `load`)."""
    result = run_user_tests(
        tmp_path,
        """
        import sys

        def test_nothing_imported(request):
            ours = {"spec", "simulator", "contract_tests", "load"}
            assert not [name for name in sys.modules if name.partition(".")[0] in ours]
            assert "uvicorn" not in sys.modules
            assert request.config.pluginmanager.get_plugin("perf_contract_run") is None
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_tests_probability_faults_are_the_same_whichever_other_tests_run_with_it(tmp_path: Path) -> None:
    """A test's namespace, which seeds its rules' draws, comes from the test alone: run with others or alone, it sees
    the same faults. Parametrized cases, and a test run twice in one session, still get namespaces of their own."""
    source = """
        import json

        import openai
        import pytest

        def test_before(perf_sim):
            perf_sim.fault(status=503, probability=0.5)

        @pytest.mark.parametrize("case", ["one", "two"])
        def test_flaky(perf_sim, case):
            perf_sim.fault({"model": "dall-e-2"}, status=503, probability=0.5)
            client = perf_sim.openai_client(max_retries=0)
            statuses = []
            for _ in range(16):
                try:
                    client.images.generate(model="dall-e-2", prompt="a fox", size="256x256")
                    statuses.append(200)
                except openai.APIStatusError as error:
                    statuses.append(error.status_code)
            with open("seen.jsonl", "a") as seen:
                seen.write(json.dumps([case, perf_sim.namespace, statuses]) + "\\n")
        """
    runs = [(), ("-k", "two"), ("--keep-duplicates", "test_user_app.py", "test_user_app.py", "-k", "one")]
    seen = []
    for args in runs:
        (tmp_path / "seen.jsonl").unlink(missing_ok=True)
        result = run_user_tests(tmp_path, source, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        seen.append([json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()])
    (one, one_namespace, one_statuses), (two, two_namespace, two_statuses) = seen[0]
    assert (one, two) == ("one", "two") and one_namespace != two_namespace and {200, 503} <= set(two_statuses)
    assert seen[1] == [["two", two_namespace, two_statuses]], "the same test alone: the same namespace and faults"
    (_, first, first_statuses), (_, again, _) = seen[2]
    assert (first, first_statuses) == (one_namespace, one_statuses) and again not in (one_namespace, two_namespace)


_WHERE_STARTED = """
    import json
    import os

    import httpx

    def test_flaky(perf_sim):
        perf_sim.fault({"model": "dall-e-2"}, status=503, probability=0.5)
        client = httpx.Client(base_url=perf_sim.base_url, headers={"Authorization": f"Bearer {perf_sim.key}"})
        body = {"prompt": "a fox", "model": "dall-e-2", "size": "256x256"}
        answers = [client.post("/v1/images/generations", json=body) for _ in range(12)]
        answers.append(client.post("/v1/images/generations", json={"prompt": ""}))
        seen = [perf_sim.namespace, [(answer.status_code, answer.headers["x-request-id"]) for answer in answers]]
        with open(os.environ["SEEN"], "a") as out:
            out.write(json.dumps(seen) + "\\n")
    """


def _run_from(directory: Path, target: Path, seen: Path) -> list[Any]:
    seen.unlink(missing_ok=True)
    result = run_pytest(directory, "-p", "no:cacheprovider", "-q", str(target), env={**os.environ, "SEEN": str(seen)})
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = seen.read_text().splitlines()
    return list(json.loads(line))


@pytest.mark.slow
def test_a_tests_namespace_and_faults_are_the_same_whichever_directory_pytest_is_started_from(tmp_path: Path) -> None:
    """Without a config file pytest's rootdir, and so its node ids, follow the directory it is started from and its
    arguments; the namespace, which seeds the faults and ids, comes from the test's place in its project instead."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    test_file = project / "tests" / "test_user_app.py"
    test_file.write_text(textwrap.dedent(_WHERE_STARTED))
    seen = tmp_path / "seen.jsonl"
    from_project = _run_from(project, Path("tests/test_user_app.py"), seen)
    assert {status for status, _ in from_project[1]} == {200, 503, 400}
    assert _run_from(project / "tests", Path("test_user_app.py"), seen) == from_project
    assert _run_from(tmp_path, test_file, seen) == from_project
    # A config file beside `tests/` makes that directory the rootdir: the namespace a suite had there stays as it was.
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    with_config = _run_from(project / "tests", Path("test_user_app.py"), seen)
    assert with_config[0] == namespace_for("tests/test_user_app.py::test_flaky", "test_flaky", set())


def test_under_pytest_xdist_each_worker_runs_its_own_simulator_and_every_test_keeps_its_namespace(tmp_path: Path) -> None:
    result = run_user_tests(
        tmp_path,
        """
        import os

        import pytest

        @pytest.mark.parametrize("case", range(6))
        def test_generate_then_leave_a_rule(perf_sim, case):
            client = perf_sim.openai_client(api_key=perf_sim.key_for("free"), max_retries=0)
            client.images.generate(model="dall-e-2", prompt=f"a fox {case}", size="256x256")
            assert perf_sim.count() == 1 and perf_sim.faults() == []
            assert perf_sim.usage(perf_sim.key_for("free"))["minute"]["used"] == 1
            perf_sim.fault({"model": "dall-e-2"}, status=503)
            print("worker", os.environ["PYTEST_XDIST_WORKER"], "server", perf_sim.server_url)
        """,
        "-n",
        "2",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    servers = dict(line.split()[1::2] for line in result.stdout.splitlines() if line.startswith("worker "))
    assert len(servers) == 2 and len(set(servers.values())) == 2, result.stdout


def test_a_bad_ini_option_is_a_usage_error_as_the_session_starts_even_when_no_test_uses_the_fixture(tmp_path: Path) -> None:
    result = run_user_tests(tmp_path, "def test_plain():\n    pass\n", ini="perf_sim_log = xml\n")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "ERROR: perf_sim_log must be one of text, json, off, got 'xml'" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_an_empty_scenario_in_the_ini_file_is_a_usage_error_as_the_session_starts(tmp_path: Path) -> None:
    """As perf-sim refuses it: a truncated file would have given every test a plain run without the scenario."""
    (tmp_path / "scenario.toml").write_text("# rules to come\n")
    result = run_user_tests(tmp_path, "def test_plain():\n    pass\n", ini="perf_sim_scenario = scenario.toml\n")
    assert result.returncode == 4, result.stdout + result.stderr
    assert (
        f"ERROR: perf_sim_scenario: {tmp_path / 'scenario.toml'}: the file holds no table ([simulator], [keys], [providers] or "
        "[[faults]]), only blanks or comments; is it the right file?"
    ) in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_scenario_rule_for_a_model_no_face_knows_is_a_warning_in_the_session_summary(tmp_path: Path) -> None:
    (tmp_path / "scenario.toml").write_text('[[faults]]\nmatch = { model = "dall-e3" }\naction = { status = 503 }\n')
    result = run_user_tests(
        tmp_path,
        """
        def test_rule(perf_sim):
            assert [rule["match"] for rule in perf_sim.faults()] == [{"model": "dall-e3"}]
        """,
        ini="perf_sim_scenario = scenario.toml\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ScenarioWarning" in result.stdout and "match.model 'dall-e3' is no model the simulator knows" in result.stdout, result.stdout


def test_the_fixtures_clock_is_manual_whatever_clock_the_scenario_names(tmp_path: Path) -> None:
    """A scenario file shared with `perf-sim` (on the real clock, for a person) must not start the clock of a test
    session, whose tests rely on time moving only through `advance`."""
    (tmp_path / "scenario.toml").write_text('[simulator]\nseed = 5\nclock = "real"\n')
    result = run_user_tests(
        tmp_path,
        """
        import time

        def test_time_stands_still(perf_sim):
            before = perf_sim.clock()["now"]
            time.sleep(0.3)
            assert perf_sim.clock()["now"] == before
            assert perf_sim.advance(60)["now"] == before + 60
            assert perf_sim.config()["seed"] == 5
        """,
        ini="perf_sim_scenario = scenario.toml\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_500_of_the_simulators_own_fails_the_test_and_an_injected_one_does_not(tmp_path: Path) -> None:
    """As pytest-httpserver fails a test whose handler raised: an app that tolerates a 500 would otherwise pass on an
    answer the real service would not have given."""
    result = run_user_tests(
        tmp_path,
        """
        import httpx

        def send(perf_sim, prompt):
            headers = {"Authorization": f"Bearer {perf_sim.key}"}
            return httpx.post(perf_sim.base_url + "/v1/images/generations", json={"prompt": prompt}, headers=headers)

        def test_simulator_bug(perf_sim, monkeypatch):
            def bug(seed, request):
                raise RuntimeError("a bug of the simulator")

            monkeypatch.setattr("simulator.engine.generate.revised_prompt", bug)
            assert send(perf_sim, "a prompt no other test sends").status_code == 500  # the app tolerates it

        def test_injected(perf_sim):
            perf_sim.fault(status=500, times=1)
            assert send(perf_sim, "a fox").status_code == 500
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed, 1 error" in result.stdout and "ERROR at teardown of test_simulator_bug" in result.stdout, result.stdout
    assert "perf-image-sim answered 1 request(s) of this test with its own 500 (POST /v1/images/generations)" in result.stdout


def test_a_failed_tests_report_shows_its_requests_and_its_rules_with_how_often_each_fired(tmp_path: Path) -> None:
    """What a person asks first of a failed test of retry logic: what did my app send, and which rules fired."""
    result = run_user_tests(
        tmp_path,
        """
        def test_retry(perf_sim):
            perf_sim.fault({"model": "dall-e-3"}, status=503, times=2)
            perf_sim.fault({"key": "pk_live_acme_trial_0123456789"}, status=500)
            client = perf_sim.openai_client(max_retries=1)
            try:
                client.images.generate(model="dall-e-3", prompt="a red fox")
            except Exception:
                pass
            assert perf_sim.count(status=200) == 1, "the app should have retried once more"
        """,
        ini="perf_sim_log = off\n",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout.split("perf-image-sim: what this test's namespace saw", 1)[1]
    assert "2 request(s), oldest first:" in report, report
    assert report.count("POST /v1/images/generations 503 service_unavailable dall-e-3") == 2, report
    assert "match={'model': 'dall-e-3'} action={'status': 503} fired 2 (0 of 2 left)" in report, report
    assert "match={'key': 'pk_live_acme…', 'key_id': '" in report and "pk_live_acme_trial" not in report, "masked as the journal"


def test_a_failed_tests_report_says_how_many_of_its_requests_went_to_the_default_namespace(tmp_path: Path) -> None:
    """The most common mistake, an app sending to `server_url` without `perf_sim.headers`, leaves the test's own
    namespace empty; with the request log off, only this line names it. Earlier tests' requests are not counted."""
    result = run_user_tests(
        tmp_path,
        """
        import httpx

        def send(perf_sim, **headers):
            httpx.post(perf_sim.server_url + "/v1/images/generations", json={"prompt": "a fox"},
                       headers={"Authorization": f"Bearer {perf_sim.key}", **headers})

        def test_earlier(perf_sim):
            send(perf_sim)
            send(perf_sim)

        def test_forgot_the_headers(perf_sim):
            send(perf_sim)
            assert perf_sim.count() == 1

        def test_in_its_namespace(perf_sim):
            send(perf_sim, **perf_sim.headers)
            assert perf_sim.count() == 2
        """,
        ini="perf_sim_log = off\n",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    forgot, in_its_namespace = result.stdout.split("perf-image-sim: what this test's namespace saw")[1:]
    assert "0 request(s), oldest first:" in forgot, forgot
    hint = "1 request(s) went to the default namespace during this test, not to this test's: does the app send perf_sim.headers"
    assert hint in forgot, forgot
    assert "went to the default namespace" not in in_its_namespace, in_its_namespace


def test_env_proxies_do_not_take_the_fixtures_calls_or_its_sdk_clients_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine or CI that exports a proxy: the simulator is in the test process on 127.0.0.1, where no proxy can
    reach it, so the fixture's control calls and `openai_client()` go straight to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed once the block ends
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    result = run_user_tests(
        tmp_path,
        """
        def test_generate(perf_sim):
            perf_sim.fault({"model": "dall-e-2"}, status=503, times=1)
            perf_sim.openai_client(max_retries=1).images.generate(model="dall-e-2", prompt="a fox", size="256x256")
            assert perf_sim.count(status=503) == 1 and perf_sim.count(status=200) == 1
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("no_proxy", [None, "localhost,127.0.0.1"])
def test_a_failed_test_whose_namespace_saw_nothing_under_an_env_proxy_is_told_of_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: str | None
) -> None:
    """The app's client obeys HTTP_PROXY, which cannot reach the simulator: the report said `0 request(s)` alone.
    With NO_PROXY covering 127.0.0.1 the proxy is not the cause of a namespace that saw nothing: no hint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed once the block ends
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    result = run_user_tests(
        tmp_path,
        """
        import httpx

        def test_generate(perf_sim):
            with httpx.Client() as app:  # the app's own client, reading the environment
                try:
                    app.post(perf_sim.base_url + "/v1/images/generations", json={"model": "dall-e-2", "prompt": "a fox"})
                except httpx.TransportError:
                    pass
            assert perf_sim.count() == 2

        def test_sends_nothing(perf_sim):
            assert perf_sim.count() == 1
        """,
    )
    generate, nothing = result.stdout.split("perf-image-sim: what this test's namespace saw")[1:]
    hint = f"HTTP_PROXY={proxy} is set and NO_PROXY does not cover 127.0.0.1: the app's requests may have gone to the proxy"
    assert "0 request(s)" in nothing and (hint in nothing) is (no_proxy is None), result.stdout
    if no_proxy is None:
        assert "0 request(s)" in generate and hint in generate, result.stdout
    else:
        assert "1 request(s)" in generate and "proxy" not in generate, result.stdout


def test_a_second_session_in_the_same_process_gives_its_tests_the_same_namespaces(tmp_path: Path) -> None:
    """Two `pytest.main` calls in one process (an IDE's runner, a script, pytester in-process): the second session's
    test is not a rerun, so it gets the same namespace, and so the same `probability` draws, as the first's."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "twice.py").write_text(
        textwrap.dedent(
            """
            import pytest

            for _ in range(2):
                assert pytest.main(["-q", "-p", "no:cacheprovider", "test_user_app.py"]) == 0
            """
        )
    )
    (tmp_path / "test_user_app.py").write_text(
        textwrap.dedent(
            """
            def test_flaky(perf_sim):
                perf_sim.fault(status=503, probability=0.5)
                with open("seen.txt", "a") as seen:
                    seen.write(perf_sim.namespace + "\\n")
            """
        )
    )
    result = subprocess.run([sys.executable, "twice.py"], cwd=tmp_path, capture_output=True, text=True, timeout=240, env=installed_env())
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = (tmp_path / "seen.txt").read_text().splitlines()
    assert first == second and first.endswith("-test_flaky")


def test_the_sdk_clients_openai_client_made_are_closed_when_their_test_ends(tmp_path: Path) -> None:
    """Their keep-alive connections into the session's simulator would otherwise stay open until garbage collection."""
    result = run_user_tests(
        tmp_path,
        """
        made = []

        def test_makes_clients(perf_sim):
            made.append(perf_sim.openai_client())
            made[0].images.generate(model="dall-e-2", prompt="a fox", size="256x256")

        def test_after_it(perf_sim):
            assert made and made[0].is_closed()
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_refused_control_calls_report_points_at_the_tests_line_not_the_clients_insides(tmp_path: Path) -> None:
    result = run_user_tests(
        tmp_path,
        """
        def test_typo(perf_sim):
            perf_sim.fault({"modle": "dall-e-3"}, status=503)
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert '>       perf_sim.fault({"modle": "dall-e-3"}, status=503)' in result.stdout, result.stdout
    assert "E       simulator.control.client.ControlError: 400 invalid_request: match.modle" in result.stdout, result.stdout
    assert "client.py" not in result.stdout and "def _call" not in result.stdout, result.stdout


def test_a_failed_tests_report_shows_a_rules_probability_when_it_fires_on_a_share_of_requests(tmp_path: Path) -> None:
    """An "until removed" rule that fired 0 times would otherwise read as broken."""
    result = run_user_tests(
        tmp_path,
        """
        def test_fails(perf_sim):
            perf_sim.fault({"model": "dall-e-3"}, delay_ms=1500, probability=0.25)
            assert False
        """,
        ini="perf_sim_log = off\n",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "match={'model': 'dall-e-3'} action={'delay_ms': 1500} probability=0.25 fired 0 (until removed)" in result.stdout, result.stdout
