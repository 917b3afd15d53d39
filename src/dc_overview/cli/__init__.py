"""`dc-overview`: thin click commands that parse, call a service and print."""

from __future__ import annotations

from pathlib import Path

import click

from dc_overview import __version__
from dc_overview.cli import (
    deploy,
    hosts,
    images,
    interop,
    keys,
    quickstart,
    render,
    serve,
    servers,
    stack,
    tokens,
    users,
)
from dc_overview.cli.common import CliState
from dc_overview.cli.instack import StackAwareGroup


@click.group(cls=StackAwareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Config dir (default /etc/dc-overview or $DC_OVERVIEW_CONFIG_DIR).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data dir (default /var/lib/dc-overview or $DC_OVERVIEW_DATA).",
)
@click.version_option(__version__, prog_name="dc-overview")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, data_dir: Path | None) -> None:
    """DC Overview: monitoring for GPU datacenters.

    On a master set up by the quickstart, inventory commands (servers, keys, users, tokens,
    hosts, deploy, import, render) run inside the stack's app container, where its inventory is.
    """
    ctx.obj = CliState(config_dir=config_dir, data_dir=data_dir)


COMMANDS = (
    serve.serve, servers.group, keys.group, users.group, tokens.group, render.group,
    quickstart.quickstart, images.group, stack.status, stack.logs, stack.start, stack.stop,
    stack.restart, stack.upgrade, stack.down, deploy.deploy, hosts.group, interop.group,
)  # fmt: skip
for command in COMMANDS:
    main.add_command(command)
