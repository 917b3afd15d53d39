"""Upgrade, rollback, sudo users, Vast.ai hosts and dcgm-exporter's preconditions, on real
systemd + sshd worker containers, scraped by a real Prometheus.

Workers: u1 (root; upgraded and rolled back), s1 (reached as non-root users; has the Vast.ai
daemon's directory), d1 (a real docker CLI talking to this machine's engine, which has no NVIDIA
runtime; a stand-in nvidia-smi replaying a real capture). The tests run in file order on one lab.

Versions of node_exporter: A is Debian's binary (1.5.0); B is the same binary with its version
string patched to 1.5.9 (a real node_exporter that reports another version); the broken ones are
small scripts: one serves /metrics without node_exporter's families, one exits at once.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dc_overview.inventory.serialize import server_dict
from dc_overview.remote.dcgm import DcgmChoice, image_in_tarball
from dc_overview.remote.installer import VASTAI_NOTE, DeployOptions, run_job
from dc_overview.remote.jobs import Job
from tests.remote.master import Master, running_master
from tests.support.processes import wait_until

pytestmark = pytest.mark.docker

NODE_BINARY = Path("/usr/bin/prometheus-node-exporter")
UNIT = "dc-overview-node-exporter.service"
SERVES_OTHER_METRICS = """#!/usr/bin/python3
# A broken build: starts and answers HTTP, but without node_exporter's metric families.
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if "--version" in sys.argv:
    print("node_exporter, version 1.7.0 (broken test build)")
    sys.exit(0)
port = int(sys.argv[-1].rsplit(":", 1)[1])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"# TYPE something_else gauge\\nsomething_else 1\\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", port), Handler).serve_forever()
"""
EXITS_AT_ONCE = """#!/bin/sh
# A broken build that does not start.
if [ "$1" = --version ]; then echo "node_exporter, version 1.8.0 (broken test build)"; exit 0; fi
echo "cannot start: broken test build" >&2
exit 3
"""


@dataclass
class Env(Master):
    artifacts: dict[str, Path]

    def deploy(self, names: list[str], node: str = "A", **options) -> Job:
        job = Job.create("remove" if options.get("remove") else "deploy", names)
        options.setdefault("kinds", ("node",))
        options = DeployOptions(node_exporter_source=self.artifacts[node], **options)
        return asyncio.run(run_job(self.services, job, options))

    def node_version(self, name: str) -> str | None:
        return self.services.fleet.find_by_name(name).exporter("node").version

    def scraped_version(self, instance: str) -> str | None:
        """node_exporter_build_info's version as Prometheus last scraped it from `instance`."""
        query = f'node_exporter_build_info{{instance="{instance}"}}'
        answer = requests.get(f"{self.prometheus_url}/api/v1/query", params={"query": query},
                              timeout=5).json()  # fmt: skip
        results = answer["data"]["result"]
        return results[0]["metric"]["version"] if results else None


def patched_version(root: Path) -> Path:
    """Debian's node_exporter with its version string 1.5.0 changed to 1.5.9 (same length)."""
    data = NODE_BINARY.read_bytes()
    at = data.index(b"\x001.5.0\x00") + 1  # the version variable (revision is 1.5.0-1+b6)
    patched = root / "node-1.5.9" / "node_exporter"
    patched.parent.mkdir()
    patched.write_bytes(data[:at] + b"1.5.9" + data[at + 5 :])
    patched.chmod(0o755)
    return patched


def script(root: Path, name: str, text: str) -> Path:
    path = root / name / "node_exporter"
    path.parent.mkdir()
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("lifecycle")
    artifacts = {
        "A": NODE_BINARY,
        "B": patched_version(root),
        "broken-metrics": script(root, "broken-metrics", SERVES_OTHER_METRICS),
        "broken-start": script(root, "broken-start", EXITS_AT_ONCE),
    }
    socket = ("-v", "/var/run/docker.sock:/var/run/docker.sock")
    with running_master(root, {"u1": (), "s1": (), "d1": socket}) as master:
        d1 = master.worker("d1")
        d1.give_fake_gpu()
        docker_cli = shutil.which("docker")
        assert docker_cli
        subprocess.run(["docker", "cp", "-L", docker_cli, f"{d1.container}:/usr/local/bin/docker"],
                       check=True, capture_output=True)  # fmt: skip
        yield Env(**vars(master), artifacts=artifacts)


