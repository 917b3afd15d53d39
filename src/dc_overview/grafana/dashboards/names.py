"""Metric names for the dashboards, looked up in the exporters' own tables.

A name that is not in dc-exporter's metric table (or vastai-exporter's) raises KeyError while
the dashboards are generated, so a renamed metric breaks the build instead of a panel.
"""

from __future__ import annotations

from dc_overview.exporters.gpu.metrics_table import (
    EXPORTER_METRICS,
    GPU_METRICS,
    MetricSpec,
)
from dc_overview.exporters.vastai import metrics as vast_metrics
from dc_overview.prometheus.rules import thermal_reasons

GPU_SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in GPU_METRICS}

# Counters are exposed with the `_total` suffix (prometheus_client adds it).
EXPORTER_NAMES: dict[str, str] = {
    name: name + "_total" if kind == "counter" else name for name, kind, _ in EXPORTER_METRICS
}

THERMAL_REASONS = thermal_reasons()

# Families vastai-exporter builds in its collector rather than from the tables in metrics.py.
_VAST_COLLECTOR_NAMES = (
    "vast_machine_gpu_name",
    "vastai_machine_gpu_occupancy",
    "vastai_machine_gpu_idle",
    "vastai_machine_ErrorDescription",
    "vastai_exporter_up",
    "vastai_exporter_error",
    "vastai_exporter_last_success_timestamp_seconds",
    "vastai_exporter_api_errors_total",
)
VAST_NAMES = frozenset(
    [row[0] for row in vast_metrics.MACHINE_METRICS]
    + [row[0] for row in vast_metrics.ACCOUNT_METRICS]
    + [row[0] for row in vast_metrics.EARNINGS_METRICS]
    + [row[0] for row in vast_metrics.PER_MACHINE_EARNINGS]
    + list(_VAST_COLLECTOR_NAMES)
)


def gpu(name: str) -> str:
    """A per-GPU metric of dc-exporter's table, e.g. gpu("DCGM_FI_DEV_GPU_TEMP")."""
    if name not in GPU_SPECS:
        raise KeyError(f"{name} is not in dc-exporter's metric table")
    return name


def exporter(name: str) -> str:
    """One of dc-exporter's metrics about itself, as exposed (counters end in _total)."""
    try:
        return EXPORTER_NAMES[name]
    except KeyError:
        raise KeyError(f"{name} is not one of dc-exporter's own metrics") from None


def vast(name: str) -> str:
    """A vastai-exporter metric."""
    if name not in VAST_NAMES:
        raise KeyError(f"{name} is not a vastai-exporter metric")
    return name
