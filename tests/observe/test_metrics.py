"""`GET /metrics` parses with prometheus-client's own parser and counts exactly what the request journal recorded,
after a bounded mixed load (successes on two faces, rate-limited requests, injected faults, bad requests, unknown
paths), in one process and across two workers sharing Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from load.redis_server import redis_available, running_redis
from simulator.app import create_app
from simulator.control.inspect import RequestEntry
from simulator.keys import KeyRegistry
from simulator.launcher import RunningServer, running_simulator
from simulator.observe.metrics import DURATION, DURATION_BUCKETS, TALLY_SIZE, LocalCounts, Metrics, fault_kind
from simulator.observe.route_names import RouteNames
from simulator.observe.tiers import TierOf
from spec import tiers

# Per round, on an enterprise key whose limits the run stays within: 4 Perf successes, 1 OpenAI-face success,
# 1 injected 503, 1 bad size, 1 unknown path; and 2 on one free key for the whole run, most refused by its minute window.
ROUNDS = 20
Labels = tuple[str, ...]


def round_of_requests(free_key: str) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    pro = {"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}enterprise_{uuid.uuid4().hex[:12]}"}
    free = {"Authorization": f"Bearer {free_key}"}
    return [
        ("/v1/images/generations", pro, {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256", "n": 2}),
        ("/v1/images/generations", pro, {"prompt": "a red fox", "model": "flux-dev", "size": "512x256"}),
        ("/v1/images/generations", pro, {"prompt": "a red fox", "model": "imagen-3"}),
        ("/v1/images/generations", pro, {"prompt": "a red fox", "model": "stable-diffusion-3", "n": 2}),
        ("/openai/v1/images/generations", pro, {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}),
        ("/v1/images/generations", {**pro, "X-Sim-Fault": "status=503"}, {"prompt": "a red fox", "model": "dall-e-3"}),
        ("/v1/images/generations", pro, {"prompt": "a red fox", "model": "dall-e-3", "size": "7x7"}),
        ("/v1/images/nowhere", pro, {"prompt": "a red fox"}),
        ("/v1/images/generations", free, {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}),
        ("/v1/images/generations", free, {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}),
    ]


async def load_run(base_url: str) -> list[int]:
    """ROUNDS rounds of the mix, 10 requests at a time, each on a new connection (so workers share them)."""
    free_key = f"pk_test_free_{uuid.uuid4().hex[:12]}"
    requests = [r for _ in range(ROUNDS) for r in round_of_requests(free_key)]
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        responses = await asyncio.gather(*(client.post(path, headers=headers, json=body) for path, headers, body in requests))
    return [r.status_code for r in responses]


def scrape(base_url: str) -> dict[str, Counter[Labels]]:
    """Every sample of /metrics by name, keyed by its label values in sorted label-name order."""
    text = httpx.get(base_url + "/metrics").text
    samples: dict[str, Counter[Labels]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(value for name, value in sorted(sample.labels.items()) if name != "le")
            samples.setdefault(sample.name, Counter())[labels] += int(sample.value)  # counts are whole numbers
    return samples


def journal(base_url: str) -> list[dict[str, Any]]:
    return list(httpx.get(base_url + "/_sim/requests", params={"limit": 1000}).json()["requests"])


def assert_metrics_match_the_journal(base_url: str) -> None:
    statuses = asyncio.run(load_run(base_url))
    entries = journal(base_url)
    assert len(entries) == len(statuses) == ROUNDS * 10
    assert {200, 400, 404, 429, 503} <= set(statuses)
    metrics = scrape(base_url)

    requests: Counter[Labels] = Counter()
    for e in entries:
        requests[(e["face"], e["model"] or "", str(e["status"]))] += 1
    summed_over_routes: Counter[Labels] = Counter()
    for (face, model, _route, status), value in metrics["perf_sim_requests_total"].items():
        summed_over_routes[(face, model, status)] += value
    assert summed_over_routes == requests
    assert {route for _, _, route, _ in metrics["perf_sim_requests_total"]} == {
        "/v1/images/generations",
        "/openai/v1/images/generations",
        "unmatched",
    }

    images: Counter[Labels] = Counter()
    for e in entries:
        if e["status"] < 400:
            images[(e["face"], e["model"])] += len(e["image_ids"])
    assert metrics["perf_sim_images_total"] == images

    limited = sum(1 for e in entries if e["status"] == 429 and e["fault"] is None)
    assert limited == statuses.count(429) > 0
    assert metrics["perf_sim_rate_limited_total"] == Counter({("free",): limited})

    faulted = sum(1 for e in entries if e["fault"] is not None)
    assert faulted == ROUNDS
    assert metrics["perf_sim_faults_total"] == Counter({("status",): faulted})

    per_face = Counter(e["face"] for e in entries)
    assert metrics["perf_sim_request_duration_seconds_count"] == Counter({(face,): n for face, n in per_face.items()})


@pytest.fixture(scope="module")
def one_process() -> Iterator[RunningServer]:
    with running_simulator("--clock", "manual") as running:
        yield running


@pytest.fixture(scope="module")
def two_workers() -> Iterator[RunningServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    with running_redis() as redis_server, running_simulator("--workers", "2", "--state", redis_server.url) as running:
        yield running


def test_metrics_count_exactly_what_the_journal_recorded_after_a_load_run(one_process: RunningServer) -> None:
    assert_metrics_match_the_journal(one_process.base_url)


def test_with_two_workers_any_scrape_counts_every_workers_requests(two_workers: RunningServer) -> None:
    assert_metrics_match_the_journal(two_workers.base_url)
    scrapes = [scrape(two_workers.base_url)["perf_sim_requests_total"] for _ in range(6)]
    assert all(s == scrapes[0] for s in scrapes), "every worker answers the scrape with the same, summed figures"


@pytest.mark.parametrize("server", ["one_process", "two_workers"])
def test_a_cors_preflight_is_not_counted_as_a_request(request: pytest.FixtureRequest, server: str) -> None:
    """A preflight is the browser's question, not an API request: labelled like one (no method label), it would
    count as a 200 of the route it precedes."""
    base_url = request.getfixturevalue(server).base_url
    before = scrape(base_url)
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    assert httpx.options(base_url + "/v1/images/generations", headers=preflight).status_code < 300
    after = scrape(base_url)
    for name in ("perf_sim_requests_total", "perf_sim_request_duration_seconds_count"):
        assert after.get(name, Counter()) == before.get(name, Counter()), name


def test_the_scrape_is_the_prometheus_text_format(one_process: RunningServer) -> None:
    response = httpx.get(one_process.base_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    assert families["perf_sim_requests"] == "counter"
    assert families["perf_sim_images"] == "counter"
    assert families["perf_sim_rate_limited"] == "counter"
    assert families["perf_sim_faults"] == "counter"
    assert families["perf_sim_request_duration_seconds"] == "histogram"


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/metrics?namespace=jobA", {}), ("/metrics", {"X-Sim-Namespace": "jobA"}), ("/_sim/ns/jobA/metrics", {})],
    ids=["query", "header", "base path"],
)
def test_a_scrape_naming_a_namespace_is_refused_not_answered_with_every_namespaces_figures(
    one_process: RunningServer, path: str, headers: dict[str, str]
) -> None:
    response = httpx.get(one_process.base_url + path, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request", "namespace")
    assert "count every namespace" in error["message"]


@pytest.mark.parametrize("query", ["namspace=jobA", "job=jobA", "namespace_=jobA", "verbose", "=x"])
def test_a_scrape_with_a_query_parameter_the_metrics_do_not_take_is_refused_naming_it(one_process: RunningServer, query: str) -> None:
    """A typo of `namespace` would otherwise get every namespace's figures, with a 200, read as that namespace's."""
    response = httpx.get(f"{one_process.base_url}/metrics?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    name = query.split("=")[0]
    assert (error["type"], error["param"]) == ("invalid_request", name)
    assert error["message"] == f"{name!r} is not a parameter of /metrics, which takes none"


def test_one_process_counts_durations_into_the_same_buckets_as_prometheus_clients_histogram() -> None:
    """In one process the figures are plain numbers until scraped; their exposition must be what prometheus-client's
    own Histogram gives for the same durations, bounds included (a value equal to a bound falls in that bucket)."""
    durations = [0.0, 0.001, 0.0011, 0.0025, 0.3, 60.0, 61.0, *DURATION_BUCKETS]
    local = LocalCounts()
    for seconds in durations:
        local.count("perf", "/v1/images/generations", "200", "dall-e-2", seconds, 1, None, None)
    ours = CollectorRegistry()
    ours.register(local)
    theirs = CollectorRegistry()
    histogram = Histogram(*DURATION[:2], DURATION[2], buckets=DURATION_BUCKETS, registry=theirs)
    for seconds in durations:
        histogram.labels("perf").observe(seconds)

    def buckets(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
        text = generate_latest(registry).decode()
        return {
            (sample.name, sample.labels.get("le", "")): sample.value
            for family in text_string_to_metric_families(text)
            if family.name == DURATION[0]
            for sample in family.samples
            if not sample.name.endswith("_created")
        }

    assert buckets(ours) == buckets(theirs)


def fresh_metrics() -> Metrics:
    """Metrics labelling routes as `perf-sim`'s do."""
    return Metrics(TierOf(KeyRegistry()), RouteNames(create_app().routes))


