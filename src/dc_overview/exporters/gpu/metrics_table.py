"""The metric set of dc-exporter as data: name, type, help and the snapshot field it reads.

This table is the single list of per-GPU series; the collector renders it and the Grafana
dashboards are built from it. Names and labels follow NVIDIA dcgm-exporter so that community
dashboards work unchanged.

One deliberate difference: dcgm-exporter declares a few fields (energy, PCIe replays, ECC and
remapped-row totals) as counters without the `_total` suffix. Neither OpenMetrics nor
`promtool check metrics` accept that, so those keep their exact dcgm names (dashboards query
the names) and are declared as gauges; PromQL's rate()/increase() treat them the same.
`dcgm_type` records what dcgm-exporter declares, for readers of the dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass

# Label names exactly as dcgm-exporter writes them (order included).
GPU_LABELS = (
    "gpu",
    "UUID",
    "pci_bus_id",
    "device",
    "modelName",
    "Hostname",
    "DCGM_FI_DRIVER_VERSION",
)


@dataclass(frozen=True)
class MetricSpec:
    """One per-GPU metric: exposition name and type, help text, source field on GpuReadings.

    `extra_label` names a second label for fields that hold (label value, reading) pairs.
    """

    name: str
    type: str
    help: str
    source: str
    dcgm_type: str = "gauge"
    extra_label: str = ""


def _g(name: str, help_text: str, source: str, dcgm_type: str = "gauge") -> MetricSpec:
    return MetricSpec("DCGM_FI_DEV_" + name, "gauge", help_text, source, dcgm_type)


GPU_METRICS: tuple[MetricSpec, ...] = (
    _g("SM_CLOCK", "SM clock frequency (in MHz).", "sm_clock"),
    _g("MEM_CLOCK", "Memory clock frequency (in MHz).", "mem_clock"),
    _g("GPU_TEMP", "GPU temperature (in C).", "gpu_temp"),
    _g("MEMORY_TEMP", "Memory temperature (in C).", "memory_temp"),
    _g("POWER_USAGE", "Power draw (in W).", "power_usage"),
    _g("POWER_MGMT_LIMIT", "Power management limit (in W).", "power_mgmt_limit"),
    _g(
        "TOTAL_ENERGY_CONSUMPTION",
        "Total energy consumption since the driver was loaded (in mJ).",
        "total_energy_consumption",
        "counter",
    ),
    _g("GPU_UTIL", "GPU utilization (in %).", "gpu_util"),
    _g("MEM_COPY_UTIL", "Memory utilization (in %).", "mem_copy_util"),
    _g("ENC_UTIL", "Encoder utilization (in %).", "enc_util"),
    _g("DEC_UTIL", "Decoder utilization (in %).", "dec_util"),
    _g("FB_FREE", "Framebuffer memory free (in MiB).", "fb_free"),
    _g("FB_USED", "Framebuffer memory used (in MiB).", "fb_used"),
    _g("FAN_SPEED", "Fan speed (in % of maximum).", "fan_speed"),
    _g("PSTATE", "Performance state (P-state) 0-15; 0 is the highest.", "pstate"),
    _g(
        "PCIE_REPLAY_COUNTER",
        "Total number of PCIe retries.",
        "pcie_replay_counter",
        "counter",
    ),
    _g("XID_ERRORS", "Value of the last XID error encountered.", "xid_errors"),
    _g(
        "ECC_SBE_VOL_TOTAL",
        "Total number of single-bit volatile ECC errors.",
        "ecc_sbe_vol_total",
        "counter",
    ),
    _g(
        "ECC_DBE_VOL_TOTAL",
        "Total number of double-bit volatile ECC errors.",
        "ecc_dbe_vol_total",
        "counter",
    ),
    _g(
        "CORRECTABLE_REMAPPED_ROWS",
        "Number of remapped rows for correctable errors.",
        "correctable_remapped_rows",
        "counter",
    ),
    _g(
        "UNCORRECTABLE_REMAPPED_ROWS",
        "Number of remapped rows for uncorrectable errors.",
        "uncorrectable_remapped_rows",
        "counter",
    ),
    _g("MIG_MODE", "MIG mode: 1 enabled, 0 disabled.", "mig_mode"),
    # The extras dcgm-exporter does not have.
    _g(
        "VRAM_TEMP",
        "VRAM temperature (in C): NVML memory temperature, else the GPU's registers.",
        "vram_temp",
    ),
    _g(
        "HOT_SPOT_TEMP",
        "GPU hot spot (junction) temperature (in C).",
        "hot_spot_temp",
    ),
    MetricSpec(
        "DCGM_FI_DEV_CLOCKS_THROTTLE_REASON",
        "gauge",
        "Clock throttle (event) reason: 1 active, 0 not active.",
        "throttle_reasons",
        extra_label="reason",
    ),
    MetricSpec(
        "GPU_ERROR_STATE",
        "gauge",
        "GPU state: 1 OK, 2 error (lost, needs reset, off the bus), 0 unknown, 3 VM passthrough.",
        "error_state",
    ),
)

# MIG instances report their own framebuffer under the same names, with GPU_I_ID added.
MIG_LABELS = (*GPU_LABELS, "GPU_I_ID")
MIG_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", "fb_free"),
    MetricSpec("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", "fb_used"),
)

# Throttle reasons in NVML's bit order, with nvidia-smi's XML element suffix.
THROTTLE_REASONS: tuple[tuple[int, str, str], ...] = (
    (0x001, "GpuIdle", "gpu_idle"),
    (0x002, "ApplicationsClocksSetting", "applications_clocks_setting"),
    (0x004, "SwPowerCap", "sw_power_cap"),
    (0x008, "HwSlowdown", "hw_slowdown"),
    (0x010, "SyncBoost", "sync_boost"),
    (0x020, "SwThermalSlowdown", "sw_thermal_slowdown"),
    (0x040, "HwThermalSlowdown", "hw_thermal_slowdown"),
    (0x080, "HwPowerBrakeSlowdown", "hw_power_brake_slowdown"),
    (0x100, "DisplayClockSetting", "display_clocks_setting"),
)

# GPU_ERROR_STATE values (as the original dc-exporter defines them).
STATE_UNKNOWN = 0
STATE_OK = 1
STATE_ERROR = 2
STATE_PASSTHROUGH = 3

# The exporter's metrics about itself: name, type, help.
EXPORTER_METRICS: tuple[tuple[str, str, str], ...] = (
    ("dc_exporter_build_info", "gauge", "dc-exporter version and backend; always 1."),
    ("dc_exporter_up", "gauge", "1 when the last collection read the GPUs without error."),
    (
        "dc_exporter_collection_error",
        "gauge",
        "1 while the last collection failed, with the reason.",
    ),
    ("dc_exporter_collections", "counter", "Collections run since start."),
    ("dc_exporter_collection_errors", "counter", "Collections that failed since start."),
    (
        "dc_exporter_last_collection_timestamp_seconds",
        "gauge",
        "Unix time the last collection finished.",
    ),
    (
        "dc_exporter_collection_duration_seconds",
        "gauge",
        "How long the last collection took.",
    ),
    (
        "dc_exporter_snapshot_age_seconds",
        "gauge",
        "Age of the data served, measured at scrape time.",
    ),
    (
        "dc_exporter_gpus",
        "gauge",
        "GPUs by source: driver (reported attached), readable (read this time), pci (on the bus).",
    ),
    (
        "dc_exporter_gpus_missing",
        "gauge",
        "NVIDIA GPUs on PCI (not passed through to VMs) that the driver does not report.",
    ),
)


def all_metric_names() -> tuple[str, ...]:
    """Every metric name dc-exporter can expose (for dashboards and tests)."""
    names = [spec.name for spec in GPU_METRICS]
    names += [name for name, _, _ in EXPORTER_METRICS]
    return tuple(dict.fromkeys(names))
