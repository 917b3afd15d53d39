"""The dashboards, generated with grafana-foundation-sdk from the exporters' metric tables."""

from __future__ import annotations

import json
from collections.abc import Callable

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dc_overview.grafana.dashboards.fleet import fleet_overview
from dc_overview.grafana.dashboards.gpu_detail import gpu_detail_dashboard
from dc_overview.grafana.dashboards.node import node_detail
from dc_overview.grafana.dashboards.vastai import vastai_dashboard
from dc_overview.prometheus.rules import Thresholds

# File name (in Grafana's dashboards folder) -> builder.
DASHBOARDS: dict[str, Callable[[Thresholds], Dashboard]] = {
    "dc-overview-fleet.json": fleet_overview,
    "dc-overview-gpu.json": lambda _: gpu_detail_dashboard(),
    "dc-overview-node.json": lambda _: node_detail(),
    "dc-overview-vastai.json": lambda _: vastai_dashboard(),
}


def build_dashboards(thresholds: Thresholds | None = None) -> dict[str, Dashboard]:
    """File name -> dashboard model."""
    limits = thresholds or Thresholds()
    return {name: build(limits) for name, build in DASHBOARDS.items()}


def to_json(dashboard: Dashboard) -> str:
    """The dashboard as Grafana's JSON, stable (sorted keys) so unchanged files stay unchanged."""
    return (
        json.dumps(dashboard, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )
