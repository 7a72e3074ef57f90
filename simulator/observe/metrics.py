"""`GET /metrics`: the request journal's records counted in the Prometheus text format.

The counters are fed by a journal listener, so the journal, the metrics and the dashboard read the same records and
nothing is counted twice. With several workers (`--workers N`) each worker writes its figures to files in one
directory (prometheus-client's multiprocess mode, set up by `shared_metrics_dir` before the workers start) and a
scrape answered by any worker sums them all; a single process keeps them in its own registry.
"""

from __future__ import annotations

import collections
import itertools
import os
import shutil
import tempfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from operator import getitem, itemgetter
from typing import Generic, Protocol, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.control.inspect import RequestEntry
from simulator.control.journal import JournalEntry
from simulator.control.journal_row import FACE, LABELS, LATENCY_MS, Row, row_made_model, row_status
from simulator.engine.errors import invalid, param_name, quoted
from simulator.namespace_path import NAMESPACE_HEADER
from simulator.observe.tiers import TierOf
from simulator.registry import error_response
from spec.model_names import perf_model_name
from spec.models import MODELS, PERF_FACE

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Decision: a route is labelled by its template (simulator.observe.route_names), and a model the spec does not know
# is `other`: a client sending random paths or model names cannot grow the scrape without bound.
OTHER_MODEL = "other"
_MODEL_LABEL = {name: name for name in MODELS}
"""A model's label: its Perf name (spec.model_names.perf_model_name), whether the engine named it or the request did in its
provider's words (a faulted Imagen request names `imagen-3.0-generate-002`), so one model's requests share one label."""
DROPPED_STATUS = "dropped"
FAULT_KINDS = ("delay_ms", "dribble_ms", "status", "drop", "reset", "truncate", "malformed")
# Server time of a request is well under a second unless a latency scale or a delay fault holds it.
# One process tallies its requests by raw label values, at most this many distinct sets before naming them.
TALLY_SIZE = 1024
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DURATION_BUCKETS_MS = tuple(bound * 1000 for bound in DURATION_BUCKETS)
"""The same bounds in milliseconds, as a row holds a request's latency."""


REQUESTS = ("perf_sim_requests", "Requests to the API faces, by face, route, status and model.", ("face", "route", "status", "model"))
IMAGES = ("perf_sim_images", "Images generated, by model and face.", ("model", "face"))
RATE_LIMITED = ("perf_sim_rate_limited", "Requests refused by a key's rate windows (429), by tier.", ("tier",))
FAULTS = ("perf_sim_faults", "Requests answered by an injected fault, by kind of action.", ("action",))
DURATION = ("perf_sim_request_duration_seconds", "Server time of requests to the API faces, by face.", ("face",))

M = TypeVar("M", bound=MetricWrapperBase)
Labels = tuple[str, str, int | None, str, str | None, int]
"""A row's label values (simulator.control.journal_row.LABEL_FIELDS): face, path, status, model, fault, images."""
_LATENCY_MS = itemgetter(LATENCY_MS)
_FACE = itemgetter(FACE)


def fault_kind(fault: str) -> str:
    """The kinds of action in a fault's header-form text (`delay_ms=1500;status=503` -> `delay_ms+status`)."""
    names = {part.partition("=")[0].strip() for part in fault.split(";")}
    return "+".join(kind for kind in FAULT_KINDS if kind in names) or "other"


class Counts(Protocol):
    def count(
        self, face: str, route: str, status: str, model: str, seconds: float, images: int, fault: str | None, tier: str | None
    ) -> None:
        """One request's figures, by their label values: `images` made (0: none), the `fault` kind applied, the `tier`
        of a key its rate windows refused."""


class LocalCounts(Collector):
    """The figures of one process as plain numbers, turned into metric families only when scraped.

    Counting a request through prometheus-client's metric objects (a lock and a validity check per increment, a
    linear bucket walk) cost more than the rest of the control plane together, on every request; a scrape is rare.
    `before_collect` is called first at each scrape (the metrics fold the requests not yet counted).
    """

    def __init__(self, before_collect: Callable[[], None] | None = None) -> None:
        self.before_collect = before_collect
        self.requests: dict[tuple[str, str, str, str], int] = {}
        self.image_counts: dict[tuple[str, str], int] = {}
        self.limited: dict[str, int] = {}
        self.faults: dict[str, int] = {}
        self.durations: dict[str, list[float]] = {}
        """Per face: how many requests fell in each bucket (not cumulative; the last is +Inf), then their sum."""

    def count(
        self, face: str, route: str, status: str, model: str, seconds: float, images: int, fault: str | None, tier: str | None
    ) -> None:
        self.count_duration(face, seconds)
        self.count_requests(face, route, status, model, images, fault, tier, 1)

    def count_requests(
        self, face: str, route: str, status: str, model: str, images: int, fault: str | None, tier: str | None, times: int
    ) -> None:
        """`times` requests with the same labels (`images` made by each)."""
        labels = (face, route, status, model)
        self.requests[labels] = self.requests.get(labels, 0) + times
        if images:
            self.image_counts[model, face] = self.image_counts.get((model, face), 0) + images * times
        if fault is not None:
            self.faults[fault] = self.faults.get(fault, 0) + times
        if tier is not None:
            self.limited[tier] = self.limited.get(tier, 0) + times

    def count_duration(self, face: str, seconds: float) -> None:
        durations = self.face_durations(face)
        durations[bisect_left(DURATION_BUCKETS, seconds)] += 1
        durations[-1] += seconds

    def face_durations(self, face: str) -> list[float]:
        durations = self.durations.get(face)
        if durations is None:
            durations = self.durations[face] = [0.0] * (len(DURATION_BUCKETS) + 2)
        return durations

    def collect(self) -> Iterator[Metric]:
        if self.before_collect is not None:
            self.before_collect()
        for (name, documentation, labels), counts in (
            (REQUESTS, self.requests),
            (IMAGES, self.image_counts),
            (RATE_LIMITED, {(tier,): n for tier, n in self.limited.items()}),
            (FAULTS, {(kind,): n for kind, n in self.faults.items()}),
        ):
            counter = CounterMetricFamily(name, documentation, labels=labels)
            for values, count in counts.items():
                counter.add_metric(values, count)
            yield counter
        name, documentation, labels = DURATION
        histogram = HistogramMetricFamily(name, documentation, labels=labels)
        bounds = [*(floatToGoString(bound) for bound in DURATION_BUCKETS), "+Inf"]
        for face, durations in self.durations.items():
            histogram.add_metric([face], list(zip(bounds, accumulate(durations[:-1]), strict=True)), durations[-1])
        yield histogram


class Children(Generic[M]):
    """A metric's labelled children, looked up by their label values.

    prometheus-client's `labels()` validates and takes a lock on every call; the label values here come from small
    fixed sets, so each child is made once and then found in a dict.
    """

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self.made: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self.made.get(values)
        if child is None:
            child = self.made[values] = self.metric.labels(*values)
        return child


