"""The typed control client against a real perf-sim process: every call a user's test makes, and clear errors."""

from __future__ import annotations

import pickle
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from simulator.control.client import NOT_THE_SIMULATOR, ControlError, FaultRule, JournalEntry, SimulatorControl
from simulator.launcher import RunningServer, running_simulator
from spec.control_openapi import control_openapi_document

KEY = "pk_test_pro_client"
BODY = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_simulator("--clock", "manual", "--quiet") as running:
        yield running


@pytest.fixture
def root(server: RunningServer) -> Iterator[SimulatorControl]:
    with SimulatorControl(server.base_url) as control:
        control.reset()
        yield control


def generate(base_url: str, namespace: str | None = None, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", **({"X-Sim-Namespace": namespace} if namespace else {})}
    return httpx.post(base_url + "/v1/images/generations", json={**BODY, **body}, headers=headers, timeout=30)


def test_a_fault_rule_is_added_listed_counted_and_removed(root: SimulatorControl) -> None:
    job = root.in_namespace("job-a")
    rule = job.add_fault({"model": "dall-e-2"}, status=503, retry_after=2, times=1)
    assert rule["namespace"] == "job-a" and rule["remaining"] == 1 and rule["action"]["status"] == 503
    assert generate(root.base_url, "job-a").status_code == 503
    assert generate(root.base_url, "job-a").status_code == 200
    [listed] = job.faults()
    assert (listed["id"], listed["fired"], listed["remaining"]) == (rule["id"], 1, 0)
    job.remove_fault(rule["id"])
    assert job.faults() == []
    job.add_fault(status=500)
    job.add_fault(drop=True)
    assert job.clear_faults() == 2 and job.faults() == []


def test_a_refused_control_call_raises_with_the_simulators_type_message_and_field(root: SimulatorControl) -> None:
    with pytest.raises(ControlError) as refused:
        root.add_fault({"face": "myspace"}, status=503)
    assert (refused.value.status, refused.value.type, refused.value.param) == (400, "invalid_request", "match.face")
    assert "match.face" in str(refused.value)
    with pytest.raises(ControlError) as unknown:
        root.remove_fault("fault_does_not_exist")
    assert (unknown.value.status, unknown.value.type) == (404, "not_found")


@pytest.mark.parametrize(
    "call",
    [
        lambda control: control.advance(float("nan")),
        lambda control: control.add_fault(status=503, probability=float("inf")),
        lambda control: control.requests(prompt="\ud800"),
        lambda control: control.usage("k" * 70_000),
        lambda control: control.add_rule({"match": {"model": {"dall-e-3"}}, "action": {"status": 503}}),
        lambda control: control.count(prompt=b"^a fox"),
        lambda control: control.add_fault({"prompt": "\ud800"}, status=503),
    ],
    ids=["nan", "inf", "lone surrogate", "url too long", "a set", "bytes", "a lone surrogate in the body"],
)
def test_a_call_that_cannot_be_sent_raises_control_error_as_a_refused_one_does(
    root: SimulatorControl, call: Callable[[SimulatorControl], object]
) -> None:
    """A test's `except ControlError` covers every refused call, also one the client cannot put into HTTP."""
    with pytest.raises(ControlError) as refused:
        call(root)
    assert refused.value.status == 400 and "cannot be sent" in refused.value.message


def test_a_client_bound_to_a_namespace_cannot_remove_another_namespaces_rule(root: SimulatorControl) -> None:
    owner, intruder = root.in_namespace("owner"), root.in_namespace("intruder")
    rule = owner.add_fault(status=503)
    with pytest.raises(ControlError) as refused:
        intruder.remove_fault(rule["id"])
    assert (refused.value.status, refused.value.type) == (404, "not_found")
    assert [listed["id"] for listed in owner.faults()] == [rule["id"]]
    owner.remove_fault(rule["id"])
    assert owner.faults() == []
    anyone = owner.add_fault(status=500)
    root.remove_fault(anyone["id"])
    assert root.faults() == []


def test_the_journal_is_read_filtered_counted_and_cleared_per_namespace(root: SimulatorControl) -> None:
    job, other = root.in_namespace("job-b"), root.in_namespace("job-c")
    generate(root.base_url, "job-b")
    generate(root.base_url, "job-b", model="dall-e-3", size="1024x1024")
    generate(root.base_url, "job-c")
    assert [entry["model"] for entry in job.requests()] == ["dall-e-3", "dall-e-2"]
    assert [entry["status"] for entry in job.requests(model="dall-e-2", limit=5)] == [200]
    assert job.count(prompt="^a red") == len(job.requests(prompt="^a red")) == 2
    key_id = job.requests()[0]["key_id"]
    assert key_id is not None and job.count(key_id=key_id) == len(job.requests(key_id=key_id)) == 2
    assert job.count(model="dall-e-3", status=200) == 1 and job.count({"face": "perf"}) == 2
    assert other.count() == 1
    assert {"job-b", "job-c"} <= set(root.namespaces())
    assert job.clear_requests() == 2
    assert job.count() == 0 and other.count() == 1


def test_requests_without_a_limit_lists_every_entry_not_the_control_apis_first_hundred(root: SimulatorControl) -> None:
    job = root.in_namespace("many")
    job.add_rule({"action": {"status": 503}})
    with httpx.Client(base_url=root.base_url, headers={"X-Sim-Namespace": "many"}) as client:
        for _ in range(110):
            client.post("/v1/images/generations", json=BODY)
    assert job.count() == len(job.requests()) == 110
    assert len(job.requests(limit=7)) == 7


def test_clock_usage_and_reset_act_on_the_clients_namespace_only(root: SimulatorControl) -> None:
    job = root.in_namespace("job-d")
    start = root.clock()["now"]
    assert job.advance(3600)["now"] == start + 3600
    assert root.clock()["now"] == start
    generate(root.base_url, "job-d", n=2)
    assert job.usage(KEY)["minute"]["used"] == 2 and root.usage(KEY)["minute"]["used"] == 0
    assert [row["face"] for row in job.usage_by_key()["keys"]] == ["perf"]
    job.reset()
    assert job.clock()["now"] == start and job.usage(KEY)["minute"]["used"] == 0


def test_health_and_config_answer(root: SimulatorControl) -> None:
    assert root.health() == {"status": "ok"}
    assert root.config()["clock"] == "manual"


def test_the_typed_records_name_every_field_the_server_answers(root: SimulatorControl) -> None:
    """A field missing from a TypedDict is a type error in a user's mypy-checked test that reads it."""
    generate(root.base_url)
    [entry] = root.requests()
    rule = root.add_fault({"model": "dall-e-3"}, status=503)
    assert set(entry) == set(JournalEntry.__annotations__)
    assert set(rule) == set(FaultRule.__annotations__)


def test_attempts_are_selected_by_the_fault_they_got_and_rules_differing_in_message_are_told_apart(root: SimulatorControl) -> None:
    """WireMock's verify by what the request met: a count or a listing by any parts of the fault, in the journal's
    X-Sim-Fault form, which holds the message (percent-encoded where it holds a `;`)."""
    job = root.in_namespace("job-faults")
    job.add_fault({"prompt": "^first"}, status=503, message="busy; try later", times=1)
    job.add_fault({"prompt": "^second"}, status=503, message="down", retry_after=2, times=1)
    for prompt in ("first", "second", "third"):
        generate(root.base_url, "job-faults", prompt=prompt)
    second, first = "status=503;message=down;retry_after=2", "status=503;message=busy%3B try later"
    assert [entry["fault"] for entry in job.requests()] == [None, second, first]
    assert job.count(fault="status=503") == 2
    assert job.count(fault="message=busy%3b try later") == 1, "an escape matches in either case"
    assert job.count(fault="retry_after=2;status=503") == 1, "every part given, in any order"
    assert [entry["fault"] for entry in job.requests(fault="message=down")] == [second]
    assert job.count(fault="drop") == 0
    with pytest.raises(ControlError) as typo:
        job.count(fault="status=5O3")
    assert (typo.value.status, typo.value.param) == (400, "match.fault")
    with pytest.raises(ControlError) as listed_typo:
        job.requests(fault="dorp")
    assert listed_typo.value.param == "fault"
    for never in ("status=200", "delay_ms=0", "status=503;status=503", "status=503;drop", "dribble_ms=5;reset"):  # count 0: no test
        with pytest.raises(ControlError) as cannot_match:
            job.count(fault=never)
        assert cannot_match.value.param == "match.fault", never


def test_a_key_or_rule_id_holding_a_path_names_itself_not_another_call(root: SimulatorControl) -> None:
    with pytest.raises(ControlError) as unknown:
        root.remove_fault("../../_sim/reset")
    assert unknown.value.status == 404
    with pytest.raises(ControlError) as not_a_key:
        root.usage("pk_test_free_x/../../clock")
    assert not_a_key.value.status == 404, "no key holds a /: the call is refused, where it read the clock"
    for dots in (".", ".."):
        with pytest.raises(ControlError) as not_a_listing:
            root.usage(dots)
        assert not_a_listing.value.status in (400, 404), f"usage({dots!r}) is that key's, not another call"


def test_a_client_names_its_simulator_and_namespace_and_refuses_an_empty_namespace(server: RunningServer) -> None:
    with SimulatorControl(server.base_url, "job-a") as control:
        assert repr(control) == f"SimulatorControl({server.base_url!r}, namespace='job-a')"
    with pytest.raises(ValueError, match="namespace must be"):
        SimulatorControl(server.base_url, "")


def test_one_entry_is_fetched_by_its_id_in_the_clients_namespace(root: SimulatorControl) -> None:
    job, other = root.in_namespace("job-id"), root.in_namespace("job-other")
    generate(root.base_url, "job-id", prompt="first")
    generate(root.base_url, "job-id", prompt="second")
    newest, oldest = job.requests()
    assert job.request(oldest["id"]) == oldest and root.request(newest["id"]) == newest
    with pytest.raises(ControlError) as elsewhere:
        other.request(oldest["id"])
    assert (elsewhere.value.status, elsewhere.value.param) == (404, "id")
    with pytest.raises(ControlError) as malformed:
        job.request("request_x")
    assert (malformed.value.status, malformed.value.param) == (404, "id")


def test_requests_and_count_since_take_seconds_or_a_datetime(root: SimulatorControl) -> None:
    job = root.in_namespace("job-since")
    generate(root.base_url, "job-since")
    job.advance(30)
    generate(root.base_url, "job-since", prompt="later")
    later = job.requests()[0]
    moment = datetime.fromisoformat(later["iso"])
    for since in (later["time"], moment, moment.astimezone(timezone(timedelta(hours=9)))):
        assert job.requests(since=since) == [later], since
        assert job.count(since=since) == 1 and job.count({"since": since}) == 1, since
    assert len(job.requests(since=later["time"] - 30)) == 2
    with pytest.raises(ControlError) as naive:
        job.requests(since=moment.replace(tzinfo=None))
    assert (naive.value.status, naive.value.param) == (400, "since")


def test_requests_and_count_find_the_entry_of_the_x_request_id_an_app_logged(root: SimulatorControl) -> None:
    job = root.in_namespace("job-request-id")
    logged = [generate(root.base_url, "job-request-id", prompt=prompt).headers["x-request-id"] for prompt in ("one", "two")]
    refused = generate(root.base_url, "job-request-id", size="1x1").headers["x-request-id"]
    for request_id, prompt in zip([*logged, refused], ["one", "two", "a red fox"], strict=True):
        [entry] = job.requests(request_id=request_id)
        assert (entry["request_id"], entry["prompt"]) == (request_id, prompt)
        assert job.count(request_id=request_id) == 1 and job.count({"request_id": request_id}) == 1
    assert root.in_namespace("other").count(request_id=logged[0]) == 0
    with pytest.raises(ControlError) as spaced:
        job.requests(request_id=f" {logged[0]}")
    assert (spaced.value.status, spaced.value.param) == (400, "request_id")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_simulator_that_does_not_answer_is_a_control_error_naming_its_url() -> None:
    """`except ControlError` covers a simulator that is not running (or died mid-test), as it covers a refused call;
    the message says where the call went and what to check, not httpx's bare "Connection refused"."""
    url = f"http://127.0.0.1:{_closed_port()}"
    with SimulatorControl(url) as control, pytest.raises(ControlError) as unreachable:
        control.count()
    assert (unreachable.value.status, unreachable.value.type) == (0, "unreachable")
    assert f"cannot reach the simulator at {url} (connection refused): is it running, and is server_url its root?" in str(unreachable.value)


def test_a_server_url_without_its_scheme_is_a_control_error_naming_the_field() -> None:
    with SimulatorControl("127.0.0.1:8080") as control, pytest.raises(ControlError) as refused:
        control.faults()
    assert (refused.value.status, refused.value.param) == (400, "server_url")
    assert "such as http://127.0.0.1:8080; got '127.0.0.1:8080'" in refused.value.message


def test_a_call_after_the_client_was_closed_is_a_control_error_saying_so(server: RunningServer) -> None:
    with SimulatorControl(server.base_url) as control:
        job = control.in_namespace("job-closed")
    with pytest.raises(ControlError, match="was closed when its with block ended") as closed:
        job.count()
    assert (closed.value.status, closed.value.type) == (0, "closed")


def _answering(handler: Callable[[httpx.Request], httpx.Response]) -> SimulatorControl:
    return SimulatorControl("http://sim.test", http=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize(
    ("status", "body", "ready"),
    [(200, {"status": "ready", "state": "memory"}, True), (503, {"error": {"type": "service_unavailable", "message": "down"}}, False)],
)
def test_ready_is_the_simulators_answer_to_a_readiness_poll(status: int, body: dict[str, object], ready: bool) -> None:
    assert _answering(lambda request: httpx.Response(status, json=body)).ready() is ready


def test_ready_is_true_on_a_real_simulators_ready_answer(server: RunningServer) -> None:
    with SimulatorControl(server.base_url) as control, SimulatorControl(server.base_url, "job-ready") as job:
        assert control.ready() is True and job.ready() is True


def test_ready_is_false_while_nothing_answers_yet_so_a_poll_waits_for_a_starting_simulator() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    assert _answering(refused).ready() is False
    with SimulatorControl(f"http://127.0.0.1:{_closed_port()}") as nothing_there:
        assert nothing_there.ready() is False


def test_ready_raises_on_an_answer_no_poll_will_see_change() -> None:
    """A 500 (or a proxy's 401 page) is no "not ready yet": a poll would wait for it forever."""
    with pytest.raises(ControlError) as broken:
        _answering(lambda request: httpx.Response(500, json={"error": {"type": "server_error", "message": "boom"}})).ready()
    assert (broken.value.status, broken.value.message) == (500, "boom")


def test_a_server_url_that_is_not_the_simulators_root_is_a_control_error_saying_so(server: RunningServer) -> None:
    """`.../v1` (the base URL an app is given) instead of the root: every call misses the control API. A 404 of the
    control API itself (an unknown rule) gets no such advice."""
    with SimulatorControl(server.base_url + "/v1") as api_base:
        for call in (api_base.ready, api_base.count, api_base.faults):
            with pytest.raises(ControlError, match="server_url should be the simulator's root") as wrong:
                call()
            assert wrong.value.status == 404
    with SimulatorControl(server.base_url) as root, pytest.raises(ControlError) as unknown:
        root.remove_fault("fault_404")
    assert unknown.value.status == 404 and "server_url" not in str(unknown.value)


@pytest.mark.parametrize(
    ("call", "example"),
    [
        (lambda control: control.add_fault("dall-e-3", status=503), 'add_fault({"model": "dall-e-3"}, status=503)'),
        (lambda control: control.count("dall-e-3"), 'count(model="dall-e-3")'),
    ],
    ids=["add_fault", "count"],
)
def test_a_match_that_is_not_a_dict_is_a_type_error_showing_the_form_it_takes(
    call: Callable[[SimulatorControl], object], example: str
) -> None:
    with SimulatorControl("http://sim.test") as control, pytest.raises(TypeError) as wrong:
        call(control)
    assert example in str(wrong.value) and "got 'dall-e-3'" in str(wrong.value)


def test_remove_fault_returns_how_many_it_removed_as_clear_faults_does(root: SimulatorControl) -> None:
    job = root.in_namespace("job-remove")
    rule = job.add_fault(status=503)
    job.add_fault(status=500)
    assert job.remove_fault(rule["id"]) == 1
    assert job.clear_faults() == 1


def test_the_client_reads_the_control_apis_openapi_document_in_any_namespace(root: SimulatorControl) -> None:
    assert root.openapi() == control_openapi_document()
    assert root.in_namespace("job-openapi").openapi() == control_openapi_document()


def test_a_control_error_survives_a_pickle_round_trip_as_from_a_worker_process() -> None:
    """A ControlError raised in a multiprocessing or ProcessPoolExecutor worker reaches the parent as itself."""
    error = ControlError(404, "not_found", "no rule fault_9 in namespace 'job-a'", "id")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ControlError
    assert (copy.status, copy.type, copy.message, copy.param) == (404, "not_found", error.message, "id")
    assert str(copy) == str(error)


@contextmanager
def _foreign_server(
    status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None, health_page: bool = False
) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that is not the simulator: it answers every path and method with one fixed
    answer (a dev server's page, a gateway's 401, a redirect to https); with `health_page`, /_sim/health with a 200
    HTML page. Yields its root URL."""

    class Answer(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if health_page and self.path.startswith("/_sim/health"):
                self.page()
                return
            self.send_response(status)
            for name, value in {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def page(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"<html>hi!")

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test's report is about the client."""

    stub = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{stub.server_address[1]}"
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join()


_EVERY_CALL: dict[str, Callable[[SimulatorControl], object]] = {
    "add_fault": lambda control: control.add_fault({"model": "dall-e-3"}, status=503),
    "add_rule": lambda control: control.add_rule({"action": {"status": 503}}),
    "faults": lambda control: control.faults(),
    "remove_fault": lambda control: control.remove_fault("fault_1"),
    "clear_faults": lambda control: control.clear_faults(),
    "requests": lambda control: control.requests(model="dall-e-3"),
    "request": lambda control: control.request("request_1"),
    "count": lambda control: control.count(model="dall-e-3"),
    "clear_requests": lambda control: control.clear_requests(),
    "namespaces": lambda control: control.namespaces(),
    "reset": lambda control: control.reset(),
    "clock": lambda control: control.clock(),
    "advance": lambda control: control.advance(60),
    "usage": lambda control: control.usage(KEY),
    "usage_by_key": lambda control: control.usage_by_key(),
    "health": lambda control: control.health(),
    "config": lambda control: control.config(),
    "openapi": lambda control: control.openapi(),
    "ready": lambda control: control.ready(),
}


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers"),
    [
        (200, b"<!doctype html>\n<html>\n  <body>my single-page app</body>\n</html>", "text/html; charset=utf-8", None),
        (200, b"{}", "application/json", None),
        (200, b'["not", "an", "object"]', "application/json", None),
        (200, b'{"status": "whatever"}', "application/json", None),
        (204, b"", None, None),
        (301, b"", "text/plain", {"Location": "https://sim.example/"}),
        (404, b"<html><body><h1>Not Found</h1></body></html>", "text/html", None),
        (401, b'{"detail": "Not authenticated"}', "application/json", None),
        (403, b'{"message": "Missing Authentication Token"}', "application/json", None),
        (502, b"<html><body>502 Bad Gateway</body></html>", "text/html", None),
    ],
    ids=["html page", "empty object", "array", "other json", "empty 204", "redirect", "html 404", "401 detail", "403 aws", "502 page"],
)
def test_an_answer_from_a_server_that_is_not_the_simulator_is_a_control_error_saying_so(
    status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None
) -> None:
    """`server_url` pointing at another server (a dev server answering every path, an API gateway, a redirect to
    https): every call is a ControlError `not_the_simulator` naming the URL called, the answer's content type and the
    start of its body, with the advice a wrong server_url's 404 gets; never a JSONDecodeError, a KeyError, a silent
    `{}` or None taken for success, or ready() True."""
    with _foreign_server(status, body, content_type, headers) as url, SimulatorControl(url, "job-x") as control:
        for name, call in _EVERY_CALL.items():
            with pytest.raises(ControlError) as foreign:
                call(control)
            error = foreign.value
            assert (error.status, error.type) == (status, NOT_THE_SIMULATOR), (name, str(error))
            assert f"{url}/_sim/" in error.message and "is not the control API's" in error.message, (name, error.message)
            assert (content_type or "no content type") in error.message, (name, error.message)
            assert (" ".join(body.decode().split()) or "an empty body") in error.message, (name, error.message)
            assert (
                f"server_url should be the simulator's root, such as http://127.0.0.1:8080 (not a base URL such as .../v1), got {url!r}"
                in error.message
            ), name


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"<html>my single-page app</html>", "text/html"), (b'{"status": "whatever"}', "application/json")],
    ids=["html page", "other json"],
)
def test_ready_is_not_true_on_a_200_that_is_not_the_ready_answer_so_a_poll_does_not_end_on_another_server(
    body: bytes, content_type: str
) -> None:
    """A dev server answering every path with 200 ended `while not sim.ready()` at once, and the test then failed far
    from the cause; only `{"status": "ready", ...}` is the simulator's ready answer."""
    with _foreign_server(200, body, content_type) as url, SimulatorControl(url) as control, pytest.raises(ControlError) as foreign:
        control.ready()
    assert (foreign.value.status, foreign.value.type) == (200, NOT_THE_SIMULATOR)
    assert f"GET {url}/_sim/ready is not the control API's" in foreign.value.message


