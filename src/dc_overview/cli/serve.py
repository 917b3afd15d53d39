"""`dc-overview serve`: the web app under gunicorn (never Flask's development server)."""

from __future__ import annotations

import click
from gunicorn.app.base import BaseApplication

from dc_overview.cli.common import CliState, console
from dc_overview.services import Services


class _Gunicorn(BaseApplication):
    def __init__(self, services: Services, options: dict) -> None:
        self.services = services
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from dc_overview.web import create_app

        return create_app(services=self.services, run_prepare=False)


@click.command()
@click.option(
    "--bind", help="host:port to listen on (default 127.0.0.1:5001 or $DC_OVERVIEW_BIND)."
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.pass_obj
def serve(state: CliState, bind: str | None, workers: int, threads: int) -> None:
    """Run the web app and API with gunicorn."""
    services = state.services()
    address = bind or services.settings.bind
    console.print(f"DC Overview listening on http://{address}/")
    services.db.dispose()  # workers open their own connections after the fork
    _Gunicorn(
        services,
        {
            "bind": address,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 10,
        },
    ).run()
