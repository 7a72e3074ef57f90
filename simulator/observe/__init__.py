"""Watching the simulator: Prometheus metrics and the dashboard, both fed by the request journal's records."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Route

from simulator.control.journal import Journal
from simulator.keys import KeyRegistry
from simulator.observe import dashboard
from simulator.observe.metrics import Metrics
from simulator.observe.route_names import RouteNames
from simulator.observe.tiers import TierOf


def observing(journal: Journal, keys: KeyRegistry, faces: Sequence[BaseRoute], workers: int) -> list[Route]:
    """The routes of `/metrics` and the dashboard; the metrics count what `journal` records, as its batch listener,
    labelling a request by the route of `faces` that serves its path, and summing all `workers`' figures."""
    metrics = Metrics(TierOf(keys), RouteNames(faces), flush=journal.flush, shared=workers > 1)
    journal.batch_listeners.append(metrics.observe)
    return [*metrics.routes(), *dashboard.routes()]
