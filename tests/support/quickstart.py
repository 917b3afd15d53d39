"""Running `dc-overview quickstart` for real (tests and benchmarks), and cleaning up after it."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from dc_overview.deploy.engine import DockerError, docker
from tests.support.docker_engine import ensure_docker
from tests.support.processes import cli_binary, free_port

STACK_CONTAINERS = ("dc-overview", "prometheus", "grafana", "cryptolabs-proxy", "watchtower",
                    "vastai-exporter")  # fmt: skip
TEST_PREFIX = "dcotest"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class QuickstartRun:
    root: Path
    project: str
    network: str
    http_port: int
    https_port: int

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def config_file(self) -> Path:
        return self.root / "quickstart.yaml"

    @property
    def base_url(self) -> str:
        """The proxy's HTTPS address on loopback."""
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def subnet(self) -> str:
        return yaml.safe_load(self.config_file.read_text())["docker"]["network_subnet"]

    def configure(self, **changes: object) -> None:
        """Change top-level keys of the quickstart config file."""
        config = yaml.safe_load(self.config_file.read_text())
        self.config_file.write_text(yaml.safe_dump({**config, **changes}))

    def secret(self, name: str) -> str:
        return (self.config_dir / "secrets" / name).read_text().strip()

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        argv = [cli_binary(), "--config-dir", str(self.config_dir), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def quickstart(self) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        result = self.cli("quickstart", "--config", str(self.config_file), "--yes", "--no-pull")
        return result, time.monotonic() - started


def prepare_engine() -> None:
    """A running engine, no stale test stack, and every image the stack needs, built offline
    (a warm build cache makes this a few seconds)."""
    ensure_docker()
    remove_stale_test_stacks()
    built = subprocess.run([cli_binary(), "images", "build", "--offline"], capture_output=True,
                           text=True, timeout=1200)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr


def proxy_session(run: QuickstartRun) -> requests.Session:
    """A session signed in at the proxy as admin, verifying its self-signed certificate."""
    session = requests.Session()
    session.trust_env = False
    cert = run.root / "proxy.crt"
    cert.write_text(docker(["exec", "cryptolabs-proxy", "cat", "/data/tls/selfsigned.crt"]))
    session.verify = str(cert)
    page = session.get(f"{run.base_url}/login", timeout=10).text
    answer = session.post(
        f"{run.base_url}/login",
        data={"username": "admin", "password": run.secret("admin_password"), "next": "/",
              "csrf_token": CSRF_RE.search(page).group(1)},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 302, answer.text
    return session


def app_csrf(session: requests.Session, run: QuickstartRun) -> dict[str, str]:
    """The header that the app's JSON API wants on writes, read from one of its forms."""
    page = session.get(f"{run.base_url}/dc/servers/new", timeout=10)
    assert page.status_code == 200, page.text
    return {"X-CSRF-Token": CSRF_RE.search(page.text).group(1)}


def services_status(session: requests.Session, run: QuickstartRun) -> dict[str, str]:
    """The landing page's data: service name -> status."""
    listing = session.get(f"{run.base_url}/api/services", timeout=30).json()["services"]
    return {service["name"]: service["status"] for service in listing}


def target_health(session: requests.Session, run: QuickstartRun) -> dict[tuple[str, str], str]:
    """(job, instance) -> health of every active target in the stack's Prometheus."""
    answer = session.get(f"{run.base_url}/prometheus/api/v1/targets", timeout=10).json()
    return {(t["labels"]["job"], t["labels"].get("instance", "")): t["health"]
            for t in answer["data"]["activeTargets"]}  # fmt: skip


def new_run(root: Path, admin_password: str | None = None) -> QuickstartRun:
    """A config for a throwaway stack: unique project, network and subnet, loopback ports."""
    suffix = secrets.token_hex(3)
    run = QuickstartRun(root, f"{TEST_PREFIX}-qs-{suffix}", f"{TEST_PREFIX}-qs-{suffix}",
                        free_port(), free_port())  # fmt: skip
    config = {
        "site_name": "E2E fleet",
        "admin": {"username": "admin", **({"password": admin_password} if admin_password else {})},
        "proxy": {"bind_address": "127.0.0.1", "http_port": run.http_port,
                  "https_port": run.https_port},
        "prometheus": {"retention": "1d", "scrape_interval": "2s"},
        "docker": {"project_name": run.project, "network": run.network,
                   "network_subnet": f"172.30.{int(suffix[:2], 16)}.0/24"},
    }  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    run.config_file.write_text(yaml.safe_dump(config))
    return run


def remove_stale_test_stacks() -> None:
    """Containers with the stack's fixed names left by an earlier failed test run."""
    for name in STACK_CONTAINERS:
        try:
            labels = json.loads(docker(["inspect", "--format", "{{json .Config.Labels}}", name]))
        except (DockerError, ValueError):
            continue
        if (labels or {}).get("com.docker.compose.project", "").startswith(TEST_PREFIX):
            docker(["rm", "-f", "-v", name])


def leftovers(project: str) -> list[str]:
    """Containers, networks and volumes of a compose project that still exist."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = docker([*kind, "--filter", label, "--format", "{{.Names}}" if kind[0] == "ps"
                      else "{{.Name}}"])  # fmt: skip
        found += out.split()
    return found


def volume_names() -> set[str]:
    """Every volume on the engine, named or anonymous (compose labels only the named ones)."""
    return set(docker(["volume", "ls", "-q"]).split())
