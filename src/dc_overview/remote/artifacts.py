"""Files the master pushes to workers, so that workers need no internet.

- node_exporter: a pinned release, downloaded once from GitHub and checked against the release's
  sha256sums.txt, or a local binary / directory for air-gapped sites (Debian's
  `prometheus-node-exporter` binary works).
- dc-exporter: `dc_overview.exporters`, prometheus_client and pynvml (nvidia-ml-py, pure Python)
  packed into one zipapp that the worker's system Python (>= 3.9) runs.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import prometheus_client
import pynvml
import requests

import dc_overview
import dc_overview.exporters
from dc_overview.fsutil import atomic_write

NODE_EXPORTER_VERSION = "1.8.2"
NODE_EXPORTER_RELEASES = "https://github.com/prometheus/node_exporter/releases/download"
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7", "ppc64le": "ppc64le"}
ELF_MACHINE = {0x3E: "x86_64", 0xB7: "aarch64", 0x28: "armv7l", 0x15: "ppc64le"}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class ArtifactError(RuntimeError):
    """An artifact cannot be prepared (download, checksum, missing file)."""


@dataclass(frozen=True)
class Artifact:
    kind: str
    path: Path | None  # None: nothing to push (the worker pulls the container image)
    version: str
    sha256: str
    arch: str | None = None  # None: runs anywhere (the zipapp)

    def runs_on(self, worker_arch: str) -> bool:
        return self.arch is None or self.arch == worker_arch


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def elf_arch(path: Path) -> str | None:
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        return None
    return ELF_MACHINE.get(int.from_bytes(head[18:20], "little" if head[5] == 1 else "big"))


def local_node_exporter(source: Path) -> Artifact:
    """A node_exporter binary given as a file, or a directory holding one."""
    binary = source
    if source.is_dir():
        found = [source / n for n in ("node_exporter", "prometheus-node-exporter")]
        binary = next((p for p in found if p.is_file()), source / "node_exporter")
    if not binary.is_file():
        raise ArtifactError(f"no node_exporter binary at {source}")
    return Artifact("node", binary, binary_version(binary), sha256_of(binary), elf_arch(binary))


def binary_version(binary: Path) -> str:
    """The version a node_exporter binary reports ("1.5.0+ds" for Debian's)."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ArtifactError(f"cannot run {binary} --version: {exc}") from exc
    match = re.search(r"version\s+(\S+)", done.stdout + done.stderr)
    if not match:
        raise ArtifactError(f"{binary} --version printed no version")
    return match.group(1)


def downloaded_node_exporter(
    cache_dir: Path,
    arch: str = "x86_64",
    version: str = NODE_EXPORTER_VERSION,
    base_url: str = NODE_EXPORTER_RELEASES,
) -> Artifact:
    """The pinned release for `arch`, fetched once into `cache_dir` and checksum-verified."""
    go_arch = GO_ARCH.get(arch)
    if go_arch is None:
        raise ArtifactError(f"node_exporter has no release for architecture {arch}")
    stem = f"node_exporter-{version}.linux-{go_arch}"
    binary = cache_dir / stem / "node_exporter"
    if not binary.is_file():
        url = f"{base_url}/v{version}"
        sums = _fetch(f"{url}/sha256sums.txt").decode()
        expected = _expected_sum(sums, f"{stem}.tar.gz")
        tarball = _fetch(f"{url}/{stem}.tar.gz")
        actual = hashlib.sha256(tarball).hexdigest()
        if actual != expected:
            raise ArtifactError(
                f"{stem}.tar.gz checksum mismatch: expected {expected}, got {actual}; not used"
            )
        atomic_write(binary, _member(tarball, f"{stem}/node_exporter"), mode=0o755)
    return Artifact("node", binary, version, sha256_of(binary), arch)


def _fetch(url: str) -> bytes:
    try:
        response = requests.get(url, timeout=60)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise ArtifactError(
            f"cannot download {url}: {exc}; on an air-gapped master pass --node-exporter PATH"
        ) from exc
    return response.content


def _expected_sum(sums: str, name: str) -> str:
    for line in sums.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            return parts[0].lower()
    raise ArtifactError(f"{name} is not listed in sha256sums.txt")


def _member(tarball: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        try:
            member = archive.extractfile(name)
        except KeyError:
            member = None
        if member is None:
            raise ArtifactError(f"{name} is missing from the release archive")
        return member.read()


def dc_exporter_zipapp(cache_dir: Path) -> Artifact:
    """dc-exporter as one deterministic .pyz for the worker's /usr/bin/python3 (>= 3.9)."""
    files = _zipapp_sources()
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + data)
    version = f"{dc_overview.__version__}+{digest.hexdigest()[:10]}"
    path = cache_dir / f"dc-exporter-{version}.pyz"
    if not path.is_file():
        metadata = f"Metadata-Version: 2.1\nName: dc-overview\nVersion: {version}\n".encode()
        files.append((f"dc_overview-{version}.dist-info/METADATA", metadata))
        atomic_write(path, _zip_bytes(files), mode=0o644)
    return Artifact("dc", path, version, sha256_of(path), None)


MAIN = b"""import sys
from dc_overview.exporters.gpu.main import main
sys.exit(main())
"""


def _zipapp_sources() -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = [
        ("__main__.py", MAIN),
        ("dc_overview/__init__.py", Path(dc_overview.__file__).read_bytes()),
    ]
    for package, prefix in (
        (Path(dc_overview.exporters.__file__).parent, "dc_overview/exporters"),
        (Path(prometheus_client.__file__).parent, "prometheus_client"),
    ):
        for source in sorted(package.rglob("*.py")):
            name = f"{prefix}/{source.relative_to(package).as_posix()}"
            files.append((name, source.read_bytes()))
    files.append(("pynvml.py", Path(pynvml.__file__).read_bytes()))  # NVML, the default backend
    return files


def _zip_bytes(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/python3\n")
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
