"""`GET /metrics`: the request journal's records counted in the Prometheus text format.

The counters are fed by a journal listener, so the journal, the metrics and the dashboard read the same records and
nothing is counted twice. With several workers (`--workers N`) each worker writes its figures to files in one
directory (prometheus-client's multiprocess mode, set up by `shared_metrics_dir` before the workers start) and a
scrape answered by any worker sums them all; a single process keeps them in its own registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.control.journal import JournalEntry
from simulator.observe.tiers import TierOf
from spec.models import MODELS

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Decision: requests the simulator has no route for (404) share one route label, and at most MAX_ROUTES distinct
# paths get their own; a model the spec does not know is `other`: a client sending random paths or model names
# cannot grow the scrape without bound.
UNMATCHED_ROUTE = "unmatched"
OTHER_ROUTE = "other"
OTHER_MODEL = "other"
MAX_ROUTES = 200
DROPPED_STATUS = "dropped"
FAULT_KINDS = ("delay_ms", "status", "drop", "truncate", "malformed")
# Server time of a request is well under a second unless a latency scale or a delay fault holds it.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


M = TypeVar("M", bound=MetricWrapperBase)


class Children(Generic[M]):
    """A metric's labelled children, looked up by their label values.

    prometheus-client's `labels()` validates and takes a lock on every call, about half the cost of counting a
    request; the label values here come from small fixed sets, so each child is made once and then found in a dict.
    """

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self.made: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self.made.get(values)
        if child is None:
            child = self.made[values] = self.metric.labels(*values)
        return child


def fault_kind(fault: str) -> str:
    """The kinds of action in a fault's header-form text (`delay_ms=1500;status=503` -> `delay_ms+status`)."""
    names = {part.partition("=")[0].strip() for part in fault.split(";")}
    return "+".join(kind for kind in FAULT_KINDS if kind in names) or "other"


class Metrics:
    """The five metric families, counted from journal entries (register `observe` as a journal listener)."""

    def __init__(self, tier_of: TierOf) -> None:
        self.tier_of = tier_of
        self.multiprocess = MULTIPROCESS_ENV in os.environ
        self.registry = CollectorRegistry()
        self.routes_seen: set[str] = set()
        self.requests = Children(
            Counter(
                "perf_sim_requests",
                "Requests to the API faces, by face, route, status and model.",
                ["face", "route", "status", "model"],
                registry=self.registry,
            )
        )
        self.images = Children(
            Counter("perf_sim_images", "Images generated, by model and face.", ["model", "face"], registry=self.registry)
        )
        self.rate_limited = Children(
            Counter("perf_sim_rate_limited", "Requests refused by a key's rate windows (429), by tier.", ["tier"], registry=self.registry)
        )
        self.faults = Children(
            Counter("perf_sim_faults", "Requests answered by an injected fault, by kind of action.", ["action"], registry=self.registry)
        )
        self.duration = Children(
            Histogram(
                "perf_sim_request_duration_seconds",
                "Server time of requests to the API faces, by face.",
                ["face"],
                buckets=DURATION_BUCKETS,
                registry=self.registry,
            )
        )

    def observe(self, entry: JournalEntry) -> None:
        status = DROPPED_STATUS if entry.status is None else str(entry.status)
        model = "" if entry.model is None else entry.model if entry.model in MODELS else OTHER_MODEL
        self.requests(entry.face, self.route(entry), status, model).inc()
        if entry.image_ids and entry.status is not None and entry.status < 400:
            self.images(model, entry.face).inc(len(entry.image_ids))
        if entry.status == 429 and entry.fault is None:
            self.rate_limited(self.tier_of(entry)).inc()
        if entry.fault is not None:
            self.faults(fault_kind(entry.fault)).inc()
        self.duration(entry.face).observe(entry.latency_ms / 1000)

    def route(self, entry: JournalEntry) -> str:
        if entry.status == 404:
            return UNMATCHED_ROUTE
        if entry.path in self.routes_seen:
            return entry.path
        if len(self.routes_seen) >= MAX_ROUTES:
            return OTHER_ROUTE
        self.routes_seen.add(entry.path)
        return entry.path

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)

    def routes(self) -> list[Route]:
        return [Route("/metrics", self.endpoint, methods=["GET"])]


@contextmanager
def shared_metrics_dir() -> Iterator[str]:
    """A fresh directory for the workers' metric files, named in the environment the workers inherit.

    It must be set before a worker imports prometheus-client and be empty at start (stale files would add an old
    run's counts), so the CLI makes a new one for each run and removes it at exit.
    """
    path = tempfile.mkdtemp(prefix="perf-sim-metrics-")
    previous = os.environ.get(MULTIPROCESS_ENV)
    os.environ[MULTIPROCESS_ENV] = path
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROCESS_ENV, None)
        else:
            os.environ[MULTIPROCESS_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)
