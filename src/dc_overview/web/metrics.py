"""The app's own /metrics: inventory gauges and a request latency histogram."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dc_overview.prometheus.targets import target_groups
from dc_overview.services import Services

bp = Blueprint("metrics", __name__)


class InventoryCollector(Collector):
    """Reads the inventory at scrape time, so the figures are never stale."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self):
        servers = self.services.fleet.list_servers()
        total = GaugeMetricFamily("dc_overview_servers", "Servers in the inventory")
        total.add_metric([], len(servers))
        yield total
        targets = GaugeMetricFamily(
            "dc_overview_targets", "Targets Prometheus is told about, per job", labels=["job"]
        )
        for job, groups in target_groups(servers).items():
            targets.add_metric([job], len(groups))
        yield targets


def install(app: Flask) -> None:
    registry = CollectorRegistry()
    registry.register(InventoryCollector(app.extensions["dc_overview"]))
    latency = Histogram(
        "dc_overview_request_duration_seconds",
        "Time to answer an HTTP request",
        ["method", "endpoint", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    app.extensions["dc_overview_metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            latency.labels(
                request.method, request.endpoint or "unmatched", str(response.status_code)
            ).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    registry = current_app.extensions["dc_overview_metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
