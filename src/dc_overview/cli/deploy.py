"""`dc-overview deploy`: install, upgrade or remove exporters on workers, with a live table."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table

from dc_overview.cli.common import console, err_console, with_services
from dc_overview.remote.artifacts import ArtifactError
from dc_overview.remote.catalog import DEFAULT_KINDS, INSTALLABLE, NOT_INSTALLED_HERE
from dc_overview.remote.dcgm import DCGM_IMAGE, DcgmChoice, check_image_ref, image_in_tarball
from dc_overview.remote.installer import DeployOptions, run_job
from dc_overview.remote.jobs import Job, JobStore
from dc_overview.remote.service import local_node_exporter_dir
from dc_overview.services import Services

STAGE_STYLE = {"done": "green", "failed": "red", "queued": "dim"}
KNOWN_KINDS = (*INSTALLABLE, *NOT_INSTALLED_HERE)


def progress_table(job: Job) -> Table:
    title = f"{job.action} · job {job.id}"
    table = Table("server", "stage", "exporters", "detail", title=title, expand=False)
    for host in job.hosts.values():
        style = STAGE_STYLE.get(host.stage, "yellow")
        exporters = "\n".join(f"{kind}: {text}" for kind, text in host.exporters.items())
        detail = host.message
        if host.host_key:
            detail = f"{detail}\nnew host key pinned: {host.host_key}".strip()
        table.add_row(host.server, f"[{style}]{host.stage}[/{style}]", exporters, detail)
    return table


def parse_kinds(value: str | None) -> tuple[str, ...]:
    if not value:
        return DEFAULT_KINDS
    kinds = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [k for k in kinds if k not in KNOWN_KINDS]
    if unknown:
        known = ", ".join(KNOWN_KINDS)
        raise click.BadParameter(f"unknown exporter {unknown[0]!r}; known: {known}")
    return kinds


def dcgm_choice(tarball: Path | None, image: str) -> DcgmChoice:
    """Checked before any host is touched: a bad tarball or image name stops the command."""
    choice = DcgmChoice(tarball, image)
    try:
        check_image_ref(image, "--dcgm-image")
        if tarball is not None:
            image_in_tarball(tarball)
    except ArtifactError as exc:
        raise click.BadParameter(str(exc)) from exc
    return choice


def select_servers(services: Services, names: tuple[str, ...], all_servers: bool) -> list[str]:
    if all_servers == bool(names):
        raise click.UsageError("name the servers to deploy to, or pass --all (not both)")
    if all_servers:
        return [server.name for server in services.fleet.list_servers()]
    return [services.fleet.find_by_name(name).name for name in names]


@click.command("deploy")
@click.argument("servers", nargs=-1)
@click.option("--all", "all_servers", is_flag=True, help="Every server in the inventory.")
@click.option("--exporters", help="Comma-separated: node,dc (default), dcgm, vastai.")
@click.option("--remove", is_flag=True, help="Remove the exporters instead of installing them.")
@click.option("--parallel", type=click.IntRange(1, 256), default=32, show_default=True,
              help="Hosts worked on at the same time.")  # fmt: skip
@click.option(
    "--node-exporter",
    "node_exporter",
    type=click.Path(exists=True, path_type=Path),
    help="Local node_exporter binary or directory (air-gapped); default: <config dir>/artifacts, "
    "the app image's bundled one, else the pinned release.",
)
@click.option(
    "--dcgm-tarball",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="`docker save` tarball of dcgm-exporter, pushed to workers (air-gapped); default: "
    "<config dir>/artifacts/dcgm-exporter.tar if present, else workers use/pull --dcgm-image.",
)
@click.option("--dcgm-image", default=DCGM_IMAGE, show_default=True,
              help="dcgm-exporter image that workers pull when no tarball is given.")  # fmt: skip
@click.option("--connect-timeout", type=float, default=15.0, show_default=True)
@with_services
def deploy(
    services: Services,
    servers: tuple[str, ...],
    all_servers: bool,
    exporters: str | None,
    remove: bool,
    parallel: int,
    node_exporter: Path | None,
    dcgm_tarball: Path | None,
    dcgm_image: str,
    connect_timeout: float,
) -> None:
    """Install (or --remove) exporters on SERVERS over SSH; one failing host never stops others."""
    kinds = parse_kinds(exporters)
    dcgm = dcgm_choice(dcgm_tarball, dcgm_image)
    names = select_servers(services, servers, all_servers)
    if not names:
        err_console.print("No servers in the inventory.")
        sys.exit(1)
    options = DeployOptions(
        kinds=kinds,
        remove=remove,
        parallel=parallel,
        connect_timeout=connect_timeout,
        node_exporter_source=node_exporter or local_node_exporter_dir(services),
        dcgm=dcgm,
    )
    job = Job.create("remove" if remove else "deploy", names)
    JobStore(services.settings.data_dir / "jobs").attach(job)
    with Live(progress_table(job), console=console, refresh_per_second=8) as live:
        job.listen(lambda changed: live.update(progress_table(changed)))
        asyncio.run(run_job(services, job, options))
        live.update(progress_table(job))
    failed = job.failed
    if failed:
        err_console.print(f"[red]{len(failed)} of {len(names)} failed:[/red] {', '.join(failed)}")
        sys.exit(1)
    console.print(f"[green]{len(names)} server(s) done.[/green]")
