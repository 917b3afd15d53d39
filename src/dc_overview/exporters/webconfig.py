"""node_exporter's web-config file: TLS and basic auth with bcrypt hashes.

    tls_server_config:
      cert_file: server.crt          # paths relative to the config file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: clients.pem                     # optional
      min_version: TLS12                              # optional
    basic_auth_users:
      prometheus: $2y$10$...          # bcrypt hash

Reading the file needs PyYAML; basic auth needs the `bcrypt` module. Without them the file
is refused with a message that says so (never silently ignored).
"""

from __future__ import annotations

import hashlib
import os
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"}
TOP_KEYS = {"tls_server_config", "basic_auth_users", "http_server_config"}
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


class WebConfigError(Exception):
    """The web-config file cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class TlsConfig:
    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str = ""
    min_version: str = "TLS12"

    def context(self) -> ssl.SSLContext:
        """A server SSLContext from these settings."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = TLS_VERSIONS[self.min_version]
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
            if self.client_ca_file:
                context.load_verify_locations(self.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise WebConfigError(f"web config: cannot load TLS files: {exc}") from exc
        context.verify_mode = CLIENT_AUTH[self.client_auth_type]
        return context


@dataclass(frozen=True)
class WebConfig:
    tls: TlsConfig | None = None
    basic_auth_users: dict[str, str] = field(default_factory=dict)


def _load_yaml(path: str) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise WebConfigError(
            "web config: reading the file needs PyYAML, which is not installed "
            "(pip install pyyaml, or apt install python3-yaml)"
        ) from exc
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    except OSError as exc:
        raise WebConfigError(f"web config: cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise WebConfigError(f"web config: {path} is not valid YAML: {exc}") from exc


def _tls(section: Any, base_dir: str) -> TlsConfig:
    if not isinstance(section, dict):
        raise WebConfigError("web config: tls_server_config must be a mapping")
    unknown = set(section) - TLS_KEYS
    if unknown:
        raise WebConfigError(f"web config: unknown tls_server_config keys: {sorted(unknown)}")
    for key in ("cert_file", "key_file"):
        if not section.get(key):
            raise WebConfigError(f"web config: tls_server_config.{key} is required")
    auth = section.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        raise WebConfigError(
            f"web config: client_auth_type {auth!r} is not one of {sorted(CLIENT_AUTH)}"
        )
    if auth == "RequireAndVerifyClientCert" and not section.get("client_ca_file"):
        raise WebConfigError("web config: RequireAndVerifyClientCert needs client_ca_file")
    version = section.get("min_version", "TLS12")
    if version not in TLS_VERSIONS:
        raise WebConfigError(
            f"web config: min_version {version!r} is not one of {sorted(TLS_VERSIONS)}"
        )

    def resolve(name: str) -> str:
        value = section.get(name) or ""
        return os.path.join(base_dir, value) if value else ""

    return TlsConfig(
        resolve("cert_file"), resolve("key_file"), auth, resolve("client_ca_file"), version
    )


def _users(section: Any) -> dict[str, str]:
    if not isinstance(section, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in section.items()
    ):
        raise WebConfigError("web config: basic_auth_users must map user names to bcrypt hashes")
    if section and bcrypt_module() is None:
        raise WebConfigError(
            "web config: basic_auth_users needs the Python module 'bcrypt', which is not "
            "installed (pip install bcrypt, or apt install python3-bcrypt); refusing to start "
            "without the authentication the file asks for"
        )
    for user, hashed in section.items():
        if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"web config: the password of {user!r} is not a bcrypt hash")
    return dict(section)


def load_web_config(path: str) -> WebConfig:
    """Parse and check a web-config file; raises WebConfigError with a clear message."""
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise WebConfigError(f"web config: {path} must hold a mapping")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise WebConfigError(f"web config: unknown keys: {sorted(unknown)}")
    base_dir = os.path.dirname(os.path.abspath(path))
    tls = _tls(data["tls_server_config"], base_dir) if data.get("tls_server_config") else None
    users = _users(data.get("basic_auth_users") or {})
    config = WebConfig(tls, users)
    if tls is not None:
        tls.context()  # fail at start, not at the first scrape
    return config


def bcrypt_module() -> Any:
    """The bcrypt module, or None when it is not installed."""
    try:
        import bcrypt
    except ImportError:
        return None
    return bcrypt


class BasicAuth:
    """Checks user:password against bcrypt hashes; remembers good pairs (bcrypt is slow)."""

    _DUMMY = b"$2b$10$" + b"." * 53

    def __init__(self, users: dict[str, str], hasher: Any = None) -> None:
        self._users = users
        self._bcrypt = hasher if hasher is not None else bcrypt_module()
        self._cache: dict[tuple[str, bytes], bool] = {}
        self._lock = threading.Lock()

    def check(self, user: str, password: str) -> bool:
        digest = hashlib.sha256(password.encode()).digest()
        key = (user, digest)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        hashed = self._users.get(user)
        try:
            ok = self._bcrypt.checkpw(password.encode(), (hashed or "").encode() or self._DUMMY)
        except ValueError:
            ok = False
        ok = bool(ok) and hashed is not None
        with self._lock:
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[key] = ok
        return ok
