"""The proxy for real: Debian nginx + its gunicorn service in front of the real dc-overview
(gunicorn) and a real Prometheus, all on free loopback ports."""

from __future__ import annotations

import os

import pytest
import requests

from cryptolabs_proxy import identity
from dc_overview.services import build_services
from dc_overview.web.proxy_identity import HEADER
from tests.conftest import CSRF_RE
from tests.proxy.support import LiveProxy, Stack
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration
SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Referrer-Policy",
)


def _statuses(session: requests.Session, proxy: LiveProxy) -> dict[str, dict]:
    answer = session.get(f"{proxy.url}/api/services", timeout=10)
    assert answer.status_code == 200, answer.text
    return {entry["name"]: entry for entry in answer.json()["services"]}


def test_anonymous_requests_are_refused(stack: Stack) -> None:
    anonymous = stack.proxy.session()
    for path in ("/dc/", "/grafana/", "/prometheus/", "/"):
        answer = anonymous.get(stack.proxy.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, path
        assert answer.headers["Location"] == f"/login?next={path}"
        for header in SECURITY_HEADERS:
            assert header in answer.headers, header
    for path in ("/dc/api/servers", "/api/services", "/prometheus/api/v1/query?query=up"):
        answer = anonymous.get(stack.proxy.url + path, timeout=10)
        assert answer.status_code == 401, path
    forged = {HEADER: identity.sign("admin", "admin", stack.key, 60)}  # even a genuine-looking one
    answer = anonymous.get(f"{stack.proxy.url}/dc/api/servers", headers=forged, timeout=10)
    assert answer.status_code == 401
    health = anonymous.get(f"{stack.proxy.url}/api/health", timeout=10)
    assert health.json()["status"] == "ok"
    plain = requests.get(
        f"http://127.0.0.1:{stack.proxy.http_port}/dc/x?y=1", allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://127.0.0.1:{stack.proxy.https_port}/dc/x?y=1"


def test_after_login_services_pass_and_dc_overview_sees_the_user(stack: Stack) -> None:
    admin = stack.proxy.login("admin", stack.proxy.admin_password)
    url = stack.proxy.url
    page = admin.get(f"{url}/dc/", timeout=10)
    assert page.status_code == 200 and 'class="who"' in page.text and "admin" in page.text
    assert 'href="/dc/static/style.css' in page.text, "dc-overview builds links under /dc/"
    assert admin.get(f"{url}/dc/api/servers", timeout=10).json() == []
    csrf = CSRF_RE.search(page.text).group(1)
    created = admin.post(
        f"{url}/dc/api/servers",
        json={"name": "gpu-01", "server_ip": "10.0.0.11"},
        headers={"X-CSRF-Token": csrf},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    # Even an admin cannot reach Prometheus's lifecycle or admin APIs through the proxy.
    for method, path in (("POST", "/prometheus/-/reload"), ("POST", "/prometheus/-/quit"),
                         ("GET", "/prometheus/-/ready"),
                         ("POST", "/prometheus/api/v1/admin/tsdb/delete_series")):  # fmt: skip
        assert admin.request(method, f"{url}{path}", timeout=10).status_code == 403, path
    query = admin.get(f"{url}/prometheus/api/v1/query", params={"query": "1+1"}, timeout=10)
    assert query.json()["data"]["result"][1] == "2"
    missing = admin.get(f"{url}/grafana/", timeout=10)
    assert missing.status_code == 502
    assert "Grafana is not available" in missing.text and 'data-service="grafana"' in missing.text
    logout_page = admin.get(f"{url}/", timeout=10).text
    assert "Lab 7" in logout_page
    csrf = CSRF_RE.search(logout_page).group(1)
    admin.post(f"{url}/logout", data={"csrf_token": csrf}, timeout=10)
    assert admin.get(f"{url}/dc/", allow_redirects=False, timeout=10).status_code == 302


def test_identity_headers_sent_straight_to_dc_overview(stack: Stack) -> None:
    direct = f"http://127.0.0.1:{stack.app_port}/api/servers"
    genuine = identity.sign("alice", "viewer", stack.key, 60)
    assert requests.get(direct, headers={HEADER: genuine}, timeout=10).status_code == 200
    for forged in (
        identity.sign("alice", "admin", "z" * 48, 60),
        identity.sign("alice", "admin", stack.key, -1),
        genuine[:-3] + "abc",
    ):
        assert requests.get(direct, headers={HEADER: forged}, timeout=10).status_code == 401


def test_a_viewer_cannot_reach_prometheus(stack: Stack) -> None:
    stack.proxy.add_user("watcher", "watcher-password", "viewer")
    viewer = stack.proxy.login("watcher", "watcher-password")
    url = stack.proxy.url
    refused = viewer.get(f"{url}/prometheus/graph", timeout=10)
    assert refused.status_code == 403 and "admins only" in refused.text
    assert viewer.get(f"{url}/prometheus/api/v1/query?query=up", timeout=10).status_code == 403
    # A copy of an admin identity sent by the viewer is replaced by the proxy's own.
    smuggled = {HEADER: identity.sign("admin", "admin", stack.key, 60)}
    page = viewer.get(f"{url}/dc/", headers=smuggled, timeout=10)
    assert page.status_code == 200 and "watcher" in page.text and "role-viewer" in page.text
    denied = viewer.post(f"{url}/dc/api/servers", json={"name": "x"}, headers=smuggled, timeout=10)
    assert denied.status_code == 403
    assert _statuses(viewer, stack.proxy)["prometheus"]["url"] is None


def test_services_report_running_and_not_installed_as_they_come_and_go(stack: Stack) -> None:
    admin = stack.proxy.login("admin", stack.proxy.admin_password)
    statuses = _statuses(admin, stack.proxy)
    assert statuses["dc-overview"]["status"] == "running"
    assert statuses["dc-overview"]["version"]
    assert statuses["prometheus"]["status"] == "running"
    assert statuses["grafana"]["status"] == "not_installed"
    assert statuses["ipmi-monitor"]["status"] == "not_installed"

    stack.app.daemon.stop()
    wait_until(
        lambda: _statuses(admin, stack.proxy)["dc-overview"]["status"] == "not_installed",
        15,
        "dc-overview reported not installed",
    )
    down = admin.get(f"{stack.proxy.url}/dc/", timeout=10)
    assert down.status_code == 502 and "DC Overview is not available" in down.text
    assert "Get DC Overview" in down.text

    stack.restart_app()
    wait_until(
        lambda: _statuses(admin, stack.proxy)["dc-overview"]["status"] == "running",
        15,
        "dc-overview reported running again",
    )
    assert admin.get(f"{stack.proxy.url}/dc/", timeout=10).status_code == 200


def test_api_tokens_reach_dc_overview_through_the_proxy(stack: Stack) -> None:
    services = build_services(stack.app.settings)
    try:
        admin = next(u for u in services.accounts.list_users() if u.username == "admin")
        _, token = services.accounts.create_token(admin.id, {"name": "script"})
    finally:
        services.close()
    script = stack.proxy.session()
    answer = script.get(
        f"{stack.proxy.url}/dc/api/servers",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == []
    bad = script.get(
        f"{stack.proxy.url}/dc/api/servers", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert bad.status_code == 401
    assert os.environ.get("DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE")
