"""prometheus.yml, rendered from its template file."""

from __future__ import annotations

from pathlib import Path

from dc_overview.fsutil import atomic_write
from dc_overview.prometheus.targets import JOBS, STACK_FILES
from dc_overview.settings import Settings, duration_seconds
from dc_overview.templating import render

TEMPLATE = "prometheus/prometheus.yml.j2"


def _timeout_for(interval: str) -> str:
    """Scrape timeout: at most 10 s, and never longer than the interval (Prometheus refuses)."""
    return f"{min(duration_seconds(interval), 10)}s"


def render_prometheus_config(settings: Settings) -> str:
    return render(
        TEMPLATE,
        scrape_interval=settings.scrape_interval,
        scrape_timeout=_timeout_for(settings.scrape_interval),
        evaluation_interval="15s",
        site_name=settings.site_name,
        root=str(settings.prometheus_view_root),
        token_file=str(settings.prometheus_token_view),
        self_target=settings.prometheus_self_target,
        app_target=settings.app_scrape_target,
        jobs=JOBS,
        stack_files=STACK_FILES,
        remote_write=_remote_write(settings),
        alertmanager_target=settings.alertmanager_target,
    )


def _remote_write(settings: Settings) -> dict | None:
    """Scale-out: samples also go to a remote store; the password stays in a file."""
    if not settings.remote_write_url:
        return None
    password_file = settings.remote_write_password_file
    return {
        "url": settings.remote_write_url,
        "username": settings.remote_write_username,
        "password_file": str(password_file) if password_file else None,
    }


def write_prometheus_config(settings: Settings) -> Path:
    """Write `<config dir>/prometheus/prometheus.yml` (and an empty rules dir) atomically."""
    path = settings.prometheus_dir / "prometheus.yml"
    (settings.prometheus_dir / "rules").mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_prometheus_config(settings))
    return path