def journalled(index: int) -> RequestEntry:
    """A mixed run's entries: successes the engine noted (two faces), a bad request it never saw, a 429 on a free
    key, an injected fault, an unknown path."""
    kind = index % 6
    path = "/v1/images/nowhere" if kind == 5 else "/openai/v1/images/generations" if kind == 1 else "/v1/images/generations"
    key = b"Bearer pk_test_free_abcdefghij" if kind == 3 else b"Bearer pk_test_enterprise_abcdefghij"
    body = json.dumps({"prompt": "a red fox", **({"model": "flux-dev"} if kind == 2 else {})}).encode()
    entry = RequestEntry("POST", path, "openai" if kind == 1 else "perf", "default", b"authorization\n" + key, b"", body)
    entry.time = 1767225600.0 + index
    entry.status = {0: 200, 1: 200, 2: 400, 3: 429, 4: 503, 5: 404}[kind]
    entry.latency_ms = (index % 40) * 0.25
    entry.fault = "status=503" if kind == 4 else None
    entry.image_ids = tuple(f"img_{index}_{n}" for n in range(2 if kind == 0 else 1)) if kind < 2 else ()
    if kind < 2:
        entry.made_model = "dall-e-2"
    return entry


def test_requests_tallied_scrape_the_same_as_requests_counted_one_by_one() -> None:
    """One process tallies the requests the engine served by raw label values, named only at a scrape (or once the
    tally is full); that must change no figure."""
    tallied, one_by_one = fresh_metrics(), fresh_metrics()
    assert not tallied.multiprocess
    entries = [journalled(index) for index in range(2085)]
    for start in range(0, len(entries), 64):  # in batches as the journal tells them, mixed ones and one of a face
        tallied.observe([entry.row() for entry in entries[start : start + 64]])
    tallied.observe([entry.row() for entry in entries if entry.face == "openai"][:5])
    for entry in [*entries, *[entry for entry in entries if entry.face == "openai"][:5]]:
        one_by_one.count_one(entry)
    assert sum(tallied.tally.values()) == 2 * 348 + 5  # the two faces' successes wait for the scrape

    def samples(metrics: Metrics) -> list[str]:
        return sorted(line for line in metrics.exposition().decode().splitlines() if "_created" not in line)

    counted = samples(tallied)
    assert counted == samples(one_by_one)
    assert 'perf_sim_images_total{face="perf",model="dall-e-2"} 696.0' in counted  # 348 requests of 2 images
    assert 'perf_sim_requests_total{face="perf",model="flux-dev",route="/v1/images/generations",status="400"} 348.0' in counted
    assert 'perf_sim_rate_limited_total{tier="free"} 347.0' in counted
    assert 'perf_sim_requests_total{face="perf",model="",route="unmatched",status="404"} 347.0' in counted
    assert not tallied.tally


