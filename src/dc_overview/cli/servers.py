"""`dc-overview servers list|show|add|remove`."""

from __future__ import annotations

import json

import click
from rich.table import Table

from dc_overview.cli.common import console, with_services
from dc_overview.inventory.models import EXPORTER_KINDS, Server
from dc_overview.inventory.serialize import server_dict
from dc_overview.services import Services


@click.group("servers")
def group() -> None:
    """The servers (GPU workers) in the inventory."""


def _find(services: Services, ref: str) -> Server:
    return services.fleet.get(int(ref)) if ref.isdigit() else services.fleet.find_by_name(ref)


def _exporter_summary(server: Server) -> str:
    marks = []
    for exporter in server.exporters:
        if exporter.enabled:
            marks.append(f"{exporter.kind}{'' if exporter.installed else ' (pending)'}")
    return ", ".join(marks) or "-"


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_services
def list_servers(services: Services, as_json: bool) -> None:
    """List servers."""
    servers = services.fleet.list_servers()
    if as_json:
        click.echo(json.dumps([server_dict(s) for s in servers], indent=2))
        return
    table = Table("id", "name", "address", "ssh", "bmc", "gpu", "exporters", "status")
    for s in servers:
        table.add_row(
            str(s.id),
            s.name,
            s.server_ip,
            f"{s.ssh_user}@:{s.ssh_port}",
            s.bmc_ip or "-",
            "yes" if s.has_gpu else "no",
            _exporter_summary(s),
            s.status,
        )
    console.print(table)


@group.command("show")
@click.argument("server")
@with_services
def show(services: Services, server: str) -> None:
    """Show one server (by name or id) as JSON."""
    click.echo(json.dumps(server_dict(_find(services, server)), indent=2))


@group.command("add")
@click.argument("name")
@click.option("--ip", "server_ip", required=True, help="IPv4, IPv6 or hostname of the server.")
@click.option("--ssh-user", default="root", show_default=True)
@click.option("--ssh-port", default=22, show_default=True, type=int)
@click.option("--ssh-key", "ssh_key_id", type=int, help="Id of an SSH key (see `keys list`).")
@click.option("--bmc-ip", help="Address of the server's BMC (IPMI).")
@click.option("--gpu/--no-gpu", "has_gpu", default=False, help="The server has NVIDIA GPUs.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option(
    "--installed",
    multiple=True,
    type=click.Choice(list(EXPORTER_KINDS)),
    help="Exporter already running on the server: scrape it now (repeatable).",
)
@with_services
def add(services: Services, labels: tuple[str, ...], installed: tuple[str, ...], **fields) -> None:
    """Add a server."""
    data = {k: v for k, v in fields.items() if v is not None}
    data["labels"] = _parse_labels(labels)
    data["exporters"] = {kind: {"enabled": True, "installed": True} for kind in installed}
    server = services.fleet.create(data)
    console.print(f"Added server [bold]{server.name}[/bold] (id {server.id}).")


def _parse_labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--label")
        labels[key.strip()] = value.strip()
    return labels


@group.command("remove")
@click.argument("server")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_services
def remove(services: Services, server: str, yes: bool) -> None:
    """Remove a server (by name or id); its targets leave Prometheus."""
    record = _find(services, server)
    if not yes:
        click.confirm(f"Remove server {record.name} ({record.server_ip})?", abort=True)
    services.fleet.delete(record.id)
    console.print(f"Removed server [bold]{record.name}[/bold].")
