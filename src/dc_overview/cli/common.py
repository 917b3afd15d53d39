"""What every command shares: settings from flags, services, and errors an operator can act on."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dc_overview.bootstrap import BootstrapReport, prepare
from dc_overview.inventory.errors import Conflict, NotFound, ValidationFailed
from dc_overview.services import Services, build_services
from dc_overview.settings import Settings, SettingsError, load_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    config_dir: Path | None = None
    data_dir: Path | None = None
    _services: Services | None = field(default=None, repr=False)
    report: BootstrapReport | None = None

    def settings(self) -> Settings:
        try:
            return load_settings(self.config_dir, self.data_dir)
        except SettingsError as exc:
            raise click.UsageError(str(exc)) from exc

    def services(self) -> Services:
        """Services over a prepared (migrated) inventory."""
        if self._services is None:
            self._services = build_services(self.settings())
            try:
                self.report = prepare(self._services)
            except PermissionError as exc:
                raise click.ClickException(
                    f"{exc}. Run as root, or point --config-dir/--data-dir at folders you own."
                ) from exc
        if self.report and self.report.admin_created:
            how = "generated" if self.report.admin_password_generated else "taken"
            err_console.print(
                f"Created admin user [bold]{self.report.admin_created}[/bold]; password {how} "
                f"from {self.report.admin_password_file} (mode 0600)."
            )
        return self._services


def with_services(func: Callable[..., Any]) -> Callable[..., Any]:
    """Pass the services as the first argument and turn service errors into clean exits."""

    @click.pass_obj
    @functools.wraps(func)
    def wrapper(state: CliState, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(state.services(), *args, **kwargs)
        except ValidationFailed as exc:
            for error in exc.errors:
                err_console.print(f"[red]{error.field}[/red]: {error.message}")
            err_console.print("Nothing was changed.")
            sys.exit(2)
        except (NotFound, Conflict) as exc:
            err_console.print(f"[red]error[/red]: {exc}")
            sys.exit(1)

    return wrapper