def test_a_batch_of_one_faces_successes_counts_durations_as_one_by_one_a_bound_in_its_own_bucket() -> None:
    """A batch whose requests all share their labels (a load test's) is counted at once, its durations sorted and
    cut at the bounds: each must land where counting one by one puts it, a duration equal to a bound in that bound's
    bucket."""
    at_once, one_by_one = fresh_metrics(), fresh_metrics()
    latencies_ms = [0.0, *(bound * 1000 for bound in DURATION_BUCKETS), 0.5, 1.0001, 2.4999, 70000.0, 1.0]
    entries = []
    for latency_ms in latencies_ms:
        entry = journalled(0)
        entry.latency_ms = latency_ms
        entries.append(entry)
    at_once.observe([entry.row() for entry in entries])
    for entry in entries:
        one_by_one.count_one(entry)
    assert at_once.tally == {("perf", "/v1/images/generations", 200, "dall-e-2", None, 2): len(entries)}

    def samples(metrics: Metrics) -> list[str]:
        return sorted(line for line in metrics.exposition().decode().splitlines() if "_created" not in line)

    assert samples(at_once) == samples(one_by_one)
    assert 'perf_sim_request_duration_seconds_bucket{face="perf",le="0.001"} 4.0' in samples(at_once)


def test_a_full_tally_is_named_at_once_and_every_path_of_a_route_shares_its_label() -> None:
    """The tally holds at most TALLY_SIZE distinct label sets (a path is part of one)."""
    metrics = fresh_metrics()
    for index in range(TALLY_SIZE + 10):
        entry = journalled(0)
        entry.path = f"/google/v1beta/models/m{index}:predict"
        entry.made_model = "dall-e-2"
        metrics.observe([entry.row()])
    assert len(metrics.tally) == 10
    assert metrics.local.requests[("perf", "/google/v1beta/models/{model}:predict", "200", "dall-e-2")] == TALLY_SIZE


