"""Coexistence with the real sibling on a real Docker engine: the published ipmi-monitor 1.2.0
as container `ipmi-monitor` on a `cryptolabs`-like network, behind the proxy image."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dc_overview.deploy.engine import docker
from tests.proxy.docker_support import IPMI_TAG, PROXY_TAG, Sandbox, build_images, wait_for
from tests.proxy.support import CSRF_RE
from tests.support.processes import free_port

pytestmark = [pytest.mark.docker, pytest.mark.integration]
NO_DNS_CHECK = """
import socket
try:
    socket.getaddrinfo("www.cryptolabs.co.za", 443)
    print("resolved")
except OSError:
    print("no-dns")
"""


@dataclass
class DockerStack:
    sandbox: Sandbox
    proxy: str
    ipmi: str
    url: str
    http_url: str
    cert: Path
    admin_password: str

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # verify with our cert; never an outside proxy
        session.verify = str(self.cert)
        return session

    def login(self, username: str = "admin", password: str | None = None) -> requests.Session:
        session = self.session()
        csrf = CSRF_RE.search(session.get(f"{self.url}/login", timeout=10).text).group(1)
        password = password or self.admin_password
        answer = session.post(
            f"{self.url}/login",
            data={"username": username, "password": password, "csrf_token": csrf},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return session


def _secrets(root: Path) -> tuple[Path, str]:
    """The proxy's secret files, as the quickstart writes them (dir 0700, files 0600)."""
    directory = root / "secrets"
    directory.mkdir(mode=0o700)
    password = "coexist-" + os.urandom(6).hex()
    for name, value in (("admin_password", password), ("proxy_identity_key", os.urandom(32).hex())):
        (directory / name).write_text(value + "\n")
        (directory / name).chmod(0o600)
    return directory, password


@pytest.fixture(scope="module")
def images() -> None:
    build_images()


@pytest.fixture
def docker_stack(images: None, tmp_path: Path) -> Iterator[DockerStack]:
    sandbox = Sandbox()
    try:
        cryptolabs = sandbox.network("cryptolabs", internal=True)  # no route off the machine
        edge = sandbox.network("edge", internal=False)  # only to publish on 127.0.0.1
        ipmi = sandbox.run(
            "ipmi",
            ["--network", cryptolabs, "--network-alias", "ipmi-monitor", "--dns", "127.0.0.1",
             "-e", "DATA_DIR=/app/data", IPMI_TAG],
        )  # fmt: skip
        secrets_dir, password = _secrets(tmp_path)
        https_port, http_port = free_port(), free_port()
        proxy = sandbox.run(
            "proxy",
            ["--network", edge, "-p", f"127.0.0.1:{https_port}:443",
             "-p", f"127.0.0.1:{http_port}:80",
             "-v", f"{secrets_dir}:/etc/cryptolabs-proxy/secrets:ro",
             "-e", f"CRYPTOLABS_PROXY_PUBLIC_HTTPS_PORT={https_port}",
             "-e", "CRYPTOLABS_PROXY_SITE_NAME=Coexistence lab", PROXY_TAG],
        )  # fmt: skip
        docker(["network", "connect", "--alias", "cryptolabs-proxy", cryptolabs, proxy])
        cert = tmp_path / "proxy.crt"
        url = f"https://127.0.0.1:{https_port}"
        wait_for(
            lambda: docker(["cp", f"{proxy}:/data/tls/selfsigned.crt", str(cert)]) is not None,
            60,
            "the proxy's self-signed certificate",
            sandbox,
        )
        stack = DockerStack(
            sandbox, proxy, ipmi, url, f"http://127.0.0.1:{http_port}", cert, password
        )
        wait_for(
            lambda: stack.session().get(f"{url}/api/health", timeout=5).json()["status"] == "ok",
            60,
            "the proxy's /api/health",
            sandbox,
        )
        yield stack
    finally:
        sandbox.close()


def _services(session: requests.Session, stack: DockerStack) -> dict[str, dict]:
    body = session.get(f"{stack.url}/api/services", timeout=30).json()
    return {entry["name"]: entry for entry in body["services"]}


