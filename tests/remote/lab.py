"""Worker containers (systemd + sshd, or sshd only) on a test-made Docker network."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from dc_overview.deploy.engine import DockerError, docker, image_exists
from dc_overview.deploy.images import build_image, ensure_base_image
from tests.support.docker_engine import ensure_docker
from tests.support.fixtures import shared_fixtures

HERE = Path(__file__).parent
IMAGE_FILES = ("worker.Dockerfile", "worker-hostkeys.service", "worker-sshd.conf")
SYSTEMD_ARGS = [
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--stop-signal", "SIGRTMIN+3",
]  # fmt: skip
FAKE_GPU_XML = shared_fixtures() / "nvidia-smi" / "tesla-t4.xml"


def systemd_image_tag() -> str:
    """The tag names the image's inputs, so that a changed Dockerfile is built anew."""
    digest = hashlib.sha256()
    for name in IMAGE_FILES:
        digest.update((HERE / name).read_bytes())
    return f"dcotest/worker:systemd-{digest.hexdigest()[:12]}"


SYSTEMD_IMAGE = systemd_image_tag()


def worker_image() -> str:
    """Build (or reuse from the cache) the systemd worker image from the local Debian base."""
    ensure_docker()
    base = ensure_base_image(pull=False)
    if not image_exists(SYSTEMD_IMAGE):
        build_image(HERE, SYSTEMD_IMAGE, HERE / "worker.Dockerfile", {"BASE": base})
    return SYSTEMD_IMAGE


@dataclass
class Worker:
    name: str
    container: str
    ip: str

    def sh(self, command: str, check: bool = True) -> str:
        done = subprocess.run(
            ["docker", "exec", self.container, "sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name}: `{command}` -> {done.returncode}: {done.stderr}")
        return done.stdout

    def write(self, path: str, text: str, mode: str = "0644") -> None:
        subprocess.run(
            ["docker", "exec", "-i", self.container, "sh", "-c",
             f"mkdir -p $(dirname {path}) && cat > {path} && chmod {mode} {path}"],
            input=text, text=True, check=True, timeout=30,
        )  # fmt: skip

    def add_user(self, user: str, public_key: str, sudo: str | None) -> None:
        """A login user with our key; sudo: "nopasswd", "password" (asks for one) or None."""
        self.sh(f"useradd --create-home --shell /bin/sh {user} && usermod -p '*' {user}")
        self.write(f"/home/{user}/.ssh/authorized_keys", public_key + "\n", mode="0600")
        self.sh(f"chown -R {user}:{user} /home/{user}/.ssh && chmod 700 /home/{user}/.ssh")
        if sudo == "password":
            self.sh(f"echo '{user}:Sudo-Pass-{secrets.token_hex(4)}' | chpasswd")
        if sudo is not None:
            rule = f"{user} ALL=(ALL) {'NOPASSWD: ' if sudo == 'nopasswd' else ''}ALL\n"
            self.write(f"/etc/sudoers.d/{user}", rule, mode="0440")

    def give_fake_gpu(self) -> None:
        """A stand-in nvidia-smi that replays a real capture (there is no GPU here)."""
        self.write("/usr/local/share/fake-gpu.xml", FAKE_GPU_XML.read_text())
        self.write("/usr/local/bin/nvidia-smi", "#!/bin/sh\ncat /usr/local/share/fake-gpu.xml\n",
                   mode="0755")  # fmt: skip


@dataclass
class Lab:
    prefix: str = field(default_factory=lambda: f"dcotest-remote-{secrets.token_hex(3)}")
    network: str = ""
    subnet: str = ""
    workers: list[Worker] = field(default_factory=list)
    shared_network: bool = False  # someone else's network (a stack's): left to its owner

    def use_network(self, network: str, subnet: str) -> None:
        """Start the workers on an existing network instead of one made here."""
        self.network, self.subnet, self.shared_network = network, subnet, True

    def create_network(self) -> None:
        self.network = self.prefix
        for _ in range(20):
            third = secrets.randbelow(200) + 20
            subnet = f"172.29.{third}.0/24"
            try:
                docker(["network", "create", "--driver", "bridge", "--subnet", subnet,
                        self.network])  # fmt: skip
            except DockerError as exc:
                if "overlap" in str(exc) or "Pool" in str(exc):
                    continue
                raise
            self.subnet = subnet
            return
        raise RuntimeError("no free 172.29.x.0/24 subnet for the test network")

    def start(self, name: str, image: str, public_key: str, systemd: bool = True,
              docker_args: tuple[str, ...] = ()) -> Worker:  # fmt: skip
        container = f"{self.prefix}-{name}"
        args = ["run", "-d", "--name", container, "--hostname", name, "--network", self.network]
        args += list(docker_args)
        if systemd:
            args += [*SYSTEMD_ARGS, image, "/lib/systemd/systemd"]
        else:
            start_sshd = "ssh-keygen -A && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"
            args += [image, "sh", "-c", start_sshd]
        docker(args)
        worker = Worker(name, container, self.ip_of(container))
        self.workers.append(worker)
        worker.write("/root/.ssh/authorized_keys", public_key + "\n", mode="0600")
        return worker

    def wait_ready(self, worker: Worker, systemd: bool = True, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check = "systemctl is-active ssh" if systemd else "pgrep -x sshd"
            done = subprocess.run(["docker", "exec", worker.container, "sh", "-c", check],
                                  capture_output=True, text=True)  # fmt: skip
            if done.returncode == 0 and ssh_port_open(worker.ip):
                return
            time.sleep(0.3)
        raise AssertionError(f"{worker.name}: sshd not ready within {timeout}s")

    def ip_of(self, container: str) -> str:
        out = docker(["inspect", "--format", "{{json .NetworkSettings.Networks}}", container])
        address = json.loads(out)[self.network]["IPAddress"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(self.subnet)
        return address

    def destroy(self) -> None:
        for worker in self.workers:
            subprocess.run(["docker", "rm", "-f", "-v", worker.container], capture_output=True)
        if self.network and not self.shared_network:
            subprocess.run(["docker", "network", "rm", self.network], capture_output=True)


def ssh_port_open(ip: str) -> bool:
    import socket

    try:
        with socket.create_connection((ip, 22), timeout=1) as sock:
            return sock.recv(4).startswith(b"SSH")
    except OSError:
        return False
