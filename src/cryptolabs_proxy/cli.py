"""`cryptolabs-proxy`: run the proxy, render its nginx config, manage its users."""

from __future__ import annotations

import json
import logging
import os
import ssl
import sys
import urllib.request
from pathlib import Path

import click

from cryptolabs_proxy import __version__
from cryptolabs_proxy.config import CONFIG_ENV, ConfigError, ProxyConfig, load_config
from cryptolabs_proxy.users import ROLES, UserError, UserStore


def _config(ctx: click.Context) -> ProxyConfig:
    try:
        return load_config()
    except ConfigError as exc:
        ctx.fail(str(exc))
        raise  # unreachable


@click.group()
@click.version_option(__version__, prog_name="cryptolabs-proxy")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"YAML settings file (default: ${CONFIG_ENV} or /etc/cryptolabs-proxy/proxy.yml).",
)
def main(config_file: Path | None) -> None:
    """The CryptoLabs fleet proxy: nginx, landing page, service status and one login."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file.resolve())  # gunicorn workers read it too


@main.command()
@click.option("--log-dir", type=click.Path(file_okay=False), help="nginx logs here, not stderr.")
@click.pass_context
def run(ctx: click.Context, log_dir: str | None) -> None:
    """Run nginx and the proxy's service until stopped (the container's command)."""
    from cryptolabs_proxy.supervisor import run as run_supervisor

    sys.exit(run_supervisor(_config(ctx), log_to=log_dir or "stderr"))


@main.command()
@click.option("--log-dir", type=click.Path(file_okay=False), help="nginx logs here, not stderr.")
@click.pass_context
def render(ctx: click.Context, log_dir: str | None) -> None:
    """Write nginx.conf and the error pages into the runtime dir and check them (nginx -t)."""
    from cryptolabs_proxy.supervisor import render as render_config

    conf, _ = render_config(_config(ctx), log_to=log_dir or "stderr")
    click.echo(str(conf))


@main.command()
@click.option("--timeout", default=5.0, show_default=True)
@click.pass_context
def healthcheck(ctx: click.Context, timeout: float) -> None:
    """Exit 0 when nginx and the service answer /api/health over HTTPS on this host."""
    config = _config(ctx)
    port = config.https_listen.rsplit(":", 1)[-1]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # our own listener on loopback, possibly self-signed
    url = f"https://127.0.0.1:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            body = json.load(response)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{url}: {exc}") from exc
    if body.get("status") != "ok":
        raise click.ClickException(f"{url}: {body}")
    click.echo("ok")


@main.group()
def users() -> None:
    """Manage the proxy's users (admins and viewers)."""


def _store(ctx: click.Context) -> UserStore:
    config = _config(ctx)
    return UserStore(config.users_db, config.max_failures, config.lockout_seconds)


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text().strip()
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-file", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def users_add(ctx: click.Context, username: str, role: str, password_file: Path | None) -> None:
    """Add a user; the password comes from --password-file, stdin or a prompt."""
    try:
        _store(ctx).add(username, _read_password(password_file), role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {role} {username}")


@users.command("passwd")
@click.argument("username")
@click.option("--password-file", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def users_passwd(ctx: click.Context, username: str, password_file: Path | None) -> None:
    """Set a user's password (their sessions end)."""
    try:
        _store(ctx).set_password(username, _read_password(password_file))
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"password of {username} changed")


@users.command("remove")
@click.argument("username")
@click.pass_context
def users_remove(ctx: click.Context, username: str) -> None:
    try:
        _store(ctx).remove(username)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"removed {username}")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    for user in _store(ctx).list():
        click.echo(f"{user.username}\t{user.role}")