def test_another_apis_own_error_envelope_on_an_unknown_path_gets_the_server_url_advice() -> None:
    """An API answering unknown paths with 401 in an envelope like the simulator's (OpenAI's `{"error": {...}}`) reads
    as a refusal; its /_sim/health does not answer as the control API's, so the message says server_url is wrong."""
    envelope = b'{"error": {"type": "invalid_request_error", "message": "You didn\'t provide an API key."}}'
    with (
        _foreign_server(401, envelope, "application/json") as url,
        SimulatorControl(url) as control,
        pytest.raises(ControlError) as refused,
    ):
        control.faults()
    assert (refused.value.status, refused.value.type) == (401, "invalid_request_error")
    assert refused.value.message.startswith("You didn't provide an API key.; server_url should be the simulator's root")


def test_a_server_answering_every_path_with_200_gets_the_server_url_advice_on_its_enveloped_404() -> None:
    """The health probe behind the advice asks for the control API's `{"status": "ok"}`, not any 200: a server
    answering its health path with a page would have passed for the simulator."""
    envelope = b'{"error": {"type": "not_found", "message": "no such thing"}}'
    with _foreign_server(404, envelope, "application/json", health_page=True) as url, SimulatorControl(url) as control:
        assert httpx.get(url + "/_sim/health").status_code == 200
        with pytest.raises(ControlError, match="server_url should be the simulator's root") as refused:
            control.faults()
    assert (refused.value.status, refused.value.type, refused.value.message.split(";")[0]) == (404, "not_found", "no such thing")


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda control: control.usage(""), "key"),
        (lambda control: control.request(""), "entry_id"),
        (lambda control: control.remove_fault(""), "rule_id"),
    ],
    ids=["usage", "request", "remove_fault"],
)
def test_an_empty_key_or_id_is_a_value_error_naming_the_argument_not_a_route_404(
    call: Callable[[SimulatorControl], object], argument: str
) -> None:
    """`usage("")` asked `GET /_sim/usage/`, whose 404 named no route argument. Refused before anything is sent."""
    with SimulatorControl("http://sim.test") as control, pytest.raises(ValueError, match=rf"^{argument} must be a non-empty string"):
        call(control)


def test_a_rule_that_is_not_a_dict_is_a_type_error_naming_rule() -> None:
    with SimulatorControl("http://sim.test") as control, pytest.raises(TypeError, match=r"^rule must be a dict as POST /_sim/faults"):
        control.add_rule("x")  # type: ignore[arg-type]


@pytest.mark.parametrize("flag", ["drop", "reset", "truncate", "malformed"])
@pytest.mark.parametrize("value", ["no", 1, None])
def test_a_boolean_action_flag_takes_only_true_or_false(flag: str, value: object) -> None:
    """`drop="no"` is truthy: it installed a drop."""
    flags: dict[str, Any] = {flag: value}
    with SimulatorControl("http://sim.test") as control, pytest.raises(TypeError, match=rf"^{flag} must be True or False, got {value!r}"):
        control.add_fault({}, **flags)


def test_advance_takes_a_timedelta_as_its_total_seconds(root: SimulatorControl) -> None:
    job = root.in_namespace("job-timedelta")
    start = job.clock()["now"]
    assert job.advance(timedelta(minutes=1, milliseconds=500))["now"] == start + 60.5
