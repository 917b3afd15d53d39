"""`dc-overview hosts list|trust`: the pinned SSH host keys of workers."""

from __future__ import annotations

import asyncio
import sys

import click
from rich.table import Table

from dc_overview.cli.common import console, err_console, with_services
from dc_overview.remote.installer import ssh_target
from dc_overview.remote.ssh import SshError, bootstrap_key, connect
from dc_overview.remote.trust import HostTrust, PinnedKey
from dc_overview.services import Services


@click.group("hosts")
def group() -> None:
    """SSH host keys of workers (trusted on first use, then pinned)."""


@group.command("list")
@with_services
def list_hosts(services: Services) -> None:
    """Every server with its pinned host key fingerprints."""
    trust = HostTrust(services.host_keys)
    table = Table("server", "address", "pinned host keys")
    for server in services.fleet.list_servers():
        pinned = trust.pinned(server.server_ip, server.ssh_port)
        keys = "\n".join(f"{p.key_type} {p.fingerprint}" for p in pinned) or "(none yet)"
        table.add_row(server.name, f"{server.server_ip}:{server.ssh_port}", keys)
    console.print(table)


@group.command("trust")
@click.argument("server")
@click.option("--yes", is_flag=True, help="Pin the new key without asking.")
@with_services
def trust_host(services: Services, server: str, yes: bool) -> None:
    """Forget SERVER's pinned host key, connect, show the new fingerprint and pin it."""
    view = services.fleet.find_by_name(server)
    trust = HostTrust(services.host_keys)
    old = trust.pinned(view.server_ip, view.ssh_port)
    target = ssh_target(services, view)
    probe = _ProbeTrust(old)
    try:
        asyncio.run(_first_contact(target, probe))
    except SshError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        sys.exit(1)
    new = probe.presented
    for key in old:
        console.print(f"previously pinned: {key.key_type} {key.fingerprint}")
    console.print(f"{server} now presents: [bold]{new.key_type} {new.fingerprint}[/bold]")
    if new in old:
        console.print("That key is already pinned; nothing changed.")
        return
    if not yes and not click.confirm("Compare it with the server's console. Pin this key?"):
        console.print("Nothing changed.")
        sys.exit(1)
    trust.forget(view.server_ip, view.ssh_port)
    trust.pin(view.server_ip, view.ssh_port, new)
    console.print(f"Pinned {new.fingerprint} for {server}.")


@group.command("bootstrap")
@click.argument("server")
@click.password_option("--password", confirmation_prompt=False, help="Used once, never stored.")
@with_services
def bootstrap(services: Services, server: str, password: str) -> None:
    """Log in once with a password to install SERVER's SSH key (public half) on it."""
    view = services.fleet.find_by_name(server)
    target = ssh_target(services, view)
    public = services.keys.get(view.ssh_key_id).public_key
    trust = HostTrust(services.host_keys)
    try:
        pinned = asyncio.run(bootstrap_key(target, password, public, trust))
    except SshError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        sys.exit(1)
    if pinned:
        console.print(f"First contact: pinned host key {pinned}.")
    console.print(f"Key installed on {server}; key login works. The password was not stored.")


class _ProbeTrust:
    """A HostTrust stand-in that pins nothing: it only records what the host presents."""

    def __init__(self, old: list[PinnedKey]) -> None:
        self.old = old
        self.presented: PinnedKey = PinnedKey("", "")

    def pinned(self, host: str, port: int) -> list[PinnedKey]:
        return []

    def pin(self, host: str, port: int, key: PinnedKey) -> None:
        self.presented = key


async def _first_contact(target, probe: _ProbeTrust) -> None:
    session = await connect(target, probe)  # type: ignore[arg-type]
    await session.close()
