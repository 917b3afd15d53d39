"""The proxy's settings: defaults, then the YAML config file, then `CRYPTOLABS_PROXY_*` env vars.

Only non-secret values live here; secrets are files whose paths are settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV = "CRYPTOLABS_PROXY_CONFIG"
ENV_PREFIX = "CRYPTOLABS_PROXY_"
DEFAULT_CONFIG_DIR = Path("/etc/cryptolabs-proxy")
TLS_MODES = ("self-signed", "own", "letsencrypt")
_LISTEN_RE = re.compile(r"^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?\d{1,5}$")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$"
)


class ConfigError(ValueError):
    """A setting cannot be used; the message names it."""


@dataclass(frozen=True)
class ProxyConfig:
    """Where the proxy keeps things and how it is reached."""

    config_dir: Path = DEFAULT_CONFIG_DIR
    data_dir: Path = Path("/var/lib/cryptolabs-proxy")
    runtime_dir: Path = Path("/run/cryptolabs-proxy")
    site_name: str = "CryptoLabs Fleet"
    admin_username: str = "admin"
    admin_password_file: Path | None = None
    identity_key_file: Path | None = None
    services_file: Path | None = None
    upstreams: dict[str, str] = field(default_factory=dict)
    bind: str = "127.0.0.1:8099"
    http_listen: str = "80"
    https_listen: str = "443"
    public_https_port: int = 443
    resolver: str | None = "127.0.0.11"
    nginx_user: str | None = None
    tls_mode: str = "self-signed"
    domain: str | None = None
    email: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    letsencrypt_dir: Path = Path("/etc/letsencrypt")
    identity_ttl: int = 60
    session_hours: int = 12
    max_failures: int = 5
    lockout_seconds: int = 900
    probe_timeout: float = 2.0
    refresh_seconds: int = 10
    cookie_secure: bool = True
    gunicorn_workers: int = 2

    @property
    def secrets_dir(self) -> Path:
        return self.config_dir / "secrets"

    @property
    def admin_password_path(self) -> Path:
        return self.admin_password_file or self.secrets_dir / "admin_password"

    @property
    def identity_key_path(self) -> Path:
        return self.identity_key_file or self.secrets_dir / "proxy_identity_key"

    @property
    def services_path(self) -> Path:
        return self.services_file or self.config_dir / "services.yml"

    @property
    def users_db(self) -> Path:
        return self.data_dir / "users.db"

    @property
    def session_key_path(self) -> Path:
        return self.data_dir / "session_key"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def acme_webroot(self) -> Path:
        return self.runtime_dir / "acme"  # transient challenge files; readable by workers


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _to_upstreams(value: Any) -> dict[str, str]:
    if isinstance(value, str):  # env form: "dc-overview=127.0.0.1:5001,grafana=127.0.0.1:3000"
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        value = {key.strip(): target.strip() for key, target in pairs}
    if not isinstance(value, dict):
        raise ValueError("must map service names to host:port")
    return {str(key): str(target) for key, target in value.items()}


def _optional(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value in (None, "", "none", "null") else kind(value)


_KINDS = {
    "config_dir": Path,
    "data_dir": Path,
    "runtime_dir": Path,
    "site_name": str,
    "admin_username": str,
    "admin_password_file": _optional(Path),
    "identity_key_file": _optional(Path),
    "services_file": _optional(Path),
    "upstreams": _to_upstreams,
    "bind": str,
    "http_listen": str,
    "https_listen": str,
    "public_https_port": int,
    "resolver": _optional(str),
    "nginx_user": _optional(str),
    "tls_mode": str,
    "domain": _optional(str),
    "email": _optional(str),
    "cert_file": _optional(Path),
    "key_file": _optional(Path),
    "letsencrypt_dir": Path,
    "identity_ttl": int,
    "session_hours": int,
    "max_failures": int,
    "lockout_seconds": int,
    "probe_timeout": float,
    "refresh_seconds": int,
    "cookie_secure": _to_bool,
    "gunicorn_workers": int,
}
assert set(_KINDS) == {f.name for f in fields(ProxyConfig)}


def load_config(
    config_file: Path | None = None, environ: dict[str, str] | None = None
) -> ProxyConfig:
    """Defaults, overlaid by the YAML file (if present), overlaid by the environment."""
    env = os.environ if environ is None else environ
    config_dir = env.get(ENV_PREFIX + "CONFIG_DIR") or DEFAULT_CONFIG_DIR
    path = config_file or Path(env.get(CONFIG_ENV) or Path(config_dir) / "proxy.yml")
    values: dict[str, Any] = {}
    if path.exists():
        values.update(_convert(_read_yaml(path), source=str(path)))
    env_values = {
        name: env[ENV_PREFIX + name.upper()]
        for name in _KINDS
        if env.get(ENV_PREFIX + name.upper())
    }
    values.update(_convert(env_values, source="environment", env=True))
    config = replace(ProxyConfig(), **values)
    validate(config)
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of setting: value")
    return data


def _convert(raw: dict[str, Any], source: str, env: bool = False) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in raw.items():
        label = ENV_PREFIX + key.upper() if env else key
        if key not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            raise ConfigError(f"{source}: unknown setting {label!r} (known: {known})")
        try:
            converted[key] = _KINDS[key](value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: {label}={value!r} is invalid: {exc}") from exc
    return converted


def validate(config: ProxyConfig) -> None:
    """Refuse settings that would render a broken or unsafe nginx config."""
    for name in ("http_listen", "https_listen"):
        if not _LISTEN_RE.match(getattr(config, name)):
            raise ConfigError(f"{name}={getattr(config, name)!r} must be PORT or ADDRESS:PORT")
    if config.tls_mode not in TLS_MODES:
        raise ConfigError(f"tls_mode={config.tls_mode!r} must be one of {', '.join(TLS_MODES)}")
    if config.domain is not None and not _DOMAIN_RE.match(config.domain):
        raise ConfigError(f"domain={config.domain!r} is not a DNS name such as fleet.example.com")
    if config.tls_mode == "own" and not (config.cert_file and config.key_file):
        raise ConfigError("tls_mode=own needs cert_file and key_file")
    if config.tls_mode == "letsencrypt" and not (config.domain and config.email):
        raise ConfigError("tls_mode=letsencrypt needs domain and email")
    if not re.fullmatch(r"[^\x00-\x1f<>\"'{};]{1,80}", config.site_name):
        raise ConfigError("site_name must be 1-80 printable characters without <>\"'{};")
    if not 1 <= config.public_https_port <= 65535:
        raise ConfigError(f"public_https_port={config.public_https_port} is not a port")
    if config.resolver is not None and not re.fullmatch(r"[0-9a-fA-F.:\[\] ]+", config.resolver):
        raise ConfigError(f"resolver={config.resolver!r} must be IP addresses")
    if not 1 <= config.refresh_seconds <= 3600:
        raise ConfigError("refresh_seconds must be between 1 and 3600")
    if not 10 <= config.identity_ttl <= 3600:
        raise ConfigError("identity_ttl must be between 10 and 3600 seconds")
