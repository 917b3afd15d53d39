"""`dc-overview quickstart`: bring up the whole master stack in Docker, guided or from a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table

from dc_overview.cli.common import CliState, console, err_console
from dc_overview.deploy import dockerhost
from dc_overview.deploy.config import QuickstartConfig, load_config_file, parse_config
from dc_overview.deploy.engine import DockerError
from dc_overview.deploy.health import StackUnhealthy
from dc_overview.deploy.quickstart import (
    Plan,
    apply,
    ipmi_monitor_source,
    make_plan,
    saved_config,
)
from dc_overview.deploy.wizard import WizardCancelled, ask_config
from dc_overview.inventory.errors import ValidationFailed
from dc_overview.settings import DEFAULT_CONFIG_DIR


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error[/red]: {message}")
    sys.exit(code)


def _load(config_file: Path | None, config_dir: Path, interactive: bool) -> QuickstartConfig:
    """The file (validated whole), else the saved config or defaults, optionally asked over."""
    try:
        if config_file is not None:
            return load_config_file(config_file)
        defaults = saved_config(config_dir) or QuickstartConfig()
        if not interactive:
            return defaults
        return parse_config(ask_config(defaults, ipmi_monitor=ipmi_monitor_source() is not None))
    except ValidationFailed as exc:
        for error in exc.errors:
            err_console.print(f"[red]{error.field}[/red]: {error.message}")
        err_console.print("Nothing was changed. Fix the config and run the quickstart again.")
        sys.exit(2)
    except WizardCancelled as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _ensure_docker(yes: bool) -> None:
    state = dockerhost.docker_state()
    if state == "ok":
        return
    what = "install Docker (docker.io) and start it" if state == "not-installed" else "start Docker"
    if not yes and not click.confirm(f"Docker is not running. {what.capitalize()} now?"):
        _fail(f"the stack needs Docker: {what}, then run the quickstart again")
    try:
        if state == "not-installed":
            dockerhost.install_docker()
        dockerhost.start_daemon()
    except dockerhost.DockerUnavailable as exc:
        _fail(str(exc))


def _review(plan: Plan) -> Table:
    config = plan.config
    table = Table("setting", "value", title="Review", show_header=False)
    table.add_row("site name", config.site_name)
    table.add_row("admin user", config.admin.username)
    table.add_row("config dir", str(plan.config_dir))
    ports = f"{config.proxy.bind_address} :{config.proxy.http_port} / :{config.proxy.https_port}"
    table.add_row("proxy", ports if plan.shape.include_proxy else "reused")
    table.add_row("TLS", config.tls.mode)
    table.add_row("Prometheus retention", config.prometheus.retention)
    table.add_row("remote_write", config.prometheus.remote_write.url
                  if config.prometheus.remote_write else "off")  # fmt: skip
    table.add_row("Grafana", "yes" if plan.shape.include_grafana else "not available")
    table.add_row("Vast.ai exporter", "yes" if config.vastai.enabled else "off")
    table.add_row("network", f"{config.docker.network}"
                  f"{' (existing)' if plan.shape.network_external else ''}")  # fmt: skip
    table.add_row("images to build", ", ".join(plan.to_build) or "none")
    for note in plan.notes:
        table.add_row("note", note)
    return table


def _status_table(statuses: dict[str, str]) -> Table:
    table = Table("service", "status", title="Waiting for the stack")
    colours = {"healthy": "green", "running": "green", "starting": "yellow"}
    for name, status in statuses.items():
        table.add_row(name, f"[{colours.get(status, 'red')}]{status}[/]")
    return table


def _finish(plan: Plan, report) -> None:
    config, base = plan.config, f"https://{_host(plan)}:{plan.config.proxy.https_port}"
    console.print("\n[bold green]DC Overview is running.[/bold green]")
    for label, path in (("Landing page", "/"), ("DC Overview", "/dc/"),
                        ("Grafana", "/grafana/"), ("Prometheus", "/prometheus/")):  # fmt: skip
        if label != "Grafana" or plan.shape.include_grafana:
            console.print(f"  {label:<13} {base}{path}")
    secrets = plan.config_dir / "secrets"
    console.print(f"Admin user [bold]{config.admin.username}[/bold]: password in "
                  f"{secrets / 'admin_password'} (0600)")  # fmt: skip
    if plan.shape.include_grafana:
        console.print(f"Grafana admin password: {secrets / 'grafana_admin_password'}")
    for note in report.notes:
        console.print(f"[yellow]note[/yellow]: {note}")


def _host(plan: Plan) -> str:
    bind = plan.config.proxy.bind_address
    return plan.config.tls.domain or ("localhost" if bind in ("0.0.0.0", "::") else bind)


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML config (non-interactive); see README for the keys.")  # fmt: skip
@click.option("--yes", is_flag=True, help="Do not ask: apply, install Docker, build images.")
@click.option("--no-pull", is_flag=True, help="Never contact a registry (air-gapped site).")
@click.pass_obj
def quickstart(state: CliState, config_file: Path | None, yes: bool, no_pull: bool) -> None:
    """Set up (or update) the master stack: app, Prometheus, Grafana and the proxy in Docker."""
    if state.config_dir is None and os.geteuid() != 0:
        _fail("run the quickstart as root (sudo), or pass --config-dir to a folder you own")
    config_dir = (state.config_dir or DEFAULT_CONFIG_DIR).resolve()
    interactive = config_file is None and not yes
    config = _load(config_file, config_dir, interactive)
    _ensure_docker(yes)
    plan = make_plan(config, config_dir, pull=not no_pull)
    console.print(_review(plan))
    if not yes and not click.confirm("Apply this?", default=True):
        _fail("nothing was changed")
    apply_with_progress(plan, "run the quickstart again")


def apply_with_progress(plan: Plan, retry: str) -> None:
    """Apply the plan with a live health table; on failure say what to do and exit."""
    try:
        with Live(_status_table({}), console=console, transient=True) as live:
            report = apply(
                plan, say=console.print, progress=lambda s: live.update(_status_table(s))
            )
    except (DockerError, StackUnhealthy, OSError) as exc:
        _fail(f"{exc}\nFix the cause and {retry}; data and secrets are kept.")
    _finish(plan, report)
