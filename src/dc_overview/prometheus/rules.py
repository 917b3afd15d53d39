"""Prometheus alert rules, rendered from the template files in templates/prometheus/rules/."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from dc_overview.exporters.gpu.metrics_table import STATE_ERROR, THROTTLE_REASONS
from dc_overview.fsutil import atomic_write
from dc_overview.templating import render

RULES_TEMPLATES = "prometheus/rules"
# Rule files in the order they are rendered: <name>.yml from <name>.yml.j2.
RULE_FILES = ("dc-overview-gpu", "dc-overview-hosts")
# The jobs of the GPU exporters and of the other exporters (prometheus.targets.JOBS).
GPU_JOBS = "dc-exporter|dcgm-exporter"
EXPORTER_JOBS = "dc-exporter|dcgm-exporter|vastai"
NODE_JOB = "node"


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds; the defaults suit data-centre GPUs (degrees Celsius, percent)."""

    gpu_core_temp_c: int = 85
    gpu_hotspot_temp_c: int = 100
    gpu_vram_temp_c: int = 100
    disk_free_percent: int = 10


def thermal_reasons() -> str:
    """The throttle reasons that mean heat, as a regex (from dc-exporter's table)."""
    return "|".join(label for _, label, _ in THROTTLE_REASONS if "Thermal" in label)


def rule_context(thresholds: Thresholds) -> dict[str, object]:
    return {
        **asdict(thresholds),
        "gpu_jobs": GPU_JOBS,
        "exporter_jobs": EXPORTER_JOBS,
        "node_job": NODE_JOB,
        "thermal_reasons": thermal_reasons(),
        "state_error": STATE_ERROR,
    }


def render_rules(thresholds: Thresholds | None = None) -> dict[str, str]:
    """File name -> rendered rule file."""
    context = rule_context(thresholds or Thresholds())
    return {
        f"{name}.yml": render(f"{RULES_TEMPLATES}/{name}.yml.j2", **context) for name in RULE_FILES
    }


def write_rules(rules_dir: Path, thresholds: Thresholds | None = None) -> list[Path]:
    """Write every rule file into `rules_dir` atomically; returns the paths written."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_rules(thresholds).items():
        path = rules_dir / name
        atomic_write(path, text)
        paths.append(path)
    return paths
