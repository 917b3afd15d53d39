"""vastai-exporter's metrics: its tables (`exporters.vastai.metrics`) rendered by its collector.

The collector runs on a sample state that fills every field the tables read, so the list shows
exactly the names, types and labels a scrape shows.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from dc_overview.exporters.vastai.collector import (
    EndpointState,
    account_families,
    exporter_families,
    machine_families,
)
from dc_overview.exporters.vastai.metrics import (
    ACCOUNT_METRICS,
    EARNINGS_METRICS,
    MACHINE_METRICS,
    PER_MACHINE_EARNINGS,
)
from dc_overview.reference.markdown import code, table

HEADERS = ("metric", "type", "labels", "meaning")


def _sample_state() -> dict[str, dict[str, EndpointState]]:
    machine = {field: 1 for _, _, field, _ in MACHINE_METRICS}
    machine |= {"machine_id": 1, "hostname": "h", "gpu_name": "RTX 4090", "num_gpus": 1}
    machine |= {"gpu_occupancy": "x D", "error_description": "error"}
    earnings: dict = {"per_machine": [{"machine_id": 1}]}
    for _, _, section, field in EARNINGS_METRICS:
        earnings.setdefault(section, {})[field] = 1
    for _, _, field in PER_MACHINE_EARNINGS:
        earnings["per_machine"][0][field] = 1
    user = {"id": 1} | {field: 1 for _, _, field in ACCOUNT_METRICS}
    return {
        "account": {
            "user": EndpointState(user, "", 1.0),
            "machines": EndpointState([machine], "", 1.0),
            "earnings": EndpointState(earnings, "http_500", 1.0, 1),
        }
    }


def vastai_families() -> list[Metric]:
    """Every family the collector renders, in its order."""
    state = _sample_state()
    return account_families(state) + machine_families(state) + exporter_families(state)


def _row(family: Metric) -> tuple[str, str, str, str]:
    names = sorted({s.name for s in family.samples if not s.name.endswith("_created")})
    labels = list(dict.fromkeys(key for sample in family.samples for key in sample.labels))
    return (
        ", ".join(code(name) for name in names),
        family.type,
        ", ".join(code(label) for label in labels),
        family.documentation,
    )


def render_vastai_metrics() -> str:
    """The Markdown table of vastai-exporter's metrics."""
    return table(HEADERS, [_row(family) for family in vastai_families()]) + "\n"
