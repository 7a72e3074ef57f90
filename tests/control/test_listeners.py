"""Journal listeners: what the request log and the metrics build on, called once per API request with its entry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control.journal import JournalEntry
from simulator.launcher import free_port


@pytest.fixture
def listened() -> Iterator[tuple[str, list[JournalEntry]]]:
    """A simulator served from a thread of this process, with a listener that keeps every entry it gets."""
    app = create_app(SimulatorConfig(clock="manual"))
    heard: list[JournalEntry] = []
    app.state.journal_listeners.append(heard.append)
    app.state.journal_listeners.append(lambda entry: 1 / 0)  # a broken listener must not break anything
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", heard
    server.should_exit = True
    thread.join()


def test_every_listener_gets_each_api_request_entry_once(listened: tuple[str, list[JournalEntry]]) -> None:
    base, heard = listened
    headers = {"Authorization": "Bearer pk_test_pro_listener", "X-Sim-Namespace": "heard"}
    ok = httpx.post(base + "/v1/images/generations", json={"prompt": "a bell"}, headers=headers)
    faulted = httpx.post(
        base + "/openai/v1/images/generations", json={"prompt": "a bell"}, headers={**headers, "X-Sim-Fault": "status=503"}
    )
    httpx.get(base + "/_sim/requests")
    httpx.get(ok.json()["data"][0]["url"])
    assert faulted.status_code == 503
    assert [(e.face, e.status, e.fault, e.namespace) for e in heard] == [
        ("perf", 200, None, "heard"),
        ("openai", 503, "status=503", "heard"),
    ]
    assert heard[0].as_json() == httpx.get(base + "/_sim/requests", params={"face": "perf"}).json()["requests"][0]
