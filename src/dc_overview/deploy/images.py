"""Images without a registry: a Debian base made with debootstrap, then local builds."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from dc_overview.deploy.engine import DockerError, docker, docker_binary, image_exists

BASE_TAG = "dc-overview/debian-base:bookworm"
UPSTREAM_BASE = "debian:bookworm-slim"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_CA_GLOB = "/usr/local/share/ca-certificates/*.crt"


def debian_mirror(sources: list[Path] | None = None) -> str:
    """The Debian mirror this machine's own apt sources name (security suites excluded)."""
    files = sources or [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for url in re.findall(r"(?:URIs:|deb)\s+(https?://\S+)", text):
            if url.rstrip("/").endswith("/debian"):
                return url.rstrip("/")
    return DEFAULT_MIRROR


def ensure_base_image(tag: str = BASE_TAG, mirror: str | None = None, pull: bool = True) -> str:
    """A local Debian bookworm base: pulled when a registry answers, else debootstrapped."""
    if image_exists(tag):
        return tag
    try:
        if pull:
            docker(["pull", UPSTREAM_BASE], timeout=120)
            docker(["tag", UPSTREAM_BASE, tag])
            return tag
    except (DockerError, subprocess.TimeoutExpired):
        pass
    _debootstrap_import(tag, mirror or debian_mirror())
    return tag


def _debootstrap_import(tag: str, mirror: str) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise DockerError(
            f"cannot pull {UPSTREAM_BASE} and debootstrap is missing: apt-get install debootstrap"
        )
    with tempfile.TemporaryDirectory(prefix="dco-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        result = subprocess.run(
            [debootstrap, "--variant=minbase", SUITE, str(rootfs), mirror],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise DockerError(f"debootstrap failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        _copy_host_cas(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [docker_binary(), "import", "-", tag], stdin=tar.stdout, capture_output=True
        )
        tar.wait()
        if imported.returncode != 0:
            raise DockerError(f"docker import failed: {imported.stderr.decode(errors='replace')}")


def _copy_host_cas(rootfs: Path) -> None:
    """Builds reach package registries through a TLS-intercepting proxy whose CA is here."""
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for cert in glob.glob(HOST_CA_GLOB):
        shutil.copy(cert, target)


def build_image(
    context_dir: Path,
    tag: str,
    dockerfile: Path | None = None,
    build_args: dict[str, str] | None = None,
) -> None:
    """`docker build` (legacy builder: BuildKit needs buildx, which may be absent)."""
    args = ["build", "-t", tag]
    if dockerfile is not None:
        args += ["-f", str(dockerfile)]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    result = subprocess.run(
        [docker_binary(), *args, str(context_dir)],
        capture_output=True,
        text=True,
        env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    if result.returncode != 0:
        raise DockerError(f"building {tag} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
