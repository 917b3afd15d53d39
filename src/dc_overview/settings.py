"""Paths and environment: the one place that reads environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_CONFIG_DIR = Path("/etc/dc-overview")
DEFAULT_DATA_DIR = Path("/var/lib/dc-overview")
DATABASE_FILE = "dc_overview.db"


@dataclass(frozen=True)
class Settings:
    """Everything the services need to know about where things live and how to reach them."""

    config_dir: Path = DEFAULT_CONFIG_DIR
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    prometheus_url: str = "http://127.0.0.1:9090/prometheus"
    grafana_url: str = "http://127.0.0.1:3000/grafana"
    # How Prometheus reaches things; differs from the app's view when Prometheus runs in Docker.
    app_scrape_target: str = "127.0.0.1:5001"
    prometheus_self_target: str = "127.0.0.1:9090"
    prometheus_config_root: Path | None = None
    prometheus_token_file: Path | None = None
    scrape_interval: str = "5s"
    remote_write_url: str | None = None
    remote_write_username: str | None = None
    remote_write_password_file: Path | None = None
    # host:port of Alertmanager as Prometheus reaches it; None: no `alerting:` block.
    alertmanager_target: str | None = None
    site_name: str = "DC Overview"
    admin_username: str = "admin"
    proxy_hops: int = 1
    # cryptolabs-proxy's shared key: with it, the proxy's signed identity header is trusted.
    proxy_identity_key_file: Path | None = None
    bind: str = "127.0.0.1:5001"
    # node_exporter binary (or a folder holding one) pushed to workers when the config dir has no
    # artifacts/ folder; None: the pinned upstream release is downloaded.
    node_exporter_source: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / DATABASE_FILE}"

    @property
    def ssh_keys_dir(self) -> Path:
        return self.config_dir / "ssh_keys"

    @property
    def secrets_dir(self) -> Path:
        return self.config_dir / "secrets"

    @property
    def prometheus_dir(self) -> Path:
        return self.config_dir / "prometheus"

    @property
    def targets_dir(self) -> Path:
        return self.prometheus_dir / "targets"

    @property
    def prometheus_view_root(self) -> Path:
        """The config dir's `prometheus/` folder as the Prometheus process sees it."""
        return self.prometheus_config_root or self.prometheus_dir

    @property
    def prometheus_token_view(self) -> Path:
        """The metrics token file as the Prometheus process sees it."""
        return self.prometheus_token_file or self.secret_file("metrics_token")

    def secret_file(self, name: str) -> Path:
        return self.secrets_dir / name

    def with_dirs(self, config_dir: Path | None, data_dir: Path | None) -> Settings:
        return replace(
            self,
            config_dir=config_dir or self.config_dir,
            data_dir=data_dir or self.data_dir,
        )


_ENV_FIELDS = {
    "DC_OVERVIEW_CONFIG_DIR": ("config_dir", Path),
    "DC_OVERVIEW_DATA": ("data_dir", Path),
    "DATABASE_URL": ("database_url", str),
    "DC_OVERVIEW_PROMETHEUS_URL": ("prometheus_url", str),
    "DC_OVERVIEW_GRAFANA_URL": ("grafana_url", str),
    "DC_OVERVIEW_APP_SCRAPE_TARGET": ("app_scrape_target", str),
    "DC_OVERVIEW_PROMETHEUS_SELF_TARGET": ("prometheus_self_target", str),
    "DC_OVERVIEW_PROMETHEUS_CONFIG_ROOT": ("prometheus_config_root", Path),
    "DC_OVERVIEW_PROMETHEUS_TOKEN_FILE": ("prometheus_token_file", Path),
    "DC_OVERVIEW_SCRAPE_INTERVAL": ("scrape_interval", str),
    "DC_OVERVIEW_REMOTE_WRITE_URL": ("remote_write_url", str),
    "DC_OVERVIEW_REMOTE_WRITE_USERNAME": ("remote_write_username", str),
    "DC_OVERVIEW_REMOTE_WRITE_PASSWORD_FILE": ("remote_write_password_file", Path),
    "DC_OVERVIEW_ALERTMANAGER_TARGET": ("alertmanager_target", str),
    "DC_OVERVIEW_SITE_NAME": ("site_name", str),
    "DC_OVERVIEW_ADMIN_USER": ("admin_username", str),
    "DC_OVERVIEW_PROXY_HOPS": ("proxy_hops", int),
    "DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE": ("proxy_identity_key_file", Path),
    "DC_OVERVIEW_BIND": ("bind", str),
    "DC_OVERVIEW_NODE_EXPORTER": ("node_exporter_source", Path),
}


def load_settings(
    config_dir: Path | None = None,
    data_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from the environment, with explicit directories (CLI flags) taking precedence."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for var, (name, kind) in _ENV_FIELDS.items():
        raw = env.get(var)
        if raw:
            try:
                values[name] = kind(raw)
            except ValueError as exc:
                raise SettingsError(f"{var}={raw!r} is not a valid {kind.__name__}") from exc
    settings = Settings(**values).with_dirs(config_dir, data_dir)  # type: ignore[arg-type]
    duration_seconds(settings.scrape_interval)
    return settings


class SettingsError(ValueError):
    """A setting from the environment cannot be used."""


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(value: str) -> int:
    """Seconds in a Prometheus-style duration such as "5s", "1m" or "2h"."""
    match = re.fullmatch(r"([1-9][0-9]*)([smh])", value)
    if not match:
        raise SettingsError(f"duration {value!r} must look like 5s, 1m or 2h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
