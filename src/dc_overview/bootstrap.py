"""First start and every start: schema, secrets, the first admin, Prometheus files."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from dc_overview.fsutil import ensure_private_dir, ensure_secret, read_secret
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.services import Services

SESSION_KEY = "session_key"
METRICS_TOKEN = "metrics_token"
ADMIN_PASSWORD = "admin_password"


@dataclass
class BootstrapReport:
    admin_created: str | None = None
    admin_password_file: str | None = None
    admin_password_generated: bool = False


def prepare(services: Services) -> BootstrapReport:
    """Idempotent: migrate, create missing secrets and the first admin, render Prometheus files."""
    settings = services.settings
    ensure_private_dir(settings.secrets_dir)
    ensure_private_dir(settings.ssh_keys_dir)
    services.db.migrate()
    ensure_secret(settings.secret_file(SESSION_KEY), lambda: secrets.token_hex(32))
    ensure_secret(settings.secret_file(METRICS_TOKEN), lambda: secrets.token_urlsafe(32))
    report = _ensure_admin(services)
    write_prometheus_config(settings)
    services.targets.publish()
    services.fleet_export.write()
    return report


def _ensure_admin(services: Services) -> BootstrapReport:
    """With no users yet, create the admin from the secret file (generated when absent)."""
    if services.accounts.count_users():
        return BootstrapReport()
    path = services.settings.secret_file(ADMIN_PASSWORD)
    password, generated = ensure_secret(path, lambda: secrets.token_urlsafe(18))
    username = services.settings.admin_username
    services.accounts.create_user({"username": username, "password": password, "role": "admin"})
    return BootstrapReport(
        admin_created=username, admin_password_file=str(path), admin_password_generated=generated
    )


def session_key(services: Services) -> str:
    key = read_secret(services.settings.secret_file(SESSION_KEY))
    if not key:
        raise RuntimeError("session key missing: run `dc-overview serve` once to create it")
    return key


def metrics_token(services: Services) -> str | None:
    return read_secret(services.settings.secret_file(METRICS_TOKEN))