class SharedCounts:
    """The figures of one worker among several, in prometheus-client's metric objects: in multiprocess mode they
    write to the files every worker's scrape sums."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Children(Counter(*REQUESTS[:2], REQUESTS[2], registry=registry))
        self.image_counts = Children(Counter(*IMAGES[:2], IMAGES[2], registry=registry))
        self.limited = Children(Counter(*RATE_LIMITED[:2], RATE_LIMITED[2], registry=registry))
        self.faults = Children(Counter(*FAULTS[:2], FAULTS[2], registry=registry))
        self.durations = Children(Histogram(*DURATION[:2], DURATION[2], buckets=DURATION_BUCKETS, registry=registry))

    def count(
        self, face: str, route: str, status: str, model: str, seconds: float, images: int, fault: str | None, tier: str | None
    ) -> None:
        self.requests(face, route, status, model).inc()
        self.durations(face).observe(seconds)
        if images:
            self.image_counts(model, face).inc(images)
        if fault is not None:
            self.faults(fault).inc()
        if tier is not None:
            self.limited(tier).inc()


def _status_injected(kind: str | None) -> bool:
    """Whether a fault of this kind chose the answer's status. Decision: only such a 429 is the fault's own; a key's
    rate window refusing a delayed or truncated request is still a rate-limited request, counted by tier."""
    return kind is not None and "status" in kind.split("+")


def _tallied(rows: list[Row]) -> dict[Labels, int]:
    """How many rows hold each set of label values."""
    labels: list[Labels] = list(map(getitem, rows, itertools.repeat(LABELS)))  # type: ignore[arg-type]
    if labels and labels.count(labels[0]) == len(labels):
        return {labels[0]: len(labels)}
    return collections.Counter(labels)


def _counted_at_once(row: Row) -> bool:
    """A request the engine did not serve (no model noted: its model is read from the request) or that a rate window
    refused (its tier is read from its key)."""
    return row_made_model(row) is None or row_status(row) == 429


class Metrics:
    """The five metric families, counted from journal entries (register `observe` as a journal's batch listener).

    In one process a request the engine served is tallied by its raw label values (face, path, status, model,
    fault, images), its duration counted at once; the tally becomes label values (route and model names, capped)
    only at a scrape, or once it holds TALLY_SIZE distinct sets (looked at after each batch). A request the engine
    did not serve (no model noted, or refused by a rate window: its tier) is counted at once, reading the request.
    Workers count every request at once, because any worker may answer a scrape from the files they share.
    """

    def __init__(
        self, tier_of: TierOf, route_name: Callable[[str], str], flush: Callable[[], None] | None = None, shared: bool = False
    ) -> None:
        """`shared`: this process is one of `perf-sim --workers N`, whose directory `shared_metrics_dir` named.
        Decision: the mode follows the worker count, not the environment alone; a PROMETHEUS_MULTIPROC_DIR left in a
        user's shell or CI for their own app (missing, or holding its files) must neither break a single process's
        scrape nor add another program's counts to it."""
        self.tier_of = tier_of
        self.route_name = route_name
        self.flush = flush
        """The journal's `flush`, called before a scrape: it tells the metrics of the requests it kept since its last
        batch."""
        self.multiprocess = shared
        self.registry = CollectorRegistry()
        self.tally: collections.Counter[Labels] = collections.Counter()
        self.counts: Counts
        if self.multiprocess:
            self.counts = SharedCounts(self.registry)
        else:
            self.counts = self.local = LocalCounts(before_collect=self.count_tally)
            self.registry.register(self.local)

    def observe(self, rows: list[Row]) -> None:
        """The journal's batch listener. In one process, the requests the engine served are counted in C calls over
        the batch: each row's label values taken by one slice, counted at once when the whole batch shares them (a
        load test's batches mostly do) and by `Counter` when not; their durations sorted, then bucketed by a
        bisection per bucket. Counting each request in Python cost a sixth of the control plane; hashing each row's
        labels and bisecting each duration, a quarter (6.4k of its 26k instructions a request)."""
        if self.multiprocess:
            for row in rows:
                self.count_one(RequestEntry.from_row(row, 0))
            return
        tallied = _tallied(rows)
        if any(model is None or status == 429 for _, _, status, model, _, _ in tallied):
            for row in rows:
                if _counted_at_once(row):
                    self.count_one(RequestEntry.from_row(row, 0))
            rows = list(itertools.filterfalse(_counted_at_once, rows))
            tallied = _tallied(rows)
        if not rows:
            return
        self.tally.update(tallied)
        faces = {labels[0] for labels in tallied}
        if len(faces) == 1:
            self.count_durations(faces.pop(), sorted(map(_LATENCY_MS, rows)))
        else:
            face_durations = self.local.face_durations
            for face, spent in zip(map(_FACE, rows), map(_LATENCY_MS, rows), strict=True):
                durations = face_durations(face)
                durations[bisect_left(DURATION_BUCKETS_MS, spent)] += 1
                durations[-1] += spent / 1000
        if len(self.tally) >= TALLY_SIZE:
            self.count_tally()

    def count_durations(self, face: str, latencies: list[float]) -> None:
        """Requests of `face` that took `latencies` (in ms, sorted), counted in their buckets (a bucket holds what took
        at most its bound, and more than the one before's)."""
        durations = self.local.face_durations(face)
        below = 0
        for bucket, bound in enumerate(DURATION_BUCKETS_MS):
            upto = bisect_right(latencies, bound, lo=below)
            durations[bucket] += upto - below
            below = upto
        durations[len(DURATION_BUCKETS_MS)] += len(latencies) - below
        durations[-1] += sum(latencies) / 1000

    def count_tally(self) -> None:
        tally, self.tally = self.tally, collections.Counter()
        for (face, path, status, model, fault, images), times in tally.items():
            route, status_label, model_label, counted = self.labels(path, status, model, images)
            self.local.count_requests(face, route, status_label, model_label, counted, fault and fault_kind(fault), None, times)

    def count_one(self, entry: JournalEntry) -> None:
        """Decision: a CORS preflight is not counted. It is the browser's question before an API request, not one; with
        no method label it would count as an answer of the route it precedes. (The engine never serves one, so a
        preflight always comes here, never to the batch's tally.)"""
        if entry.method == "OPTIONS":
            return
        status = entry.status
        model = entry.made_model  # the engine's word needs no parse of the request; entry.model falls back to one
        if model is None:
            model = entry.model
        route, status_label, model_label, images = self.labels(entry.path, status, model, len(entry.image_ids))
        fault = entry.fault
        kind = fault and fault_kind(fault)
        tier = self.tier_of(entry) if status == 429 and not _status_injected(kind) else None
        self.counts.count(entry.face, route, status_label, model_label, entry.latency_ms / 1000, images, kind, tier)

    def labels(self, path: str, status: int | None, model: str | None, images: int) -> tuple[str, str, str, int]:
        """Route, status and model label values, and the images counted, of a request."""
        route = self.route_name(path)
        status_label = DROPPED_STATUS if status is None else str(status)
        model_label = "" if model is None else _MODEL_LABEL.get(perf_model_name(model), OTHER_MODEL)
        return route, status_label, model_label, images if status is not None and status < 400 else 0

    def exposition(self) -> bytes:
        if self.flush is not None:
            self.flush()
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        """Decision: the metrics have no namespace label (the `perf_sim` fixture makes a namespace per test, so the
        label would grow the scrape without bound), and a scrape naming a namespace (`?namespace=`, X-Sim-Namespace,
        a `/_sim/ns/<name>/` base path) is a 400 rather than every namespace's figures read as that one's. So is any
        other query parameter, as in the control API: ignored, a typo (`?namspace=jobA`) would get every namespace's
        figures with a 200. Prometheus sends none unless a scrape config's `params:` names some."""
        if "namespace" in request.query_params or NAMESPACE_HEADER.decode() in request.headers:
            message = "the metrics count every namespace and take none; GET /_sim/requests?namespace=NAME lists one namespace's requests"
            return error_response(PERF_FACE, invalid("namespace", message))
        unknown = sorted(request.query_params)
        if unknown:
            message = f"{quoted(unknown[0])} is not a parameter of /metrics, which takes none"
            return error_response(PERF_FACE, invalid(param_name(unknown[0]), message))
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
