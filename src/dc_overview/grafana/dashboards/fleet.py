"""Fleet overview: every GPU of every server, one row per server (repeated by the variable)."""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dc_overview.exporters.gpu.metrics_table import STATE_ERROR
from dc_overview.grafana.dashboards import panels as p
from dc_overview.grafana.dashboards.names import THERMAL_REASONS, exporter, gpu
from dc_overview.prometheus.rules import GPU_JOBS, Thresholds

UID = "dc-overview-fleet"
SEL = 'instance=~"$server"'
GPU_BY = "instance, gpu, modelName"
LEGEND = "GPU {{gpu}}"
THERMAL = f'reason=~"{THERMAL_REASONS}"'
WHOLE_GPU = 'GPU_I_ID=""'  # MIG instances report framebuffer under the same names
ALARM = ((None, "green"), (1, "red"))
GREEN = ((None, "green"),)


def _m(name: str, extra: str = "") -> str:
    """`name{instance=~"$server"[, extra]}` for a per-GPU metric of dc-exporter's table."""
    return f"{gpu(name)}{{{SEL}{', ' + extra if extra else ''}}}"


def _hot(limit: int) -> tuple[tuple[float | None, str], ...]:
    return ((None, "green"), (limit - 10, "orange"), (limit, "red"))


def _stats(rows: list[tuple[str, str, str, tuple]]) -> list:
    return [p.single(title, unit, p.query(expr), steps) for title, unit, expr, steps in rows]


def _counts() -> list:
    """Fleet-wide numbers: servers, GPUs, missing, errors, exporters down."""
    temp = _m("DCGM_FI_DEV_GPU_TEMP")
    missing = f"{exporter('dc_exporter_gpus_missing')}{{{SEL}}}"
    in_error = f"{gpu('GPU_ERROR_STATE')}{{{SEL}}} == {STATE_ERROR}"
    throttled = f"max by ({GPU_BY}) ({_m('DCGM_FI_DEV_CLOCKS_THROTTLE_REASON', THERMAL)}) == 1"
    down = f'up{{job=~"{GPU_JOBS}", {SEL}}} == 0'
    return _stats(
        [
            ("Servers", "short", f"count(count by (instance) ({temp}))", GREEN),
            ("GPUs", "short", f"count({temp})", GREEN),
            ("GPUs missing", "short", f"sum({missing})", ALARM),
            ("GPUs in error", "short", f"count({in_error}) or vector(0)", ALARM),
            ("Thermal throttling", "short", f"count({throttled}) or vector(0)", ALARM),
            ("Exporters down", "short", f"count({down}) or vector(0)", ALARM),
        ]
    )


def _extremes(limits: Thresholds) -> list:
    """The hottest reading of each sensor, the fleet's power and mean utilisation."""
    xid = f"count({_m('DCGM_FI_DEV_XID_ERRORS')} > 0) or vector(0)"
    return _stats(
        [
            ("Hottest core", "celsius", f"max({_m('DCGM_FI_DEV_GPU_TEMP')})",
             _hot(limits.gpu_core_temp_c)),
            ("Hottest hot spot", "celsius", f"max({_m('DCGM_FI_DEV_HOT_SPOT_TEMP')})",
             _hot(limits.gpu_hotspot_temp_c)),
            ("Hottest VRAM", "celsius", f"max({_m('DCGM_FI_DEV_VRAM_TEMP')})",
             _hot(limits.gpu_vram_temp_c)),
            ("Power", "watt", f"sum({_m('DCGM_FI_DEV_POWER_USAGE')})", GREEN),
            ("Mean utilisation", "percent", f"avg({_m('DCGM_FI_DEV_GPU_UTIL')})", GREEN),
            ("GPUs with an XID", "short", xid, ALARM),
        ]
    )  # fmt: skip


