"""The quickstart on a real Docker engine: offline images, a healthy stack behind the proxy,
a server becoming a Prometheus target, a safe re-run, no secret in compose or environments,
and nothing left behind."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
import requests

from dc_overview.deploy.engine import docker
from dc_overview.deploy.health import container_status
from tests.support.docker_engine import ensure_docker
from tests.support.processes import cli_binary, wait_until
from tests.support.quickstart import (
    QuickstartRun,
    leftovers,
    new_run,
    remove_stale_test_stacks,
)

pytestmark = pytest.mark.docker
ADMIN_PASSWORD = "e2e-admin-password-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickstartRun]:
    ensure_docker()
    remove_stale_test_stacks()
    built = subprocess.run([cli_binary(), "images", "build", "--offline"], capture_output=True,
                           text=True, timeout=1200)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    run = new_run(tmp_path_factory.mktemp("quickstart"), ADMIN_PASSWORD)
    node = f"{run.project}-node"
    try:
        result, seconds = run.quickstart()
        assert result.returncode == 0, result.stdout + result.stderr
        print(f"quickstart to healthy stack (warm image cache): {seconds:.1f} s")
        docker(["run", "-d", "--name", node, "--network", run.network,
                "dc-overview/node-exporter:debian-bookworm"])  # fmt: skip
        yield run
    finally:
        subprocess.run(["docker", "rm", "-f", node], capture_output=True)
        down = run.cli("down", "--volumes")
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(run.project) == []


def proxy_session(run: QuickstartRun) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    cert = run.root / "proxy.crt"
    cert.write_text(docker(["exec", "cryptolabs-proxy", "cat", "/data/tls/selfsigned.crt"]))
    session.verify = str(cert)
    base = f"https://127.0.0.1:{run.https_port}"
    page = session.get(f"{base}/login", timeout=10).text
    answer = session.post(
        f"{base}/login",
        data={"username": "admin", "password": run.secret("admin_password"), "next": "/",
              "csrf_token": CSRF_RE.search(page).group(1)},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 302, answer.text
    return session


def test_every_service_is_healthy(stack: QuickstartRun) -> None:
    for name in ("dc-overview", "prometheus", "cryptolabs-proxy"):
        assert container_status(name) == "healthy", name
    status = stack.cli("status")
    assert "not available" in status.stdout  # Grafana: no image can be pulled or built here


def test_app_answers_through_the_proxy_and_a_server_becomes_a_target(stack: QuickstartRun) -> None:
    base = f"https://127.0.0.1:{stack.https_port}"
    session = proxy_session(stack)
    assert session.get(f"{base}/dc/api/health", timeout=10).json()["status"] == "ok"
    page = session.get(f"{base}/dc/servers/new", timeout=10)
    assert page.status_code == 200 and 'action="/dc/servers/new"' in page.text
    body = {"name": "worker-01", "server_ip": f"{stack.project}-node",
            "exporters": {"node": {"installed": True}}}  # fmt: skip
    csrf = {"X-CSRF-Token": CSRF_RE.search(page.text).group(1)}
    created = session.post(f"{base}/dc/api/servers", json=body, timeout=10, headers=csrf)
    assert created.status_code == 201, created.text

    def node_health() -> str | None:
        targets = session.get(f"{base}/prometheus/api/v1/targets", timeout=10).json()
        for target in targets["data"]["activeTargets"]:
            if target["labels"].get("instance") == "worker-01":
                return target["health"]
        return None

    wait_until(lambda: node_health() == "up", 60, "worker-01 scraped up")
    listing = session.get(f"{base}/api/services", timeout=10).json()["services"]
    services = {s["name"]: s["status"] for s in listing}
    assert services["dc-overview"] == "running" and services["prometheus"] == "running"
    assert services["ipmi-monitor"] == "not_installed"


def test_rerun_keeps_servers_and_passwords(stack: QuickstartRun) -> None:
    before = {n: stack.secret(n) for n in ("admin_password", "grafana_admin_password")}
    result, seconds = stack.quickstart()
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"quickstart re-run: {seconds:.1f} s")
    assert {n: stack.secret(n) for n in before} == before
    assert before["admin_password"] == ADMIN_PASSWORD
    session = proxy_session(stack)
    servers = session.get(f"https://127.0.0.1:{stack.https_port}/dc/api/servers", timeout=10)
    assert [s["name"] for s in servers.json()] == ["worker-01"]


def test_no_secret_in_compose_file_or_container_environment(stack: QuickstartRun) -> None:
    secrets_dir = stack.config_dir / "secrets"
    values = [p.read_text().strip() for p in secrets_dir.rglob("*") if p.is_file()]
    assert len(values) >= 5
    compose = (stack.config_dir / "docker-compose.yml").read_text()
    environments = docker(["inspect", "--format", "{{json .Config.Env}}", "dc-overview",
                           "prometheus", "cryptolabs-proxy"])  # fmt: skip
    for value in values:
        assert value not in compose
        assert value not in environments
    for path in secrets_dir.rglob("*"):
        assert (path.stat().st_mode & 0o077) == 0, f"{path} is readable by others"
