"""dc-overview trusting the proxy's signed identity header (and nothing else)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cryptolabs_proxy import identity
from dc_overview.web import create_app
from dc_overview.web.proxy_identity import HEADER
from tests.conftest import CSRF_RE, make_settings

KEY = "shared-identity-key-" + "x" * 24


def _key_file(tmp_path: Path, key: str = KEY) -> Path:
    path = tmp_path / "proxy_identity_key"
    path.write_text(key + "\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def proxied_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(make_settings(tmp_path, proxy_identity_key_file=_key_file(tmp_path)))
    yield app
    app.extensions["dc_overview"].close()


def _as(user: str, role: str, ttl: int = 60, key: str = KEY) -> dict[str, str]:
    return {HEADER: identity.sign(user, role, key, ttl)}


def test_a_verified_identity_signs_the_user_in(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    assert client.get("/api/servers", headers=_as("alice", "viewer")).status_code == 200
    page = client.get("/", headers=_as("alice", "viewer")).get_data(as_text=True)
    assert "alice" in page and "role-viewer" in page


@pytest.mark.parametrize(
    "headers",
    [
        _as("alice", "admin", ttl=-1),  # expired
        _as("alice", "admin", key="another-key-" + "y" * 30),  # forged
        {HEADER: "eyJ1IjoiYWxpY2UiLCJyIjoiYWRtaW4iLCJleHAiOjk5OTk5OTk5OTl9.c2ln"},  # unsigned
    ],
)
def test_forged_or_expired_identities_get_401(proxied_app: Flask, headers: dict) -> None:
    client = proxied_app.test_client()
    assert client.get("/api/servers", headers=headers).status_code == 401
    assert client.get("/", headers=headers).status_code == 401


def test_viewers_cannot_write_and_writes_need_csrf(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    body = {"name": "gpu-01", "server_ip": "10.0.0.11"}
    assert client.post("/api/servers", json=body, headers=_as("v", "viewer")).status_code == 403
    no_csrf = client.post("/api/servers", json=body, headers=_as("root", "admin"))
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.get_json()["error"]
    page = client.get("/", headers=_as("root", "admin")).get_data(as_text=True)
    csrf = CSRF_RE.search(page).group(1)
    headers = {**_as("root", "admin"), "X-CSRF-Token": csrf}
    assert client.post("/api/servers", json=body, headers=headers).status_code == 201


def test_proxy_principals_cannot_mint_api_tokens(proxied_app: Flask) -> None:
    client: FlaskClient = proxied_app.test_client()
    page = client.get("/", headers=_as("root", "admin")).get_data(as_text=True)
    headers = {**_as("root", "admin"), "X-CSRF-Token": CSRF_RE.search(page).group(1)}
    answer = client.post("/api/tokens", json={"name": "x"}, headers=headers)
    assert answer.status_code == 403 and "local dc-overview account" in answer.get_json()["error"]


def test_without_a_key_file_the_header_is_ignored(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    try:
        client = app.test_client()
        answer = client.get("/api/servers", headers=_as("alice", "admin"))
        assert answer.status_code == 401  # anonymous: the app's own login still rules
    finally:
        app.extensions["dc_overview"].close()


def test_a_missing_or_loose_key_file_refuses_identities(tmp_path: Path) -> None:
    key_file = _key_file(tmp_path)
    app = create_app(make_settings(tmp_path, proxy_identity_key_file=key_file))
    try:
        client = app.test_client()
        os.chmod(key_file, 0o644)
        assert client.get("/api/servers", headers=_as("alice", "admin")).status_code == 401
        key_file.unlink()
        assert client.get("/api/servers", headers=_as("alice", "admin")).status_code == 401
    finally:
        app.extensions["dc_overview"].close()
