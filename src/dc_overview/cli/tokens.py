"""`dc-overview tokens create|list|revoke`: bearer tokens for scripts."""

from __future__ import annotations

import click
from rich.table import Table
from sqlalchemy import select

from dc_overview.cli.common import console, with_services
from dc_overview.inventory.errors import NotFound
from dc_overview.inventory.models import User
from dc_overview.services import Services


@click.group("tokens")
def group() -> None:
    """API tokens (shown once, stored hashed)."""


@group.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="The user the token acts as.")
@with_services
def create(services: Services, name: str, username: str) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    with services.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r} (see `dc-overview users list`)")
    token, plain = services.accounts.create_token(user.id, {"name": name})
    console.print(f"Token {token.id} ({token.name}) for {username}; store it now:", highlight=False)
    click.echo(plain)


@group.command("list")
@with_services
def list_tokens(services: Services) -> None:
    """List tokens (never their values)."""
    table = Table("id", "name", "user", "prefix", "last used", "revoked")
    for t in services.accounts.list_tokens():
        table.add_row(
            str(t.id),
            t.name,
            t.user.username,
            t.prefix + "…",
            str(t.last_used_at or "-"),
            "yes" if t.revoked_at else "no",
        )
    console.print(table)


@group.command("revoke")
@click.argument("token_id", type=int)
@with_services
def revoke(services: Services, token_id: int) -> None:
    """Revoke a token."""
    services.accounts.revoke_token(token_id)
    console.print(f"Revoked token {token_id}.")
