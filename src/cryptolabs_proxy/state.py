"""What the proxy's service holds: config, catalog, users, keys and the status cache."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptolabs_proxy.catalog import ServiceSpec, load_catalog
from cryptolabs_proxy.config import ProxyConfig
from cryptolabs_proxy.fsutil import atomic_write, ensure_private_dir, ensure_secret, read_secret
from cryptolabs_proxy.identity import MIN_KEY_LENGTH
from cryptolabs_proxy.probe import ServiceStatus, StatusCache, probe_all
from cryptolabs_proxy.users import UserStore

log = logging.getLogger(__name__)


@dataclass
class ProxyState:
    config: ProxyConfig
    catalog: list[ServiceSpec]
    users: UserStore
    identity_key: str
    session_key: str
    statuses: StatusCache

    def service(self, name: str) -> ServiceSpec | None:
        return next((spec for spec in self.catalog if spec.name == name), None)

    def status_of_all(self) -> dict[str, ServiceStatus]:
        return self.statuses.get()


def prepare(config: ProxyConfig) -> ProxyState:
    """Data dir, users (with the first admin), identity and session keys; safe to repeat."""
    ensure_private_dir(config.data_dir)
    catalog = load_catalog(config.services_path, config.upstreams)
    users = UserStore(config.users_db, config.max_failures, config.lockout_seconds)
    if users.count() == 0:
        _create_first_admin(config, users)
    identity_key = ensure_secret(config.identity_key_path)
    if len(identity_key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"{config.identity_key_path} must hold at least {MIN_KEY_LENGTH} characters"
        )
    session_key = ensure_secret(config.session_key_path, nbytes=48)
    cache = StatusCache(lambda: probe_all(catalog, config.probe_timeout))
    return ProxyState(config, catalog, users, identity_key, session_key, cache)


def _create_first_admin(config: ProxyConfig, users: UserStore) -> None:
    path: Path = config.admin_password_path
    password = read_secret(path)
    if password is None:
        password = secrets.token_urlsafe(18)
        ensure_private_dir(path.parent)
        atomic_write(path, password + "\n", mode=0o600)
        log.warning("no admin password file: generated one in %s", path)
    if users.add(config.admin_username, password, "admin", only_if_empty=True):
        log.info("created the first admin %r from %s", config.admin_username, path)
