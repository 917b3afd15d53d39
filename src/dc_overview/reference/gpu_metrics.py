"""dc-exporter's metrics, generated from its metric table (`exporters.gpu.metrics_table`)."""

from __future__ import annotations

import dataclasses

from prometheus_client.core import Metric

from dc_overview.exporters.gpu.metrics_table import (
    EXPORTER_METRICS,
    GPU_LABELS,
    GPU_METRICS,
    MIG_METRICS,
    THROTTLE_REASONS,
)
from dc_overview.exporters.gpu.render import dynamic_families, static_families
from dc_overview.exporters.gpu.snapshot import (
    CollectionError,
    GpuIdentity,
    GpuReading,
    GpuReadings,
    PciGpu,
    Snapshot,
)
from dc_overview.reference.markdown import code, table

GPU_HEADERS = ("metric", "type", "extra labels", "meaning")
SELF_HEADERS = ("metric", "type", "labels", "meaning")


def _gpu_rows() -> list[tuple[str, str, str, str]]:
    mig = {spec.name for spec in MIG_METRICS}
    rows = []
    for spec in GPU_METRICS:
        kind = spec.type
        if spec.dcgm_type != spec.type:
            kind += f" (dcgm-exporter: {spec.dcgm_type})"
        labels = [code(spec.extra_label)] if spec.extra_label else []
        if spec.name in mig:
            labels.append(f"{code('GPU_I_ID')} on MIG instances")
        rows.append((code(spec.name), kind, ", ".join(labels), spec.help))
    return rows


def _sample_snapshot() -> Snapshot:
    """One GPU with every reading, a GPU missing from the driver, and a failed collection."""
    readings = {f.name: 1.0 for f in dataclasses.fields(GpuReadings)}
    readings["throttle_reasons"] = ((THROTTLE_REASONS[0][1], 1.0),)
    gpu = GpuReading(GpuIdentity(0, pci_bus_id="00000000:01:00.0"), GpuReadings(**readings))
    return Snapshot(
        gpus=(gpu,),
        pci_gpus=(PciGpu("0000:01:00.0"), PciGpu("0000:02:00.0", driver="nvidia")),
        error=CollectionError("no_gpus"),
        collected_at=1.0,
        duration_seconds=0.1,
        hostname="worker",
        backend="nvml",
    )


def _self_families() -> dict[str, Metric]:
    snapshot = _sample_snapshot()
    families = static_families(snapshot) + dynamic_families(snapshot, now=2.0, stalled=True)
    return {family.name: family for family in families}


def _exposed_name(family: Metric) -> str:
    """The name a scrape shows: counters get `_total`."""
    return min(s.name for s in family.samples if not s.name.endswith("_created"))


def _self_rows() -> list[tuple[str, str, str, str]]:
    rendered = _self_families()
    rows = []
    for name, kind, help_text in EXPORTER_METRICS:
        family = rendered.get(name)
        labels = list(dict.fromkeys(k for s in family.samples for k in s.labels)) if family else []
        exposed = _exposed_name(family) if family else name
        rows.append((code(exposed), kind, ", ".join(code(label) for label in labels), help_text))
    return rows


def render_gpu_metrics() -> str:
    """Per-GPU metrics, the label set, throttle reasons, and the exporter's own metrics."""
    labels = ", ".join(code(label) for label in GPU_LABELS)
    reasons = ", ".join(code(name) for _, name, _ in THROTTLE_REASONS)
    return (
        f"Every per-GPU series carries the labels {labels}.\n\n"
        + table(GPU_HEADERS, _gpu_rows())
        + f"\n\nValues of the {code('reason')} label: {reasons}.\n\n"
        + "The exporter's metrics about itself:\n\n"
        + table(SELF_HEADERS, _self_rows())
        + "\n"
    )