def test_upgrade_restarts_the_unit_with_the_new_version(env: Env) -> None:
    first = env.deploy(["u1"])
    assert first.hosts["u1"].stage == "done", first.hosts["u1"]
    assert env.node_version("u1") == "1.5.0"
    u1 = env.worker("u1")
    before = u1.sh(f"systemctl show -p InvocationID --value {UNIT}").strip()
    job = env.deploy(["u1"], node="B")
    host = job.hosts["u1"]
    assert host.stage == "done", host
    assert host.exporters["node"] == "upgraded 1.5.0 -> 1.5.9"
    assert u1.sh(f"systemctl show -p InvocationID --value {UNIT}").strip() != before
    assert u1.sh(f"systemctl is-active {UNIT}").strip() == "active"
    assert u1.sh("ls /opt/dc-overview/node").split() == ["1.5.9", "current"]
    assert "node_exporter 1.5.9" in u1.sh(f"systemctl show -p Description --value {UNIT}")
    assert env.node_version("u1") == "1.5.9"
    assert "u1" in env.node_targets()
    wait_until(lambda: env.scraped_version("u1") == "1.5.9", 60, "Prometheus to scrape 1.5.9")


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("broken-metrics", "lacks node_cpu_seconds_total, node_exporter_build_info"),
        ("broken-start", "did not start"),
    ],
)
def test_failed_verification_rolls_back_to_the_running_version(
    env: Env, broken: str, reason: str
) -> None:
    u1 = env.worker("u1")
    exporters = env.services.fleet.find_by_name("u1").exporters
    job = env.deploy(["u1"], node=broken, verify_timeout=6)
    host = job.hosts["u1"]
    assert host.stage == "failed", host
    assert reason in host.message, host.message
    assert "rolled back to 1.5.9, which serves its metrics again" in host.message
    assert host.exporters["node"].startswith("failed: ")
    # The worker runs 1.5.9 again, with its own unit; nothing of the broken version is left.
    assert u1.sh(f"systemctl is-active {UNIT}").strip() == "active"
    assert u1.sh("readlink /opt/dc-overview/node/current").strip() == "1.5.9"
    assert u1.sh("ls /opt/dc-overview/node").split() == ["1.5.9", "current"]
    assert "node_exporter 1.5.9" in u1.sh(f"systemctl show -p Description --value {UNIT}")
    body = requests.get(f"http://{u1.ip}:9100/metrics", timeout=5).text
    assert 'version="1.5.9"' in body
    # The inventory still says 1.5.9 (unchanged), so the target stays and Prometheus scrapes it.
    assert env.node_version("u1") == "1.5.9"
    after = env.services.fleet.find_by_name("u1")
    assert after.exporters == exporters and after.status == "failed"
    assert "u1" in env.node_targets()
    wait_until(lambda: env.scraped_version("u1") == "1.5.9", 30, "Prometheus to scrape 1.5.9")


def test_dcgm_is_skipped_where_docker_is_missing(env: Env) -> None:
    job = env.deploy(["u1"], kinds=("dcgm",))
    assert job.hosts["u1"].stage == "done", job.hosts["u1"]
    skipped = job.hosts["u1"].exporters["dcgm"]
    assert skipped == "skipped: no Docker on this worker (no docker command)"


def test_dcgm_is_skipped_where_the_nvidia_runtime_is_missing(env: Env) -> None:
    d1 = env.worker("d1")
    assert "runc" in d1.sh("docker info --format '{{json .Runtimes}}'")  # a real engine answers
    job = env.deploy(["d1"], kinds=("node", "dcgm"))
    host = job.hosts["d1"]
    assert host.stage == "done", host
    assert host.exporters["dcgm"] == (
        "skipped: Docker found but not the NVIDIA container runtime "
        "(no nvidia runtime in `docker info`, no nvidia-container-runtime-hook)"
    )
    server = env.services.fleet.find_by_name("d1")
    assert not server.exporter("dcgm").installed
    assert server.has_gpu and not server.vastai_host
    assert VASTAI_NOTE not in host.message


