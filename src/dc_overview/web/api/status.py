"""Read-only views of the monitoring stack: Prometheus targets and Grafana status."""

from __future__ import annotations

from flask import jsonify

from dc_overview.prometheus.status import targets_with_health
from dc_overview.web.api import bp
from dc_overview.web.context import services


@bp.get("/prometheus/targets")
def prometheus_targets():
    svc = services()
    return jsonify(targets_with_health(svc.targets.read(), svc.prometheus))


@bp.get("/grafana/status")
def grafana_status():
    return jsonify(services().grafana.status())
