"""`dc-overview render prometheus`: write prometheus.yml and the target files again."""

from __future__ import annotations

import click

from dc_overview.cli.common import console, with_services
from dc_overview.prometheus.client import PrometheusUnavailable
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.services import Services


@click.group("render")
def group() -> None:
    """Render files derived from the inventory."""


@group.command("prometheus")
@click.option("--reload", "reload_", is_flag=True, help="Ask Prometheus to reload its config.")
@with_services
def prometheus(services: Services, reload_: bool) -> None:
    """Write prometheus.yml and every job's target file from the inventory."""
    path = write_prometheus_config(services.settings)
    changed = services.targets.publish()
    console.print(f"Wrote {path}")
    console.print(f"Target files in {services.settings.targets_dir} (changed: {changed or 'none'})")
    if reload_:
        try:
            services.prometheus.reload()
        except PrometheusUnavailable as exc:
            raise click.ClickException(
                f"{exc}. Is Prometheus running with --web.enable-lifecycle?"
            ) from exc
        console.print("Prometheus reloaded.")
