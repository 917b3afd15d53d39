"""The app under gunicorn, Prometheus and node_exporter as real processes for tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dc_overview.settings import Settings
from tests.support.processes import (
    Daemon,
    cli_binary,
    free_port,
    require_binary,
    start_daemon,
    wait_for_http,
)


@dataclass
class LiveServer:
    url: str
    settings: Settings
    daemon: Daemon

    @property
    def admin_password(self) -> str:
        return self.settings.secret_file("admin_password").read_text().strip()


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "DC_OVERVIEW_PROMETHEUS_URL": settings.prometheus_url,
        "DC_OVERVIEW_GRAFANA_URL": settings.grafana_url,
        "DC_OVERVIEW_APP_SCRAPE_TARGET": settings.app_scrape_target,
        "DC_OVERVIEW_PROMETHEUS_SELF_TARGET": settings.prometheus_self_target,
        "DC_OVERVIEW_SCRAPE_INTERVAL": settings.scrape_interval,
        "DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE": str(settings.proxy_identity_key_file or ""),
    }


def start_app(settings: Settings, port: int, log_dir: Path, workers: int = 1) -> LiveServer:
    argv = [
        cli_binary(),
        "--config-dir", str(settings.config_dir),
        "--data-dir", str(settings.data_dir),
        "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
    ]  # fmt: skip
    daemon = start_daemon("dc-overview", argv, log_dir, env=settings_env(settings))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/health", timeout=60, process=daemon.process)
    except Exception:
        daemon.stop()
        raise RuntimeError(f"dc-overview serve did not start:\n{daemon.log()}") from None
    return LiveServer(url, settings, daemon)


def start_node_exporter(log_dir: Path) -> tuple[Daemon, int]:
    port = free_port()
    binary = require_binary("prometheus-node-exporter")
    daemon = start_daemon(
        "node-exporter", [binary, f"--web.listen-address=127.0.0.1:{port}"], log_dir
    )
    wait_for_http(f"http://127.0.0.1:{port}/metrics", process=daemon.process)
    return daemon, port


def start_prometheus(config: Path, port: int, work_dir: Path) -> Daemon:
    binary = require_binary("prometheus")
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={work_dir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.route-prefix=/prometheus/",
        f"--web.external-url=http://127.0.0.1:{port}/prometheus/",
        "--web.enable-lifecycle",
    ]
    daemon = start_daemon("prometheus", argv, work_dir)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/prometheus/-/ready", process=daemon.process)
    except Exception:
        daemon.stop()
        raise RuntimeError(f"prometheus did not start:\n{daemon.log()}") from None
    return daemon
