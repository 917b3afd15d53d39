"""Shared pieces of the benchmarks: temp settings, the admin token, login, and the figures.

Run the benchmarks from the repository root (`python -m benchmarks.<name>`) so that
`tests.support` (the helpers that start gunicorn, Prometheus and node_exporter) is importable.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import requests
from tests.support.processes import Daemon, free_port

from dc_overview.bootstrap import prepare
from dc_overview.services import Services, build_services
from dc_overview.settings import Settings

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_settings(root: Path, prometheus_port: int, app_port: int, **overrides) -> Settings:
    """Settings in `root`: a real Prometheus on `prometheus_port`, Grafana on a closed port."""
    values = {
        "config_dir": root / "config",
        "data_dir": root / "data",
        "prometheus_url": f"http://127.0.0.1:{prometheus_port}/prometheus",
        "prometheus_self_target": f"127.0.0.1:{prometheus_port}",
        "app_scrape_target": f"127.0.0.1:{app_port}",
        "grafana_url": f"http://127.0.0.1:{free_port()}/grafana",
        "bind": f"127.0.0.1:{app_port}",
    }
    return Settings(**{**values, **overrides})


def port_of(address: str) -> int:
    """The port of a "host:port" setting such as `bind`."""
    return int(address.rsplit(":", 1)[1])


def prepared_services(settings: Settings) -> Services:
    """Services on the benchmark's dirs, bootstrapped exactly as `dc-overview serve` does."""
    services = build_services(settings)
    prepare(services)
    return services


def admin_token(services: Services, name: str = "bench") -> str:
    """A fresh API token for the first admin; returns the plain text."""
    accounts = services.accounts
    admin = next(u for u in accounts.list_users() if u.username == services.settings.admin_username)
    return accounts.create_token(admin.id, {"name": name})[1]


def token_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def login_session(url: str, username: str, password: str) -> requests.Session:
    """A session signed in through the login form (GET /login, scrape the CSRF token, POST)."""
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10)
    page.raise_for_status()
    match = CSRF_RE.search(page.text)
    if match is None:
        raise RuntimeError("no csrf_token field on /login")
    form = {"username": username, "password": password, "csrf_token": match.group(1), "next": ""}
    response = session.post(f"{url}/login", data=form, allow_redirects=False, timeout=10)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {response.status_code}: {response.text[:300]}")
    return session


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `values` (linear interpolation between samples)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        only = ordered[0]
        return {"p50": only, "p90": only, "p99": only, "max": only}
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": ordered[-1]}


def stop_all(daemons: list[Daemon]) -> None:
    """Stop every daemon, newest first, even when one of them fails to stop."""
    errors: list[str] = []
    for daemon in reversed(daemons):
        try:
            daemon.stop()
        except Exception as exc:  # keep stopping the others
            errors.append(f"{daemon.name}: {exc}")
    if errors:
        raise RuntimeError("could not stop: " + "; ".join(errors))


def log_tails(daemons: list[Daemon]) -> str:
    """The end of each daemon's log, for the message of a failed run."""
    return "\n".join(f"--- {d.name} log ---\n{d.log()}" for d in daemons)


def run_with_daemons(prefix: str, run: Callable[[Path, list[Daemon]], None]) -> int:
    """Run a benchmark in a temp dir; print daemon logs on failure, always stop the daemons."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        daemons: list[Daemon] = []
        try:
            run(Path(tmp), daemons)
        except Exception:
            print(log_tails(daemons))
            raise
        finally:
            stop_all(daemons)
    return 0
