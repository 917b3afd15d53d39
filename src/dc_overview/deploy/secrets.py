"""The stack's secrets as files: created once, kept on every re-run, owned by their reader."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dc_overview.deploy.compose import (
    APP_UID,
    GRAFANA_UID,
    IDENTITY_KEY,
    PROMETHEUS_UID,
    REMOTE_WRITE_PASSWORD,
)
from dc_overview.deploy.config import QuickstartConfig
from dc_overview.fsutil import atomic_write, ensure_private_dir, ensure_secret, read_secret

ADMIN_PASSWORD = "admin_password"
GRAFANA_PASSWORD = "grafana_admin_password"
APP_SECRETS = ("session_key", "metrics_token", IDENTITY_KEY)


@dataclass
class SecretsReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def provision_secrets(config: QuickstartConfig, config_dir: Path) -> SecretsReport:
    """Write missing secrets (0600); an existing secret is never replaced."""
    report = SecretsReport()
    secrets_dir = ensure_private_dir(config_dir / "secrets")
    wanted = {
        ADMIN_PASSWORD: config.admin.password,
        GRAFANA_PASSWORD: config.grafana.admin_password,
    }
    for name, given in wanted.items():
        _provision(secrets_dir / name, given, report)
    for name in APP_SECRETS:
        _provision(secrets_dir / name, None, report, length=32)
    token = read_secret(secrets_dir / "metrics_token") or ""
    atomic_write(config_dir / "prometheus" / "metrics_token", token + "\n", mode=0o600)
    _copy_remote_write_password(config, config_dir)
    _proxy_secrets(config, secrets_dir)
    return report


def _proxy_secrets(config: QuickstartConfig, secrets_dir: Path) -> None:
    """The proxy's own folder: the first admin's password, the shared key, an own TLS pair."""
    proxy_dir = ensure_private_dir(secrets_dir / "proxy")
    for name in (ADMIN_PASSWORD, IDENTITY_KEY):
        atomic_write(proxy_dir / name, (read_secret(secrets_dir / name) or "") + "\n", mode=0o600)
    if config.tls.mode == "own":
        for source, name in ((config.tls.cert_file, "tls.crt"), (config.tls.key_file, "tls.key")):
            data = Path(source or "").read_bytes()
            atomic_write(proxy_dir / name, data, mode=0o600)


def _copy_remote_write_password(config: QuickstartConfig, config_dir: Path) -> None:
    """Prometheus reads the remote-write password from its own 0600 copy."""
    remote = config.prometheus.remote_write
    if remote is None or not remote.password_file:
        return
    password = read_secret(Path(remote.password_file))
    if password is None:
        raise FileNotFoundError(
            f"prometheus.remote_write.password_file: {remote.password_file} does not exist"
        )
    target = config_dir / "prometheus" / REMOTE_WRITE_PASSWORD
    atomic_write(target, password + "\n", mode=0o600)


def _provision(path: Path, given: str | None, report: SecretsReport, length: int = 18) -> None:
    existing = read_secret(path)
    if existing:
        report.kept.append(path.name)
        if given and given != existing:
            report.notes.append(
                f"{path.name}: kept the existing value; a new one in the config is ignored "
                "(change passwords in the app instead)"
            )
        return
    ensure_secret(path, lambda: given or secrets.token_urlsafe(length))
    report.created.append(path.name)
    if not given:
        report.generated.append(path.name)


def apply_ownership(config_dir: Path) -> bool:
    """Give each file to the container user that reads it; a no-op (False) when not root."""
    if os.geteuid() != 0:
        return False
    for root, dirs, files in os.walk(config_dir):
        for name in [*dirs, *files]:
            os.chown(Path(root) / name, APP_UID, APP_UID)
    os.chown(config_dir, APP_UID, APP_UID)
    shutil.chown(config_dir / "secrets" / GRAFANA_PASSWORD, GRAFANA_UID, GRAFANA_UID)
    for name in ("metrics_token", REMOTE_WRITE_PASSWORD):
        path = config_dir / "prometheus" / name
        if path.exists():
            shutil.chown(path, PROMETHEUS_UID, PROMETHEUS_UID)
    return True