def test_a_faulted_request_naming_its_model_in_the_provider_words_is_counted_under_the_perf_model() -> None:
    metrics = fresh_metrics()
    entry = RequestEntry("POST", "/google/v1beta/models/imagen-3.0-generate-002:predict", "google", "default", b"", b"", b"{}")
    entry.time, entry.status, entry.latency_ms, entry.fault = 1767225600.0, 503, 0.5, "status=503"
    metrics.observe([entry.row()])
    counted = metrics.exposition().decode()
    assert 'face="google",model="imagen-3",route="/google/v1beta/models/{model}:predict",status="503"} 1.0' in counted


@pytest.mark.parametrize(
    ("face", "path", "route"),
    [
        ("ideogram", "/ideogram/remix", "unmatched"),
        ("openai", "/openai/v1/images/edits", "unmatched"),
        ("bfl", "/bfl/delivery/task_0123/sample.png", "/bfl/delivery/{task_id}/sample.{ext}"),
        ("bfl", "/v1/flux-pro", "/v1/flux-pro"),
        ("google", "/google/v1/projects/p/locations/l/publishers/google/models/imagen-3.0-generate-002:predict", None),
    ],
)
def test_a_faulted_request_is_labelled_by_the_route_that_serves_its_path(face: str, path: str, route: str | None) -> None:
    metrics = fresh_metrics()
    entry = RequestEntry("POST", path, face, "default", b"", b"", b"{}")
    entry.time, entry.status, entry.latency_ms, entry.fault = 1767225600.0, 503, 0.5, "status=503"
    metrics.observe([entry.row()])
    (labelled,) = [line for line in metrics.exposition().decode().splitlines() if line.startswith("perf_sim_requests_total{")]
    shown = labelled.partition('route="')[2].partition('"')[0]
    assert shown == route if route is not None else shown.startswith("/google/") and "{" in shown


