"""The proxy's Flask service through its test client: login, auth_request answers, APIs."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from cryptolabs_proxy import identity
from cryptolabs_proxy.app import proxy_state
from cryptolabs_proxy.config import ProxyConfig
from tests.proxy.support import form_login


def _verify(client: FlaskClient, policy: str, **headers: str):
    return client.get(f"/auth/verify/{policy}", headers=headers)


def _state(app: Flask):
    with app.app_context():
        return proxy_state()


def test_first_admin_comes_from_the_secret_file(tmp_path, config: ProxyConfig) -> None:
    from cryptolabs_proxy.app import create_app

    config.admin_password_path.parent.mkdir(parents=True, mode=0o700)
    config.admin_password_path.write_text("from-the-secret-file\n")
    config.admin_password_path.chmod(0o600)
    client = create_app(config).test_client()
    assert form_login(client, "admin", "from-the-secret-file").status_code == 302
    assert config.identity_key_path.stat().st_mode & 0o777 == 0o600


def test_anonymous_requests_are_refused(proxy_client: FlaskClient) -> None:
    assert _verify(proxy_client, "dc-overview").status_code == 401
    assert _verify(proxy_client, "proxy").status_code == 401
    assert proxy_client.get("/api/services").status_code == 401
    assert proxy_client.get("/").headers["Location"].endswith("/login")
    assert proxy_client.get("/api/health").get_json()["status"] == "ok"


def test_unauthorized_sends_people_to_login_and_apis_a_401(proxy_client: FlaskClient) -> None:
    page = proxy_client.get("/auth/unauthorized", headers={"X-Original-URI": "/dc/servers?a=1&b"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/dc/servers%3Fa%3D1%26b"
    api = proxy_client.get("/auth/unauthorized", headers={"X-Original-URI": "/dc/api/servers"})
    assert api.status_code == 401 and "authentication required" in api.get_json()["error"]
    evil = proxy_client.get("/auth/unauthorized", headers={"X-Original-URI": "//evil.example/"})
    assert evil.headers["Location"] == "/login?next=/"


def test_login_issues_identities_per_policy(
    proxy_app: Flask, proxy_client: FlaskClient, admin_password: str
) -> None:
    response = form_login(proxy_client, "admin", admin_password, next_page="/grafana/d/x?y=1")
    assert response.status_code == 302 and response.headers["Location"] == "/grafana/d/x?y=1"
    answer = _verify(proxy_client, "grafana")
    assert answer.status_code == 200
    key = _state(proxy_app).identity_key
    assert identity.verify(answer.headers["X-CryptoLabs-Identity"], key) == ("admin", "admin")
    assert answer.headers["X-CryptoLabs-User"] == "admin"
    assert answer.headers["X-CryptoLabs-Grafana-Role"] == "Admin"
    assert _verify(proxy_client, "prometheus").status_code == 200
    assert _verify(proxy_client, "no-such-service").status_code == 403


def test_viewer_is_kept_out_of_admin_only_services(
    proxy_app: Flask, proxy_client: FlaskClient
) -> None:
    _state(proxy_app).users.add("watcher", "watcher-password", "viewer")
    assert form_login(proxy_client, "watcher", "watcher-password").status_code == 302
    assert _verify(proxy_client, "prometheus").status_code == 403
    answer = _verify(proxy_client, "ipmi-monitor")
    assert answer.status_code == 200
    assert answer.headers["X-CryptoLabs-Fleet-Role"] == "readonly"
    services = proxy_client.get("/api/services").get_json()["services"]
    prometheus = next(s for s in services if s["name"] == "prometheus")
    assert prometheus["admin_only"] and prometheus["url"] is None


def test_login_needs_the_form_csrf_token(proxy_client: FlaskClient, admin_password: str) -> None:
    response = proxy_client.post(
        "/login", data={"username": "admin", "password": admin_password, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert _verify(proxy_client, "proxy").status_code == 401


def test_open_redirects_are_refused(proxy_app: Flask, admin_password: str) -> None:
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = form_login(proxy_app.test_client(), "admin", admin_password, next_page=target)
        assert response.headers["Location"] == "/", target


def test_wrong_passwords_lock_the_login(proxy_client: FlaskClient, admin_password: str) -> None:
    for _ in range(5):
        assert form_login(proxy_client, "admin", "wrong-password").status_code == 401
    locked = form_login(proxy_client, "admin", admin_password)
    assert locked.status_code == 429 and "Too many failed logins" in locked.get_data(as_text=True)


def test_password_change_and_logout_end_sessions(
    proxy_app: Flask, proxy_client: FlaskClient, admin_password: str
) -> None:
    form_login(proxy_client, "admin", admin_password)
    assert _verify(proxy_client, "proxy").status_code == 200
    _state(proxy_app).users.set_password("admin", "a-new-password")
    assert _verify(proxy_client, "proxy").status_code == 401
    form_login(proxy_client, "admin", "a-new-password")
    page = proxy_client.get("/logout").get_data(as_text=True)  # backends link here
    assert "Sign out of CryptoLabs Fleet?" in page
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert proxy_client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert _verify(proxy_client, "proxy").status_code == 401


def test_bearer_tokens_pass_to_dc_overview_only(proxy_client: FlaskClient) -> None:
    bearer = {"Authorization": "Bearer dco_something"}
    allowed = _verify(proxy_client, "dc-overview", **bearer)
    assert allowed.status_code == 200 and "X-CryptoLabs-Identity" not in allowed.headers
    assert _verify(proxy_client, "grafana", **bearer).status_code == 401


def test_services_api_and_landing_page(proxy_client: FlaskClient, admin_password: str) -> None:
    form_login(proxy_client, "admin", admin_password)
    body = proxy_client.get("/api/services").get_json()
    assert body["site_name"] == "CryptoLabs Fleet"
    names = [s["name"] for s in body["services"]]
    assert names == ["dc-overview", "ipmi-monitor", "grafana", "prometheus"]
    for entry in body["services"]:
        assert entry["status"] == "not_installed" and entry["url"] is None
        assert {"name", "display_name", "path", "status", "version"} <= set(entry)
    page = proxy_client.get("/").get_data(as_text=True)
    assert "Get DC Overview" in page and "Get IPMI Monitor" in page
    assert "https://github.com/cryptolabsza/ipmi-monitor" in page