def test_ipmi_monitor_is_reported_running_and_loads_through_the_proxy(
    docker_stack: DockerStack,
) -> None:
    stack = docker_stack
    admin = stack.login()
    wait_for(
        lambda: _services(admin, stack)["ipmi-monitor"]["status"] == "running",
        120,
        "ipmi-monitor reported running",
        stack.sandbox,
    )
    services = _services(admin, stack)
    assert services["dc-overview"]["status"] == "not_installed"
    assert services["grafana"]["status"] == "not_installed"
    assert services["ipmi-monitor"]["url"] == "/ipmi/"

    login_page = admin.get(f"{stack.url}/ipmi/login", timeout=30)
    assert login_page.status_code == 200
    assert 'name="password"' in login_page.text and "IPMI" in login_page.text
    assert "/ipmi/static/" in login_page.text, "IPMI Monitor builds its links under /ipmi/"

    missing = admin.get(f"{stack.url}/dc/", timeout=30)
    assert missing.status_code == 502 and "DC Overview is not available" in missing.text
    anonymous = stack.session().get(f"{stack.url}/ipmi/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/login?next=/ipmi/"
    plain = requests.get(f"{stack.http_url}/ipmi/", allow_redirects=False, timeout=10)
    assert plain.headers["Location"] == f"{stack.url}/ipmi/"


def test_one_login_reaches_ipmi_monitor_with_the_right_role(docker_stack: DockerStack) -> None:
    """IPMI Monitor 1.2.0 trusts X-Fleet-Auth-* headers; only the proxy's own copies arrive."""
    stack = docker_stack
    admin = stack.login()
    wait_for(
        lambda: admin.get(f"{stack.url}/ipmi/health", timeout=10).status_code == 200,
        120,
        "ipmi-monitor answering through the proxy",
        stack.sandbox,
    )
    status = admin.get(f"{stack.url}/ipmi/api/auth/status", timeout=10).json()
    assert (status["username"], status["role"], status["auth_via"]) == (
        "admin",
        "admin",
        "fleet_proxy",
    )
    docker(
        ["exec", "-i", stack.proxy, "cryptolabs-proxy", "users", "add", "watcher", "--role",
         "viewer"],
        input_bytes=b"watcher-password\n",
    )  # fmt: skip
    viewer = stack.login("watcher", "watcher-password")
    smuggled = {"X-Fleet-Auth-User": "admin", "X-Fleet-Auth-Role": "admin"}
    status = viewer.get(f"{stack.url}/ipmi/api/auth/status", headers=smuggled, timeout=10).json()
    assert (status["username"], status["role"]) == ("watcher", "readonly")
    assert viewer.get(f"{stack.url}/prometheus/", timeout=10).status_code == 403


def test_ipmi_monitor_has_no_way_off_the_machine(docker_stack: DockerStack) -> None:
    """Checked without sending anything out: the network is internal, DNS resolves nothing."""
    network = docker_stack.sandbox.networks[0]
    details = json.loads(docker(["network", "inspect", network]))[0]
    assert details["Internal"] is True
    subnet = details["IPAM"]["Config"][0]["Subnet"]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    bridge = f"br-{details['Id'][:12]}"
    assert f"! -d {subnet} -i {bridge} -j DROP" in rules, "traffic leaving the network is dropped"
    resolv = docker(["exec", docker_stack.ipmi, "cat", "/etc/resolv.conf"])
    assert "127.0.0.11" in resolv  # Docker's DNS, forwarding only to --dns 127.0.0.1
    lookup = docker(["exec", docker_stack.ipmi, "python3", "-c", NO_DNS_CHECK])
    assert lookup.strip() == "no-dns"


def test_the_proxy_image_reports_healthy(docker_stack: DockerStack) -> None:
    wait_for(
        lambda: docker_stack.sandbox.health(docker_stack.proxy) == "healthy",
        90,
        "HEALTHCHECK healthy",
        docker_stack.sandbox,
    )
    mounts = docker(["inspect", "--format", "{{json .Mounts}}", docker_stack.proxy])
    assert "docker.sock" not in mounts, "the internet-facing proxy never gets the Docker socket"
