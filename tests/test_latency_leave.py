"""A client that leaves during the modelled latency (`--latency-scale` above 0): unanswered, and it costs nothing.

As a delay fault's client that left (docs/control.md) and a gateway's caller that left (docs/providers.md) are. The
engine used to wait the latency out, then journal, log and count a 200 with image ids nobody received, charged against
the key's windows; through a gateway, the perf-sim upstream kept every abandoned call and answered the patient retry
its forwarded key's 429.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.launcher import RunningServer, running_simulator
from tests.conftest import journal_once_it_lists

SCALE = "1"
"""dall-e-2 at 1024x1024 is modelled at about 2.1 s: at scale 1, well past the impatient client's 0.5 s."""
MODEL = "dall-e-2"
IMPATIENT = httpx.Timeout(30, read=0.5)
FACES = {"perf": "/v1/images/generations", "openai": "/openai/v1/images/generations"}


@pytest.fixture(scope="module")
def slow() -> Iterator[RunningServer]:
    with running_simulator("--latency-scale", SCALE) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(slow: RunningServer) -> Iterator[RunningServer]:
    with running_simulator("--upstream", slow.base_url, "--upstream-timeout", "20") as server:
        yield server


def _minute_used(server: RunningServer, key: str, namespace: str, face: str) -> int:
    usage = httpx.get(f"{server.base_url}/_sim/usage/{key}", params={"namespace": namespace}).json()
    windows = usage if face == "perf" else usage["providers"][face]
    return int(windows["minute"]["used"])


def _image_id(answer: httpx.Response) -> str:
    """The id of the one image `answer` gives (by URL: both faces answer with one by default)."""
    url: str = answer.json()["data"][0]["url"]
    return url.rsplit("/", 1)[1].removesuffix(".png")


def _dropped(server: RunningServer, face: str) -> float:
    for line in httpx.get(f"{server.base_url}/metrics").text.splitlines():
        if line.startswith("perf_sim_requests_total{") and f'face="{face}"' in line and 'status="dropped"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("face", FACES)
def test_a_client_that_leaves_during_the_modelled_latency_is_journalled_unanswered_and_costs_nothing(
    slow: RunningServer, face: str
) -> None:
    namespace, key = f"lat-leaves-{face}", f"pk_test_free_lat_leaves_{face}"
    headers = {"Authorization": f"Bearer {key}", "X-Sim-Namespace": namespace}
    url = f"{slow.base_url}{FACES[face]}"
    dropped = _dropped(slow, face)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json={"prompt": "an impatient client", "model": MODEL}, headers=headers, timeout=IMPATIENT)
    (entry,) = journal_once_it_lists(slow, namespace, 1, within=3)
    assert (entry["status"], entry["error_type"], entry["image_ids"], entry["model"]) == (None, None, [], MODEL), entry
    assert _minute_used(slow, key, namespace, face) == 0, "the charge was given back"
    assert _dropped(slow, face) == dropped + 1

    patient = httpx.post(url, json={"prompt": "a patient client", "model": MODEL}, headers=headers, timeout=30)
    assert patient.status_code == 200, patient.text
    answered = journal_once_it_lists(slow, namespace, 2, within=3)[0]
    assert (answered["status"], answered["image_ids"]) == (200, [_image_id(patient)]), answered
    assert _minute_used(slow, key, namespace, face) == 1


def test_a_gateway_call_cancelled_during_its_upstreams_modelled_latency_ends_there_unanswered_and_uncharged(
    slow: RunningServer, gateway: RunningServer
) -> None:
    """What docs/providers.md promises of a perf-sim upstream, with it slowed by --latency-scale: more abandoned
    attempts than the free tier's 5 a minute, and the patient retry still gets its images, not the upstream's 429."""
    namespace, key = "lat-gateway", "pk_test_free_lat_gateway"
    headers = {"Authorization": f"Bearer {key}", "X-Sim-Namespace": namespace}
    for attempt in range(6):
        with pytest.raises(httpx.ReadTimeout):
            body = {"prompt": f"an impatient caller {attempt}", "model": MODEL}
            httpx.post(f"{gateway.base_url}/v1/images/generations", json=body, headers=headers, timeout=IMPATIENT)
    calls = journal_once_it_lists(slow, namespace, 6, within=4)
    assert [(call["status"], call["image_ids"]) for call in calls] == [(None, [])] * 6, calls
    assert _minute_used(slow, key, namespace, "openai") == 0, "the upstream gave its charges back"
    patient = httpx.post(
        f"{gateway.base_url}/v1/images/generations", json={"prompt": "a patient caller", "model": MODEL}, headers=headers, timeout=30
    )
    assert patient.status_code == 200, patient.text