def _every_gpu_table() -> object:
    """One row per GPU (whatever the count), one column per reading."""
    used = _m("DCGM_FI_DEV_FB_USED", WHOLE_GPU)
    free = _m("DCGM_FI_DEV_FB_FREE", WHOLE_GPU)
    columns = [
        ("Core", "celsius", _m("DCGM_FI_DEV_GPU_TEMP")),
        ("Hot spot", "celsius", _m("DCGM_FI_DEV_HOT_SPOT_TEMP")),
        ("VRAM", "celsius", _m("DCGM_FI_DEV_VRAM_TEMP")),
        ("Power", "watt", _m("DCGM_FI_DEV_POWER_USAGE")),
        ("Utilisation", "percent", _m("DCGM_FI_DEV_GPU_UTIL")),
        ("Memory used", "percent", f"100 * {used} / ({used} + {free})"),
        ("Fan", "percent", _m("DCGM_FI_DEV_FAN_SPEED")),
        ("Thermal throttle", "bool_on_off", _m("DCGM_FI_DEV_CLOCKS_THROTTLE_REASON", THERMAL)),
        ("Last XID", "short", _m("DCGM_FI_DEV_XID_ERRORS")),
        ("State (1 ok, 2 error)", "short", f"{gpu('GPU_ERROR_STATE')}{{{SEL}}}"),
    ]
    return p.merged_table("Every GPU", columns, GPU_BY)


def _errors_graph() -> object:
    return p.graph(
        "Errors",
        "short",
        p.query(_m("DCGM_FI_DEV_XID_ERRORS"), LEGEND + " last XID", "A"),
        p.query(f"{gpu('GPU_ERROR_STATE')}{{{SEL}}}", "{{pci_bus_id}} state", "B"),
        p.query(_m("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"), LEGEND + " ECC double-bit", "C"),
        p.query(_m("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"), LEGEND + " bad rows", "D"),
        description="Last XID (0 = none), GPU state (1 ok, 2 error), uncorrectable errors.",
    )


def _server_row_panels() -> list:
    """Time series of one server's GPUs; the row repeats for every selected server."""
    series = [
        ("Core temperature", "celsius", _m("DCGM_FI_DEV_GPU_TEMP"), LEGEND),
        ("Hot spot temperature", "celsius", _m("DCGM_FI_DEV_HOT_SPOT_TEMP"), LEGEND),
        ("VRAM temperature", "celsius", _m("DCGM_FI_DEV_VRAM_TEMP"), LEGEND),
        ("Power", "watt", _m("DCGM_FI_DEV_POWER_USAGE"), LEGEND),
        ("Utilisation", "percent", _m("DCGM_FI_DEV_GPU_UTIL"), LEGEND),
        ("Memory used", "mbytes", _m("DCGM_FI_DEV_FB_USED", WHOLE_GPU), LEGEND),
        ("Throttling (1 = active)", "short",
         _m("DCGM_FI_DEV_CLOCKS_THROTTLE_REASON", 'reason!="GpuIdle"'), LEGEND + " {{reason}}"),
        ("SM clock", "rotmhz", _m("DCGM_FI_DEV_SM_CLOCK"), LEGEND),
    ]  # fmt: skip
    graphs = [p.graph(title, unit, p.query(expr, legend)) for title, unit, expr, legend in series]
    return [*graphs, _errors_graph()]


def fleet_overview(limits: Thresholds | None = None) -> Dashboard:
    """The fleet at a glance; works for any number of servers and GPUs."""
    limits = limits or Thresholds()
    servers = p.variable("server", "Server", f'label_values(up{{job=~"{GPU_JOBS}"}}, instance)')
    board = p.dashboard(
        UID,
        "GPU fleet overview",
        "Every GPU of every server: temperatures, power, utilisation, memory, throttling, errors.",
    ).with_variable(servers)
    items = [
        p.row("Fleet"),
        *_counts(),
        *_extremes(limits),
        _every_gpu_table(),
        p.row("$server", repeat="server"),
        *_server_row_panels(),
    ]
    return p.build(board, items)
