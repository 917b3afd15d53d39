"""Immutable records of one collection: per-GPU readings and the snapshot the scrapes render.

A reading is None when the GPU does not support it or did not report it; None is never
exported (a missing reading is absent from the exposition, not 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ReasonValues = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class GpuIdentity:
    """Who a GPU is. A GPU is identified by index and bus id; UUIDs may be placeholders."""

    index: int
    uuid: str = ""
    pci_bus_id: str = ""
    device: str = ""
    model: str = ""
    pci_device_id: int | None = None


@dataclass(frozen=True)
class GpuReadings:
    """One GPU's values in the units of the metric table (C, W, mJ, MHz, %, MiB, counts)."""

    gpu_temp: float | None = None
    memory_temp: float | None = None
    vram_temp: float | None = None
    hot_spot_temp: float | None = None
    power_usage: float | None = None
    power_mgmt_limit: float | None = None
    total_energy_consumption: float | None = None
    sm_clock: float | None = None
    mem_clock: float | None = None
    gpu_util: float | None = None
    mem_copy_util: float | None = None
    enc_util: float | None = None
    dec_util: float | None = None
    fb_free: float | None = None
    fb_used: float | None = None
    fan_speed: float | None = None
    pstate: float | None = None
    pcie_replay_counter: float | None = None
    xid_errors: float | None = None
    ecc_sbe_vol_total: float | None = None
    ecc_dbe_vol_total: float | None = None
    correctable_remapped_rows: float | None = None
    uncorrectable_remapped_rows: float | None = None
    mig_mode: float | None = None
    error_state: float | None = None
    throttle_reasons: ReasonValues = ()


@dataclass(frozen=True)
class MigInstance:
    """A MIG GPU instance and its share of the framebuffer."""

    gpu_instance_id: int
    compute_instance_id: int | None = None
    fb_free: float | None = None
    fb_used: float | None = None


@dataclass(frozen=True)
class GpuReading:
    """A GPU as read by a backend: identity, readings and MIG instances."""

    identity: GpuIdentity
    readings: GpuReadings = field(default_factory=GpuReadings)
    mig_instances: tuple[MigInstance, ...] = ()


@dataclass(frozen=True)
class BackendResult:
    """What a backend returns: the GPUs, the driver version, and how many GPUs the driver has."""

    gpus: tuple[GpuReading, ...] = ()
    driver_version: str = ""
    attached_gpus: int | None = None


@dataclass(frozen=True)
class PciGpu:
    """An NVIDIA display or 3D controller on the PCI bus, with the kernel driver bound to it."""

    address: str
    device_id: int | None = None
    driver: str = ""


@dataclass(frozen=True)
class CollectionError:
    """Why a collection failed: a short reason code (label value) and a message for the log."""

    reason: str
    message: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The last collection, rendered by every scrape until the next one replaces it."""

    gpus: tuple[GpuReading, ...] = ()
    driver_version: str = ""
    attached_gpus: int | None = None
    pci_gpus: tuple[PciGpu, ...] | None = None
    error: CollectionError | None = None
    collected_at: float = 0.0
    duration_seconds: float = 0.0
    collections: int = 0
    collection_errors: int = 0
    hostname: str = ""
    backend: str = ""
