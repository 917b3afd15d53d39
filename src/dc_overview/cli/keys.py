"""`dc-overview keys list|generate|import`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from dc_overview.cli.common import console, with_services
from dc_overview.services import Services


@click.group("keys")
def group() -> None:
    """SSH keys the master uses to reach workers."""


@group.command("list")
@with_services
def list_keys(services: Services) -> None:
    """List keys (public side only)."""
    table = Table("id", "name", "type", "fingerprint", "servers")
    for key in services.keys.list_keys():
        table.add_row(
            str(key.id), key.name, key.key_type, key.fingerprint, str(services.keys.usage(key.id))
        )
    console.print(table)


@group.command("generate")
@click.argument("name")
@with_services
def generate(services: Services, name: str) -> None:
    """Generate an ed25519 key and print its public half."""
    key = services.keys.generate({"name": name})
    console.print(f"Generated [bold]{key.name}[/bold] ({key.fingerprint}). Public key:")
    click.echo(key.public_key)


@group.command("import")
@click.argument("name")
@click.option(
    "--file",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key file (OpenSSH or PEM, without passphrase).",
)
@with_services
def import_key(services: Services, name: str, key_file: Path) -> None:
    """Import an existing private key."""
    key = services.keys.import_key({"name": name, "private_key": key_file.read_text()})
    console.print(f"Imported [bold]{key.name}[/bold] ({key.fingerprint}).")
