"""Dashboard files for Grafana's file provisioning, written atomically."""

from __future__ import annotations

from pathlib import Path

from dc_overview.fsutil import atomic_write
from dc_overview.grafana.dashboards import build_dashboards, to_json
from dc_overview.prometheus.rules import Thresholds

# Only files with this prefix are ours: others in the folder are left alone.
PREFIX = "dc-overview-"


def render_dashboards(thresholds: Thresholds | None = None) -> dict[str, str]:
    """File name -> dashboard JSON."""
    return {name: to_json(board) for name, board in build_dashboards(thresholds).items()}


def write_dashboards(directory: Path, thresholds: Thresholds | None = None) -> list[Path]:
    """Write every dashboard into `directory` (0644) and drop our files no longer generated."""
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_dashboards(thresholds)
    paths = []
    for name, text in rendered.items():
        path = directory / name
        atomic_write(path, text)
        paths.append(path)
    for stale in directory.glob(f"{PREFIX}*.json"):
        if stale.name not in rendered:
            stale.unlink()
    return paths
