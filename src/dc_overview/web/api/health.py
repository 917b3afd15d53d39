"""/api/health: the one endpoint that needs no authentication."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy.exc import SQLAlchemyError

from dc_overview import __version__
from dc_overview.prometheus.client import PrometheusUnavailable
from dc_overview.web.api import bp
from dc_overview.web.context import services


@bp.get("/health")
def health():
    checks: dict[str, dict] = {}
    reasons: list[str] = []
    try:
        services().db.ping()
        checks["database"] = {"ok": True}
    except SQLAlchemyError as exc:
        checks["database"] = {"ok": False}
        reasons.append(f"database unreachable ({type(exc).__name__})")
    try:
        services().prometheus.ready()
        checks["prometheus"] = {"ok": True}
    except PrometheusUnavailable:
        checks["prometheus"] = {"ok": False}
        reasons.append(f"Prometheus not reachable at {services().settings.prometheus_url}")
    body = {
        "status": "degraded" if reasons else "ok",
        "version": __version__,
        "checks": checks,
        "reasons": reasons,
    }
    return jsonify(body), 200 if checks["database"]["ok"] else 503
