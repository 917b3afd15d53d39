"""`dc-overview status | logs | start | stop | restart | upgrade`: the running stack."""

from __future__ import annotations

import subprocess
import sys

import click
from rich.table import Table

from dc_overview.cli.common import CliState, console, err_console
from dc_overview.cli.quickstart import apply_with_progress
from dc_overview.deploy.engine import DockerError
from dc_overview.deploy.health import container_status
from dc_overview.deploy.quickstart import Plan, make_plan, saved_config
from dc_overview.settings import DEFAULT_CONFIG_DIR

SERVICES = ("dc-overview", "prometheus", "grafana", "cryptolabs-proxy", "vastai-exporter")


def _plan(state: CliState, pull: bool = False) -> Plan:
    config_dir = (state.config_dir or DEFAULT_CONFIG_DIR).resolve()
    config = saved_config(config_dir)
    if config is None:
        err_console.print(
            f"[red]error[/red]: no stack in {config_dir}; run `dc-overview quickstart`"
        )
        sys.exit(1)
    return make_plan(config, config_dir, pull=pull)


def _compose(plan: Plan, *args: str) -> None:
    try:
        plan.project.run(*args, capture=False)
    except DockerError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        sys.exit(1)


@click.command()
@click.pass_obj
def status(state: CliState) -> None:
    """Each service's state (healthy, starting, unhealthy, exited, not available)."""
    plan = _plan(state)
    table = Table("service", "status")
    for name in SERVICES:
        value = container_status(name)
        if name == "grafana" and not plan.shape.include_grafana:
            value = "not available (image cannot be pulled or built here)"
        if name == "vastai-exporter" and not plan.config.vastai.enabled:
            value = "not configured (vastai.api_keys_file)"
        table.add_row(name, value)
    console.print(table)


@click.command()
@click.argument("service", required=False, type=click.Choice(SERVICES))
@click.option("--follow", "-f", is_flag=True)
@click.option("--tail", default="100", show_default=True)
@click.pass_obj
def logs(state: CliState, service: str | None, follow: bool, tail: str) -> None:
    """Logs of one service or all."""
    plan = _plan(state)
    args = ["logs", "--tail", tail, *(["--follow"] if follow else [])]
    if service:
        args.append(service)
    subprocess.run(plan.project.args(*args))


@click.command()
@click.pass_obj
def start(state: CliState) -> None:
    """Start the stack."""
    _compose(_plan(state), "start")


@click.command()
@click.pass_obj
def stop(state: CliState) -> None:
    """Stop the stack (data is kept)."""
    _compose(_plan(state), "stop")


@click.command()
@click.pass_obj
def restart(state: CliState) -> None:
    """Restart the stack."""
    _compose(_plan(state), "restart")


@click.command()
@click.option("--no-pull", is_flag=True, help="Never contact a registry (air-gapped site).")
@click.pass_obj
def upgrade(state: CliState, no_pull: bool) -> None:
    """After installing a new package version: move the stack to its images and files.

    Images the saved config leaves at their defaults become the installed version's (pulled,
    else built here); data, servers, secrets and settings are kept.
    """
    plan = _plan(state, pull=not no_pull)
    apply_with_progress(plan, "run `dc-overview upgrade` again")


@click.command()
@click.option("--volumes", is_flag=True, help="Also delete the data volumes (irreversible).")
@click.pass_obj
def down(state: CliState, volumes: bool) -> None:
    """Remove the stack's containers (and with --volumes its data); config files stay."""
    _compose(_plan(state), "down", "--remove-orphans", *(["--volumes"] if volumes else []))
