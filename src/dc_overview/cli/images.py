"""`dc-overview images build`: the stack's images without a registry."""

from __future__ import annotations

import click
from rich.table import Table

from dc_overview.cli.common import console
from dc_overview.deploy.builds import build_images
from dc_overview.deploy.config import ImagesConfig
from dc_overview.deploy.engine import DockerError


@click.group("images")
def group() -> None:
    """Container images."""


@group.command("build")
@click.option(
    "--offline", is_flag=True, help="Also build Prometheus and node_exporter from Debian."
)
def build(offline: bool) -> None:
    """Build the app and proxy images from the installed package (offline: all buildable)."""
    try:
        images = ImagesConfig()
        built = build_images(images.dc_overview, images.proxy, offline, say=console.print)
    except DockerError as exc:
        raise click.ClickException(str(exc)) from exc
    table = Table("role", "image")
    for image in built:
        table.add_row(image.role, image.tag)
    console.print(table)
    if offline:
        console.print("Grafana cannot be built offline: the stack runs without it until it can "
                      "be pulled.")  # fmt: skip
