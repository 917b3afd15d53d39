"""Docker helpers for the proxy's coexistence test: images, isolated networks, containers.

Everything gets a unique `dcotest-…` name and is removed in `Sandbox.close()`; built images are
kept as a cache. Ports are published on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dc_overview.deploy.engine import DockerError, docker
from dc_overview.deploy.images import build_image, ensure_base_image
from tests.support.docker_engine import ensure_docker

ROOT = Path(__file__).resolve().parents[2]
PROXY_TAG = "dcotest/cryptolabs-proxy:local"
IPMI_TAG = "dcotest/ipmi-monitor:1.2.0"


def build_images() -> None:
    """The proxy image (proxy/Dockerfile, repository as context) and IPMI Monitor 1.2.0's."""
    ensure_docker()
    base = ensure_base_image(pull=False)
    build_image(ROOT, PROXY_TAG, ROOT / "proxy" / "Dockerfile", {"BASE_IMAGE": base})
    build_ipmi_image()


def build_ipmi_image() -> str:
    """The published IPMI Monitor 1.2.0 on the local Debian base (the build cache keeps it)."""
    ensure_docker()
    base = ensure_base_image(pull=False)
    with tempfile.TemporaryDirectory(prefix="dcotest-ipmi-") as empty:
        dockerfile = ROOT / "tests" / "proxy" / "ipmi-monitor.Dockerfile"
        build_image(Path(empty), IPMI_TAG, dockerfile, {"BASE_IMAGE": base})
    return IPMI_TAG


@dataclass
class Sandbox:
    """Networks and containers of one test run, all named `dcotest-<kind>-<suffix>`."""

    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    networks: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    def name(self, kind: str) -> str:
        return f"dcotest-{kind}-{self.suffix}"

    def network(self, kind: str, internal: bool) -> str:
        """A bridge network with an explicit subnet; `internal` ones have no route out."""
        name = self.name(kind)
        last: DockerError | None = None
        for _ in range(20):
            subnet = f"172.{secrets.choice(range(24, 31))}.{secrets.randbelow(256)}.0/24"
            args = ["network", "create", "--driver", "bridge", "--subnet", subnet]
            try:
                docker([*args, *(["--internal"] if internal else []), name])
            except DockerError as exc:  # the subnet overlaps another network: try another
                last = exc
                continue
            self.networks.append(name)
            return name
        raise RuntimeError(f"no free subnet for {name}: {last}")

    def run(self, kind: str, args: list[str]) -> str:
        name = self.name(kind)
        self.containers.append(name)
        docker(["run", "-d", "--name", name, *args])
        return name

    def logs(self) -> str:
        out = []
        for name in self.containers:
            try:
                out.append(f"--- {name}\n{docker(['logs', '--tail', '60', name])}")
            except DockerError as exc:
                out.append(f"--- {name}: {exc}")
        return "\n".join(out)

    def health(self, container: str) -> str:
        state = json.loads(docker(["inspect", "--format", "{{json .State}}", container]))
        return (state.get("Health") or {}).get("Status", state.get("Status", "?"))

    def close(self) -> None:
        for name in reversed(self.containers):
            with contextlib.suppress(DockerError):
                docker(["rm", "-f", "-v", name], timeout=60)
        for name in reversed(self.networks):
            with contextlib.suppress(DockerError):
                docker(["network", "rm", name], timeout=60)


def wait_for(check: Callable[[], object], timeout: float, what: str, sandbox: Sandbox) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # reported below, with the containers' logs
            last = exc
        else:
            if last:
                return last
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout}s (last: {last!r})\n{sandbox.logs()}")