def test_sudo_user_deploys_and_vastai_host_is_flagged(env: Env) -> None:
    s1 = env.worker("s1")
    s1.add_user("deployer", env.public_key, sudo="nopasswd")
    s1.sh("mkdir -p /var/lib/vastai_kaalia")
    server = env.services.fleet.find_by_name("s1")
    env.services.fleet.update(server.id, {"ssh_user": "deployer"})
    job = env.deploy(["s1"])
    host = job.hosts["s1"]
    assert host.stage == "done", host
    assert host.exporters["node"] == "installed 1.5.0"
    assert VASTAI_NOTE in host.message
    pid = s1.sh(f"systemctl show -p MainPID --value {UNIT}").strip()
    assert s1.sh(f"ps -o user= -p {pid}").strip() == "dc-node-exporter"
    assert s1.sh("stat -c %U /opt/dc-overview/node/1.5.0/node_exporter").strip() == "root"
    flagged = server_dict(env.services.fleet.find_by_name("s1"))
    assert flagged["vastai_host"] is True and flagged["ssh_user"] == "deployer"
    assert not server_dict(env.services.fleet.find_by_name("u1"))["vastai_host"]


@pytest.mark.parametrize(
    ("user", "sudo", "why"),
    [("pwuser", "password", "a password is required"), ("nosudo", None, "")],
)
def test_user_without_passwordless_sudo_is_refused_clearly(
    env: Env, user: str, sudo: str | None, why: str
) -> None:
    s1 = env.worker("s1")
    s1.add_user(user, env.public_key, sudo=sudo)
    server = env.services.fleet.find_by_name("s1")
    env.services.fleet.update(server.id, {"ssh_user": user})
    before = s1.sh(f"systemctl show -p InvocationID --value {UNIT}")
    job = env.deploy(["s1"], node="B")
    message = job.hosts["s1"].message
    assert job.hosts["s1"].stage == "failed"
    assert f"give {user} passwordless sudo or use root" in message, message
    assert why in message and "sudo -n" in message
    assert s1.sh(f"systemctl show -p InvocationID --value {UNIT}") == before
    assert env.node_version("s1") == "1.5.0"


def test_remove_after_rollback_and_as_sudo_user(env: Env) -> None:
    s1 = env.services.fleet.find_by_name("s1")
    env.services.fleet.update(s1.id, {"ssh_user": "deployer"})
    job = env.deploy(["u1", "s1"], remove=True, kinds=("node", "dc", "dcgm"))
    assert [h.stage for h in job.hosts.values()] == ["done", "done"], job.hosts
    for name in ("u1", "s1"):
        leftovers = env.worker(name).sh(
            "ls /etc/systemd/system | grep dc-overview; ls -d /opt/dc-overview 2>/dev/null;"
            " getent passwd dc-node-exporter; systemctl list-units --all --no-legend"
            " 'dc-overview-*'; true"
        )
        assert leftovers.strip() == "", name
        assert not env.services.fleet.find_by_name(name).exporter("node").installed
    assert env.node_targets() == {"d1"}


def test_dcgm_image_name_is_read_from_a_real_docker_save_tarball(tmp_path: Path) -> None:
    tag = f"dcotest/tiny-image:{secrets.token_hex(4)}"
    content = tmp_path / "rootfs.tar"
    (tmp_path / "hello").write_text("hello\n")
    with tarfile.open(content, "w") as archive:
        archive.add(tmp_path / "hello", "hello")
    subprocess.run(["docker", "import", str(content), tag], check=True, capture_output=True)
    try:
        (tmp_path / "artifacts").mkdir()
        saved = tmp_path / "artifacts" / "dcgm-exporter.tar"
        subprocess.run(["docker", "save", "-o", str(saved), tag], check=True, capture_output=True)
        assert image_in_tarball(saved) == tag
        artifact = DcgmChoice().artifact(tmp_path)  # dropped in <config dir>/artifacts
        assert artifact.path == saved and artifact.version == tag
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True)
