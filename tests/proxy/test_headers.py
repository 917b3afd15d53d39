"""What backends receive through the real nginx: identity, Grafana and IPMI Monitor headers,
prefixes, websocket upgrades, and never a client's own copy of a trusted header.

Grafana cannot run on these machines, so a header-echo server stands in for the backends here.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cryptolabs_proxy import identity
from tests.proxy.support import LiveProxy, start_proxy

pytestmark = pytest.mark.integration
SPOOFED = {
    "X-WEBAUTH-USER": "mallory",
    "X-WEBAUTH-ROLE": "Admin",
    "X-CryptoLabs-Identity": "forged.forged",
    "X-Fleet-Authenticated": "true",
    "X-Fleet-Auth-User": "mallory",
    "X-Fleet-Auth-Role": "admin",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Prefix": "/elsewhere",
}


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with the path and headers it received, as JSON."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"path": self.path, "headers": dict(self.headers.items()), "version": "11.0.0-echo"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Frame-Options", "DENY")  # the proxy replaces it with its own
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_proxy(tmp_path: Path) -> Iterator[LiveProxy]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    echo = f"127.0.0.1:{server.server_address[1]}"
    proxy = None
    try:
        upstreams = {"grafana": echo, "ipmi-monitor": echo, "dc-overview": echo}
        proxy = start_proxy(tmp_path, upstreams=upstreams)
        yield proxy
    finally:
        if proxy is not None:
            proxy.daemon.stop()
        server.shutdown()
        server.server_close()


def _received(session: requests.Session, proxy: LiveProxy, path: str, **extra: str) -> dict:
    answer = session.get(proxy.url + path, headers={**SPOOFED, **extra}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"
    seen = answer.json()
    seen["headers"] = {key.lower(): value for key, value in seen["headers"].items()}
    return seen


def test_grafana_gets_the_auth_proxy_user_only_from_the_proxy(echo_proxy: LiveProxy) -> None:
    admin = echo_proxy.login("admin", echo_proxy.admin_password)
    seen = _received(
        admin, echo_proxy, "/grafana/api/live/ws?x=1", Upgrade="websocket", Connection="Upgrade"
    )
    headers = seen["headers"]
    assert seen["path"] == "/grafana/api/live/ws?x=1", "Grafana serves from its sub path"
    assert headers["x-webauth-user"] == "admin" and headers["x-webauth-role"] == "Admin"
    key = echo_proxy.config.identity_key_path.read_text().strip()
    assert identity.verify(headers["x-cryptolabs-identity"], key) == ("admin", "admin")
    assert headers["upgrade"] == "websocket" and headers["connection"] == "upgrade"
    assert headers["x-forwarded-for"] == "127.0.0.1", "a client's X-Forwarded-For is replaced"
    assert headers["x-forwarded-proto"] == "https"
    assert "x-forwarded-prefix" not in headers
    assert not any(name.startswith("x-fleet") for name in headers)


def test_ipmi_monitor_gets_fleet_headers_and_a_stripped_prefix(echo_proxy: LiveProxy) -> None:
    echo_proxy.add_user("watcher", "watcher-password", "viewer")
    viewer = echo_proxy.login("watcher", "watcher-password")
    seen = _received(viewer, echo_proxy, "/ipmi/api/servers")
    headers = seen["headers"]
    assert seen["path"] == "/api/servers"
    assert headers["x-forwarded-prefix"] == "/ipmi"
    assert headers["x-fleet-authenticated"] == "true"
    assert (headers["x-fleet-auth-user"], headers["x-fleet-auth-role"]) == ("watcher", "readonly")
    assert "x-webauth-user" not in headers


def test_dc_overview_gets_only_the_signed_identity(echo_proxy: LiveProxy) -> None:
    admin = echo_proxy.login("admin", echo_proxy.admin_password)
    headers = _received(admin, echo_proxy, "/dc/api/servers")["headers"]
    assert headers["x-forwarded-prefix"] == "/dc"
    assert headers["x-cryptolabs-identity"] != SPOOFED["X-CryptoLabs-Identity"]
    for name in ("x-webauth-user", "x-webauth-role", "x-fleet-authenticated", "x-fleet-auth-user"):
        assert name not in headers, name


def test_grafana_status_and_version_come_from_its_health_endpoint(echo_proxy: LiveProxy) -> None:
    admin = echo_proxy.login("admin", echo_proxy.admin_password)
    services = admin.get(f"{echo_proxy.url}/api/services", timeout=10).json()["services"]
    grafana = next(s for s in services if s["name"] == "grafana")
    assert (grafana["status"], grafana["version"], grafana["url"]) == (
        "running",
        "11.0.0-echo",
        "/grafana/",
    )
