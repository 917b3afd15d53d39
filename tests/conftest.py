"""Shared fixtures: temporary settings, the app, authenticated clients, a live gunicorn server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dc_overview.settings import Settings
from dc_overview.web import create_app
from tests.support.processes import free_port
from tests.support.stack import LiveServer, start_app

# A form's hidden field, or the page's <meta name="csrf-token"> (pages without forms).
CSRF_RE = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')


def make_settings(root: Path, **overrides) -> Settings:
    """Settings in a temp dir; Prometheus and Grafana on closed ports unless overridden."""
    closed = free_port()
    values = {
        "config_dir": root / "config",
        "data_dir": root / "data",
        "prometheus_url": f"http://127.0.0.1:{closed}/prometheus",
        "grafana_url": f"http://127.0.0.1:{closed}/grafana",
    }
    return Settings(**{**values, **overrides})


def settings_for_prometheus(root: Path, prom_port: int, **overrides) -> Settings:
    """Settings whose Prometheus runs on 127.0.0.1:`prom_port`, scraping every second."""
    return make_settings(
        root,
        **{
            "prometheus_url": f"http://127.0.0.1:{prom_port}/prometheus",
            "prometheus_self_target": f"127.0.0.1:{prom_port}",
            "scrape_interval": "1s",
            **overrides,
        },
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["dc_overview"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_password(app: Flask, settings: Settings) -> str:
    return settings.secret_file("admin_password").read_text().strip()


def services_of(app: Flask):
    return app.extensions["dc_overview"]


def make_token(app: Flask, username: str = "admin") -> str:
    accounts = services_of(app).accounts
    user = next(u for u in accounts.list_users() if u.username == username)
    return accounts.create_token(user.id, {"name": f"test-{username}"})[1]


@pytest.fixture
def admin_token(app: Flask) -> str:
    return make_token(app)


@pytest.fixture
def viewer_token(app: Flask) -> str:
    services_of(app).accounts.create_user(
        {"username": "watcher", "password": "viewer-password-1", "role": "viewer"}
    )
    return make_token(app, "watcher")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: FlaskClient, username: str, password: str, prefix: str = "") -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get(f"{prefix}/login").get_data(as_text=True)
    csrf = CSRF_RE.search(page).group(1)
    response = client.post(
        f"{prefix}/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": ""},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """`dc-overview serve` (gunicorn) on a free loopback port with temp config and data dirs."""
    server = start_app(make_settings(tmp_path), free_port(), tmp_path / "logs")
    yield server
    server.daemon.stop()
