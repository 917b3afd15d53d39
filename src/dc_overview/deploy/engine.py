"""Thin wrappers over the `docker` CLI (the engine may be older than the client; it negotiates)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence


class DockerError(RuntimeError):
    """A docker command failed; the message carries its stderr."""


def docker_binary() -> str:
    path = shutil.which("docker")
    if path is None:
        raise DockerError("the docker CLI is not installed (apt-get install docker.io)")
    return path


def docker(
    args: Sequence[str], input_bytes: bytes | None = None, timeout: float | None = None
) -> str:
    """Run `docker ARGS`; returns stdout, raises DockerError with stderr on failure."""
    result = subprocess.run(
        [docker_binary(), *args], input=input_bytes, capture_output=True, timeout=timeout
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise DockerError(f"docker {' '.join(args[:3])}: {message}")
    return result.stdout.decode(errors="replace")


def engine_available() -> bool:
    try:
        docker(["info", "--format", "{{.ServerVersion}}"], timeout=20)
    except (DockerError, subprocess.TimeoutExpired):
        return False
    return True


def image_exists(tag: str) -> bool:
    try:
        docker(["image", "inspect", tag])
    except DockerError:
        return False
    return True


def network_exists(name: str) -> bool:
    try:
        docker(["network", "inspect", name])
    except DockerError:
        return False
    return True


def container_state(name: str) -> dict | None:
    """`State` of a container (Status, Health…), or None when there is no such container."""
    try:
        out = docker(["inspect", "--format", "{{json .State}}", name])
    except DockerError:
        return None
    return json.loads(out)
