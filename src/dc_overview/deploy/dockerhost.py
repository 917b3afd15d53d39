"""Getting a Docker engine on this host: install Debian/Ubuntu's packages, start the daemon."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from dc_overview.deploy.engine import engine_available

DOCKERD_LOG = Path("/var/log/dockerd.log")


class DockerUnavailable(RuntimeError):
    """No usable engine; the message says what to do."""


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()


def install_docker() -> None:
    if shutil.which("apt-get") is None:
        raise DockerUnavailable(
            "Docker is missing and this is not a Debian/Ubuntu host: install Docker Engine "
            "(https://docs.docker.com/engine/install/) and run the quickstart again"
        )
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    install = ["apt-get", "install", "-y", "-qq", "docker.io", "debootstrap"]
    for argv in (["apt-get", "update", "-qq"], install):
        result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise DockerUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()[-1000:]}")


def start_daemon(timeout: float = 60.0) -> None:
    """systemd when there is one; otherwise dockerd in its own session, logging to a file."""
    if has_systemd():
        subprocess.run(["systemctl", "enable", "--now", "docker"], capture_output=True)
    else:
        with open(DOCKERD_LOG, "ab") as log:
            subprocess.Popen(
                ["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_available():
            return
        time.sleep(1)
    raise DockerUnavailable(
        f"the Docker daemon did not start within {timeout:.0f}s; see {DOCKERD_LOG}"
    )


def docker_state() -> str:
    """ok / no-daemon / not-installed."""
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        return "not-installed"
    return "ok" if engine_available() else "no-daemon"
