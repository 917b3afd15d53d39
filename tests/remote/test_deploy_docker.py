"""Exporters deployed over SSH to real systemd + sshd worker containers, scraped by a real
Prometheus started natively with the config our code renders.

Workers: w1, w2 (fake GPU: a stand-in nvidia-smi replaying a real capture), w3 (fake GPU, and
another process on 9835), w4 (host key regenerated after first contact). The tests run in file
order on one lab; the last one stops w1 in the middle of a run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dc_overview.remote.installer import DeployOptions, run_job
from dc_overview.remote.jobs import Job
from dc_overview.remote.ssh import SshError, SshTarget, bootstrap_key, connect
from dc_overview.remote.trust import HostTrust
from tests.remote.master import Master, running_master
from tests.support.processes import cli_binary, require_binary, wait_until

pytestmark = pytest.mark.docker

NODE_BINARY = "/usr/bin/prometheus-node-exporter"
UNIT = "dc-overview-node-exporter.service"
DC_UNIT = "dc-overview-dc-exporter.service"


@dataclass
class Env(Master):
    def cli(self, *args: str) -> subprocess.CompletedProcess:
        settings = self.services.settings
        argv = [cli_binary(), "--config-dir", str(settings.config_dir),
                "--data-dir", str(settings.data_dir), *args]  # fmt: skip
        env = {**os.environ, "COLUMNS": "250"}
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)

    def deploy(self, names: list[str], **options) -> Job:
        job = Job.create("deploy", names)
        options.setdefault("node_exporter_source", Path(NODE_BINARY))
        return asyncio.run(run_job(self.services, job, DeployOptions(**options)))

    def up_in_prometheus(self, job: str) -> dict[str, str]:
        answer = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=5).json()
        return {
            t["labels"]["instance"]: t["health"]
            for t in answer["data"]["activeTargets"]
            if t["labels"]["job"] == job
        }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("remote")
    with running_master(root, {name: () for name in ("w1", "w2", "w3", "w4")}) as master:
        for name in ("w2", "w3"):
            master.worker(name).give_fake_gpu()
        master.worker("w3").sh("systemd-run --unit squatter python3 -m http.server 9835")
        yield Env(**vars(master))


def test_first_deploy_installs_verifies_and_prometheus_scrapes(env: Env) -> None:
    done = env.cli("deploy", "w1", "w2", "w3", "--node-exporter", NODE_BINARY)
    out = done.stdout + done.stderr
    # w3 fails (its port 9835 is taken), so the command reports 1 of 3 failed.
    assert done.returncode == 1, out
    assert "1 of 3 failed" in out and "w3" in out
    for name in ("w1", "w2", "w3"):
        server = env.services.fleet.find_by_name(name)
        node = server.exporter("node")
        assert node.installed and node.enabled and node.version == "1.5.0", name
    assert env.node_targets() == {"w1", "w2", "w3"}
    statuses = {n: env.services.fleet.find_by_name(n) for n in ("w1", "w2", "w3")}
    assert {n: s.status for n, s in statuses.items()} == {"w1": "ok", "w2": "ok", "w3": "failed"}
    assert all(s.last_seen is not None for s in statuses.values()), "contact time recorded"
    wait_until(
        lambda: env.up_in_prometheus("node") == {"w1": "up", "w2": "up", "w3": "up"},
        60,
        "Prometheus to scrape node_exporter on w1, w2 and w3",
    )


def test_unit_runs_as_the_dedicated_hardened_user(env: Env) -> None:
    w1 = env.worker("w1")
    pid = w1.sh(f"systemctl show -p MainPID --value {UNIT}").strip()
    assert w1.sh(f"ps -o user= -p {pid}").strip() == "dc-node-exporter"
    assert w1.sh("getent passwd dc-node-exporter").strip().endswith(":/usr/sbin/nologin")
    shown = w1.sh(f"systemctl show {UNIT} -p NoNewPrivileges -p ProtectSystem -p ProtectHome")
    assert "NoNewPrivileges=yes" in shown and "ProtectSystem=strict" in shown
    assert "ProtectHome=yes" in shown


def test_gpu_worker_gets_dc_exporter(env: Env) -> None:
    w2 = env.services.fleet.find_by_name("w2")
    assert w2.has_gpu
    assert w2.exporter("dc").installed
    body = requests.get(f"http://{w2.server_ip}:9835/metrics", timeout=5).text
    assert "dc_exporter_build_info" in body
    assert "DCGM_FI_DEV_GPU_TEMP" in body  # from the replayed capture
    # The unit asks for NVML (auto); the worker has no libnvidia-ml, so nvidia-smi is used.
    assert 'backend="nvidia-smi"' in body
    user = env.worker("w2").sh(f"systemctl show -p User --value {DC_UNIT}").strip()
    assert user == "dc-gpu-exporter"


def test_busy_port_worker_gets_no_dc_exporter_and_a_reason(env: Env) -> None:
    job = env.deploy(["w3"])
    host = job.hosts["w3"]
    assert host.stage == "failed", host
    assert "port 9835 is busy" in host.exporters["dc"] and "python3" in host.exporters["dc"]
    assert host.exporters["node"].startswith("unchanged")
    w3 = env.worker("w3")
    assert w3.sh(f"systemctl cat {DC_UNIT} 2>&1 || true").find("No files found") >= 0
    assert not env.services.fleet.find_by_name("w3").exporter("dc").installed


def test_second_deploy_changes_nothing(env: Env) -> None:
    w1 = env.worker("w1")
    before = w1.sh(f"systemctl show -p InvocationID --value {UNIT}")
    exporters = {n: env.services.fleet.find_by_name(n).exporters for n in ("w1", "w2")}
    targets = {p: (p.read_bytes(), p.stat().st_mtime_ns)
               for p in env.services.settings.targets_dir.glob("*.json")}  # fmt: skip
    job = env.deploy(["w1", "w2"])
    assert [h.stage for h in job.hosts.values()] == ["done", "done"]
    for host in job.hosts.values():
        assert host.exporters["node"] == "unchanged 1.5.0"
    assert job.hosts["w2"].exporters["dc"].startswith("unchanged")
    assert job.hosts["w1"].exporters["dc"].startswith("skipped: no NVIDIA GPU")
    assert w1.sh(f"systemctl show -p InvocationID --value {UNIT}") == before
    # The inventory's exporters and Prometheus's target files are untouched; only the time of
    # contact (last_seen) moved.
    assert {n: env.services.fleet.find_by_name(n).exporters for n in exporters} == exporters
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in targets} == targets


def test_regenerated_host_key_is_refused_and_nothing_installed(env: Env) -> None:
    w4 = env.worker("w4")
    server = env.services.fleet.find_by_name("w4")
    trust = HostTrust(env.services.host_keys)
    key_path = Path(env.services.keys.get(server.ssh_key_id).private_key_path)

    async def first_contact() -> str | None:
        session = await connect(SshTarget("w4", w4.ip, key_path=key_path), trust)
        await session.close()
        return session.new_fingerprint

    old = asyncio.run(first_contact())
    assert old and old.startswith("SHA256:")
    w4.sh("rm -f /etc/ssh/ssh_host_* && ssh-keygen -A -q")
    new = w4.sh("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()[1]
    job = env.deploy(["w4"])
    message = job.hosts["w4"].message
    assert job.hosts["w4"].stage == "failed"
    assert old in message and new in message
    assert "dc-overview hosts trust w4" in message
    assert w4.sh("ls /opt/dc-overview 2>&1 || true").count("No such file") == 1
    assert w4.sh(f"test -e /etc/systemd/system/{UNIT} && echo yes || echo no").strip() == "no"
    assert "w4" not in env.node_targets()
    assert env.services.fleet.find_by_name("w4").status == "host key changed"
    # The operator re-trusts the host; then the deploy goes through.
    trusted = env.cli("hosts", "trust", "w4", "--yes")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert new in trusted.stdout
    assert env.deploy(["w4"]).hosts["w4"].stage == "done"
    assert env.services.fleet.find_by_name("w4").status == "ok"


def test_password_bootstraps_a_key_and_is_not_kept(env: Env) -> None:
    w3 = env.worker("w3")
    w3.sh("echo 'root:boot-Pass-123' | chpasswd")
    fresh = env.services.keys.generate({"name": "bootstrapped"})
    target = SshTarget("w3", w3.ip, key_path=Path(fresh.private_key_path))
    trust = HostTrust(env.services.host_keys)
    with pytest.raises(SshError, match="refused our key"):
        asyncio.run(connect(target, trust))
    asyncio.run(bootstrap_key(target, "boot-Pass-123", fresh.public_key, trust))
    asyncio.run(bootstrap_key(target, "boot-Pass-123", fresh.public_key, trust))  # idempotent
    assert w3.sh("grep -c dc-overview:bootstrapped /root/.ssh/authorized_keys").strip() == "1"

    async def key_login() -> str:
        async with await connect(target, trust) as session:
            return (await session.run("whoami")).stdout.strip()

    assert asyncio.run(key_login()) == "root"
    w3.sh("passwd -l root")


def test_remove_leaves_nothing_and_the_target_disappears(env: Env) -> None:
    done = env.cli("deploy", "w2", "--remove")
    assert done.returncode == 0, done.stdout + done.stderr
    w2 = env.worker("w2")
    leftovers = w2.sh(
        "ls /etc/systemd/system | grep dc-overview; ls -d /opt/dc-overview 2>/dev/null;"
        " getent passwd dc-node-exporter dc-gpu-exporter; getent group dc-node-exporter;"
        " systemctl list-units --all --no-legend 'dc-overview-*'; true"
    )
    assert leftovers.strip() == ""
    server = env.services.fleet.find_by_name("w2")
    assert not server.exporter("node").installed and not server.exporter("dc").installed
    assert "w2" not in env.node_targets()
    wait_until(lambda: "w2" not in env.up_in_prometheus("node"), 30, "w2 to leave Prometheus")


def test_worker_stopped_during_the_run_fails_with_reason_others_succeed(env: Env) -> None:
    w1 = env.worker("w1")
    w1.sh(f"systemctl stop {UNIT} && rm -rf /opt/dc-overview/node/*/VERSION")  # forces work
    job = Job.create("deploy", ["w1", "w2", "w4"])

    def stop_when_uploading(changed: Job) -> None:
        if changed.hosts["w1"].stage == "uploading" and not stopper.is_alive():
            stopper.start()

    stopper = threading.Thread(
        target=subprocess.run, args=(["docker", "kill", w1.container],), kwargs={"check": True}
    )
    job.listen(stop_when_uploading)
    options = DeployOptions(
        node_exporter_source=Path(NODE_BINARY), command_timeout=20, verify_timeout=10
    )
    asyncio.run(run_job(env.services, job, options))
    stopper.join(timeout=30)
    assert job.hosts["w1"].stage == "failed"
    # Which error the dying connection gives depends on timing; each one names what broke.
    reasons = ("Connection reset", "connection lost", "Connection lost", "Broken pipe",
               "cannot connect", "took over", "refused", "verification failed",
               "closed")  # fmt: skip
    message = job.hosts["w1"].message
    assert any(reason in message for reason in reasons), message
    assert job.hosts["w2"].stage == "done" and job.hosts["w4"].stage == "done"
    assert env.services.fleet.find_by_name("w1").status == "failed"  # reached, then lost
    gone = Job.create("deploy", ["w1"])
    asyncio.run(run_job(env.services, gone, DeployOptions(node_exporter_source=Path(NODE_BINARY),
                                                          connect_timeout=5)))  # fmt: skip
    assert gone.hosts["w1"].stage == "failed"
    assert env.services.fleet.find_by_name("w1").status == "unreachable"
    assert require_binary("docker")
