"""Running `dc-overview quickstart` for real (tests and benchmarks), and cleaning up after it."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from dc_overview.deploy.engine import DockerError, docker
from tests.support.processes import cli_binary, free_port

STACK_CONTAINERS = ("dc-overview", "prometheus", "grafana", "cryptolabs-proxy", "watchtower")
TEST_PREFIX = "dcotest"


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

    def secret(self, name: str) -> str:
        return (self.config_dir / "secrets" / name).read_text().strip()

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        argv = [cli_binary(), "--config-dir", str(self.config_dir), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def quickstart(self) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        result = self.cli("quickstart", "--config", str(self.config_file), "--yes", "--no-pull")
        return result, time.monotonic() - started


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
