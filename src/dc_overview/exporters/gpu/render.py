"""Turn a snapshot into Prometheus metric families, following the metric table."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..version import VERSION
from .metrics_table import (
    EXPORTER_METRICS,
    GPU_LABELS,
    GPU_METRICS,
    MIG_METRICS,
    STATE_ERROR,
    STATE_PASSTHROUGH,
    MetricSpec,
)
from .pci import bus_key, is_passthrough, nvml_bus_id
from .snapshot import GpuIdentity, PciGpu, Snapshot

_HELP = {name: help_text for name, _, help_text in EXPORTER_METRICS}

# Failures after which GPUs on the bus are really unusable (not just unread this time).
DEFINITE_REASONS = frozenset(
    (
        "no_gpus",
        "driver_not_loaded",
        "driver_library_mismatch",
        "nvml_library_not_found",
        "nvml_not_installed",
        "nvidia_smi_not_found",
    )
)


def _labels(identity: GpuIdentity, snapshot: Snapshot) -> dict[str, str]:
    values = (
        str(identity.index),
        identity.uuid,
        identity.pci_bus_id,
        identity.device,
        identity.model,
        snapshot.hostname,
        snapshot.driver_version,
    )
    return dict(zip(GPU_LABELS, values))  # noqa: B905 - Python 3.9 has no zip(strict=)


def missing_gpus(snapshot: Snapshot) -> tuple[PciGpu, ...] | None:
    """GPUs on PCI the driver does not report; None when that cannot be told this time."""
    if snapshot.pci_gpus is None:
        return None
    if snapshot.error is not None and snapshot.error.reason not in DEFINITE_REASONS:
        return None
    seen = {bus_key(gpu.identity.pci_bus_id) for gpu in snapshot.gpus}
    if None in seen:
        return None
    return tuple(gpu for gpu in snapshot.pci_gpus if bus_key(gpu.address) not in seen)


def _gpu_family(spec: MetricSpec, snapshot: Snapshot) -> Metric:
    family = Metric(spec.name, spec.help, spec.type)
    for gpu in snapshot.gpus:
        value = getattr(gpu.readings, spec.source)
        if value is None:
            continue
        labels = _labels(gpu.identity, snapshot)
        if spec.extra_label:
            for label_value, reading in value:
                family.add_sample(spec.name, {**labels, spec.extra_label: label_value}, reading)
        else:
            family.add_sample(spec.name, labels, value)
    return family


def _add_mig_samples(family: Metric, spec: MetricSpec, snapshot: Snapshot) -> None:
    for gpu in snapshot.gpus:
        labels = _labels(gpu.identity, snapshot)
        for instance in gpu.mig_instances:
            value = getattr(instance, spec.source)
            if value is not None:
                mig_labels = {**labels, "GPU_I_ID": str(instance.gpu_instance_id)}
                family.add_sample(spec.name, mig_labels, value)


def _add_missing_states(family: Metric, snapshot: Snapshot) -> None:
    for pci_gpu in missing_gpus(snapshot) or ():
        identity = GpuIdentity(index=-1, pci_bus_id=nvml_bus_id(pci_gpu.address))
        labels = {**_labels(identity, snapshot), "gpu": ""}
        state = STATE_PASSTHROUGH if is_passthrough(pci_gpu) else STATE_ERROR
        family.add_sample(family.name, labels, float(state))


def gpu_families(snapshot: Snapshot) -> list[Metric]:
    """The per-GPU families of the metric table; families without samples are left out."""
    mig_sources = {spec.name: spec for spec in MIG_METRICS}
    families = []
    for spec in GPU_METRICS:
        family = _gpu_family(spec, snapshot)
        if spec.name in mig_sources:
            _add_mig_samples(family, mig_sources[spec.name], snapshot)
        if spec.name == "GPU_ERROR_STATE":
            _add_missing_states(family, snapshot)
        if family.samples:
            families.append(family)
    return families


def _gauge(name: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, _HELP[name], labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def exporter_families(snapshot: Snapshot) -> list[Metric]:
    """The exporter's metrics about itself that depend only on the snapshot."""
    families: list[Metric] = [
        _gauge("dc_exporter_build_info", 1.0, version=VERSION, backend=snapshot.backend)
    ]
    for name, value in (
        ("dc_exporter_collections", snapshot.collections),
        ("dc_exporter_collection_errors", snapshot.collection_errors),
    ):
        families.append(CounterMetricFamily(name, _HELP[name], value=value))
    if snapshot.collected_at:
        families.append(
            _gauge("dc_exporter_last_collection_timestamp_seconds", snapshot.collected_at)
        )
        families.append(
            _gauge("dc_exporter_collection_duration_seconds", snapshot.duration_seconds)
        )
    counts = GaugeMetricFamily("dc_exporter_gpus", _HELP["dc_exporter_gpus"], labels=["source"])
    driver = snapshot.attached_gpus if snapshot.attached_gpus is not None else len(snapshot.gpus)
    counts.add_metric(["driver"], driver)
    counts.add_metric(["readable"], len(snapshot.gpus))
    if snapshot.pci_gpus is not None:
        counts.add_metric(["pci"], len(snapshot.pci_gpus))
    families.append(counts)
    missing = missing_gpus(snapshot)
    if missing is not None:
        lost = [gpu for gpu in missing if not is_passthrough(gpu)]
        families.append(_gauge("dc_exporter_gpus_missing", float(len(lost))))
    return families


def static_families(snapshot: Snapshot) -> list[Metric]:
    """Everything that depends on the snapshot alone (rendered once per snapshot)."""
    return gpu_families(snapshot) + exporter_families(snapshot)


def dynamic_families(snapshot: Snapshot, now: float, stalled: bool) -> list[Metric]:
    """What depends on the time of the scrape: up, the error reasons, the data's age."""
    reasons = [snapshot.error.reason] if snapshot.error is not None else []
    if stalled:
        reasons.append("collection_stalled")
    families: list[Metric] = [_gauge("dc_exporter_up", 0.0 if reasons else 1.0)]
    if reasons:
        errors = GaugeMetricFamily(
            "dc_exporter_collection_error", _HELP["dc_exporter_collection_error"], labels=["reason"]
        )
        for reason in reasons:
            errors.add_metric([reason], 1.0)
        families.append(errors)
    if snapshot.collected_at:
        age = max(0.0, now - snapshot.collected_at)
        families.append(_gauge("dc_exporter_snapshot_age_seconds", age))
    return families
