"""cryptolabs-proxy's pieces on their own: config, catalog, users, identity, probes."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptolabs_proxy import identity
from cryptolabs_proxy.catalog import ServiceSpec, load_catalog
from cryptolabs_proxy.config import ConfigError, load_config
from cryptolabs_proxy.probe import NOT_INSTALLED, RUNNING, UNHEALTHY, probe, probe_all
from cryptolabs_proxy.users import LockedOut, UserError, UserStore, check_password, hash_password
from cryptolabs_proxy.web_auth import safe_next
from dc_overview.web import proxy_identity
from tests.support.processes import free_port

KEY = "k" * 40


def test_config_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yml"
    path.write_text("site_name: Rack Room\nhttps_listen: '8443'\nupstreams: {grafana: 'g:3000'}\n")
    env = {"CRYPTOLABS_PROXY_SITE_NAME": "Env Room", "CRYPTOLABS_PROXY_COOKIE_SECURE": "no"}
    config = load_config(path, environ=env)
    assert config.site_name == "Env Room"
    assert config.https_listen == "8443"
    assert config.upstreams == {"grafana": "g:3000"}
    assert config.cookie_secure is False


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("colour: blue\n", "unknown setting 'colour'"),
        ("https_listen: 'all of them'\n", "https_listen"),
        ("tls_mode: letsencrypt\n", "needs domain and email"),
        ("tls_mode: own\n", "needs cert_file and key_file"),
        ("domain: 'not a domain'\n", "domain"),
        ("identity_ttl: soon\n", "identity_ttl"),
        ("site_name: '<script>'\n", "site_name"),
    ],
)
def test_bad_config_is_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "proxy.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named):
        load_config(path, environ={})


def test_catalog_defaults_overrides_and_extra_services(tmp_path: Path) -> None:
    services = tmp_path / "services.yml"
    services.write_text(
        "services:\n"
        "  - {name: grafana, health_path: /api/health}\n"
        "  - name: vast-dashboard\n"
        "    display_name: Vast dashboard\n"
        "    path: /vast/\n"
        "    upstream: vast:8622\n"
        "    health_path: /metrics\n"
        "    admin_only: true\n"
    )
    catalog = {s.name: s for s in load_catalog(services, {"dc-overview": "127.0.0.1:5001"})}
    assert list(catalog) == [
        "dc-overview",
        "ipmi-monitor",
        "grafana",
        "prometheus",
        "vast-dashboard",
    ]
    assert catalog["grafana"].health_path == "/api/health"
    assert catalog["grafana"].upstream == "grafana:3000"
    assert catalog["dc-overview"].upstream == "127.0.0.1:5001"
    assert catalog["vast-dashboard"].admin_only
    assert catalog["prometheus"].health_path == "/prometheus/-/healthy"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: x, display_name: X, path: /api/, upstream: 'x:1', health_path: /}", "reserved"),
        ("{name: x, display_name: X, path: /dc/, upstream: 'x:1', health_path: /}", "share /dc/"),
        ("{name: x, display_name: X, path: /x/, upstream: 'x; y:1', health_path: /}", "upstream"),
        ("{name: x, display_name: X, path: /x/, upstream: 'x:1', health_path: '/a b'}", "health"),
        ("{name: x, path: /x/}", "needs display_name"),
        ("{name: grafana, admin_only: 'yes'}", "true or false"),
        ("{name: grafana, colour: red}", "unknown key"),
    ],
)
def test_bad_services_file_is_refused(tmp_path: Path, entry: str, message: str) -> None:
    services = tmp_path / "services.yml"
    services.write_text(f"services:\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message):
        load_catalog(services)


def test_identity_round_trip_between_proxy_and_dc_overview() -> None:
    value = identity.sign("alice", "viewer", KEY, ttl=60)
    assert identity.verify(value, KEY) == ("alice", "viewer")
    principal = proxy_identity.verify(value, KEY)
    assert (principal.username, principal.role, principal.is_admin, principal.id) == (
        "alice",
        "viewer",
        False,
        None,
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # signature changed
        lambda v: identity.sign("alice", "admin", "x" * 40, 60),  # another key
        lambda v: identity.sign("alice", "admin", KEY, -5),  # expired
        lambda v: "e30." + v.split(".")[1],  # payload swapped
        lambda v: "not-a-token",
        lambda v: "",
    ],
)
def test_dc_overview_refuses_forged_or_expired_identities(tamper) -> None:
    value = tamper(identity.sign("alice", "viewer", KEY, ttl=60))
    with pytest.raises(proxy_identity.IdentityRejected):
        proxy_identity.verify(value, KEY)


def test_password_hashes_and_the_first_admin_rule(tmp_path: Path) -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert check_password("correct horse", stored) and not check_password("wrong", stored)
    store = UserStore(tmp_path / "users.db")
    assert (tmp_path / "users.db").stat().st_mode & 0o777 == 0o600
    assert store.add("admin", "first-password", "admin", only_if_empty=True)
    assert not store.add("other", "second-password", "admin", only_if_empty=True)
    with pytest.raises(UserError, match="already exists"):
        store.add("admin", "another-password", "viewer")
    with pytest.raises(UserError, match="at least 8"):
        store.add("bob", "short", "viewer")
    with pytest.raises(UserError, match="role"):
        store.add("bob", "long-enough", "root")


def test_lockout_after_repeated_failures(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.db", max_failures=3, lockout_seconds=60)
    store.add("alice", "alice-password", "viewer")
    for _ in range(3):
        assert store.authenticate("alice", "wrong", "10.9.9.9") is None
    with pytest.raises(LockedOut) as locked:
        store.authenticate("alice", "alice-password", "10.9.9.8")  # right password, still locked
    assert 0 < locked.value.seconds <= 61
    store.add("carol", "carol-password", "viewer")
    with pytest.raises(LockedOut):  # the address that failed is locked for every user
        store.authenticate("carol", "carol-password", "10.9.9.9")
    assert store.authenticate("carol", "carol-password", "10.9.9.7").username == "carol"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dc/servers?x=1", "/dc/servers?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/login", "/"),
        ("", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_safe_next_never_leaves_the_site(target: str, expected: str) -> None:
    assert safe_next(target) == expected


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/health" else 503
        body = json.dumps({"status": "ok", "version": "9.9.9"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _spec(upstream: str, health: str = "/health") -> ServiceSpec:
    return ServiceSpec("svc", "Svc", "/svc/", upstream, health)


def test_probe_tells_running_unhealthy_and_not_installed(health_server: int) -> None:
    running = probe(_spec(f"127.0.0.1:{health_server}"), timeout=2)
    assert (running.status, running.version) == (RUNNING, "9.9.9")
    assert probe(_spec(f"127.0.0.1:{health_server}", "/down"), 2).status == UNHEALTHY
    assert probe(_spec(f"127.0.0.1:{free_port()}"), 2).status == NOT_INSTALLED
    missing = probe(_spec("no-such-service.invalid:5000"), 2)
    assert missing.status == NOT_INSTALLED and "does not resolve" in missing.detail


def test_probe_all_is_concurrent() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never answers
    try:
        port = silent.getsockname()[1]
        specs = [ServiceSpec(f"s{i}", "S", f"/s{i}/", f"127.0.0.1:{port}", "/") for i in range(4)]
        started = time.monotonic()
        results = probe_all(specs, timeout=1.0)
        assert time.monotonic() - started < 2.5
        assert {r.status for r in results.values()} == {UNHEALTHY}
    finally:
        silent.close()


def test_cryptolabs_proxy_never_imports_dc_overview() -> None:
    code = (
        "import sys, pkgutil, importlib, cryptolabs_proxy\n"
        "for m in pkgutil.walk_packages(cryptolabs_proxy.__path__, 'cryptolabs_proxy.'):\n"
        "    if m.name != 'cryptolabs_proxy.__main__': importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'dc_overview'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
