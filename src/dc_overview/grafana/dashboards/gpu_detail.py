"""GPU detail: one panel per metric of dc-exporter's table, for one server and its GPUs."""

from __future__ import annotations

import re

from grafana_foundation_sdk.models.dashboard import Dashboard

from dc_overview.exporters.gpu.metrics_table import GPU_METRICS, MetricSpec
from dc_overview.grafana.dashboards import panels as p
from dc_overview.grafana.dashboards.names import exporter, gpu
from dc_overview.prometheus.rules import GPU_JOBS

UID = "dc-overview-gpu"
SEL = 'instance=~"$server", gpu=~"$gpu"'
HOST = 'instance=~"$server"'

# Sections of the dashboard: a row title and the metrics of the table it shows. Every metric
# of GPU_METRICS is in exactly one section (tests check it).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Temperatures", ("GPU_TEMP", "HOT_SPOT_TEMP", "VRAM_TEMP", "MEMORY_TEMP")),
    ("Power", ("POWER_USAGE", "POWER_MGMT_LIMIT", "TOTAL_ENERGY_CONSUMPTION", "PSTATE")),
    ("Load", ("GPU_UTIL", "MEM_COPY_UTIL", "ENC_UTIL", "DEC_UTIL", "FB_USED", "FB_FREE")),
    ("Clocks and cooling", ("SM_CLOCK", "MEM_CLOCK", "FAN_SPEED", "CLOCKS_THROTTLE_REASON")),
    (
        "Errors",
        (
            "XID_ERRORS",
            "GPU_ERROR_STATE",
            "ECC_SBE_VOL_TOTAL",
            "ECC_DBE_VOL_TOTAL",
            "CORRECTABLE_REMAPPED_ROWS",
            "UNCORRECTABLE_REMAPPED_ROWS",
            "PCIE_REPLAY_COUNTER",
            "MIG_MODE",
        ),
    ),
)
UNITS = {"C": "celsius", "W": "watt", "%": "percent", "MHz": "rotmhz", "MiB": "mbytes"}
# dc-exporter's own metrics, shown as graphs (the rest are tables or left out, see below).
EXPORTER_GRAPHS = (
    ("dc_exporter_up", "Collection works (1) or fails (0)", "short", "{{instance}}"),
    ("dc_exporter_gpus", "GPUs by source", "short", "{{source}}"),
    ("dc_exporter_gpus_missing", "GPUs on PCI the driver does not report", "short", "missing"),
    ("dc_exporter_collection_duration_seconds", "Collection time", "s", "{{instance}}"),
    ("dc_exporter_snapshot_age_seconds", "Age of the data served", "s", "{{instance}}"),
)
# Left out: the snapshot age above shows the same as the last collection's timestamp.
EXPORTER_LEFT_OUT = ("dc_exporter_last_collection_timestamp_seconds",)


def full_name(short: str) -> str:
    """`GPU_TEMP` -> `DCGM_FI_DEV_GPU_TEMP`; names outside the DCGM family stay as they are."""
    for candidate in ("DCGM_FI_DEV_" + short, short):
        try:
            return gpu(candidate)
        except KeyError:
            continue
    raise KeyError(f"{short} is not in dc-exporter's metric table")


def spec_of(short: str) -> MetricSpec:
    name = full_name(short)
    return next(spec for spec in GPU_METRICS if spec.name == name)


def title_and_unit(spec: MetricSpec) -> tuple[str, str]:
    """The panel title and Grafana unit from the metric's help text, e.g. "... (in C)."."""
    match = re.search(r"\s*\(in ([^)]+)\)", spec.help)
    title = spec.help[: match.start()] if match else re.split(r"[:.;]", spec.help)[0]
    return title, UNITS.get(match.group(1), "short") if match else "short"


def metric_graph(short: str) -> object:
    spec = spec_of(short)
    title, unit = title_and_unit(spec)
    selector, legend = SEL, "GPU {{gpu}}"
    if spec.extra_label:
        legend += f" {{{{{spec.extra_label}}}}}"
    if spec.name in ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"):
        legend += " {{GPU_I_ID}}"
    if spec.name == "GPU_ERROR_STATE":  # GPUs the driver lost have no index: show them all
        selector, legend = HOST, "{{pci_bus_id}} GPU {{gpu}}"
    query = p.query(f"{spec.name}{{{selector}}}", legend)
    return p.graph(title, unit, query, description=f"{spec.name}: {spec.help}")


def exporter_panels() -> list:
    graphs = [
        p.graph(title, unit, p.query(f"{exporter(name)}{{{HOST}}}", legend))
        for name, title, unit, legend in EXPORTER_GRAPHS
    ]
    rates = p.graph(
        "Collections per second",
        "short",
        p.query(f"rate({exporter('dc_exporter_collections')}{{{HOST}}}[$__rate_interval])", "all"),
        p.query(
            f"rate({exporter('dc_exporter_collection_errors')}{{{HOST}}}[$__rate_interval])",
            "failed",
            "B",
        ),
    )
    build_info = p.info_table("Exporter version", f"{exporter('dc_exporter_build_info')}{{{HOST}}}")
    reasons = p.info_table(
        "Why collection fails now", f"{exporter('dc_exporter_collection_error')}{{{HOST}}}"
    )
    return [*graphs, rates, build_info, reasons]


def exporter_metrics_shown() -> set[str]:
    """dc-exporter's own metrics that the dashboard shows (for the completeness test)."""
    shown = {name for name, _, _, _ in EXPORTER_GRAPHS}
    return shown | {
        "dc_exporter_collections",
        "dc_exporter_collection_errors",
        "dc_exporter_build_info",
        "dc_exporter_collection_error",
    }


def gpu_detail_dashboard() -> Dashboard:
    server = p.variable(
        "server", "Server", f'label_values(up{{job=~"{GPU_JOBS}"}}, instance)', multi=False
    )
    gpus = p.variable("gpu", "GPU", f"label_values({gpu('DCGM_FI_DEV_GPU_TEMP')}{{{HOST}}}, gpu)")
    board = (
        p.dashboard(UID, "GPU detail", "Every reading of dc-exporter for one server's GPUs.")
        .with_variable(server)
        .with_variable(gpus)
    )
    items: list = []
    for title, metrics in SECTIONS:
        items.append(p.row(title))
        items.extend(metric_graph(short) for short in metrics)
    items.append(p.row("dc-exporter"))
    items.extend(exporter_panels())
    return p.build(board, items)
