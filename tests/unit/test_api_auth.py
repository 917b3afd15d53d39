"""Who may do what: anonymous, viewer, admin, API tokens, CSRF, and the login rate limit."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer, login, services_of
from tests.support.snapshot import inventory_snapshot

PROTECTED = [
    ("GET", "/api/servers"),
    ("POST", "/api/servers"),
    ("GET", "/api/servers/1"),
    ("PATCH", "/api/servers/1"),
    ("DELETE", "/api/servers/1"),
    ("GET", "/api/prometheus/targets"),
    ("GET", "/api/ssh-keys"),
    ("POST", "/api/ssh-keys"),
    ("GET", "/api/ssh-keys/1/public"),
    ("DELETE", "/api/ssh-keys/1"),
    ("GET", "/api/grafana/status"),
    ("GET", "/api/tokens"),
    ("POST", "/api/tokens"),
    ("DELETE", "/api/tokens/1"),
    ("POST", "/api/import/ipmi-monitor"),
    ("POST", "/api/exporters/install"),
    ("GET", "/api/jobs/1"),
    ("GET", "/api/openapi.json"),
    ("GET", "/metrics"),
]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_anonymous_api_requests_are_401(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, json={})
    assert response.status_code == 401
    assert "authentication required" in response.get_json()["error"]


def test_every_registered_endpoint_is_covered(app: Flask) -> None:
    """A new route added without a line above fails here, so none escapes the auth test."""
    documented = {path for _, path in PROTECTED}
    public = {"/api/health", "/login", "/logout"}
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<int:server_id>", "1").replace("<int:key_id>", "1")
        path = path.replace("<int:token_id>", "1").replace("<int:job_id>", "1")
        if path.startswith("/api/") or path == "/metrics":
            assert path in documented or path in public, f"{rule.rule} not in PROTECTED"


def test_pages_redirect_to_login(client: FlaskClient) -> None:
    response = client.get("/targets")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/targets")


def test_health_needs_no_auth(client: FlaskClient) -> None:
    body = client.get("/api/health").get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"ok": True}
    assert "Prometheus not reachable" in body["reasons"][0]


def test_viewer_reads_but_cannot_write(client: FlaskClient, app: Flask, viewer_token: str) -> None:
    headers = bearer(viewer_token)
    assert client.get("/api/servers", headers=headers).status_code == 200
    before = inventory_snapshot(services_of(app))
    body = {"name": "gpu-01", "server_ip": "10.0.0.1"}
    for method, path in [("POST", "/api/servers"), ("DELETE", "/api/servers/1"),
                         ("POST", "/api/ssh-keys"), ("POST", "/api/tokens")]:  # fmt: skip
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 403
        assert "viewers cannot change" in response.get_json()["error"]
    assert inventory_snapshot(services_of(app)) == before


def test_token_works_until_revoked(client: FlaskClient, admin_token: str) -> None:
    created = client.post("/api/tokens", json={"name": "ci"}, headers=bearer(admin_token))
    assert created.status_code == 201
    new = created.get_json()
    assert new["token"].startswith("dco_")
    assert client.get("/api/servers", headers=bearer(new["token"])).status_code == 200
    listed = client.get("/api/tokens", headers=bearer(admin_token)).get_json()
    assert all("token" not in t and "token_hash" not in t for t in listed)

    revoke = client.delete(f"/api/tokens/{new['id']}", headers=bearer(admin_token))
    assert revoke.status_code == 204
    refused = client.get("/api/servers", headers=bearer(new["token"]))
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["error"]
    assert client.get("/api/servers", headers=bearer("dco_made-up")).status_code == 401


def test_tokens_are_stored_hashed(app: Flask, admin_token: str) -> None:
    stored = services_of(app).accounts.list_tokens()[0]
    assert admin_token not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64


def test_session_writes_need_csrf(client: FlaskClient, admin_password: str) -> None:
    csrf = login(client, "admin", admin_password)
    body = {"name": "gpu-01", "server_ip": "10.0.0.1"}
    refused = client.post("/api/servers", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.get_json()["error"]
    accepted = client.post("/api/servers", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201


def test_wrong_password_and_rate_limit(client: FlaskClient, admin_password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "admin", "password": "wrong-password", "csrf_token": csrf}
    for _ in range(5):
        assert client.post("/login", data=form).status_code == 401
    limited = client.post("/login", data=form | {"password": admin_password})
    assert limited.status_code == 429
    assert "too many failed logins" in limited.get_data(as_text=True)


def test_login_without_csrf_is_refused(client: FlaskClient, admin_password: str) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": admin_password})
    assert response.status_code == 400


def test_login_next_cannot_leave_the_site(client: FlaskClient, admin_password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "admin", "password": admin_password, "csrf_token": csrf}
    response = client.post("/login", data=form | {"next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_passwords_use_a_slow_hash(app: Flask) -> None:
    user = services_of(app).accounts.list_users()[0]
    with services_of(app).db.session() as session:
        stored = session.get(type(user), user.id).password_hash
    assert stored.startswith("scrypt:")
