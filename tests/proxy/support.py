"""Helpers for proxy tests: configs, signing in, and the proxy as a real process."""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from flask.testing import FlaskClient

from cryptolabs_proxy.config import ProxyConfig, load_config
from tests.conftest import make_settings
from tests.support.processes import Daemon, free_port, start_daemon, wait_for_http
from tests.support.stack import LiveServer, start_app, start_prometheus

# A form's hidden field, or the page's <meta name="csrf-token"> (pages without forms).
CSRF_RE = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')


def proxy_config(root: Path, **overrides: Any) -> ProxyConfig:
    """A config under `root`; every upstream on a closed loopback port unless overridden."""
    closed = free_port()
    values: dict[str, Any] = {
        "config_dir": root / "proxy-config",
        "data_dir": root / "proxy-data",
        "runtime_dir": root / "proxy-run",
        "resolver": None,
        "nginx_user": "root",
        "bind": f"127.0.0.1:{free_port()}",
        "upstreams": {
            name: f"127.0.0.1:{closed}"
            for name in ("dc-overview", "ipmi-monitor", "grafana", "prometheus")
        },
        "probe_timeout": 1.0,
        "lockout_seconds": 60,
        **overrides,
    }
    return ProxyConfig(**values)


def write_config_file(config: ProxyConfig, path: Path) -> Path:
    """The YAML file `cryptolabs-proxy --config` reads, equivalent to `config`."""
    data = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in vars(config).items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    assert load_config(path, environ={}) == config
    return path


def form_login(client: FlaskClient, username: str, password: str, next_page: str = "") -> Any:
    page = client.get("/login").get_data(as_text=True)
    csrf = CSRF_RE.search(page).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": next_page},
    )


@dataclass
class LiveProxy:
    """`cryptolabs-proxy run` (nginx + gunicorn) on free loopback ports."""

    config: ProxyConfig
    daemon: Daemon
    https_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def cert(self) -> str:
        return str(self.config.tls_dir / "selfsigned.crt")

    @property
    def admin_password(self) -> str:
        return self.config.admin_password_path.read_text().strip()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment beats `verify`
        session.verify = self.cert
        return session

    def login(self, username: str, password: str) -> requests.Session:
        session = self.session()
        page = session.get(f"{self.url}/login", timeout=10).text
        csrf = CSRF_RE.search(page).group(1)
        answer = session.post(
            f"{self.url}/login",
            data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return session

    def add_user(self, username: str, password: str, role: str) -> None:
        from cryptolabs_proxy.users import UserStore

        UserStore(self.config.users_db).add(username, password, role)


def start_proxy(root: Path, **overrides: Any) -> LiveProxy:
    https_port, http_port = free_port(), free_port()
    config = proxy_config(
        root,
        https_listen=f"127.0.0.1:{https_port}",
        http_listen=f"127.0.0.1:{http_port}",
        public_https_port=https_port,
        **overrides,
    )
    config_file = write_config_file(config, root / "proxy.yml")
    argv = [sys.executable, "-m", "cryptolabs_proxy", "--config", str(config_file), "run"]
    daemon = start_daemon("cryptolabs-proxy", argv, root / "logs")
    proxy = LiveProxy(config, daemon, https_port, http_port)
    try:
        wait_for_http(
            f"http://127.0.0.1:{config.bind.split(':')[1]}/api/health", 30, daemon.process
        )
        wait_for_http(f"http://127.0.0.1:{http_port}/.well-known/acme-challenge/x", 15)
    except Exception:
        daemon.stop()
        raise RuntimeError(f"cryptolabs-proxy did not start:\n{daemon.log()}") from None
    return proxy


@dataclass
class Stack:
    """The proxy before the real dc-overview and Prometheus; Grafana and IPMI Monitor absent."""

    proxy: LiveProxy
    app: LiveServer
    app_port: int
    prometheus: Daemon
    key: str
    root: Path

    def restart_app(self) -> None:
        self.app = start_app(self.app.settings, self.app_port, self.root / "logs-again")


def shared_key(root: Path) -> tuple[Path, str]:
    """The identity key file both the proxy and dc-overview are given (0600 in a 0700 dir)."""
    key_file = root / "secrets" / "proxy_identity_key"
    key_file.parent.mkdir(mode=0o700, parents=True)
    key = secrets.token_urlsafe(36)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key_file, key


@contextmanager
def running_stack(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    key_file, key = shared_key(root)
    prom_port, app_port = free_port(), free_port()
    (root / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    daemons = [start_prometheus(root / "prometheus.yml", prom_port, root / "prom")]
    stack: Stack | None = None
    try:
        # tests.support.stack.settings_env() does not pass this setting; children inherit it.
        monkeypatch.setenv("DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE", str(key_file))
        settings = make_settings(
            root / "dco",
            prometheus_url=f"http://127.0.0.1:{prom_port}/prometheus",
            proxy_identity_key_file=key_file,
        )
        app = start_app(settings, app_port, root / "logs")
        daemons.append(app.daemon)
        upstreams = {
            "dc-overview": f"127.0.0.1:{app_port}",
            "prometheus": f"127.0.0.1:{prom_port}",
            "grafana": f"127.0.0.1:{free_port()}",
            "ipmi-monitor": f"127.0.0.1:{free_port()}",
        }
        proxy = start_proxy(
            root / "proxy",
            upstreams=upstreams,
            identity_key_file=key_file,
            site_name="Lab 7",
            refresh_seconds=2,
        )
        daemons.append(proxy.daemon)
        stack = Stack(proxy, app, app_port, daemons[0], key, root)
        yield stack
    finally:
        if stack is not None:
            daemons.append(stack.app.daemon)  # a restarted app is a new process
        for daemon in reversed(daemons):
            daemon.stop()
