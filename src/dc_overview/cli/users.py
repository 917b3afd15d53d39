"""`dc-overview users create|list`."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from dc_overview.cli.common import console, with_services
from dc_overview.services import Services


@click.group("users")
def group() -> None:
    """People who may sign in."""


def _read_password(password_stdin: bool) -> str:
    """From stdin (scripts) or a hidden prompt; never from the command line."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_services
def create(services: Services, username: str, role: str, password_stdin: bool) -> None:
    """Create a user."""
    password = _read_password(password_stdin)
    user = services.accounts.create_user({"username": username, "password": password, "role": role})
    console.print(f"Created {user.role} [bold]{user.username}[/bold].")


@group.command("list")
@with_services
def list_users(services: Services) -> None:
    """List users."""
    table = Table("id", "username", "role")
    for user in services.accounts.list_users():
        table.add_row(str(user.id), user.username, user.role)
    console.print(table)
