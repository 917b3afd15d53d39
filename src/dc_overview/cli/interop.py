"""`dc-overview import ipmi-monitor`: servers and SSH keys from IPMI Monitor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from dc_overview.cli.common import console, err_console, with_services
from dc_overview.interop.detect import detect_ipmi_monitor
from dc_overview.interop.importer import import_ipmi_config
from dc_overview.interop.report import ImportReport
from dc_overview.interop.source import IpmiSourceError
from dc_overview.services import Services

COLOURS = {"imported": "green", "updated": "cyan", "unchanged": "dim", "held": "yellow",
           "skipped": "red"}  # fmt: skip


@click.group("import")
def group() -> None:
    """Import servers and SSH keys from other tools."""


@group.command("ipmi-monitor")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path),
              help="IPMI Monitor's ipmi_events.db (default: found on this machine).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--include-disabled", is_flag=True, help="Also import disabled/deprecated servers.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_services
def ipmi_monitor(
    services: Services, db: Path | None, dry_run: bool, include_disabled: bool, as_json: bool
) -> None:
    """Import IPMI Monitor's servers (OS and BMC addresses, SSH user and port) and SSH keys.

    Reads its database read-only; without one, its servers.yaml and ssh_keys/. Passwords are
    never imported. Running it again changes nothing unless IPMI Monitor changed.
    """
    try:
        installation = None if db else detect_ipmi_monitor()
        report = import_ipmi_config(services, db=db, installation=installation,
                                    dry_run=dry_run, include_disabled=include_disabled)  # fmt: skip
    except IpmiSourceError as exc:
        err_console.print(f"[red]error[/red]: {escape(str(exc))}")
        err_console.print("Nothing was changed.")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    console.print(report_table(report))
    console.print(summary(report))


def report_table(report: ImportReport) -> Table:
    title = f"Import from {report.origin}{' (dry run: nothing changed)' if report.dry_run else ''}"
    table = Table("result", "what", "name", "from IPMI Monitor", "reason", title=title)
    for outcome in report.outcomes:
        colour = COLOURS.get(outcome.result, "white")
        reason = "\n".join([outcome.reason, *(f"note: {n}" for n in outcome.notes)])
        table.add_row(f"[{colour}]{outcome.result}[/]", outcome.kind, escape(outcome.name),
                      escape(outcome.source), escape(reason))  # fmt: skip
    return table


def summary(report: ImportReport) -> str:
    counts = ", ".join(f"{n} {result}" for result, n in report.counts().items() if n)
    prefix = "Would import" if report.dry_run else "Import"
    return f"{prefix}: {counts or 'nothing found'}."