def test_a_429_of_the_documents_key_redefined_by_the_keys_file_is_counted_under_the_files_tier(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys.{tiers.DOCUMENT_EXAMPLE_KEY}]\ntier = "free"\n')
    with running_simulator("--keys", str(keys), "--clock", "manual", "--quiet") as server:
        headers = {"Authorization": f"Bearer {tiers.DOCUMENT_EXAMPLE_KEY}"}
        body = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}
        minute = tiers.TIERS["free"].images_per_minute
        url = server.base_url + "/v1/images/generations"
        statuses = [httpx.post(url, json=body, headers=headers).status_code for _ in range(minute + 1)]
        assert statuses == [200] * minute + [429]
        assert scrape(server.base_url)["perf_sim_rate_limited_total"] == Counter({("free",): 1})


def test_a_429_of_a_short_ready_made_key_is_counted_under_the_tier_it_names(one_process: RunningServer) -> None:
    headers = {"Authorization": "Bearer pk_test_free_x", "X-Sim-Namespace": f"short-{uuid.uuid4().hex[:8]}"}
    body = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}
    before = scrape(one_process.base_url).get("perf_sim_rate_limited_total", Counter())
    url = one_process.base_url + "/v1/images/generations"
    statuses = [httpx.post(url, json=body, headers=headers).status_code for _ in range(tiers.TIERS["free"].images_per_minute + 1)]
    assert statuses[-1] == 429
    after = scrape(one_process.base_url)["perf_sim_rate_limited_total"]
    assert after - before == Counter({("free",): 1})


def test_a_faults_action_kind_is_its_parts_joined_in_a_fixed_order() -> None:
    assert fault_kind("reset") == "reset"
    assert fault_kind("status=503;delay_ms=1500") == "delay_ms+status"
    assert fault_kind("delay_ms=10;reset") == "delay_ms+reset"


@pytest.mark.parametrize("fault", ["delay_ms=1", "truncate"])
def test_a_429_from_the_keys_windows_is_counted_by_tier_even_when_a_fault_delayed_or_cut_the_answer(fault: str) -> None:
    """Only a fault that chose the status makes a 429 the fault's own; a delayed or truncated request refused by its
    key's minute window is a rate-limited request like any other."""
    with running_simulator("--clock", "manual", "--quiet") as server:
        headers = {"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}free_{uuid.uuid4().hex[:12]}", "X-Sim-Fault": fault}
        body = {"prompt": "a red fox", "model": "dall-e-2", "size": "256x256"}
        minute = tiers.TIERS["free"].images_per_minute
        url = server.base_url + "/v1/images/generations"
        with httpx.Client() as client:
            statuses = []
            for _ in range(minute + 2):
                with client.stream("POST", url, json=body, headers=headers) as response:
                    statuses.append(response.status_code)
        assert statuses == [200] * minute + [429, 429]
        metrics = scrape(server.base_url)
        assert metrics["perf_sim_rate_limited_total"] == Counter({("free",): 2})
        assert sum(metrics["perf_sim_faults_total"].values()) == minute + 2


@pytest.mark.parametrize("directory_exists", [False, True])
def test_one_process_ignores_a_prometheus_multiproc_dir_left_in_the_environment_for_another_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, directory_exists: bool
) -> None:
    """A shell or CI job that sets PROMETHEUS_MULTIPROC_DIR for its own gunicorn app must not break a single
    perf-sim's scrape (a missing directory) or get perf-sim's files written among that app's (an existing one)."""
    theirs = tmp_path / "their-app-metrics"
    if directory_exists:
        theirs.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(theirs))
    with running_simulator("--quiet") as server:
        headers = {"Authorization": f"Bearer {tiers.DOCUMENT_EXAMPLE_KEY}"}
        response = httpx.post(server.base_url + "/v1/images/generations", json={"prompt": "a red fox"}, headers=headers)
        assert response.status_code == 200
        scraped = httpx.get(server.base_url + "/metrics")
        assert scraped.status_code == 200, scraped.text
        assert sum(scrape(server.base_url)["perf_sim_requests_total"].values()) == 1
    assert not theirs.exists() or not any(theirs.iterdir()), "nothing of perf-sim's is left among their files"
